/** `pathsteer bench altpath [--json]`: BMP ingest rate, ranking + injection cycle time, Linux injector cost (bench/altpath.ts). */
import type { Command } from 'commander';
import { z } from 'zod';
import { benchAltpath } from '../../../../bench/altpath.js';
import { action, parseOptions, zcli, type CliContext, type CommandOutput } from '../../command.js';

const schema = z.object({
  prefixes: zcli.int(1000, 5_000_000),
  peers: zcli.int(1, 16),
  active: zcli.int(1, 5_000_000),
  linuxRoutes: zcli.int(0, 200_000),
  json: z.boolean().optional(),
});

export function registerBenchAltpath(bench: Command, ctx: CliContext): void {
  bench
    .command('altpath')
    .description('AltPath: BMP ingest of a full table (target >= 200k routes/s), cycle for 100k active prefixes (target <= 1 s), Linux injector cost per route')
    .option('--prefixes <n>', 'IPv4 prefixes in the synthetic table', '1000000')
    .option('--peers <n>', 'peers announcing the table', '3')
    .option('--active <n>', 'active prefixes for the cycle', '100000')
    .option('--linux-routes <n>', 'routes for the Linux injector part (0: skip; needs root)', '10000')
    .option('--json', 'print JSON')
    .action(
      action(async (raw: Record<string, unknown>): Promise<CommandOutput> => {
        const o = parseOptions(schema, raw);
        const r = await benchAltpath({ ...o, progress: ctx.progress });
        const lx = r.linux ? `; linux injector ${r.linux.add_us_per_route}/${r.linux.change_us_per_route}/${r.linux.delete_us_per_route} us per route add/change/delete` : '';
        return {
          data: r,
          text: `altpath: ingest ${r.ingest_routes_per_s} routes/s (${r.routes} routes, ${r.prefixes_per_update} per update, peak RSS ${r.peak_rss_mb} MB, RIB heap ${r.rib_heap_mb} MB); cycle for ${r.active} active prefixes: first ${r.cycle_first_ms} ms (${r.cycle_first_changes} routes), steady ${r.cycle_steady_ms} ms, churn ${r.cycle_churn_ms} ms (${r.cycle_churn_changes} changes)${lx}`,
        };
      }),
    );
}
