/**
 * Ranking (SWARM Alg. A.1 around the estimator, §3.3 composite
 * distributions): evaluate every candidate on K traffic x N routing samples,
 * form per candidate the composite distribution of each metric (one value per
 * sample: the 99p FCT, 1p and average throughput of that sample), summarise it
 * by its median (or mean) with a confidence interval, and order candidates with
 * the comparator.
 */
import { RANKER_DEFAULTS } from './defaults.js';
import { comparatorName, rankByComparator, type MetricKey, type Scored } from './comparators.js';
import { M_FCT_50, M_FCT_99, M_N_LONG, M_N_SHORT, M_TPUT_1P, M_TPUT_AVG, N_METRICS } from './estimator.js';
import { buildModel, type Model } from './model.js';
import { runSamples } from './pool.js';
import type { Comparator, ResolvedScenario } from './scenario.js';
import { actionLabel } from './state.js';
import { dkwQuantileInterval, mean, percentileSorted } from './stats.js';

export interface RankOptions {
  /** Overrides the scenario's seed. */
  seed?: number;
  /** Overrides the scenario's comparator. */
  comparator?: Comparator;
  /** Worker threads (0 = evaluate in this thread). @default 2 */
  workers?: number;
  /** Override the number of traffic samples K. */
  trafficSamples?: number;
  /** Override the number of routing samples N. */
  routingSamples?: number;
  onProgress?: (done: number, total: number) => void;
  signal?: AbortSignal;
}

export interface MetricEstimate {
  /** The value used for ranking (median or mean of the composite distribution). */
  point: number;
  median: number;
  mean: number;
  /** (1 - alpha) confidence interval of `point`. */
  ci: [number, number];
  /** Quantiles of the composite distribution. */
  distribution: { p5: number; p25: number; p50: number; p75: number; p95: number };
  /** Samples that had a value. */
  n: number;
}

export interface CandidateResult {
  rank: number;
  name: string;
  actions: string[];
  feasible: boolean;
  note?: string;
  /** Seconds / bits per second. */
  metrics: Record<MetricKey | 'fct50', MetricEstimate>;
  /** Mean number of measured long and short flows per sample. */
  flows: { long: number; short: number };
  linearScore?: number;
  reason: string;
}

export interface RankResult {
  scenario: string;
  comparator: string;
  statistic: 'median' | 'mean';
  tieBand: number;
  alpha: number;
  seed: number;
  samples: { traffic: number; routing: number; total: number };
  workersUsed: number;
  seconds: number;
  best: string;
  candidates: CandidateResult[];
  healthy?: Record<MetricKey | 'fct50', MetricEstimate>;
}

/** Apply CLI overrides to a resolved scenario (what workers receive). */
export function withOverrides(r: ResolvedScenario, o: RankOptions): ResolvedScenario {
  const s = r.scenario;
  return {
    ...r,
    scenario: {
      ...s,
      seed: o.seed ?? s.seed,
      comparator: o.comparator ?? s.comparator,
      confidence: {
        ...s.confidence,
        trafficSamples: o.trafficSamples ?? s.confidence.trafficSamples,
        routingSamples: o.routingSamples ?? s.confidence.routingSamples,
      },
    },
  };
}

function zFor(alpha: number): number {
  // two-sided normal quantile, Acklam-free approximation good to ~1e-3 for alpha in [1e-4, 0.5]
  const p = 1 - alpha / 2;
  const t = Math.sqrt(-2 * Math.log(1 - p));
  return t - (2.515517 + 0.802853 * t + 0.010328 * t * t) / (1 + 1.432788 * t + 0.189269 * t * t + 0.001308 * t * t * t);
}

