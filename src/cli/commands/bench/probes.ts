/** `pathsteer bench probes [--peers N] [--ports N] [--seconds S] [--json]`: probe rate and CPU of one agent. */
import type { Command } from 'commander';
import { z } from 'zod';
import { benchProbes } from '../../../../bench/probes.js';
import { requireCaps } from '../../../common/privileges.js';
import { action, parseOptions, zcli, type CliContext, type CommandOutput } from '../../command.js';

const Options = z.object({
  peers: zcli.int(1, 200),
  ports: zcli.int(1, 64),
  seconds: zcli.int(2, 600),
  json: z.boolean().optional(),
});

export function registerBenchProbes(bench: Command, ctx: CliContext): void {
  bench
    .command('probes')
    .description('probes + responses per second one agent sustains, and its CPU at the default rate (own namespaces)')
    .option('--peers <n>', 'peer VTEPs', '64')
    .option('--ports <n>', 'ports per peer', '32')
    .option('--seconds <s>', 'measurement window per step', '10')
    .option('--json', 'print JSON')
    .action(
      action(async (raw: Record<string, unknown>): Promise<CommandOutput> => {
        const o = parseOptions(Options, raw);
        requireCaps(['CAP_BPF', 'CAP_NET_ADMIN', 'CAP_PERFMON', 'CAP_SYS_ADMIN'], 'pathsteer bench probes');
        const r = await benchProbes({ peers: o.peers, ports: o.ports, seconds: o.seconds, progress: ctx.progress });
        return {
          data: r,
          text: `${r.peers} peers x ${r.ports} ports at 1 probe/s per port: ${r.default_rate.probes_pps} probes/s, agent CPU ${r.default_rate.agent_cpu_pct}% of one core; sustained ${r.max_probes_responses_per_s} probes+responses/s (interval ${r.max_at_interval_ms} ms, agent CPU ${r.max_agent_cpu_pct}%)`,
        };
      }),
    );
}
