/**
 * Codecs for map keys and values that are plain scalars rather than structs:
 * `__u32` (array indexes, counter ids), `__u64` (counters), `__u8`, and
 * `__be32` peer VTEP addresses, which TypeScript sees as dotted quads.
 */
import { ipv4Value } from '../common/net.js';
import { checkSource, target, type Codec } from './codec.js';

export const U32Codec: Codec<number> = {
  cName: '__u32',
  size: 4,
  fields: [],
  encode(v, buf, off = 0) {
    const b = target(4, buf, off);
    b.writeUInt32LE(v >>> 0, off);
    return b;
  },
  decode(buf, off = 0) {
    checkSource('__u32', 4, buf, off);
    return buf.readUInt32LE(off);
  },
};

export const U64Codec: Codec<bigint> = {
  cName: '__u64',
  size: 8,
  fields: [],
  encode(v, buf, off = 0) {
    const b = target(8, buf, off);
    b.writeBigUInt64LE(BigInt.asUintN(64, v), off);
    return b;
  },
  decode(buf, off = 0) {
    checkSource('__u64', 8, buf, off);
    return buf.readBigUInt64LE(off);
  },
};

export const U8Codec: Codec<number> = {
  cName: '__u8',
  size: 1,
  fields: [],
  encode(v, buf, off = 0) {
    const b = target(1, buf, off);
    b.writeUInt8(v & 0xff, off);
    return b;
  },
  decode(buf, off = 0) {
    checkSource('__u8', 1, buf, off);
    return buf.readUInt8(off);
  },
};

/**
 * Dotted quad -> 4 bytes in network order (common/net's parser); RangeError
 * when not IPv4, as the codecs report bad values.
 */
export function ipv4Bytes(addr: string, buf: Buffer = Buffer.alloc(4), off = 0): Buffer {
  const v = ipv4Value(addr);
  if (v < 0) throw new RangeError(`not an IPv4 address: ${addr}`);
  buf.writeUInt32BE(v, off);
  return buf;
}

export function ipv4String(buf: Buffer, off = 0): string {
  return `${buf[off]}.${buf[off + 1]}.${buf[off + 2]}.${buf[off + 3]}`;
}

/** A `__be32` peer VTEP address (ps_path and ps_activity keys, ps_pin_key.peer). */
export const PeerCodec: Codec<string> = {
  cName: '__be32',
  size: 4,
  fields: [],
  encode(v, buf, off = 0) {
    const b = target(4, buf, off);
    ipv4Bytes(v, b, off);
    return b;
  },
  decode(buf, off = 0) {
    checkSource('__be32', 4, buf, off);
    return ipv4String(buf, off);
  },
};
