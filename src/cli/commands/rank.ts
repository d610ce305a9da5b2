/**
 * `pathsteer rank SCENARIO.json [--comparator NAME] [--seed N] [--json]`:
 * rank candidate mitigations by estimated flow performance (SWARM). With
 * `--evaluate`, also score the baselines' choices (NetPilot, CorrOpt, operator
 * playbooks) by SWARM's performance penalty on independent samples.
 */
import { hostname } from 'node:os';
import type { Command } from 'commander';
import { RedisStore, RedisUrlSchema, type RankerRecord } from '../../controller/store/index.js';
import { z } from 'zod';
import { METRIC_INFO, type MetricKey } from '../../ranker/comparators.js';
import { evaluateScenario, type EvaluationResult } from '../../ranker/evaluate.js';
import type { MetricEstimate, RankResult } from '../../ranker/ranker.js';
import { loadScenarioFile, type Comparator } from '../../ranker/scenario.js';
import { action, parseOptions, zcli, type CliContext, type CommandOutput } from '../command.js';
import { rank } from '../../ranker/ranker.js';
import { RANKER_DEFAULTS } from '../../ranker/defaults.js';

const comparatorOption = z
  .string()
  .regex(/^(PriorityFCT|PriorityAvgT|Priority1pT|Linear(:\d+(\.\d+)?,\d+(\.\d+)?,\d+(\.\d+)?)?)$/, 'must be PriorityFCT, PriorityAvgT, Priority1pT, Linear or Linear:w99pFCT,w1pT,wAvgT')
  .transform((s): Comparator => {
    if (!s.startsWith('Linear')) return s as Comparator;
    const w = s.includes(':') ? (s.split(':')[1]!.split(',').map(Number) as [number, number, number]) : ([1, 1, 1] as [number, number, number]);
    return { kind: 'Linear', weights: w };
  });

const optionsSchema = z.object({
  comparator: comparatorOption.optional(),
  seed: zcli.int(0, 2 ** 31 - 1).optional(),
  workers: zcli.int(0, 64).optional(),
  trafficSamples: zcli.int(1, 100000).optional(),
  routingSamples: zcli.int(1, 100000).optional(),
  evaluate: z.boolean().optional(),
  publish: RedisUrlSchema.optional(),
  json: z.boolean().optional(),
});

/** The ranking as the fleet store keeps it (the dashboard's ranker panel). */
export function rankerRecord(r: RankResult, at = Date.now()): RankerRecord {
  const point = (c: RankResult['candidates'][number], k: MetricKey): number | null => {
    const v = c.metrics[k]?.point;
    return c.feasible && v !== undefined && Number.isFinite(v) ? v : null;
  };
  return {
    scenario: r.scenario,
    comparator: r.comparator,
    best: r.best,
    at,
    seconds: r.seconds,
    samples: r.samples.total,
    candidates: r.candidates.map((c) => ({
      rank: c.rank,
      name: c.name,
      feasible: c.feasible,
      fct99: point(c, 'fct99'),
      tput1p: point(c, 'tput1p'),
      tputAvg: point(c, 'tputAvg'),
      note: c.feasible ? c.reason : (c.note ?? ''),
    })),
  };
}

/** Write the ranking to the fleet store; one line on stderr says where. */
async function publishRanking(url: string, r: RankResult, ctx: CliContext): Promise<string> {
  const store = await RedisStore.open(url, { waitReady: true, name: 'pathsteer-rank' });
  try {
    const id = await store.addRankerResult(rankerRecord(r), `rank:${hostname()}`);
    ctx.progress(`rank: published to ${store.target} (ps:ranker:results ${id})`);
    return id;
  } finally {
    await store.close();
  }
}

function num(k: MetricKey, v: number): string {
  if (Number.isNaN(v)) return '-';
  if (!Number.isFinite(v)) return v > 0 ? 'inf' : '-inf';
  const x = v * METRIC_INFO[k].scale;
  return x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toPrecision(3);
}

function cell(k: MetricKey, m: MetricEstimate): string {
  return `${num(k, m.point)} [${num(k, m.ci[0])}, ${num(k, m.ci[1])}]`;
}

