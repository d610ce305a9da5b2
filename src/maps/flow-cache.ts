/**
 * Codec for `struct ps_flow_slot` (bpf/include/pathsteer_types.h), the per-CPU
 * value of ps_flow_cache: vxlan_sport's cached port decision for one
 * (peer, flow) and the activity it counted since its last flush into
 * ps_activity, and how those pending counts join ps_activity when read.
 */
import type { Activity } from './activity.js';
import { checkSource, target, type Codec, type FieldLayout } from './codec.js';
import { PsStat } from './names.generated.js';
import { ipv4Bytes, ipv4String } from './scalar.js';

/** Slots per CPU (PS_FLOW_CACHE_SLOTS). */
export const PS_FLOW_CACHE_SLOTS = 1024;

export interface FlowSlot {
  /** Peer VTEP (dotted quad; `__be32` in the map). */
  peer: string;
  flowHash: number;
  /** ps_config.path_gen the decision was taken under. */
  gen: number;
  /** Outer source port written (host order here); 0 = the packet's own port is left. */
  sport: number;
  /** Window index of sport (its ports_in_use bit) when outcome is STEERED. */
  idx: number;
  /** PsStat id of the decision (NO_ENTRY, BAD_ENTRY, NO_HEALTHY, STEERED); 0 = empty slot. */
  outcome: number;
  flushedJiffies: bigint;
  /** CLOCK_MONOTONIC_COARSE ns of the last flush: the pending packets arrived in the tick after it. */
  flushedNs: bigint;
  pendingPackets: bigint;
  pendingBytes: bigint;
}

const FIELDS: readonly FieldLayout[] = [
  { name: 'peer', c: 'peer', offset: 0, size: 4 },
  { name: 'flowHash', c: 'flow_hash', offset: 4, size: 4 },
  { name: 'gen', c: 'gen', offset: 8, size: 4 },
  { name: 'sport', c: 'sport', offset: 12, size: 2 },
  { name: 'idx', c: 'idx', offset: 14, size: 1 },
  { name: 'outcome', c: 'outcome', offset: 15, size: 1 },
  { name: 'flushedJiffies', c: 'flushed_jiffies', offset: 16, size: 8 },
  { name: 'flushedNs', c: 'flushed_ns', offset: 24, size: 8 },
  { name: 'pendingPackets', c: 'pending_packets', offset: 32, size: 8 },
  { name: 'pendingBytes', c: 'pending_bytes', offset: 40, size: 8 },
];

export const FlowSlotCodec: Codec<FlowSlot> = {
  cName: 'ps_flow_slot',
  size: 48,
  fields: FIELDS,
  encode(v, buf, off = 0) {
    const b = target(48, buf, off);
    ipv4Bytes(v.peer, b, off);
    b.writeUInt32LE(v.flowHash >>> 0, off + 4);
    b.writeUInt32LE(v.gen >>> 0, off + 8);
    b.writeUInt16BE(v.sport, off + 12);
    b.writeUInt8(v.idx, off + 14);
    b.writeUInt8(v.outcome, off + 15);
    b.writeBigUInt64LE(BigInt.asUintN(64, v.flushedJiffies), off + 16);
    b.writeBigUInt64LE(BigInt.asUintN(64, v.flushedNs), off + 24);
    b.writeBigUInt64LE(BigInt.asUintN(64, v.pendingPackets), off + 32);
    b.writeBigUInt64LE(BigInt.asUintN(64, v.pendingBytes), off + 40);
    return b;
  },
  decode(buf, off = 0) {
    checkSource('ps_flow_slot', 48, buf, off);
    return {
      peer: ipv4String(buf, off),
      flowHash: buf.readUInt32LE(off + 4),
      gen: buf.readUInt32LE(off + 8),
      sport: buf.readUInt16BE(off + 12),
      idx: buf.readUInt8(off + 14),
      outcome: buf.readUInt8(off + 15),
      flushedJiffies: buf.readBigUInt64LE(off + 16),
      flushedNs: buf.readBigUInt64LE(off + 24),
      pendingPackets: buf.readBigUInt64LE(off + 32),
      pendingBytes: buf.readBigUInt64LE(off + 40),
    };
  },
};

/**
 * The slot of (peer, flowHash): ps_flow_slot_of in bpf/include/helpers/flow_cache.h,
 * bit for bit (the peer is the `__be32` as a little-endian host loads it).
 */
export function flowSlotOf(peer: string, flowHash: number): number {
  const p = ipv4Bytes(peer).readUInt32LE(0);
  return ((flowHash ^ (Math.imul(p, 0x9e3779b1) >>> 16)) & (PS_FLOW_CACHE_SLOTS - 1)) >>> 0;
}

/** An empty slot (what clearing the cache writes). */
export const EMPTY_FLOW_SLOT: FlowSlot = {
  peer: '0.0.0.0',
  flowHash: 0,
  gen: 0,
  sport: 0,
  idx: 0,
  outcome: 0,
  flushedJiffies: 0n,
  flushedNs: 0n,
  pendingPackets: 0n,
  pendingBytes: 0n,
};

/**
 * Per peer, what the slots (of every CPU) counted and have not flushed into
 * ps_activity yet, as Activity deltas: packets, bytes, the port bit of a
 * STEERED slot, and last_seen = the tick the pending packets arrived in.
 */
export function pendingActivity(slots: Iterable<FlowSlot>): Map<string, Activity> {
  const out = new Map<string, Activity>();
  for (const s of slots) {
    if (s.outcome === 0 || s.pendingPackets === 0n) continue;
    const a = out.get(s.peer) ?? { lastSeenNs: 0n, packets: 0n, bytes: 0n, portsInUse: 0n };
    a.packets += s.pendingPackets;
    a.bytes += s.pendingBytes;
    if (s.outcome === PsStat.STEERED) a.portsInUse |= 1n << BigInt(s.idx & 63);
    if (s.flushedNs > a.lastSeenNs) a.lastSeenNs = s.flushedNs;
    out.set(s.peer, a);
  }
  return out;
}
