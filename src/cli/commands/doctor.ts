/**
 * `pathsteer doctor [--json]`: what this host can and cannot do for pathsteer
 * (privileges, bpffs, BTF, kernel features, tools), each with a verdict.
 */
import { existsSync } from 'node:fs';
import { release } from 'node:os';
import type { Command } from 'commander';
import { run } from '../../common/exec.js';
import { kernelConfigKnown, kernelHas } from '../../common/kernel-features.js';
import { missingCaps } from '../../common/privileges.js';
import { pinFilesystem } from '../../maps/dataplane.js';
import { action, type CliContext, type CommandOutput } from '../command.js';

interface Check {
  name: string;
  ok: boolean;
  detail: string;
}

const KERNEL_FEATURES: Array<[string, string]> = [
  ['BPF_SYSCALL', 'eBPF'],
  ['NET_CLS_BPF', 'TC BPF classifier'],
  ['NET_SCH_INGRESS', 'clsact qdisc'],
  ['DEBUG_INFO_BTF', 'kernel BTF (CO-RE)'],
  ['VXLAN', 'VXLAN tunnels'],
  ['GENEVE', 'Geneve tunnels'],
  ['IP_ROUTE_MULTIPATH', 'ECMP routes'],
  ['NET_SCH_NETEM', 'netem (delay/loss; testbed falls back to NFQUEUE/iptables)'],
  ['NETFILTER_XT_TARGET_NFQUEUE', 'NFQUEUE (testbed delay helper)'],
  ['NETFILTER_XT_MATCH_STATISTIC', 'iptables statistic match (testbed loss)'],
];

async function tool(name: string, argv: string[]): Promise<Check> {
  try {
    const r = await run(argv, { timeoutMs: 5000 });
    return { name, ok: true, detail: (r.stdout || r.stderr).split('\n')[0]!.trim() };
  } catch (e) {
    return { name, ok: false, detail: (e as Error).message };
  }
}

export async function doctor(): Promise<Check[]> {
  const checks: Check[] = [];
  const missing = missingCaps(['CAP_BPF', 'CAP_NET_ADMIN', 'CAP_PERFMON']);
  checks.push({
    name: 'privileges',
    ok: missing.length === 0,
    detail: missing.length ? `missing ${missing.join(', ')}` : 'CAP_BPF, CAP_NET_ADMIN, CAP_PERFMON',
  });
  const fs = pinFilesystem();
  const canMount = missingCaps(['CAP_SYS_ADMIN']).length === 0;
  checks.push({
    name: 'bpffs',
    // not mounted is fine when pathsteer may mount it (CAP_SYS_ADMIN), as it does under ip netns exec
    ok: fs.bpffs || canMount,
    detail: fs.bpffs
      ? `${fs.mountPoint} is mounted`
      : `${fs.mountPoint} is ${fs.type}: pathsteer mounts bpffs there when it attaches${canMount ? '' : ', but that needs CAP_SYS_ADMIN'}`,
  });
  checks.push({ name: 'btf', ok: existsSync('/sys/kernel/btf/vmlinux'), detail: '/sys/kernel/btf/vmlinux' });
  checks.push({ name: 'kernel', ok: true, detail: release() });
  if (kernelConfigKnown()) {
    for (const [opt, what] of KERNEL_FEATURES) {
      checks.push({ name: `CONFIG_${opt}`, ok: kernelHas(opt), detail: what });
    }
  }
  checks.push(await tool('clang', ['clang', '--version']));
  checks.push(await tool('bpftool', ['bpftool', 'version']));
  return checks;
}

export function registerDoctor(program: Command, _ctx: CliContext): void {
  program
    .command('doctor')
    .description('check privileges, kernel features and tools pathsteer needs')
    .option('--json', 'print JSON')
    .action(
      action(async (): Promise<CommandOutput> => {
        const checks = await doctor();
        const text = checks.map((c) => `${c.ok ? 'ok  ' : 'MISS'}  ${c.name.padEnd(34)} ${c.detail}`).join('\n');
        return { data: { checks }, text };
      }),
    );
}
