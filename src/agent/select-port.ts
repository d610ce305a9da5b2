/**
 * The reference of the data plane's port choice (bpf/vxlan_sport.bpf.c, DESIGN
 * §2.2). The BPF program, gateway-sim's PBM table and the agent must all agree
 * with this function; differential tests hold them to it.
 *
 *   candidates: stateful -> healthy & group_mask[h % ngroups], else healthy;
 *               otherwise preferred & healthy (when PS_F_PREFER and non-empty),
 *               else healthy; always limited to the nports window.
 *   pin:        a pinned index whose bit is still healthy is kept.
 *   choose:     first candidate bit at or after h % nports, cyclically.
 */
import { PS_F_PREFER, PS_F_STATEFUL, type PathEntry } from '../maps/path-entry.js';

export interface PortChoice {
  /** Index in the window (bit number). */
  idx: number;
  /** basePort + idx. */
  port: number;
  /** True when the choice came from an existing pin. */
  pinned: boolean;
}

export function windowMask(nports: number): bigint {
  return nports >= 64 ? 0xffff_ffff_ffff_ffffn : (1n << BigInt(nports)) - 1n;
}

/** The candidate bitmap for flow hash `hash` (before pinning). */
export function candidates(e: PathEntry, hash: number): bigint {
  const win = windowMask(e.nports);
  const healthy = e.healthy & win;
  if (e.flags & PS_F_STATEFUL && e.ngroups > 0) {
    const g = (hash >>> 0) % Math.min(e.ngroups, 8);
    const c = healthy & (e.groupMask[g] ?? 0n);
    return c !== 0n ? c : healthy;
  }
  if (e.flags & PS_F_PREFER) {
    const p = healthy & e.preferred;
    if (p !== 0n) return p;
  }
  return healthy;
}

/** First set bit of `bits` at or after `start`, cyclically within n bits; -1 if none. */
export function firstSetFrom(bits: bigint, start: number, n: number): number {
  const win = windowMask(n);
  const b = bits & win;
  if (b === 0n) return -1;
  const s = BigInt(start % n);
  const rotated = s === 0n ? b : ((b >> s) | (b << (BigInt(n) - s))) & win;
  let ctz = 0;
  let r = rotated;
  while ((r & 1n) === 0n) {
    r >>= 1n;
    ctz++;
  }
  return (start % n + ctz) % n;
}

/**
 * The port a flow with hash `hash` gets; `pin` is the flow's pinned index, if
 * any. undefined when no port is healthy (the packet goes out unchanged).
 */
export function selectPort(e: PathEntry, hash: number, pin?: number): PortChoice | undefined {
  if (e.nports < 1 || e.nports > 64) return undefined;
  const healthy = e.healthy & windowMask(e.nports);
  if (pin !== undefined && pin >= 0 && pin < e.nports && (healthy >> BigInt(pin)) & 1n) {
    return { idx: pin, port: e.basePort + pin, pinned: true };
  }
  const c = candidates(e, hash);
  const idx = firstSetFrom(c, (hash >>> 0) % e.nports, e.nports);
  if (idx < 0) return undefined;
  return { idx, port: e.basePort + idx, pinned: false };
}
