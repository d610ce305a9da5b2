/**
 * Max-min solver benchmark on a 16K-server instance: the long flows of the
 * ranker benchmark's scenario (bench/ranker-scenario.ts) that start in its
 * first 10 ms, routed by one ECMP sample, all active at once, each capped by
 * its loss-limited rate where its path drops packets. Times the approximate
 * single-pass waterfiller against the exact textbook waterfilling reference
 * (and, for transparency, the exact 1-waterfilling and heap-based progressive
 * filling), best of several runs, all in one process so machine noise hits
 * every solver alike.
 *
 * max_rel_error is the largest relative error, approximate vs exact, of the
 * throughput statistics the estimator uses (mean, 1st, 50th and 99th
 * percentile of the flow rates, and their sum). Per-flow errors are reported
 * separately.
 */
import { loadavg } from 'node:os';
import { routeTrace } from '../src/ranker/estimator.js';
import { maxMinApprox, maxMinParallelWaterfill, maxMinProgressive, maxMinWaterfill, type MaxMinProblem } from '../src/ranker/maxmin.js';
import { buildModel } from '../src/ranker/model.js';
import { parseScenario, resolveScenario } from '../src/ranker/scenario.js';
import { percentileSorted } from '../src/ranker/stats.js';
import { generateTrace } from '../src/ranker/traffic.js';
import { lossLimitedBps } from '../src/ranker/transport.js';
import { benchScenario } from './ranker-scenario.js';

export interface MaxMinBenchResult {
  servers: number;
  flows: number;
  links: number;
  exact_ms: number;
  approx_ms: number;
  speedup: number;
  max_rel_error: number;
  exact_rounds: number;
  exact_1waterfill_ms: number;
  exact_1waterfill_rounds: number;
  exact_heap_ms: number;
  speedup_vs_1waterfill: number;
  speedup_vs_heap: number;
  flow_mean_rel_error: number;
  flow_max_rel_error: number;
  flows_within_1pct: number;
  loadavg_1m: number;
}

/** The benchmark instance (exported for tests). */
export function maxMinInstance(servers: number, windowS = 0.01): { problem: MaxMinProblem; servers: number } {
  const resolved = resolveScenario(parseScenario(benchScenario(servers), 'bench'), process.cwd(), 'bench');
  const m = buildModel(resolved);
  const c = m.candidates[0]!;
  const tr = generateTrace(m.traffic, m.topo, m.scenario.seed, 0);
  const rt = routeTrace(c.router, tr, 7);
  const flows: number[] = [];
  for (let f = 0; f < tr.n; f++) if (tr.size[f]! > m.cfg.shortFlowBytes && tr.start[f]! < windowS && rt.routable[f]) flows.push(f);
  const ptr = new Int32Array(flows.length + 1);
  const links: number[] = [];
  const demand = new Float64Array(flows.length);
  flows.forEach((f, i) => {
    for (let j = rt.ptr[f]!; j < rt.ptr[f + 1]!; j++) links.push(rt.links[j]!);
    ptr[i + 1] = links.length;
    demand[i] = rt.drop[f]! > 0 ? lossLimitedBps(m.transport.lossTables[0]!, rt.drop[f]!, 2 * rt.propS[f]!, 0.5) : Number.POSITIVE_INFINITY;
  });
  return {
    servers: m.topo.nServers,
    problem: { nLinks: m.topo.nLinks, capacity: c.state.capacity, nFlows: flows.length, demand, flowPtr: ptr, flowLinks: Int32Array.from(links) },
  };
}

function best<T>(reps: number, fn: () => T): [number, T] {
  let t = Number.POSITIVE_INFINITY;
  let out: T | undefined;
  for (let i = 0; i < reps; i++) {
    const a = process.hrtime.bigint();
    out = fn();
    t = Math.min(t, Number(process.hrtime.bigint() - a) / 1e6);
  }
  return [t, out!];
}

function stats(r: Float64Array): number[] {
  const s = Float64Array.from(r).sort();
  let sum = 0;
  for (const x of s) sum += x;
  return [sum / s.length, percentileSorted(s, 1), percentileSorted(s, 50), percentileSorted(s, 99), sum];
}

const round = (x: number, d = 3): number => Math.round(x * 10 ** d) / 10 ** d;

export function benchMaxMin(opts: { servers?: number; reps?: number } = {}): MaxMinBenchResult {
  const { problem: p, servers } = maxMinInstance(opts.servers ?? 16384);
  const reps = opts.reps ?? 5;
  const rounds = { rounds: 0 };
  const rounds1 = { rounds: 0 };
  maxMinApprox(p); // warm up the JIT on every solver alike
  maxMinParallelWaterfill(p);
  maxMinProgressive(p);
  const [approxMs, approx] = best(reps, () => maxMinApprox(p));
  const [exactMs, exact] = best(Math.max(1, Math.ceil(reps / 2)), () => maxMinWaterfill(p, rounds));
  const [wf1Ms] = best(reps, () => maxMinParallelWaterfill(p, rounds1));
  const [heapMs] = best(reps, () => maxMinProgressive(p));
  const se = stats(exact);
  const sa = stats(approx);
  let maxRel = 0;
  for (let i = 0; i < se.length; i++) maxRel = Math.max(maxRel, Math.abs(sa[i]! - se[i]!) / se[i]!);
  let sumRel = 0;
  let maxFlow = 0;
  let within = 0;
  for (let f = 0; f < p.nFlows; f++) {
    const e = Math.abs(approx[f]! - exact[f]!) / exact[f]!;
    sumRel += e;
    maxFlow = Math.max(maxFlow, e);
    if (e <= 0.01) within++;
  }
  return {
    servers,
    flows: p.nFlows,
    links: p.nLinks,
    exact_ms: round(exactMs, 2),
    approx_ms: round(approxMs, 2),
    speedup: round(exactMs / approxMs, 1),
    max_rel_error: round(maxRel, 5),
    exact_rounds: rounds.rounds,
    exact_1waterfill_ms: round(wf1Ms, 2),
    exact_1waterfill_rounds: rounds1.rounds,
    exact_heap_ms: round(heapMs, 2),
    speedup_vs_1waterfill: round(wf1Ms / approxMs, 2),
    speedup_vs_heap: round(heapMs / approxMs, 2),
    flow_mean_rel_error: round(sumRel / p.nFlows, 5),
    flow_max_rel_error: round(maxFlow, 4),
    flows_within_1pct: round(within / p.nFlows, 4),
    loadavg_1m: loadavg()[0]!,
  };
}
