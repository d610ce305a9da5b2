/**
 * Capability checks, so a command without root or BPF rights fails up front with
 * a message naming the missing capability instead of a bare EPERM from the kernel.
 */
import { readFileSync } from 'node:fs';
import { PrivilegeError } from './errors.js';

/** Capability numbers from include/uapi/linux/capability.h. */
export const CAPS = {
  CAP_NET_ADMIN: 12,
  CAP_NET_RAW: 13,
  CAP_SYS_ADMIN: 21,
  CAP_PERFMON: 38,
  CAP_BPF: 39,
} as const;
export type CapName = keyof typeof CAPS;

/** The effective capability set of this process (from /proc/self/status CapEff). */
export function effectiveCaps(status = readFileSync('/proc/self/status', 'utf8')): bigint {
  const m = /^CapEff:\s*([0-9a-f]+)$/m.exec(status);
  return m ? BigInt(`0x${m[1]}`) : 0n;
}

export function hasCap(cap: CapName, eff = effectiveCaps()): boolean {
  return (eff >> BigInt(CAPS[cap])) & 1n ? true : false;
}

/**
 * Which of `needed` are missing. CAP_SYS_ADMIN stands in for CAP_BPF and
 * CAP_PERFMON, as the kernel allows.
 */
export function missingCaps(needed: readonly CapName[], eff = effectiveCaps()): CapName[] {
  return needed.filter((c) => {
    if (hasCap(c, eff)) return false;
    if ((c === 'CAP_BPF' || c === 'CAP_PERFMON') && hasCap('CAP_SYS_ADMIN', eff)) return false;
    return true;
  });
}

/** Throw PrivilegeError naming every missing capability. */
export function requireCaps(needed: readonly CapName[], what: string, eff = effectiveCaps()): void {
  const missing = missingCaps(needed, eff);
  if (missing.length > 0) throw new PrivilegeError(missing, what);
}
