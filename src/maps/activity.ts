/**
 * Codec for `struct ps_activity` (bpf/include/pathsteer_types.h), the per-CPU
 * value of ps_activity[peer], and how per-CPU copies combine into one view.
 */
import { checkSource, target, type Codec, type FieldLayout } from './codec.js';
import { BpfError } from '../loader/index.js';
import type { TypedMap } from './typed-map.js';

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

/**
 * Start a new in-use window for `peers`: ports_in_use := 0 on every CPU, the
 * counters and times kept. Racy by design (vxlan_sport may add a bit or a
 * packet between the read and the write; a flow that keeps sending sets its
 * bit again within one tick through its flow-cache flush): ports_in_use only
 * steers partial-mode probing, which tolerates one bit missing for a window.
 */
export function clearPortsInUse(map: TypedMap<string, Activity>, peers: readonly string[]): void {
  for (const peer of peers) {
    const perCpu = map.getPerCpu(peer);
    if (!perCpu || perCpu.every((a) => a.portsInUse === 0n)) continue;
    try {
      map.setPerCpu(
        peer,
        perCpu.map((a) => ({ ...a, portsInUse: 0n })),
        BPF_EXIST,
      );
    } catch (e) {
      if (!(e instanceof BpfError) || e.errno !== ENOENT) throw e; // evicted meanwhile: nothing to clear
    }
  }
}

/** Update only an existing element (include/uapi/linux/bpf.h). */
const BPF_EXIST = 2;
const ENOENT = 2;
