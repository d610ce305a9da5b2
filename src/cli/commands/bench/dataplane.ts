/** `pathsteer bench dataplane [--repeat N] [--rounds N] [--json]`: ns per packet of vxlan_sport vs an empty TC program. */
import type { Command } from 'commander';
import { z } from 'zod';
import { benchDataplane } from '../../../../bench/dataplane.js';
import { requireCaps } from '../../../common/privileges.js';
import { action, parseOptions, zcli, type CliContext, type CommandOutput } from '../../command.js';

const Options = z.object({
  repeat: zcli.int(1, 100_000_000),
  rounds: zcli.int(1, 101),
  json: z.boolean().optional(),
});

export function registerBenchDataplane(bench: Command, ctx: CliContext): void {
  bench
    .command('dataplane')
    .description('BPF_PROG_TEST_RUN cost of vxlan_sport per packet (with and without its flow cache) against an empty TC program')
    .option('--repeat <n>', 'test-run repetitions per measurement', '1000000')
    .option('--rounds <n>', 'interleaved rounds (best reported)', '5')
    .option('--json', 'print JSON')
    .action(
      action((raw: Record<string, unknown>): CommandOutput => {
        const o = parseOptions(Options, raw);
        requireCaps(['CAP_BPF', 'CAP_NET_ADMIN', 'CAP_PERFMON'], 'pathsteer bench dataplane');
        const r = benchDataplane({ repeat: o.repeat, rounds: o.rounds, progress: ctx.progress });
        return {
          data: r,
          text: `empty ${r.empty_ns} ns, vxlan_sport ${r.vxlan_sport_ns} ns pinned (ratio ${r.ratio}, target <= 2.5), ${r.vxlan_sport_stateful_ns} ns stateful (ratio ${r.ratio_stateful}); without the flow cache ${r.vxlan_sport_uncached_ns} ns (ratio ${r.ratio_uncached}); ${r.program}, repeat ${r.repeat}`,
        };
      }),
    );
}
