/**
 * `pathsteer demo [--probe-interval MS] [--kernel-baseline] [--json]`: the
 * README's main job. Builds the clos-2x2 namespace testbed, runs tenant
 * traffic while a spine link is blackholed and healed, first without
 * pathsteer and then with an agent on each host, tears everything down, and
 * prints the tenant outage side by side.
 */
import type { Command } from 'commander';
import { z } from 'zod';
import { requireCaps } from '../../common/privileges.js';
import { compareFailover, type FailoverComparison } from '../../testbed/failover.js';
import { action, parseOptions, zcli, type CliContext, type CommandOutput } from '../command.js';

const Options = z.object({
  probeInterval: zcli.int(10, 60_000),
  flows: zcli.int(1, 256),
  kernelBaseline: z.boolean().optional(),
  json: z.boolean().optional(),
});

const ms = (x: number): string => (x >= 1000 ? `${(x / 1000).toFixed(2)} s` : `${Math.round(x)} ms`);

export function demoTable(c: FailoverComparison): string {
  const w = c.with[0]!;
  const rows: Array<[string, string, string, string?]> = [
    ['', 'without pathsteer', 'with pathsteer', c.kernel ? 'kernel txrehash (TCP)' : undefined],
    ['flows affected', `${c.without.affected_flows}/${c.without.flows}`, `${w.affected_flows}/${w.flows}`, c.kernel ? `${c.kernel.host_tcp.affected_flows}/${c.kernel.host_tcp.flows}` : undefined],
    ['packets lost', String(c.without.lost_packets), String(w.lost_packets), c.kernel ? String(c.kernel.host_tcp.lost_packets) : undefined],
    ['outage p50', ms(c.without.outage_ms.p50), ms(w.outage_ms.p50), c.kernel ? ms(c.kernel.host_tcp.outage_ms.p50) : undefined],
    ['outage p99', ms(c.without.outage_ms.p99), ms(w.outage_ms.p99), c.kernel ? ms(c.kernel.host_tcp.outage_ms.p99) : undefined],
    ['outage max', ms(c.without.outage_ms.max), ms(w.outage_ms.max), c.kernel ? ms(c.kernel.host_tcp.outage_ms.max) : undefined],
  ];
  const widths = [16, 20, 18, 22];
  const lines = rows.map((r) => r.filter((x) => x !== undefined).map((x, i) => x!.padEnd(widths[i]!)).join('').trimEnd());
  return [
    `${c.link} blackholed for ${c.failure_s} s under ${w.flows} tenant UDP flows vm1 -> vm2 (200 packets/s each); agents probed every port every ${c.interval_ms} ms`,
    '',
    ...lines,
    '',
    `Without pathsteer the flows hashed onto the broken spine lose everything until the link heals; with it each of them moved once, to a port already proven healthy.`,
  ].join('\n');
}

export function registerDemo(program: Command, ctx: CliContext): void {
  program
    .command('demo')
    .description('namespace testbed: break a spine link and show the tenant outage without and with pathsteer')
    .option('--probe-interval <ms>', 'agent probe interval per port', '1000')
    .option('--flows <n>', 'tenant UDP flows', '32')
    .option('--kernel-baseline', 'also measure TCP with the kernel\'s own rehash-on-RTO (net.core.txrehash)')
    .option('--json', 'print JSON')
    .action(
      action(async (raw: Record<string, unknown>): Promise<CommandOutput> => {
        const o = parseOptions(Options, raw);
        requireCaps(['CAP_BPF', 'CAP_NET_ADMIN', 'CAP_PERFMON', 'CAP_SYS_ADMIN'], 'pathsteer demo');
        let step = 0;
        const total = o.kernelBaseline ? 7 : 6;
        const c = await compareFailover({
          probeIntervalMs: o.probeInterval,
          flows: o.flows,
          runs: 1,
          kernelBaseline: o.kernelBaseline ?? false,
          prefixBase: 'demo',
          progress: (l) => {
            if (/^(bringing|without|starting|with pathsteer|tearing|kernel baseline)/.test(l)) step++;
            ctx.progress(`[${Math.min(step, total)}/${total}] ${l}`);
          },
          signal: ctx.signal,
        });
        ctx.progress(`[${total}/${total}] done`);
        const w = c.with[0]!;
        const side = (r: FailoverComparison['without']) => ({
          flows: r.flows,
          affected_flows: r.affected_flows,
          lost_packets: r.lost_packets,
          outage_ms: r.outage_ms,
        });
        return {
          data: {
            schema: 'pathsteer.demo/v1',
            link: c.link,
            failure_s: c.failure_s,
            probe_interval_ms: c.interval_ms,
            without_pathsteer: side(c.without),
            with_pathsteer: side(w),
            ...(c.kernel ? { kernel_txrehash_tcp: side(c.kernel.host_tcp) } : {}),
            testbed_up_ms: c.up_ms,
            agents_converged_ms: c.converge_ms[0],
          },
          text: demoTable(c),
        };
      }),
    );
}
