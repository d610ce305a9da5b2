/** `pathsteer bench maxmin [--json]`: approximate vs exact max-min on a 16K-server instance (bench/maxmin.ts). */
import type { Command } from 'commander';
import { z } from 'zod';
import { benchMaxMin } from '../../../../bench/maxmin.js';
import { action, parseOptions, zcli, type CliContext, type CommandOutput } from '../../command.js';

const schema = z.object({ servers: zcli.int(16, 1 << 20), reps: zcli.int(1, 100), json: z.boolean().optional() });

export function registerBenchMaxmin(bench: Command, _ctx: CliContext): void {
  bench
    .command('maxmin')
    .description('approximate vs exact max-min fair rates on a 16K-server instance (target: >= 30x faster, <= 1% error)')
    .option('--servers <n>', 'servers in the Clos', '16384')
    .option('--reps <n>', 'runs per solver (best is reported)', '5')
    .option('--json', 'print JSON')
    .action(
      action((raw: Record<string, unknown>): CommandOutput => {
        const o = parseOptions(schema, raw);
        const r = benchMaxMin(o);
        return {
          data: r,
          text: `maxmin: ${r.flows} flows on ${r.servers} servers: exact ${r.exact_ms} ms (${r.exact_rounds} rounds), approx ${r.approx_ms} ms, speedup ${r.speedup}x, max rel error ${(r.max_rel_error * 100).toFixed(2)}% (1-waterfilling ${r.exact_1waterfill_ms} ms, heap ${r.exact_heap_ms} ms)`,
        };
      }),
    );
}
