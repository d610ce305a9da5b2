/** `pathsteer bench failover [--probe-interval MS] [--runs N] [--json]`: tenant outage under a spine blackhole, with and without pathsteer. */
import type { Command } from 'commander';
import { z } from 'zod';
import { benchFailover } from '../../../../bench/failover.js';
import { requireCaps } from '../../../common/privileges.js';
import { action, parseOptions, zcli, type CliContext, type CommandOutput } from '../../command.js';

const Options = z.object({
  probeInterval: zcli.int(10, 60_000),
  runs: zcli.int(1, 100),
  flows: zcli.int(1, 256),
  kernelBaseline: z.boolean(),
  json: z.boolean().optional(),
});

export function registerBenchFailover(bench: Command, ctx: CliContext): void {
  bench
    .command('failover')
    .description('outage of tenant flows when a spine link is blackholed: pathsteer vs no agent vs kernel txrehash (own testbed)')
    .option('--probe-interval <ms>', 'agent probe interval per port', '1000')
    .option('--runs <n>', 'blackhole runs with agents', '5')
    .option('--flows <n>', 'tenant UDP flows per run', '32')
    .option('--no-kernel-baseline', 'skip the kernel txrehash TCP baseline')
    .option('--json', 'print JSON')
    .action(
      action(async (raw: Record<string, unknown>): Promise<CommandOutput> => {
        const o = parseOptions(Options, raw);
        requireCaps(['CAP_BPF', 'CAP_NET_ADMIN', 'CAP_PERFMON', 'CAP_SYS_ADMIN'], 'pathsteer bench failover');
        const r = await benchFailover({
          probeIntervalMs: o.probeInterval,
          runs: o.runs,
          flows: o.flows,
          kernelBaseline: o.kernelBaseline,
          progress: ctx.progress,
          signal: ctx.signal,
        });
        const target = o.probeInterval >= 1000 ? 1200 : o.probeInterval <= 100 ? 300 : undefined;
        return {
          data: r,
          text:
            `probe interval ${r.interval_ms} ms, ${r.runs} runs, ${r.affected_flows} affected flows: outage p50 ${r.outage_ms.p50} ms, p99 ${r.outage_ms.p99} ms, max ${r.outage_ms.max} ms` +
            `${target ? ` (target p99 <= ${target} ms)` : ''}; without agent ${r.without_agent_outage_ms} ms; kernel txrehash ${r.kernel_txrehash_outage_ms ?? '-'} ms`,
        };
      }),
    );
}
