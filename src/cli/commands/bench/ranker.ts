/** `pathsteer bench ranker [--servers N] [--json]`: time a full ranking on a large Clos (bench/ranker.ts), by default at `pathsteer rank`'s settings. */
import type { Command } from 'commander';
import { z } from 'zod';
import { benchRanker } from '../../../../bench/ranker.js';
import { defaultSampleCounts, RANKER_DEFAULTS } from '../../../ranker/defaults.js';
import { action, parseOptions, zcli, type CliContext, type CommandOutput } from '../../command.js';

const schema = z.object({
  servers: zcli.int(16, 1 << 20),
  workers: zcli.int(0, 64),
  trafficSamples: zcli.int(1, 10000).optional(),
  routingSamples: zcli.int(1, 10000).optional(),
  epochMs: z.coerce.number().positive().max(1000).optional(),
  seed: zcli.int(0, 2 ** 31 - 1).optional(),
  json: z.boolean().optional(),
});

export function registerBenchRanker(bench: Command, ctx: CliContext): void {
  const d = defaultSampleCounts();
  bench
    .command('ranker')
    .description("rank mitigations on a large Clos end to end at `pathsteer rank`'s defaults (target: 16384 servers in <= 60 s)")
    .option('--servers <n>', 'servers in the Clos (rounded to whole pods of 512)', '16384')
    .option('--workers <n>', 'worker threads', String(RANKER_DEFAULTS.workers))
    .option('--traffic-samples <k>', `traffic samples (default ${d.trafficSamples}, the tool's DKW default)`)
    .option('--routing-samples <n>', `routing samples per traffic sample (default ${d.routingSamples})`)
    .option('--epoch-ms <ms>', `estimator epoch (default ${RANKER_DEFAULTS.epochMs})`)
    .option('--seed <n>', 'random seed')
    .option('--json', 'print JSON')
    .action(
      action(async (raw: Record<string, unknown>): Promise<CommandOutput> => {
        const o = parseOptions(schema, raw);
        let last = 0;
        const r = await benchRanker({
          ...o,
          signal: ctx.signal,
          onProgress: (done, total) => {
            const now = Date.now();
            if (done === total || now - last > 2000) {
              last = now;
              ctx.progress(`bench ranker: ${done}/${total} samples`);
            }
          },
        });
        return {
          data: r,
          text: `ranker: ${r.servers} servers, ${r.flows} flows/sample, ${r.samples} samples (${r.traffic_samples} x ${r.routing_samples}) x ${r.candidates} candidates at ${r.epoch_ms} ms epochs${r.defaults ? " (the tool's defaults)" : ''} in ${r.seconds} s (target ${r.target_seconds} s; ${r.workers} workers, ${r.cpu_s_per_estimate} CPU s per estimate, load ${r.loadavg_1m_before.toFixed(2)} -> ${r.loadavg_1m_after.toFixed(2)}); best: ${r.best}`,
        };
      }),
    );
}