export function summarise(values: number[], statistic: 'median' | 'mean', alpha: number): MetricEstimate {
  const v = Float64Array.from(values.filter((x) => !Number.isNaN(x))).sort();
  const n = v.length;
  const med = percentileSorted(v, 50);
  const avg = mean(v);
  let ci: [number, number];
  if (statistic === 'median') ci = n ? dkwQuantileInterval(v, 0.5, alpha) : [Number.NaN, Number.NaN];
  else {
    let ss = 0;
    for (const x of v) ss += (x - avg) * (x - avg);
    const half = n > 1 ? (zFor(alpha) * Math.sqrt(ss / (n - 1))) / Math.sqrt(n) : Number.POSITIVE_INFINITY;
    ci = [avg - half, avg + half];
  }
  return {
    point: statistic === 'median' ? med : avg,
    median: med,
    mean: avg,
    ci,
    distribution: { p5: percentileSorted(v, 5), p25: percentileSorted(v, 25), p50: med, p75: percentileSorted(v, 75), p95: percentileSorted(v, 95) },
    n,
  };
}

function column(res: Float64Array, m: number): number[] {
  const out: number[] = [];
  for (let i = m; i < res.length; i += N_METRICS) out.push(res[i]!);
  return out;
}

function metricsOf(res: Float64Array, statistic: 'median' | 'mean', alpha: number): Record<MetricKey | 'fct50', MetricEstimate> {
  return {
    fct99: summarise(column(res, M_FCT_99), statistic, alpha),
    tput1p: summarise(column(res, M_TPUT_1P), statistic, alpha),
    tputAvg: summarise(column(res, M_TPUT_AVG), statistic, alpha),
    fct50: summarise(column(res, M_FCT_50), statistic, alpha),
  };
}

/** Estimate every candidate of a model and rank them. */
export async function rankModel(model: Model, resolved: ResolvedScenario, o: RankOptions): Promise<RankResult> {
  const t0 = process.hrtime.bigint();
  const s = model.scenario;
  const linear = typeof s.comparator !== 'string';
  const targets = model.candidates.map((_, i) => i);
  if (linear) targets.push(model.candidates.length);
  const run = await runSamples(model, resolved, targets, { workers: o.workers ?? RANKER_DEFAULTS.workers, onProgress: o.onProgress, signal: o.signal });
  const alpha = s.confidence.alpha;
  const per = model.candidates.map((c, i) => ({ c, res: run.results[i]!, m: metricsOf(run.results[i]!, s.statistic, alpha) }));
  const healthy = linear ? metricsOf(run.results[model.candidates.length]!, s.statistic, alpha) : undefined;
  const scored: Scored[] = per.map(({ c, m }) => ({
    name: c.name,
    feasible: c.feasible,
    point: { fct99: m.fct99.point, tput1p: m.tput1p.point, tputAvg: m.tputAvg.point },
  }));
  const hp = healthy ? { fct99: healthy.fct99.point, tput1p: healthy.tput1p.point, tputAvg: healthy.tputAvg.point } : undefined;
  const order = rankByComparator(scored, s.comparator, s.tieBand, hp);
  const candidates: CandidateResult[] = order.map((e, r) => {
    const { c, res, m } = per[e.index]!;
    return {
      rank: r + 1,
      name: c.name,
      actions: c.actions.map(actionLabel),
      feasible: c.feasible,
      ...(c.note ? { note: c.note } : {}),
      metrics: m,
      flows: { long: mean(column(res, M_N_LONG).filter((x) => !Number.isNaN(x))) || 0, short: mean(column(res, M_N_SHORT).filter((x) => !Number.isNaN(x))) || 0 },
      ...(e.score !== undefined ? { linearScore: e.score } : {}),
      reason: e.reason,
    };
  });
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  return {
    scenario: s.name ?? resolved.source,
    comparator: comparatorName(s.comparator),
    statistic: s.statistic,
    tieBand: s.tieBand,
    alpha,
    seed: s.seed,
    samples: { traffic: model.trafficSamples, routing: model.routingSamples, total: model.trafficSamples * model.routingSamples },
    workersUsed: run.workersUsed,
    seconds,
    best: candidates[0]?.feasible ? candidates[0].name : '(no feasible candidate)',
    candidates,
    ...(healthy ? { healthy } : {}),
  };
}

/** Rank a resolved scenario's candidates. */
export async function rank(resolved: ResolvedScenario, o: RankOptions = {}): Promise<RankResult> {
  const r = withOverrides(resolved, o);
  const model = buildModel(r);
  return rankModel(model, r, o);
}
