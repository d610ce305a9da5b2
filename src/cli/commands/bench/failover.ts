/** `pathsteer bench failover [--probe-interval MS] [--runs N] [--fabric F] [--json]`: tenant outage under a spine failure on 2- and 4-spine fabrics, with and without pathsteer. */
import type { Command } from 'commander';
import { z } from 'zod';
import { benchFailover, FAILOVER_FABRICS, summarizeFailover, type FailoverFabric } from '../../../../bench/failover.js';
import { requireCaps } from '../../../common/privileges.js';
import { action, parseOptions, zcli, type CliContext, type CommandOutput } from '../../command.js';

const fabricNames = Object.keys(FAILOVER_FABRICS) as [FailoverFabric, ...FailoverFabric[]];

const Options = z.object({
  probeInterval: zcli.int(10, 60_000),
  runs: zcli.int(1, 100),
  flows: zcli.int(1, 256),
  fabric: z.enum([...fabricNames, 'all']),
  kernelBaseline: z.boolean(),
  json: z.boolean().optional(),
});

export function registerBenchFailover(bench: Command, ctx: CliContext): void {
  bench
    .command('failover')
    .description('outage of tenant flows when a spine fails (clos-2x2: one spine link; clos-4x4: a whole spine): pathsteer vs no agent vs kernel txrehash (own testbeds)')
    .option('--probe-interval <ms>', 'agent probe interval per port', '1000')
    .option('--runs <n>', 'blackhole runs with agents, per fabric', '5')
    .option('--flows <n>', 'tenant UDP flows per run', '32')
    .option('--fabric <name>', `${fabricNames.join(' | ')} | all`, 'all')
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
          fabrics: o.fabric === 'all' ? fabricNames : [o.fabric],
          kernelBaseline: o.kernelBaseline,
          progress: ctx.progress,
          signal: ctx.signal,
        });
        return { data: r, text: summarizeFailover(r) };
      }),
    );
}
