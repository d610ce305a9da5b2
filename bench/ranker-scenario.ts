/**
 * The large Clos scenario the ranker and max-min benchmarks use: 32 servers
 * per ToR, 16 ToRs and 8 T1s per pod, 64 spines in 8 planes (so 16384 servers
 * is 32 pods), 10 Gbps servers, 40 Gbps fabric, 5 us per link, web search
 * traffic at 30% load. Failures follow SWARM scenario 1's two-failure
 * sequence at one ToR: an earlier lossy uplink (0.005%) already disabled, and
 * now a second uplink of the same ToR dropping 5%. The estimator epoch and
 * the sample counts are the tool's defaults (src/ranker/defaults.ts) unless
 * given.
 */
import type { ScenarioInput } from '../src/ranker/scenario.js';

export const SERVERS_PER_TOR = 32;
export const TORS_PER_POD = 16;

export function benchScenario(servers: number, opts: { trafficSamples?: number; routingSamples?: number; seed?: number; epochMs?: number } = {}): ScenarioInput {
  const pods = Math.max(2, Math.round(servers / (SERVERS_PER_TOR * TORS_PER_POD)));
  return {
    name: `bench Clos ${pods * SERVERS_PER_TOR * TORS_PER_POD} servers`,
    topology: {
      kind: 'clos',
      pods,
      torsPerPod: TORS_PER_POD,
      t1PerPod: 8,
      t2: 64,
      serversPerTor: SERVERS_PER_TOR,
      capacityGbps: { server: 10, t0t1: 40, t1t2: 40 },
      delayUs: { server: 5, t0t1: 5, t1t2: 5 },
    },
    failures: [
      { type: 'link-drop', link: ['T0-0', 'T1-0'], dropRate: 0.00005 },
      { type: 'link-drop', link: ['T0-0', 'T1-1'], dropRate: 0.05 },
    ],
    ongoing: [{ type: 'disable-link', link: ['T0-0', 'T1-0'] }],
    traffic: { load: 0.3, flowSizes: 'dctcp-websearch', durationMs: 20, measureMs: [5, 10] },
    ...(opts.epochMs !== undefined ? { estimator: { epochMs: opts.epochMs } } : {}),
    confidence: {
      ...(opts.trafficSamples !== undefined ? { trafficSamples: opts.trafficSamples } : {}),
      ...(opts.routingSamples !== undefined ? { routingSamples: opts.routingSamples } : {}),
    },
    comparator: 'PriorityFCT',
    seed: opts.seed ?? 1,
  };
}
