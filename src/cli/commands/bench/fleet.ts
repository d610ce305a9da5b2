/** `pathsteer bench fleet [--agents N] [--peers N] [--seconds S] [--poll-in auto|worker|thread] [--json]`: controller API latency and dashboard render time at fleet size. */
import type { Command } from 'commander';
import { z } from 'zod';
import { benchFleet } from '../../../../bench/fleet.js';
import { action, parseOptions, zcli, type CliContext, type CommandOutput } from '../../command.js';

const Options = z.object({
  agents: zcli.int(2, 20_000),
  peers: zcli.int(1, 256),
  seconds: zcli.int(2, 600),
  renderSeconds: zcli.int(2, 600),
  json: z.boolean().optional(),
  pollIn: z.enum(['auto', 'worker', 'thread']),
});

export function registerBenchFleet(bench: Command, ctx: CliContext): void {
  bench
    .command('fleet')
    .description('simulated agents publishing at 1 Hz into a real Redis: controller API p99 and dashboard render time in chromium')
    .option('--agents <n>', 'simulated agents', '2000')
    .option('--peers <n>', 'peers per agent', '32')
    .option('--seconds <s>', 'API measurement window', '20')
    .option('--render-seconds <s>', 'render measurement window', '10')
    .option('--poll-in <where>', "the controller's --poll-in: auto|worker|thread", 'auto')
    .option('--json', 'print JSON')
    .action(
      action(async (raw: Record<string, unknown>): Promise<CommandOutput> => {
        const o = parseOptions(Options, raw);
        const r = await benchFleet({ agents: o.agents, peers: o.peers, seconds: o.seconds, renderSeconds: o.renderSeconds, pollIn: o.pollIn, progress: ctx.progress });
        return {
          data: r,
          text: `poll in ${r.poll_in}: ${r.agents} agents x ${r.peers} peers (${r.pairs} pairs, ${r.publishes_per_s} publishes/s): API p50 ${r.api.p50_ms} ms, p99 ${r.api.p99_ms} ms at ${r.api.rps} req/s; dashboard first load ${r.render.first_load_ms} ms, refresh p50 ${r.render.refresh_p50_ms} ms p99 ${r.render.refresh_p99_ms} ms (${r.render.matrix_by} matrix, ${r.render.matrix_cells} cells); controller poll ${r.controller.poll_ms} ms, ${r.controller.rss_mb} MB; load ${r.loadavg.join(' ')}`,
        };
      }),
    );
}
