/**
 * The one place pathsteer parses and formats IP addresses and prefixes.
 * IPv4 text follows `net.isIPv4` exactly (four decimal octets 0..255, no
 * leading zeros); IPv6 text is validated with `net.isIPv6`. IPv4 values are
 * numbers `a<<24 | b<<16 | c<<8 | d` (unsigned); bytes are network order.
 * Membership tests use `net.BlockList`.
 */
import { BlockList, isIPv4, isIPv6 } from 'node:net';
import { z } from 'zod';
import { UsageError } from './errors.js';

/** An address or prefix that does not parse; names the text and what was expected. */
export class AddressError extends UsageError {
  constructor(
    readonly input: string,
    readonly expected: string,
  ) {
    super(`"${input}" is not ${expected}`);
  }
}

/**
 * Dotted quad -> u32, or -1 when `s` is not an IPv4 address. Parsed by hand
 * (no regex, no allocation): encoding 50k map keys is on the agent's
 * table-sync path.
 */
export function ipv4Value(s: string): number {
  if (typeof s !== 'string') return -1;
  let part = 0;
  let octet = 0;
  let digits = 0;
  let v = 0;
  for (let i = 0; i <= s.length; i++) {
    const c = i < s.length ? s.charCodeAt(i) : 46; // '.' ends the last octet
    if (c >= 48 && c <= 57) {
      if (digits > 0 && octet === 0) return -1; // leading zero
      octet = octet * 10 + (c - 48);
      if (++digits > 3 || octet > 255) return -1;
    } else if (c === 46 && digits > 0 && part < 4) {
      v = v * 256 + octet;
      part++;
      octet = 0;
      digits = 0;
    } else {
      return -1;
    }
  }
  return part === 4 ? v : -1;
}

/** Dotted quad -> u32; AddressError when it is not one. */
export function parseIpv4(s: string): number {
  const v = ipv4Value(s);
  if (v < 0) throw new AddressError(String(s), 'an IPv4 address (a.b.c.d)');
  return v;
}

/** u32 -> dotted quad. */
export function formatIpv4(v: number): string {
  return `${v >>> 24}.${(v >>> 16) & 0xff}.${(v >>> 8) & 0xff}.${v & 0xff}`;
}

/** Write an IPv4 address as 4 bytes in network order; AddressError when it is not one. */
export function writeIpv4(s: string, buf: Buffer, off = 0): Buffer {
  buf.writeUInt32BE(parseIpv4(s), off);
  return buf;
}

/** Netmask of a prefix length 0..32 as a u32. */
export function ipv4Mask(len: number): number {
  return len === 0 ? 0 : (0xffff_ffff << (32 - len)) >>> 0;
}

