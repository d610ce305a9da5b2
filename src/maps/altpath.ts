/**
 * Codecs for the AltPath structs of bpf/include/pathsteer_types.h:
 * `struct ps_altpath` (ps_altpath[0]: sampling seed, generation and DSCP
 * rules), `struct ps_altpath_rule` (one rule), `struct ps_altpath_slot` (a
 * ps_altpath_cache slot) and `struct ps_lpm_key` (the ps_altpath_exclude LPM
 * trie key; IPv4 as ::ffff:a.b.c.d).
 */
import { isIPv4, isIPv6 } from 'node:net';
import { formatIpv6, parseIpv6, writeIpv4 } from '../common/net.js';
import { checkSource, target, type Codec, type FieldLayout } from './codec.js';

export const PS_ALTPATH_MAX_RULES = 8;

export interface AltpathRule {
  /** DSCP value to mark (0..63). */
  dscp: number;
  /** Share of flows, in 1/10000. */
  basisPoints: number;
}

export interface Altpath {
  seed: number;
  /** Mark only flows whose DSCP is 0. */
  onlyUnmarked: boolean;
  /** At most 8 rules; nrules is rules.length. */
  rules: AltpathRule[];
  /**
   * Configuration generation: changes with every change to the rules, seed
   * or exclusions (AltpathTables advances it); altpath_dscp's flow-cache
   * slots of another generation are stale. @default 0 when read from code that never wrote one
   */
  gen?: number;
}

export const AltpathRuleCodec: Codec<AltpathRule> = {
  cName: 'ps_altpath_rule',
  size: 4,
  fields: [
    { name: 'dscp', c: 'dscp', offset: 0, size: 1 },
    { name: 'pad', c: 'pad', offset: 1, size: 1 },
    { name: 'basisPoints', c: 'basis_points', offset: 2, size: 2 },
  ],
  encode(v, buf, off = 0) {
    const b = target(4, buf, off);
    b.writeUInt8(v.dscp, off);
    b.writeUInt8(0, off + 1);
    b.writeUInt16LE(v.basisPoints, off + 2);
    return b;
  },
  decode(buf, off = 0) {
    checkSource('ps_altpath_rule', 4, buf, off);
    return { dscp: buf.readUInt8(off), basisPoints: buf.readUInt16LE(off + 2) };
  },
};

const FIELDS: readonly FieldLayout[] = [
  { name: 'seed', c: 'seed', offset: 0, size: 4 },
  { name: 'gen', c: 'gen', offset: 4, size: 4 },
  { name: 'nrules', c: 'nrules', offset: 8, size: 1 },
  { name: 'onlyUnmarked', c: 'only_unmarked', offset: 9, size: 1 },
  { name: 'pad', c: 'pad', offset: 10, size: 2 },
  { name: 'rules', c: 'rule', offset: 12, size: 32 },
];

export const AltpathCodec: Codec<Altpath> = {
  cName: 'ps_altpath',
  size: 44,
  fields: FIELDS,
  encode(v, buf, off = 0) {
    if (v.rules.length > PS_ALTPATH_MAX_RULES) {
      throw new RangeError(`ps_altpath holds at most ${PS_ALTPATH_MAX_RULES} rules, got ${v.rules.length}`);
    }
    const b = target(44, buf, off);
    b.fill(0, off, off + 44);
    b.writeUInt32LE(v.seed >>> 0, off);
    b.writeUInt32LE((v.gen ?? 0) >>> 0, off + 4);
    b.writeUInt8(v.rules.length, off + 8);
    b.writeUInt8(v.onlyUnmarked ? 1 : 0, off + 9);
    v.rules.forEach((r, i) => AltpathRuleCodec.encode(r, b, off + 12 + 4 * i));
    return b;
  },
  decode(buf, off = 0) {
    checkSource('ps_altpath', 44, buf, off);
    const n = Math.min(buf.readUInt8(off + 8), PS_ALTPATH_MAX_RULES);
    const rules: AltpathRule[] = [];
    for (let i = 0; i < n; i++) rules.push(AltpathRuleCodec.decode(buf, off + 12 + 4 * i));
    return { seed: buf.readUInt32LE(off), onlyUnmarked: buf.readUInt8(off + 9) !== 0, rules, gen: buf.readUInt32LE(off + 4) };
  },
};

