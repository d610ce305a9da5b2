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
 *   h:          flowHash(kernel-chosen outer sport, ps_config.hash_seed).
 *   invalid:    nports outside 1..64 or a window past port 65535 -> no choice.
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

/**
 * The flow hash `h` the data plane derives from a tunnel packet: the outer
 * source port the kernel chose (already a hash of the inner flow) mixed with
 * ps_config.hash_seed. Bit for bit the same as ps_flow_hash in
 * bpf/include/helpers/flow_hash.h; ps_pin keys carry it as flow_hash.
 */
export function flowHash(kernelSport: number, seed: number): number {
  let h = (Math.imul(kernelSport & 0xffff, 0x9e3779b1) ^ seed) >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b) >>> 0;
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35) >>> 0;
  h ^= h >>> 16;
  return h >>> 0;
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
 * An entry the data plane uses: 1..64 ports, all of them valid port numbers
 * (basePort + nports - 1 <= 65535). The data plane leaves packets of any
 * other entry unchanged (ps_stats BAD_ENTRY).
 */
export function validWindow(e: Pick<PathEntry, 'basePort' | 'nports'>): boolean {
  return e.nports >= 1 && e.nports <= 64 && e.basePort + e.nports - 1 <= 0xffff;
}

/**
 * The port a flow with hash `hash` gets; `pin` is the flow's pinned index, if
 * any. undefined when no port is healthy (the packet goes out unchanged).
 */
export function selectPort(e: PathEntry, hash: number, pin?: number): PortChoice | undefined {
  if (!validWindow(e)) return undefined;
  const healthy = e.healthy & windowMask(e.nports);
  if (pin !== undefined && pin >= 0 && pin < e.nports && (healthy >> BigInt(pin)) & 1n) {
    return { idx: pin, port: e.basePort + pin, pinned: true };
  }
  const c = candidates(e, hash);
  const idx = firstSetFrom(c, (hash >>> 0) % e.nports, e.nports);
  if (idx < 0) return undefined;
  return { idx, port: e.basePort + idx, pinned: false };
}
