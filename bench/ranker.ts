/**
 * Ranker benchmark: rank the candidate mitigations of a large Clos scenario
 * (bench/ranker-scenario.ts) end to end — model build, worker start-up, every
 * (traffic, routing) sample on every candidate, ranking — and report the wall
 * time. By default at exactly the settings `pathsteer rank` uses
 * (src/ranker/defaults.ts: 0.25 ms epochs, K = 21 traffic x N = 8 routing
 * samples, 2 workers); `defaults` says whether the run kept them. Target:
 * 16384 servers in <= 60 s on the 2-core CI machine (SWARM reports < 5 min on
 * theirs). Also reported: CPU seconds per (sample, candidate) estimate, which
 * does not depend on how many samples run, and the 1-minute load average
 * before and after, because the machine is shared.
 */
import { loadavg } from 'node:os';
import { RANKER_DEFAULTS } from '../src/ranker/defaults.js';
import { buildModel } from '../src/ranker/model.js';
import { rankModel } from '../src/ranker/ranker.js';
import { parseScenario, resolveScenario } from '../src/ranker/scenario.js';
import { generateTrace } from '../src/ranker/traffic.js';
import { benchScenario } from './ranker-scenario.js';

export const RANKER_TARGET_SECONDS = 60;

export interface RankerBenchOptions {
  servers: number;
  workers?: number;
  trafficSamples?: number;
  routingSamples?: number;
  epochMs?: number;
  seed?: number;
  onProgress?: (done: number, total: number) => void;
  signal?: AbortSignal;
}

export interface RankerBenchResult {
  servers: number;
  /** Flows in one traffic sample (all of them run through the estimator). */
  flows: number;
  /** Samples per candidate (traffic x routing). */
  samples: number;
  seconds: number;
  /** Of which building the model (topology, routing, candidates): done once, whatever the sample count. */
  build_s: number;
  target_seconds: number;
  /** Ran at the tool's default epoch, sample counts and workers. */
  defaults: boolean;
  best: string;
  candidates: number;
  epoch_ms: number;
  traffic_samples: number;
  routing_samples: number;
  workers: number;
  /** Estimates made: samples x candidates. */
  estimates: number;
  /** CPU seconds of the whole process (all threads, the model build left out) per estimate: what one costs whatever the load. */
  cpu_s_per_estimate: number;
  /** CPU seconds of the model build. */
  build_cpu_s: number;
  ranking: Array<{ rank: number; name: string; fct99_ms: number; tput1p_mbps: number; tput_avg_mbps: number }>;
  loadavg_1m_before: number;
  loadavg_1m_after: number;
}

export async function benchRanker(o: RankerBenchOptions): Promise<RankerBenchResult> {
  const before = loadavg()[0]!;
  const t0 = process.hrtime.bigint();
  const cpu0 = process.cpuUsage();
  const workers = o.workers ?? RANKER_DEFAULTS.workers;
  const resolved = resolveScenario(parseScenario(benchScenario(o.servers, o), 'bench'), process.cwd(), 'bench');
  const model = buildModel(resolved);
  const buildS = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu1 = process.cpuUsage();
  const r = await rankModel(model, resolved, { workers, onProgress: o.onProgress, ...(o.signal ? { signal: o.signal } : {}) });
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu = process.cpuUsage(cpu1);
  const cpuBuild = process.cpuUsage(cpu0);
  const estimates = r.samples.total * r.candidates.length;
  const defaults = o.trafficSamples === undefined && o.routingSamples === undefined && o.epochMs === undefined && workers === RANKER_DEFAULTS.workers;
  const flows = generateTrace(model.traffic, model.topo, model.scenario.seed, 0).n;
  return {
    servers: model.topo.nServers,
    flows,
    samples: r.samples.total,
    seconds: Math.round(seconds * 100) / 100,
    build_s: Math.round(buildS * 100) / 100,
    target_seconds: RANKER_TARGET_SECONDS,
    defaults,
    best: r.best,
    candidates: r.candidates.length,
    epoch_ms: model.scenario.estimator.epochMs,
    traffic_samples: r.samples.traffic,
    routing_samples: r.samples.routing,
    workers: r.workersUsed,
    estimates,
    cpu_s_per_estimate: Math.round(((cpu.user + cpu.system) / 1e6 / estimates) * 1000) / 1000,
    build_cpu_s: Math.round(((cpuBuild.user + cpuBuild.system - cpu.user - cpu.system) / 1e6) * 100) / 100,
    ranking: r.candidates.map((c) => ({
      rank: c.rank,
      name: c.name,
      fct99_ms: c.metrics.fct99.point * 1e3,
      tput1p_mbps: c.metrics.tput1p.point / 1e6,
      tput_avg_mbps: c.metrics.tputAvg.point / 1e6,
    })),
    loadavg_1m_before: before,
    loadavg_1m_after: loadavg()[0]!,
  };
}
