/**
 * The shape every map codec has: one codec per C struct in
 * bpf/include/pathsteer_types.h, values in host byte order (only the codec
 * converts), and a `fields` table the BTF layout test compares with the
 * compiled object.
 */
import { endianness } from 'node:os';

if (endianness() !== 'LE') {
  throw new Error('pathsteer map codecs assume a little-endian host (BPF maps are in host byte order)');
}

export interface FieldLayout {
  /** TypeScript property name. */
  name: string;
  /** Member name in the C struct. */
  c: string;
  offset: number;
  /** Size in bytes (whole array for array members). */
  size: number;
}

export interface Codec<T> {
  /** The C struct this mirrors, e.g. `ps_path_entry`. */
  readonly cName: string;
  readonly size: number;
  readonly fields: readonly FieldLayout[];
  encode(v: T, buf?: Buffer, off?: number): Buffer;
  decode(buf: Buffer, off?: number): T;
}

/** A Buffer of `size` bytes at `off` in `buf`, or a new zeroed one. */
export function target(size: number, buf?: Buffer, off = 0): Buffer {
  if (!buf) return Buffer.alloc(size);
  if (off < 0 || off + size > buf.length) {
    throw new RangeError(`codec needs ${size} bytes at offset ${off}, buffer has ${buf.length}`);
  }
  return buf;
}

export function checkSource(cName: string, size: number, buf: Buffer, off: number): void {
  if (off < 0 || off + size > buf.length) {
    throw new RangeError(`${cName}: need ${size} bytes at offset ${off}, got ${buf.length - off}`);
  }
}
