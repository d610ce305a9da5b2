/**
 * Codecs for the agent's in-kernel helpers (bpf/include/pathsteer_types.h):
 * `struct ps_reflect_cfg` (ps_reflect[0]: reflector and learning switches,
 * backend id, token-bucket rate and size), `struct ps_reflect_src`
 * (ps_reflect_src[requester]: a negotiated source and its bucket),
 * `struct ps_learn_key`/`ps_learn_val` (ps_learn: the outer source port a
 * peer used per tenant flow, middlebox role), and the typed views of those maps.
 */
import type { BpfMap } from '../loader/index.js';
import { checkSource, target, type Codec, type FieldLayout } from './codec.js';
import { MapName } from './names.generated.js';
import { ipv4Bytes, ipv4String, PeerCodec, U32Codec } from './scalar.js';
import { TypedMap } from './typed-map.js';

/** ps_reflect_cfg.flags (enum ps_reflect_flags). */
export const PS_RF_REFLECT = 1 << 0;
export const PS_RF_LEARN = 1 << 1;
/** The most tokens per second the kernel accepts (PS_REFLECT_MAX_RATE). */
export const PS_REFLECT_MAX_RATE = 100_000_000;

export interface ReflectCfg {
  /** 48-bit backend id filled into every in-kernel response (the interface MAC or a configured id). */
  backendId: number;
  /** PS_RF_* bits. */
  flags: number;
  /** Tokens per second added to each source's bucket. */
  rate: number;
  /** Bucket size (tokens). */
  burst: number;
}

const CFG_FIELDS: readonly FieldLayout[] = [
  { name: 'backendId', c: 'backend_id', offset: 0, size: 6 },
  { name: 'flags', c: 'flags', offset: 6, size: 1 },
  { name: 'pad', c: 'pad', offset: 7, size: 1 },
  { name: 'rate', c: 'rate', offset: 8, size: 4 },
  { name: 'burst', c: 'burst', offset: 12, size: 4 },
];

export const ReflectCfgCodec: Codec<ReflectCfg> = {
  cName: 'ps_reflect_cfg',
  size: 16,
  fields: CFG_FIELDS,
  encode(v, buf, off = 0) {
    const b = target(16, buf, off);
    // network order, as it goes on the wire (the header's backend id)
    b.writeUIntBE(v.backendId, off, 6);
    b.writeUInt8(v.flags & 0xff, off + 6);
    b.writeUInt8(0, off + 7);
    b.writeUInt32LE(Math.min(v.rate, PS_REFLECT_MAX_RATE) >>> 0, off + 8);
    b.writeUInt32LE(v.burst >>> 0, off + 12);
    return b;
  },
  decode(buf, off = 0) {
    checkSource('ps_reflect_cfg', 16, buf, off);
    return { backendId: buf.readUIntBE(off, 6), flags: buf.readUInt8(off + 6), rate: buf.readUInt32LE(off + 8), burst: buf.readUInt32LE(off + 12) };
  },
};

export interface ReflectSrc {
  /** Tokens x 1000. */
  tokensMilli: bigint;
  /** CLOCK_MONOTONIC ns of the last request (refill); 0 = fill the bucket at the next one. */
  refillNs: bigint;
  /** Responses the kernel sent to this source. */
  answered: bigint;
  /** ...of them with CTL=BP. */
  bp: bigint;
}

const SRC_FIELDS: readonly FieldLayout[] = [
  { name: 'lock', c: 'lock', offset: 0, size: 4 },
  { name: 'pad', c: 'pad', offset: 4, size: 4 },
  { name: 'tokensMilli', c: 'tokens_milli', offset: 8, size: 8 },
  { name: 'refillNs', c: 'refill_ns', offset: 16, size: 8 },
  { name: 'answered', c: 'answered', offset: 24, size: 8 },
  { name: 'bp', c: 'bp', offset: 32, size: 8 },
];

