/**
 * NLRI prefixes (RFC 4271 §4.3 "length in bits, then the fewest bytes that
 * hold it"; the same encoding in MP_REACH/MP_UNREACH, RFC 4760 §5): IPv4
 * prefixes as a u32 network number, IPv6 as 16 bytes. Each prefix has a
 * compact key for maps (a number for IPv4, a string for IPv6) and its text,
 * made only when asked for. Trailing bits beyond the length are cleared, as
 * RFC 4271 says they are irrelevant.
 */
import { formatIpv4, formatIpv6, ipv4Mask, parsePrefix } from '../../common/net.js';
import { BgpError, bgpShort } from './errors.js';

export interface Ipv4Nlri {
  family: 4;
  /** Network number, host bits cleared. */
  net: number;
  len: number;
}

export interface Ipv6Nlri {
  family: 6;
  /** 16 bytes, host bits cleared. */
  bytes: Buffer;
  len: number;
}

export type Nlri = Ipv4Nlri | Ipv6Nlri;

/**
 * A map key unique per prefix. IPv4 up to /26: `(net | len) | 0`, a 32-bit
 * integer (the 6 low bits of such a network are host bits, zero), which V8
 * keeps unboxed (a Smi): a full table's keys cost no allocation and hash
 * fast. Longer IPv4 prefixes: `v4:net/len`; IPv6: `hex/len` (strings).
 */
export type PrefixKey = number | string;

export function nlriKey(p: Nlri): PrefixKey {
  if (p.family === 4) return p.len <= 26 ? (p.net | p.len) | 0 : `v4:${p.net}/${p.len}`;
  return `${p.bytes.toString('hex')}/${p.len}`;
}

/** nlriKey of an IPv4 network number (host bits cleared) and length. */
export function ipv4Key(net: number, len: number): PrefixKey {
  return len <= 26 ? (net | len) | 0 : `v4:${net}/${len}`;
}

export function nlriText(p: Nlri): string {
  return p.family === 4 ? `${formatIpv4(p.net)}/${p.len}` : `${formatIpv6(p.bytes)}/${p.len}`;
}

/** The prefix of a key made by nlriKey. */
export function keyNlri(k: PrefixKey): Nlri {
  if (typeof k === 'number') return { family: 4, net: (k & ~63) >>> 0, len: k & 63 };
  const slash = k.indexOf('/');
  if (k.startsWith('v4:')) return { family: 4, net: Number(k.slice(3, slash)), len: Number(k.slice(slash + 1)) };
  return { family: 6, bytes: Buffer.from(k.slice(0, slash), 'hex'), len: Number(k.slice(slash + 1)) };
}

/** Text ("203.0.113.0/24", "2001:db8::/32") -> Nlri, through src/common/net.ts; AddressError when it is not a prefix. */
export function parseNlri(text: string): Nlri {
  const p = parsePrefix(text);
  return p.family === 4 ? { family: 4, net: p.bytes.readUInt32BE(0), len: p.len } : { family: 6, bytes: p.bytes, len: p.len };
}

/** Bytes one prefix takes on the wire. */
export function nlriEncodingLength(p: Nlri): number {
  return 1 + ((p.len + 7) >> 3);
}

/** Write one prefix at off; returns the offset after it. */
export function encodeNlri(p: Nlri, buf: Buffer, off: number): number {
  buf[off++] = p.len;
  const n = (p.len + 7) >> 3;
  if (p.family === 4) {
    for (let i = 0; i < n; i++) buf[off + i] = (p.net >>> (24 - 8 * i)) & 0xff;
  } else {
    p.bytes.copy(buf, off, 0, n);
  }
  return off + n;
}

/**
 * Read the prefixes of `family` in buf[off, end). Throws BgpError when a
 * length exceeds the family's maximum or the bytes run out.
 */
export function decodeNlriList(buf: Buffer, off: number, end: number, family: 4 | 6, out: Nlri[] = []): Nlri[] {
  const max = family === 4 ? 32 : 128;
  while (off < end) {
    const len = buf[off++]!;
    if (len > max) throw new BgpError('BAD_PREFIX', `IPv${family} prefix length ${len} is above ${max}`);
    const n = (len + 7) >> 3;
    if (off + n > end) throw bgpShort(`IPv${family} prefix /${len}`, n, end - off);
    if (family === 4) {
      let v = 0;
      for (let i = 0; i < 4; i++) v = v * 256 + (i < n ? buf[off + i]! : 0);
      out.push({ family: 4, net: (v & ipv4Mask(len)) >>> 0, len });
    } else {
      const bytes = Buffer.alloc(16);
      buf.copy(bytes, 0, off, off + n);
      if (len % 8 !== 0) bytes[n - 1]! &= (0xff << (8 - (len % 8))) & 0xff;
      out.push({ family: 6, bytes, len });
    }
    off += n;
  }
  return out;
}
