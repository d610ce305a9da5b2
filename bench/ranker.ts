/**
 * Ranker benchmark: rank the candidate mitigations of a large Clos scenario
 * (bench/ranker-scenario.ts) end to end — model build, worker start-up, every
 * (traffic, routing) sample on every candidate, ranking — and report the wall
 * time. Target: 16384 servers in <= 60 s on the 2-core CI machine (SWARM
 * reports < 5 min on theirs). The 1-minute load average before and after is
 * included because the machine is shared.
 */
import { loadavg } from 'node:os';
import { buildModel } from '../src/ranker/model.js';
import { rankModel } from '../src/ranker/ranker.js';
import { parseScenario, resolveScenario } from '../src/ranker/scenario.js';
import { generateTrace } from '../src/ranker/traffic.js';
import { benchScenario } from './ranker-scenario.js';

export interface RankerBenchOptions {
  servers: number;
  workers?: number;
  trafficSamples?: number;
  routingSamples?: number;
  seed?: number;
  onProgress?: (done: number, total: number) => void;
}

export interface RankerBenchResult {
  servers: number;
  /** Flows in one traffic sample (all of them run through the estimator). */
  flows: number;
  /** Samples per candidate (traffic x routing). */
  samples: number;
  seconds: number;
  best: string;
  candidates: number;
  traffic_samples: number;
  routing_samples: number;
  workers: number;
  ranking: Array<{ rank: number; name: string; fct99_ms: number; tput1p_mbps: number; tput_avg_mbps: number }>;
  loadavg_1m_before: number;
  loadavg_1m_after: number;
}

export async function benchRanker(o: RankerBenchOptions): Promise<RankerBenchResult> {
  const before = loadavg()[0]!;
  const t0 = process.hrtime.bigint();
  const resolved = resolveScenario(parseScenario(benchScenario(o.servers, o), 'bench'), process.cwd(), 'bench');
  const model = buildModel(resolved);
  const r = await rankModel(model, resolved, { workers: o.workers ?? 2, onProgress: o.onProgress });
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const flows = generateTrace(model.traffic, model.topo, model.scenario.seed, 0).n;
  return {
    servers: model.topo.nServers,
    flows,
    samples: r.samples.total,
    seconds: Math.round(seconds * 100) / 100,
    best: r.best,
    candidates: r.candidates.length,
    traffic_samples: r.samples.traffic,
    routing_samples: r.samples.routing,
    workers: r.workersUsed,
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
