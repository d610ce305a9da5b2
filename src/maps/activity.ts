/**
 * Codec for `struct ps_activity` (bpf/include/pathsteer_types.h), the per-CPU
 * value of ps_activity[peer], and how per-CPU copies combine into one view.
 */
import { checkSource, target, type Codec, type FieldLayout } from './codec.js';

export interface Activity {
  /** CLOCK_MONOTONIC_COARSE ns of the last tunnel packet: process.hrtime.bigint() scale, up to one tick behind. */
  lastSeenNs: bigint;
  packets: bigint;
  bytes: bigint;
  /** Bit i: a flow left on basePort + i. */
  portsInUse: bigint;
}

const FIELDS: readonly FieldLayout[] = [
  { name: 'lastSeenNs', c: 'last_seen_ns', offset: 0, size: 8 },
  { name: 'packets', c: 'packets', offset: 8, size: 8 },
  { name: 'bytes', c: 'bytes', offset: 16, size: 8 },
  { name: 'portsInUse', c: 'ports_in_use', offset: 24, size: 8 },
];

export const ActivityCodec: Codec<Activity> = {
  cName: 'ps_activity',
  size: 32,
  fields: FIELDS,
  encode(v, buf, off = 0) {
    const b = target(32, buf, off);
    b.writeBigUInt64LE(BigInt.asUintN(64, v.lastSeenNs), off);
    b.writeBigUInt64LE(BigInt.asUintN(64, v.packets), off + 8);
    b.writeBigUInt64LE(BigInt.asUintN(64, v.bytes), off + 16);
    b.writeBigUInt64LE(BigInt.asUintN(64, v.portsInUse), off + 24);
    return b;
  },
  decode(buf, off = 0) {
    checkSource('ps_activity', 32, buf, off);
    return {
      lastSeenNs: buf.readBigUInt64LE(off),
      packets: buf.readBigUInt64LE(off + 8),
      bytes: buf.readBigUInt64LE(off + 16),
      portsInUse: buf.readBigUInt64LE(off + 24),
    };
  },
};

/** One peer's activity over all CPUs: sums, latest time, union of ports. */
export function combineActivity(perCpu: readonly Activity[]): Activity {
  const out: Activity = { lastSeenNs: 0n, packets: 0n, bytes: 0n, portsInUse: 0n };
  for (const a of perCpu) {
    if (a.lastSeenNs > out.lastSeenNs) out.lastSeenNs = a.lastSeenNs;
    out.packets += a.packets;
    out.bytes += a.bytes;
    out.portsInUse |= a.portsInUse;
  }
  return out;
}