/** One per-CPU slot of ps_altpath_cache: the last decision for a flow. */
export interface AltpathSlot {
  /** 16 bytes each, network order (IPv4: the first 4). */
  saddr: Buffer;
  daddr: Buffer;
  /** The L4 header's first 4 bytes (sport, dport) as in the packet, read as a host-order u32. */
  ports: number;
  /** ps_altpath.gen the decision was taken under; 0 = empty. */
  gen: number;
  family: number;
  proto: number;
  /** The flow's DSCP (0 = left alone). */
  dscp: number;
  /** enum ps_altpath_stat id of the decision. */
  outcome: number;
}

export const PS_ALTPATH_CACHE_SLOTS = 1024;

export const AltpathSlotCodec: Codec<AltpathSlot> = {
  cName: 'ps_altpath_slot',
  size: 48,
  fields: [
    { name: 'saddr', c: 'saddr', offset: 0, size: 16 },
    { name: 'daddr', c: 'daddr', offset: 16, size: 16 },
    { name: 'ports', c: 'ports', offset: 32, size: 4 },
    { name: 'gen', c: 'gen', offset: 36, size: 4 },
    { name: 'family', c: 'family', offset: 40, size: 1 },
    { name: 'proto', c: 'proto', offset: 41, size: 1 },
    { name: 'dscp', c: 'dscp', offset: 42, size: 1 },
    { name: 'outcome', c: 'outcome', offset: 43, size: 1 },
    { name: 'pad', c: 'pad', offset: 44, size: 4 },
  ],
  encode(v, buf, off = 0) {
    const b = target(48, buf, off);
    b.fill(0, off, off + 48);
    v.saddr.copy(b, off, 0, 16);
    v.daddr.copy(b, off + 16, 0, 16);
    b.writeUInt32LE(v.ports >>> 0, off + 32);
    b.writeUInt32LE(v.gen >>> 0, off + 36);
    b.writeUInt8(v.family, off + 40);
    b.writeUInt8(v.proto, off + 41);
    b.writeUInt8(v.dscp, off + 42);
    b.writeUInt8(v.outcome, off + 43);
    return b;
  },
  decode(buf, off = 0) {
    checkSource('ps_altpath_slot', 48, buf, off);
    return {
      saddr: Buffer.from(buf.subarray(off, off + 16)),
      daddr: Buffer.from(buf.subarray(off + 16, off + 32)),
      ports: buf.readUInt32LE(off + 32),
      gen: buf.readUInt32LE(off + 36),
      family: buf.readUInt8(off + 40),
      proto: buf.readUInt8(off + 41),
      dscp: buf.readUInt8(off + 42),
      outcome: buf.readUInt8(off + 43),
    };
  },
};

export interface LpmPrefix {
  /** IPv4 or IPv6 address (network part). */
  addr: string;
  /** Prefix length for the address family (0..32 IPv4, 0..128 IPv6). */
  len: number;
}

/** 16 bytes (network order) as compressed IPv6 text. */
export const ipv6String = formatIpv6;

export const LpmKeyCodec: Codec<LpmPrefix> = {
  cName: 'ps_lpm_key',
  size: 20,
  fields: [
    { name: 'len', c: 'prefixlen', offset: 0, size: 4 },
    { name: 'addr', c: 'addr', offset: 4, size: 16 },
  ],
  encode(v, buf, off = 0) {
    const b = target(20, buf, off);
    b.fill(0, off, off + 20);
    if (isIPv4(v.addr)) {
      if (v.len < 0 || v.len > 32) throw new RangeError(`IPv4 prefix length ${v.len} out of 0..32`);
      b.writeUInt32LE(v.len + 96, off);
      b.writeUInt16BE(0xffff, off + 4 + 10);
      writeIpv4(v.addr, b, off + 4 + 12);
    } else if (isIPv6(v.addr)) {
      if (v.len < 0 || v.len > 128) throw new RangeError(`IPv6 prefix length ${v.len} out of 0..128`);
      b.writeUInt32LE(v.len, off);
      parseIpv6(v.addr, b, off + 4);
    } else {
      throw new RangeError(`not an IP address: ${v.addr}`);
    }
    return b;
  },
  decode(buf, off = 0) {
    checkSource('ps_lpm_key', 20, buf, off);
    const len = buf.readUInt32LE(off);
    const mapped = buf.subarray(off + 4, off + 14).every((x) => x === 0) && buf.readUInt16BE(off + 14) === 0xffff;
    if (mapped && len >= 96) {
      return { addr: `${buf[off + 16]}.${buf[off + 17]}.${buf[off + 18]}.${buf[off + 19]}`, len: len - 96 };
    }
    return { addr: ipv6String(buf, off + 4), len };
  },
};
