/**
 * Gates for privileged suites: `describe.runIf(canLoadBpf)(...)`. When CI sets
 * PATHSTEER_REQUIRE_PRIVILEGED=1, a suite that would skip fails instead
 * (see test/support/no-skip-reporter.ts and the check below).
 */
import { existsSync } from 'node:fs';
import { missingCaps } from '../../src/common/privileges.js';

export const requirePrivileged = process.env.PATHSTEER_REQUIRE_PRIVILEGED === '1';

/** Root-equivalent: can load BPF, attach TC programs and create namespaces. */
export const canLoadBpf =
  missingCaps(['CAP_BPF', 'CAP_NET_ADMIN', 'CAP_PERFMON', 'CAP_SYS_ADMIN']).length === 0 &&
  existsSync('/sys/fs/bpf') &&
  existsSync('/sys/kernel/btf/vmlinux');

/** Namespaces need root too. */
export const canUseNetns = missingCaps(['CAP_NET_ADMIN', 'CAP_SYS_ADMIN']).length === 0;

if (requirePrivileged && !canLoadBpf) {
  throw new Error(
    'PATHSTEER_REQUIRE_PRIVILEGED=1 but this process cannot load BPF (needs root, /sys/fs/bpf and kernel BTF); privileged suites would be skipped',
  );
}
