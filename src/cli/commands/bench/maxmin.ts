/** `pathsteer bench maxmin [--json]`: the ranker's approximate max-min solver vs exact 1-waterfilling on a 16K-server instance (bench/maxmin.ts). */
import type { Command } from 'commander';
import { z } from 'zod';
import { benchMaxMin, summarizeMaxMin } from '../../../../bench/maxmin.js';
import { action, parseOptions, zcli, type CliContext, type CommandOutput } from '../../command.js';

const schema = z.object({ servers: zcli.int(16, 1 << 20), reps: zcli.int(1, 100), json: z.boolean().optional() });

export function registerBenchMaxmin(bench: Command, _ctx: CliContext): void {
  bench
    .command('maxmin')
    .description('approximate max-min fair rates vs exact 1-waterfilling (SWARM Fig. 11) on a 16K-server instance (target: >= 30x faster, <= 1% error)')
    .option('--servers <n>', 'servers in the Clos', '16384')
    .option('--reps <n>', 'runs per solver (best is reported)', '7')
    .option('--json', 'print JSON')
    .action(
      action((raw: Record<string, unknown>): CommandOutput => {
        const o = parseOptions(schema, raw);
        const r = benchMaxMin(o);
        return { data: r, text: summarizeMaxMin(r) };
      }),
    );
}
