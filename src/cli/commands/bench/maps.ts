/** `pathsteer bench maps [--peers N] [--rounds N] [--json]`: single vs batch writes of the ps_path table. */
import type { Command } from 'commander';
import { z } from 'zod';
import { benchMaps } from '../../../../bench/maps.js';
import { requireCaps } from '../../../common/privileges.js';
import { action, parseOptions, zcli, type CliContext, type CommandOutput } from '../../command.js';

const Options = z.object({
  peers: zcli.int(1, 131072),
  rounds: zcli.int(1, 21),
  json: z.boolean().optional(),
});

export function registerBenchMaps(bench: Command, ctx: CliContext): void {
  bench
    .command('maps')
    .description('write and read a ps_path table of N peers: single updates vs batch')
    .option('--peers <n>', 'peers in the table (at most 131072)', '50000')
    .option('--rounds <n>', 'rounds (best reported)', '3')
    .option('--json', 'print JSON')
    .action(
      action((raw: Record<string, unknown>): CommandOutput => {
        const o = parseOptions(Options, raw);
        requireCaps(['CAP_BPF', 'CAP_NET_ADMIN'], 'pathsteer bench maps');
        const r = benchMaps({ peers: o.peers, rounds: o.rounds, progress: ctx.progress });
        return {
          data: r,
          text: `${r.peers} peers: single writes ${r.single_write_ms} ms, batch write ${r.batch_write_ms} ms (target <= 50), batch read ${r.batch_read_ms} ms`,
        };
      }),
    );
}
