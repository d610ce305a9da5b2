/**
 * AltPath's per-flow choice in TypeScript, bit for bit the same as
 * bpf/include/helpers/altpath.h (altpath_dscp marks packets with it,
 * conn_stats tells a closing connection's DSCP with it): jhash2 (Bob Jenkins'
 * lookup3 hashword) over the 5-tuple's words with the configured seed, then
 * `h % 10000` against the rules' cumulative basis points, then the exclusion
 * list. The differential test runs both over thousands of random flows.
 *
 * Words (host-order u32): IPv4 saddr, daddr, sport << 16 | dport, protocol;
 * IPv6 saddr[0..3], daddr[0..3], sport << 16 | dport, protocol. saddr/sport
 * are the sender's (the local side of a flow leaving the host).
 */
import { parseIpv4, parseIpv6, type PrefixSet } from '../common/net.js';
import type { Altpath } from '../maps/altpath.js';

const INITVAL = 0xdeadbeef;
/** Rules are in basis points: h % 10000 picks the bucket. */
export const ALTPATH_BUCKETS = 10_000;

const rol = (w: number, s: number): number => ((w << s) | (w >>> (32 - s))) >>> 0;

/** jhash2 of 32-bit words (the kernel's jhash2, lookup3's hashword). */
export function jhash2(k: readonly number[], initval: number): number {
  let a = (INITVAL + (k.length << 2) + initval) >>> 0;
  let b = a;
  let c = a;
  let i = 0;
  let n = k.length;
  while (n > 3) {
    a = (a + k[i]!) >>> 0;
    b = (b + k[i + 1]!) >>> 0;
    c = (c + k[i + 2]!) >>> 0;
    // mix(a, b, c)
    a = (a - c) >>> 0; a = (a ^ rol(c, 4)) >>> 0; c = (c + b) >>> 0;
    b = (b - a) >>> 0; b = (b ^ rol(a, 6)) >>> 0; a = (a + c) >>> 0;
    c = (c - b) >>> 0; c = (c ^ rol(b, 8)) >>> 0; b = (b + a) >>> 0;
    a = (a - c) >>> 0; a = (a ^ rol(c, 16)) >>> 0; c = (c + b) >>> 0;
    b = (b - a) >>> 0; b = (b ^ rol(a, 19)) >>> 0; a = (a + c) >>> 0;
    c = (c - b) >>> 0; c = (c ^ rol(b, 4)) >>> 0; b = (b + a) >>> 0;
    n -= 3;
    i += 3;
  }
  if (n === 0) return c;
  if (n >= 3) c = (c + k[i + 2]!) >>> 0;
  if (n >= 2) b = (b + k[i + 1]!) >>> 0;
  a = (a + k[i]!) >>> 0;
  // final(a, b, c)
  c = (c ^ b) >>> 0; c = (c - rol(b, 14)) >>> 0;
  a = (a ^ c) >>> 0; a = (a - rol(c, 11)) >>> 0;
  b = (b ^ a) >>> 0; b = (b - rol(a, 25)) >>> 0;
  c = (c ^ b) >>> 0; c = (c - rol(b, 16)) >>> 0;
  a = (a ^ c) >>> 0; a = (a - rol(c, 4)) >>> 0;
  b = (b ^ a) >>> 0; b = (b - rol(a, 14)) >>> 0;
  c = (c ^ b) >>> 0; c = (c - rol(b, 24)) >>> 0;
  return c;
}

/** A flow as it leaves the host: saddr/sport local. */
export interface AltpathFlow {
  family: 4 | 6;
  saddr: string;
  daddr: string;
  sport: number;
  dport: number;
  /** IP protocol number (6 TCP, 17 UDP). */
  proto: number;
}

function addrWords(family: 4 | 6, addr: string): number[] {
  if (family === 4) return [parseIpv4(addr)];
  const b = parseIpv6(addr);
  return [0, 4, 8, 12].map((o) => b.readUInt32BE(o));
}

/** The flow's hash h (helpers/altpath.h ps_altpath_hash4/6). */
export function altpathFlowHash(f: AltpathFlow, seed: number): number {
  const words = [...addrWords(f.family, f.saddr), ...addrWords(f.family, f.daddr), ((f.sport << 16) | f.dport) >>> 0, f.proto];
  return jhash2(words, seed >>> 0);
}

/** DSCP of the first rule whose cumulative share covers h % 10000, or 0 (ps_altpath_pick). */
export function altpathPick(cfg: Pick<Altpath, 'rules'>, h: number): number {
  const bucket = h % ALTPATH_BUCKETS;
  let cum = 0;
  for (const r of cfg.rules) {
    cum += r.basisPoints;
    if (bucket < cum) return r.dscp & 0x3f;
  }
  return 0;
}

/** What altpath_dscp does to a packet (the ps_altpath_stats counter it bumps). */
export type AltpathOutcome = 'MARKED' | 'EXCLUDED' | 'UNSELECTED' | 'PREMARKED';

/**
 * The reference decision for a packet of flow `f` that carries DSCP `current`:
 * the DSCP it leaves with and why. (altpath_dscp also skips packets it cannot
 * hash: fragments, other protocols, IPv6 extension headers; with no rules it
 * does nothing at all.)
 */
export function altpathDecide(
  cfg: Altpath,
  exclude: Pick<PrefixSet, 'has'>,
  f: AltpathFlow,
  current = 0,
): { dscp: number; outcome: AltpathOutcome } {
  if (current && cfg.onlyUnmarked) return { dscp: current, outcome: 'PREMARKED' };
  const pick = altpathPick(cfg, altpathFlowHash(f, cfg.seed));
  if (!pick) return { dscp: current, outcome: 'UNSELECTED' };
  if (exclude.has(f.daddr)) return { dscp: current, outcome: 'EXCLUDED' };
  return { dscp: pick, outcome: 'MARKED' };
}
