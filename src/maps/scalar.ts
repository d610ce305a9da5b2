/**
 * Codecs for map keys and values that are plain scalars rather than structs:
 * `__u32` (array indexes, counter ids), `__u64` (counters), `__u8`, and
 * `__be32` peer VTEP addresses, which TypeScript sees as dotted quads.
 */
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
 * Dotted quad -> 4 bytes in network order; RangeError when not IPv4 (same
 * rules as net.isIPv4: four decimal octets 0..255, no leading zeros). Parsed by
 * hand: encoding 50k keys is on the agent's table-sync path.
 */
export function ipv4Bytes(addr: string, buf: Buffer = Buffer.alloc(4), off = 0): Buffer {
  let part = 0;
  let value = 0;
  let digits = 0;
  for (let i = 0; i <= addr.length; i++) {
    const c = i < addr.length ? addr.charCodeAt(i) : 46; // '.' ends the last octet
    if (c >= 48 && c <= 57) {
      if (digits > 0 && value === 0) throw new RangeError(`not an IPv4 address: ${addr}`); // leading zero
      value = value * 10 + (c - 48);
      if (++digits > 3 || value > 255) throw new RangeError(`not an IPv4 address: ${addr}`);
    } else if (c === 46 && digits > 0 && part < 4) {
      buf[off + part++] = value;
      value = 0;
      digits = 0;
    } else {
      throw new RangeError(`not an IPv4 address: ${addr}`);
    }
  }
  if (part !== 4) throw new RangeError(`not an IPv4 address: ${addr}`);
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