function rankingText(r: RankResult): string {
  const keys: MetricKey[] = ['fct99', 'tput1p', 'tputAvg'];
  const conf = `${Math.round((1 - r.alpha) * 100)}% CI`;
  const head = [
    `scenario ${r.scenario}: comparator ${r.comparator} (tie band ${Math.round(r.tieBand * 100)}%), ${r.statistic} of ${r.samples.total} samples (${r.samples.traffic} traffic x ${r.samples.routing} routing), seed ${r.seed}, ${r.workersUsed} worker(s), ${r.seconds.toFixed(1)} s`,
  ];
  const rows: string[][] = [['rank', 'candidate', ...keys.map((k) => `${METRIC_INFO[k].label} ${METRIC_INFO[k].unit} [${conf}]`)]];
  for (const c of r.candidates) rows.push([String(c.rank), c.name, ...keys.map((k) => (c.feasible ? cell(k, c.metrics[k]) : 'partitioned'))]);
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
  const lines = rows.map((row) => row.map((x, i) => (i === 0 ? x.padStart(widths[i]!) : x.padEnd(widths[i]!))).join('  ').trimEnd());
  const why = r.candidates.slice(0, 3).map((c) => `  #${c.rank} ${c.name}: ${c.feasible ? c.reason : c.note}`);
  return [...head, ...lines, 'why:', ...why, `best: ${r.best}`].join('\n');
}

function pen(v: number): string {
  return Number.isNaN(v) ? '-' : `${v >= 0 ? '+' : ''}${v.toFixed(1)}%`;
}

function evaluationText(e: EvaluationResult): string {
  const rows: string[][] = [['approach', 'choice', '99p FCT', '1p tput', 'avg tput', 'note']];
  for (const a of e.approaches) {
    rows.push([a.approach, a.choice ?? 'n/a', ...(['fct99', 'tput1p', 'tputAvg'] as const).map((k) => (a.feasible ? pen(a.penalty[k]) : 'partitioned')), a.note]);
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
  const lines = rows.map((row) => row.map((x, i) => (i === row.length - 1 ? x : x.padEnd(widths[i]!))).join('  '));
  return [
    rankingText(e.ranking),
    '',
    `evaluation on independent samples (seed ${e.evaluationSeed}): best action ${e.best}; performance penalty (SWARM §4.1, + = worse than best)`,
    ...lines,
  ].join('\n');
}

/** A progress bar on stderr, at most every 500 ms. */
function progressBar(ctx: CliContext): (done: number, total: number) => void {
  let last = 0;
  const t0 = Date.now();
  return (done, total) => {
    const now = Date.now();
    if (done !== total && now - last < 500) return;
    last = now;
    const width = 30;
    const filled = Math.round((done / total) * width);
    ctx.progress(`rank: [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total} samples ${((now - t0) / 1000).toFixed(1)}s`);
  };
}

export function registerRank(program: Command, ctx: CliContext): void {
  program
    .command('rank')
    .description('rank candidate failure mitigations by estimated flow performance (SWARM)')
    .argument('<scenario>', 'scenario JSON file (see examples/ranker/)')
    .option('--comparator <name>', 'PriorityFCT | PriorityAvgT | Priority1pT | Linear[:w99pFCT,w1pT,wAvgT] (default: the scenario\'s)')
    .option('--seed <n>', 'random seed (default: the scenario\'s); same seed, same result')
    .option('--workers <n>', 'worker threads (0 = this thread)', String(RANKER_DEFAULTS.workers))
    .option('--traffic-samples <k>', 'override the number of traffic samples')
    .option('--routing-samples <n>', 'override the number of routing samples per traffic sample')
    .option('--evaluate', 'also score the baselines\' choices by SWARM\'s performance penalty')
    .option('--publish <URL>', 'also write the ranking to the fleet store (redis://..., unix:///...) for the dashboard')
    .option('--json', 'print JSON')
    .action(
      action(async (file: string, raw: Record<string, unknown>): Promise<CommandOutput> => {
        const o = parseOptions(optionsSchema, raw);
        const resolved = loadScenarioFile(file);
        const opts = {
          comparator: o.comparator,
          seed: o.seed,
          workers: o.workers,
          trafficSamples: o.trafficSamples,
          routingSamples: o.routingSamples,
          onProgress: progressBar(ctx),
          signal: ctx.signal,
        };
        if (o.evaluate) {
          const e = await evaluateScenario(resolved, opts);
          if (o.publish) await publishRanking(o.publish, e.ranking, ctx);
          return { data: e, text: evaluationText(e) };
        }
        const r = await rank(resolved, opts);
        if (o.publish) await publishRanking(o.publish, r, ctx);
        return { data: r, text: rankingText(r) };
      }),
    );
}
