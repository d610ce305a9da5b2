/**
 * `pathsteer bench failover`: the tenant outage a spine failure causes with
 * pathsteer, next to the same failure without it and with the kernel's own
 * rehash-on-RTO (net.core.txrehash, TCP in the host namespace). Brings up its
 * own clos-2x2 testbed, runs the blackhole experiment N times (fresh agents each
 * run, so every run starts from an even spread of flows), tears everything down.
 *
 * Outage: the meter's per-flow outage (src/testbed/README.md), over the
 * affected flows of all runs.
 */
import { join } from 'node:path';
import { runKernelBaseline } from '../src/testbed/baseline.js';
import { startAgents, stopAgent, waitConverged, type AgentProcess } from '../src/testbed/agents.js';
import { parseExperiment, runExperiment, type ExperimentResult } from '../src/testbed/experiment.js';
import { runPrefix } from '../src/testbed/netns.js';
import { repoRoot } from '../src/testbed/paths.js';
import { Testbed } from '../src/testbed/testbed.js';

export interface FailoverBenchOptions {
  /** Probe interval per port (ms). @default 1000 */
  probeIntervalMs?: number;
  /** Blackhole runs with agents. @default 5 */
  runs?: number;
  /** Tenant flows per run. @default 32 */
  flows?: number;
  /** Packets per second per flow. @default 200 */
  ratePps?: number;
  /** Also measure the kernel txrehash TCP baseline. @default true */
  kernelBaseline?: boolean;
  progress?: (line: string) => void;
  signal?: AbortSignal;
}

export interface FailoverBenchResult {
  interval_ms: number;
  runs: number;
  flows_per_run: number;
  affected_flows: number;
  outage_ms: { p50: number; p99: number; max: number };
  /** Affected flows that had more than one outage (trial and error). */
  multi_outage_flows: number;
  /** The same blackhole without agents (p50 over affected flows). */
  without_agent_outage_ms: number;
  /** TCP flows in the host namespace with net.core.txrehash=1 (p50 / p99 over affected flows). */
  kernel_txrehash_outage_ms: number | null;
  kernel_txrehash_outage_p99_ms: number | null;
  failure_s: number;
  per_run: Array<{ affected: number; p50: number; max: number }>;
}

function pct(sorted: number[], q: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

const round = (x: number): number => Math.round(x * 10) / 10;

export async function benchFailover(o: FailoverBenchOptions = {}): Promise<FailoverBenchResult> {
  const interval = o.probeIntervalMs ?? 1000;
  const runs = o.runs ?? 5;
  const flows = o.flows ?? 32;
  const rate = o.ratePps ?? 200;
  const progress = o.progress ?? (() => undefined);
  const failAt = 2;
  const healAt = 8;
  const exp = parseExperiment({
    name: 'bench-failover',
    traffic: { from: 'vm1', to: 'vm2', flows, rate, duration: 10, protocol: 'udp' },
    steps: [
      { at: failAt, do: 'fail', link: 'spine1-leaf2', blackhole: true },
      { at: healAt, do: 'heal', link: 'spine1-leaf2' },
    ],
  });
  const spec = join(repoRoot(), 'examples', 'testbed', 'clos-2x2.json');
  const prefix = runPrefix('bf');
  const outages: number[] = [];
  const perRun: FailoverBenchResult['per_run'] = [];
  let multi = 0;
  let without: ExperimentResult | undefined;
  const tb = await Testbed.up(spec, { prefix });
  let agents: AgentProcess[] = [];
  try {
    progress(`[failover] without agents: blackhole spine1-leaf2 for ${healAt - failAt} s`);
    without = await runExperiment(tb, exp, o.signal ? { signal: o.signal } : {});
    for (let i = 0; i < runs; i++) {
      if (o.signal?.aborted) break;
      agents = await startAgents(tb, { probeIntervalMs: interval });
      await waitConverged(tb, agents);
      progress(`[failover] run ${i + 1}/${runs}: agents probing every ${interval} ms, blackhole spine1-leaf2`);
      const r = await runExperiment(tb, exp, o.signal ? { signal: o.signal } : {});
      const mine = r.per_flow.filter((f) => f.affected);
      for (const f of mine) {
        outages.push(f.outage_ms);
        if (f.outages > 1) multi++;
      }
      perRun.push({ affected: r.affected_flows, p50: round(r.outage_ms.p50), max: round(r.outage_ms.max) });
      progress(`[failover] run ${i + 1}: ${r.affected_flows}/${r.flows} flows affected, outage p50 ${Math.round(r.outage_ms.p50)} ms, max ${Math.round(r.outage_ms.max)} ms`);
      for (const a of agents) await stopAgent(a);
      agents = [];
    }
  } finally {
    for (const a of agents) await stopAgent(a).catch(() => undefined);
    await Testbed.down(prefix);
  }
  let kernel: Awaited<ReturnType<typeof runKernelBaseline>> | undefined;
  if (o.kernelBaseline ?? true) {
    progress('[failover] kernel baseline: TCP in the host namespace, net.core.txrehash=1, same blackhole');
    kernel = await runKernelBaseline({ ...(o.signal ? { signal: o.signal } : {}), progress });
  }
  const sorted = [...outages].sort((a, b) => a - b);
  return {
    interval_ms: interval,
    runs: perRun.length,
    flows_per_run: flows,
    affected_flows: outages.length,
    outage_ms: { p50: round(pct(sorted, 0.5)), p99: round(pct(sorted, 0.99)), max: round(sorted[sorted.length - 1] ?? 0) },
    multi_outage_flows: multi,
    without_agent_outage_ms: round(without?.outage_ms.p50 ?? 0),
    kernel_txrehash_outage_ms: kernel ? round(kernel.host_tcp.outage_ms.p50) : null,
    kernel_txrehash_outage_p99_ms: kernel ? round(kernel.host_tcp.outage_ms.p99) : null,
    failure_s: healAt - failAt,
    per_run: perRun,
  };
}