export const ReflectSrcCodec: Codec<ReflectSrc> = {
  cName: 'ps_reflect_src',
  size: 40,
  fields: SRC_FIELDS,
  encode(v, buf, off = 0) {
    const b = target(40, buf, off);
    b.fill(0, off, off + 8); // the spin lock is the kernel's (update_elem never copies it)
    b.writeBigUInt64LE(BigInt.asUintN(64, v.tokensMilli), off + 8);
    b.writeBigUInt64LE(BigInt.asUintN(64, v.refillNs), off + 16);
    b.writeBigUInt64LE(BigInt.asUintN(64, v.answered), off + 24);
    b.writeBigUInt64LE(BigInt.asUintN(64, v.bp), off + 32);
    return b;
  },
  decode(buf, off = 0) {
    checkSource('ps_reflect_src', 40, buf, off);
    return {
      tokensMilli: buf.readBigUInt64LE(off + 8),
      refillNs: buf.readBigUInt64LE(off + 16),
      answered: buf.readBigUInt64LE(off + 24),
      bp: buf.readBigUInt64LE(off + 32),
    };
  },
};

/** A tenant flow of a peer, direction-free (lower address first). */
export interface LearnKey {
  peer: string;
  addrLo: string;
  addrHi: string;
  portLo: number;
  portHi: number;
  proto: number;
}

const KEY_FIELDS: readonly FieldLayout[] = [
  { name: 'peer', c: 'peer', offset: 0, size: 4 },
  { name: 'addrLo', c: 'addr_lo', offset: 4, size: 4 },
  { name: 'addrHi', c: 'addr_hi', offset: 8, size: 4 },
  { name: 'portLo', c: 'port_lo', offset: 12, size: 2 },
  { name: 'portHi', c: 'port_hi', offset: 14, size: 2 },
  { name: 'proto', c: 'proto', offset: 16, size: 1 },
  { name: 'pad', c: 'pad', offset: 17, size: 3 },
];

export const LearnKeyCodec: Codec<LearnKey> = {
  cName: 'ps_learn_key',
  size: 20,
  fields: KEY_FIELDS,
  encode(v, buf, off = 0) {
    const b = target(20, buf, off);
    ipv4Bytes(v.peer, b, off);
    ipv4Bytes(v.addrLo, b, off + 4);
    ipv4Bytes(v.addrHi, b, off + 8);
    b.writeUInt16BE(v.portLo, off + 12);
    b.writeUInt16BE(v.portHi, off + 14);
    b.writeUInt8(v.proto, off + 16);
    b.fill(0, off + 17, off + 20);
    return b;
  },
  decode(buf, off = 0) {
    checkSource('ps_learn_key', 20, buf, off);
    return {
      peer: ipv4String(buf, off),
      addrLo: ipv4String(buf, off + 4),
      addrHi: ipv4String(buf, off + 8),
      portLo: buf.readUInt16BE(off + 12),
      portHi: buf.readUInt16BE(off + 14),
      proto: buf.readUInt8(off + 16),
    };
  },
};

export interface LearnVal {
  /** Coarse CLOCK_MONOTONIC ns of the last packet that set or confirmed the port. */
  seenNs: bigint;
  /** The outer source port the peer used (host order). */
  sport: number;
}

const VAL_FIELDS: readonly FieldLayout[] = [
  { name: 'seenNs', c: 'seen_ns', offset: 0, size: 8 },
  { name: 'sport', c: 'sport', offset: 8, size: 2 },
  { name: 'pad', c: 'pad', offset: 10, size: 6 },
];

export const LearnValCodec: Codec<LearnVal> = {
  cName: 'ps_learn_val',
  size: 16,
  fields: VAL_FIELDS,
  encode(v, buf, off = 0) {
    const b = target(16, buf, off);
    b.writeBigUInt64LE(BigInt.asUintN(64, v.seenNs), off);
    b.writeUInt16BE(v.sport, off + 8);
    b.fill(0, off + 10, off + 16);
    return b;
  },
  decode(buf, off = 0) {
    checkSource('ps_learn_val', 16, buf, off);
    return { seenNs: buf.readBigUInt64LE(off), sport: buf.readUInt16BE(off + 8) };
  },
};

/** Typed views of ps_reflect, ps_reflect_src and ps_learn. */
export interface ReflectTables {
  cfg: TypedMap<number, ReflectCfg>;
  sources: TypedMap<string, ReflectSrc>;
  learn: TypedMap<LearnKey, LearnVal>;
}

/** The reflector's maps, found by `map(name)` (pinned or a test object's own). */
export function reflectTables(map: (name: string) => BpfMap): ReflectTables {
  return {
    cfg: new TypedMap(map(MapName.reflect), U32Codec, ReflectCfgCodec),
    sources: new TypedMap(map(MapName.reflectSrc), PeerCodec, ReflectSrcCodec),
    learn: new TypedMap(map(MapName.learn), LearnKeyCodec, LearnValCodec),
  };
}
