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
  /**
   * Optional bulk form of encode: value i at off + i * stride of buf (a whole
   * table for a batch update). Same bytes as calling encode for each.
   */
  encodeMany?(vs: readonly T[], buf: Buffer, off?: number, stride?: number): void;
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

const U64_MAX = 0xffff_ffff_ffff_ffffn;

/**
 * Write a u64 bitmap or counter little-endian; values outside 0..2^64-1 wrap
 * like BigInt.asUintN(64). Zero (the common case for unused masks) skips BigInt
 * arithmetic, which dominates encoding a full table.
 */
export function writeU64(b: Buffer, v: bigint, off: number): void {
  if (v === 0n) {
    b.writeUInt32LE(0, off);
    b.writeUInt32LE(0, off + 4);
  } else {
    b.writeBigUInt64LE(v > 0n && v <= U64_MAX ? v : BigInt.asUintN(64, v), off);
  }
}