/** IPv6 text -> 16 bytes; AddressError when `net.isIPv6` rejects it. */
export function parseIpv6(s: string, out: Buffer = Buffer.alloc(16), off = 0): Buffer {
  if (typeof s !== 'string' || !isIPv6(s)) throw new AddressError(String(s), 'an IPv6 address');
  let text = s.toLowerCase();
  const zone = text.indexOf('%');
  if (zone >= 0) text = text.slice(0, zone);
  const words: number[] = [];
  const tailV4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (tailV4) {
    const v4 = parseIpv4(tailV4[1]!);
    text = `${text.slice(0, -tailV4[1]!.length)}${(v4 >>> 16).toString(16)}:${(v4 & 0xffff).toString(16)}`;
  }
  const [head, tail] = text.includes('::') ? text.split('::') : [text, undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  words.push(...h.map((w) => parseInt(w, 16)));
  if (tail !== undefined) words.push(...Array<number>(8 - h.length - t.length).fill(0));
  words.push(...t.map((w) => parseInt(w, 16)));
  for (let i = 0; i < 8; i++) out.writeUInt16BE(words[i] ?? 0, off + 2 * i);
  return out;
}

/** 16 bytes -> the canonical (RFC 5952) IPv6 text. */
export function formatIpv6(b: Buffer, off = 0): string {
  const w: number[] = [];
  for (let i = 0; i < 8; i++) w.push(b.readUInt16BE(off + 2 * i));
  // the longest run of two or more zero words becomes "::" (the first of equals)
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (w[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && w[j] === 0) j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (a: number[]): string => a.map((x) => x.toString(16)).join(':');
  if (best < 0) return hex(w);
  return `${hex(w.slice(0, best))}::${hex(w.slice(best + bestLen))}`;
}

export type Family = 4 | 6;

/** An IP prefix. `addr` holds the network address (host bits cleared). */
export interface IpPrefix {
  family: Family;
  /** Network address bytes, 4 or 16, network order. */
  bytes: Buffer;
  len: number;
  /** Canonical text, `a.b.c.d/len` or `x::/len`. */
  text: string;
}

/** An IPv4 prefix with its numeric network address. */
export interface Ipv4Prefix extends IpPrefix {
  family: 4;
  /** Network address as a u32. */
  net: number;
}

export interface PrefixOptions {
  /** Accept an address without `/len` as a host prefix (/32, /128). @default true */
  allowBare?: boolean;
  /** Accept set host bits (cleared in the result); otherwise they are an error. @default true */
  allowHostBits?: boolean;
}

function prefixLen(s: string, text: string, max: number, what: string): number {
  if (!/^\d{1,3}$/.test(s)) throw new AddressError(text, what);
  const n = Number(s);
  if (n > max) throw new AddressError(text, `${what} (prefix length ${n} is above ${max})`);
  return n;
}

/** "a.b.c.d/len" (or "a.b.c.d") -> Ipv4Prefix; AddressError naming what is wrong. */
export function parseIpv4Prefix(text: string, o: PrefixOptions = {}): Ipv4Prefix {
  const what = 'an IPv4 prefix (a.b.c.d/len)';
  if (typeof text !== 'string') throw new AddressError(String(text), what);
  const slash = text.indexOf('/');
  if (slash < 0 && o.allowBare === false) throw new AddressError(text, what);
  const addr = ipv4Value(slash < 0 ? text : text.slice(0, slash));
  if (addr < 0) throw new AddressError(text, what);
  const len = slash < 0 ? 32 : prefixLen(text.slice(slash + 1), text, 32, what);
  const net = (addr & ipv4Mask(len)) >>> 0;
  if (net !== addr && o.allowHostBits === false) throw new AddressError(text, `${what} (host bits set; did you mean ${formatIpv4(net)}/${len}?)`);
  const bytes = Buffer.alloc(4);
  bytes.writeUInt32BE(net, 0);
  return { family: 4, bytes, len, net, text: `${formatIpv4(net)}/${len}` };
}

/** An IPv4 or IPv6 prefix (or bare address) -> IpPrefix; AddressError naming what is wrong. */
export function parsePrefix(text: string, o: PrefixOptions = {}): IpPrefix {
  if (typeof text !== 'string') throw new AddressError(String(text), 'an IP prefix');
  const slash = text.indexOf('/');
  const addrText = slash < 0 ? text : text.slice(0, slash);
  if (!addrText.includes(':')) return parseIpv4Prefix(text, o);
  const what = 'an IPv6 prefix (x::/len)';
  if (slash < 0 && o.allowBare === false) throw new AddressError(text, what);
  if (!isIPv6(addrText)) throw new AddressError(text, what);
  const len = slash < 0 ? 128 : prefixLen(text.slice(slash + 1), text, 128, what);
  const raw = parseIpv6(addrText);
  const bytes = Buffer.from(raw);
  for (let i = 0; i < 16; i++) {
    const keep = Math.max(0, Math.min(8, len - 8 * i));
    bytes[i]! &= (0xff << (8 - keep)) & 0xff;
  }
  if (!bytes.equals(raw) && o.allowHostBits === false) throw new AddressError(text, `${what} (host bits set)`);
  return { family: 6, bytes, len, text: `${formatIpv6(bytes)}/${len}` };
}

/** Is a u32 address inside an IPv4 prefix? */
export function ipv4InPrefix(ip: number, p: Ipv4Prefix): boolean {
  return ((ip & ipv4Mask(p.len)) >>> 0) === p.net;
}

/** Is prefix `inner` (text) contained in prefix `outer` (text)? Both IPv4 or both IPv6. */
export function prefixWithin(inner: string, outer: string): boolean {
  const a = parsePrefix(inner);
  const b = parsePrefix(outer);
  if (a.family !== b.family || a.len < b.len) return false;
  const list = new BlockList();
  list.addSubnet(formatAddr(b), b.len, b.family === 4 ? 'ipv4' : 'ipv6');
  return list.check(formatAddr(a), a.family === 4 ? 'ipv4' : 'ipv6');
}

/** The network address of a prefix as text. */
export function formatAddr(p: IpPrefix): string {
  return p.family === 4 ? formatIpv4(p.bytes.readUInt32BE(0)) : formatIpv6(p.bytes);
}

/** A set of prefixes to test addresses against (`net.BlockList`); empty = nothing matches. */
export class PrefixSet {
  private readonly list = new BlockList();
  readonly prefixes: readonly IpPrefix[];
  constructor(texts: readonly string[]) {
    this.prefixes = texts.map((t) => parsePrefix(t));
    for (const p of this.prefixes) this.list.addSubnet(formatAddr(p), p.len, p.family === 4 ? 'ipv4' : 'ipv6');
  }
  get size(): number {
    return this.prefixes.length;
  }
  has(addr: string): boolean {
    return this.list.check(addr, isIPv4(addr) ? 'ipv4' : 'ipv6');
  }
}

/** A zod string schema that accepts what `parse` accepts; its message says what is wrong ("not an IPv4 prefix ..."). */
function zParsed(parse: (s: string) => unknown) {
  return z.string().superRefine((s, ctx) => {
    try {
      parse(s);
    } catch (e) {
      ctx.addIssue({ code: 'custom', message: e instanceof AddressError ? e.expected.replace(/^an? /, 'not an ') : String(e) });
    }
  });
}

/** zod schemas that use these parsers (for CLI flags and config files). */
export const zip = {
  ipv4: () => z.string().refine((s) => ipv4Value(s) >= 0, 'not an IPv4 address (a.b.c.d)'),
  ipv4Prefix: () => zParsed((s) => parseIpv4Prefix(s)),
  prefix: () => zParsed((s) => parsePrefix(s)),
};
