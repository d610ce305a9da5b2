/** `pathsteer bench altpath-dscp [--repeat N] [--rounds N] [--json]`: ns per packet of altpath_dscp vs an empty TC program. */
import type { Command } from 'commander';
import { z } from 'zod';
import { benchAltpathDscp } from '../../../../bench/altpath-dscp.js';
import { requireCaps } from '../../../common/privileges.js';
import { action, parseOptions, zcli, type CliContext, type CommandOutput } from '../../command.js';

const Options = z.object({
  repeat: zcli.int(1, 100_000_000),
  rounds: zcli.int(1, 101),
  json: z.boolean().optional(),
});

export function registerBenchAltpathDscp(bench: Command, ctx: CliContext): void {
  bench
    .command('altpath-dscp')
    .description('BPF_PROG_TEST_RUN cost of altpath_dscp per packet (marked, unselected, excluded flow) against an empty TC program')
    .option('--repeat <n>', 'test-run repetitions per measurement', '1000000')
    .option('--rounds <n>', 'interleaved rounds (best reported)', '5')
    .option('--json', 'print JSON')
    .action(
      action((raw: Record<string, unknown>): CommandOutput => {
        const o = parseOptions(Options, raw);
        requireCaps(['CAP_BPF', 'CAP_NET_ADMIN', 'CAP_PERFMON'], 'pathsteer bench altpath-dscp');
        const r = benchAltpathDscp({ repeat: o.repeat, rounds: o.rounds, progress: ctx.progress });
        return {
          data: r,
          text: `empty ${r.empty_ns} ns; altpath_dscp marked ${r.marked_ns} ns (ratio ${r.ratio_marked}), unselected ${r.unselected_ns} ns (${r.ratio_unselected}), excluded ${r.excluded_ns} ns (${r.ratio_excluded}); worst ratio ${r.ratio}, target <= 1.5; repeat ${r.repeat}`,
        };
      }),
    );
}
