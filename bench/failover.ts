/**
 * `pathsteer bench failover`: the tenant outage a spine failure causes with
 * pathsteer, next to the same failure without it and with the kernel's own
 * rehash-on-RTO (net.core.txrehash, TCP in the host namespace). Runs
 * src/testbed/failover.ts (own testbed, N runs with fresh agents, torn down)
 * on each fabric and reduces it to percentiles over the affected flows of all
 * its runs:
 *
 * - clos-2x2: spine1-leaf2 blackholed (both directions), vm1 -> vm2: half of
 *   the 32 ports of a peer break.
 * - clos-4x4: spine1 fails (both of its links blackholed), vm1 (leaf1) ->
 *   vm3 (leaf2): a quarter of the ports break, so the first failed probe
 *   comes later (on average interval / (k + 1) after the failure, k broken
 *   ports) and detection is slower.
 */
import { compareFailover } from '../src/testbed/failover.js';
import { summarizeOutages } from '../src/testbed/meter.js';

/** The fabrics and failures the benchmark runs. */
export const FAILOVER_FABRICS = {
  'clos-2x2': { spines: 2, from: 'vm1', to: 'vm2', failLinks: ['spine1-leaf2'], failed: 'link spine1-leaf2' },
  'clos-4x4': { spines: 4, from: 'vm1', to: 'vm3', failLinks: ['spine1-leaf1', 'spine1-leaf2'], failed: 'spine spine1 (links spine1-leaf1, spine1-leaf2)' },
} as const;
export type FailoverFabric = keyof typeof FAILOVER_FABRICS;

/** p99 target by probe interval (agent README): 1.2 s at 1 s, 0.3 s at 100 ms. */
export function failoverTargetMs(intervalMs: number): number | undefined {
  return intervalMs >= 1000 ? 1200 : intervalMs <= 100 ? 300 : undefined;
}

export interface FailoverBenchOptions {
  /** Probe interval per port (ms). @default 1000 */
  probeIntervalMs?: number;
  /** Blackhole runs with agents, per fabric. @default 5 */
  runs?: number;
  /** Tenant flows per run. @default 32 */
  flows?: number;
  /** Fabrics to run. @default both */
  fabrics?: FailoverFabric[];
  /** Also measure the kernel txrehash TCP baseline (clos-2x2). @default true */
  kernelBaseline?: boolean;
  progress?: (line: string) => void;
  signal?: AbortSignal;
}

export interface FailoverFabricResult {
  fabric: FailoverFabric;
  spines: number;
  failed: string;
  traffic: string;
  runs: number;
  affected_flows: number;
  outage_ms: { p50: number; p99: number; max: number };
  /** Affected flows with more than one outage (trial and error). */
  multi_outage_flows: number;
  /** The same failure without agents (p50 over affected flows). */
  without_agent_outage_ms: number;
  per_run: Array<{ affected: number; p50: number; max: number }>;
}

export interface FailoverBenchResult {
  interval_ms: number;
  runs: number;
  flows_per_run: number;
  failure_s: number;
  /** p99 target for this interval (ms), if there is one. */
  target_p99_ms: number | null;
  /** Headline: the worst p99 over the fabrics. */
  outage_p99_ms: number;
  fabrics: FailoverFabricResult[];
  /** TCP flows in the host namespace with net.core.txrehash=1 on clos-2x2 (p50 and p99 over affected flows). */
  kernel_txrehash_outage_ms: number | null;
  kernel_txrehash_outage_p99_ms: number | null;
}

const round = (x: number): number => Math.round(x * 10) / 10;

export async function benchFailover(o: FailoverBenchOptions = {}): Promise<FailoverBenchResult> {
  const flows = o.flows ?? 32;
  const interval = o.probeIntervalMs ?? 1000;
  const fabrics = o.fabrics ?? (Object.keys(FAILOVER_FABRICS) as FailoverFabric[]);
  const out: FailoverFabricResult[] = [];
  let kernel: FailoverBenchResult['kernel_txrehash_outage_ms'] = null;
  let kernelP99: FailoverBenchResult['kernel_txrehash_outage_p99_ms'] = null;
  let failureS = 0;
  for (const fabric of fabrics) {
    if (o.signal?.aborted) break;
    const f = FAILOVER_FABRICS[fabric];
    const c = await compareFailover({
      spec: fabric,
      from: f.from,
      to: f.to,
      failLinks: [...f.failLinks],
      probeIntervalMs: interval,
      runs: o.runs ?? 5,
      flows,
      kernelBaseline: (o.kernelBaseline ?? true) && fabric === 'clos-2x2',
      prefixBase: 'bf',
      ...(o.progress ? { progress: (l: string) => o.progress!(`[failover ${fabric}] ${l}`) } : {}),
      ...(o.signal ? { signal: o.signal } : {}),
    });
    failureS = c.failure_s;
    const affected = c.with.flatMap((r) => r.per_flow.filter((x) => x.affected));
    const outage = summarizeOutages(affected); // nearest-rank p50/p99 and max over every run's affected flows
    out.push({
      fabric,
      spines: f.spines,
      failed: f.failed,
      traffic: `${flows} UDP flows ${f.from} -> ${f.to}`,
      runs: c.with.length,
      affected_flows: affected.length,
      outage_ms: { p50: round(outage.p50), p99: round(outage.p99), max: round(outage.max) },
      multi_outage_flows: affected.filter((x) => x.outages > 1).length,
      without_agent_outage_ms: round(c.without.outage_ms.p50),
      per_run: c.with.map((r) => ({ affected: r.affected_flows, p50: round(r.outage_ms.p50), max: round(r.outage_ms.max) })),
    });
    if (c.kernel) {
      kernel = round(c.kernel.host_tcp.outage_ms.p50);
      kernelP99 = round(c.kernel.host_tcp.outage_ms.p99);
    }
  }
  return {
    interval_ms: interval,
    runs: o.runs ?? 5,
    flows_per_run: flows,
    failure_s: failureS,
    target_p99_ms: failoverTargetMs(interval) ?? null,
    outage_p99_ms: Math.max(...out.map((x) => x.outage_ms.p99)),
    fabrics: out,
    kernel_txrehash_outage_ms: kernel,
    kernel_txrehash_outage_p99_ms: kernelP99,
  };
}

export function summarizeFailover(r: FailoverBenchResult): string {
  const lines = [
    `probe interval ${r.interval_ms} ms, ${r.runs} runs per fabric, ${r.flows_per_run} flows per run, failure ${r.failure_s} s: worst p99 ${r.outage_p99_ms} ms${r.target_p99_ms !== null ? ` (target <= ${r.target_p99_ms} ms: ${r.outage_p99_ms <= r.target_p99_ms ? 'met' : 'not met'})` : ''}`,
  ];
  for (const f of r.fabrics) {
    lines.push(
      `  ${f.fabric} (${f.spines} spines, ${f.failed} failed): ${f.affected_flows} affected flows, outage p50 ${f.outage_ms.p50} ms, p99 ${f.outage_ms.p99} ms, max ${f.outage_ms.max} ms; without agent ${f.without_agent_outage_ms} ms`,
    );
  }
  if (r.kernel_txrehash_outage_ms !== null) lines.push(`  kernel txrehash TCP (clos-2x2): p50 ${r.kernel_txrehash_outage_ms} ms, p99 ${r.kernel_txrehash_outage_p99_ms} ms`);
  return lines.join('\n');
}
