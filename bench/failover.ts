/**
 * `pathsteer bench failover`: the tenant outage a spine blackhole causes with
 * pathsteer, next to the same failure without it and with the kernel's own
 * rehash-on-RTO (net.core.txrehash, TCP in the host namespace). Runs
 * src/testbed/failover.ts (own testbed, N runs with fresh agents, torn down)
 * and reduces it to percentiles over the affected flows of all runs.
 */
import { compareFailover } from '../src/testbed/failover.js';
import { summarizeOutages } from '../src/testbed/meter.js';

export interface FailoverBenchOptions {
  /** Probe interval per port (ms). @default 1000 */
  probeIntervalMs?: number;
  /** Blackhole runs with agents. @default 5 */
  runs?: number;
  /** Tenant flows per run. @default 32 */
  flows?: number;
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
  /** Affected flows with more than one outage (trial and error). */
  multi_outage_flows: number;
  /** The same blackhole without agents (p50 over affected flows). */
  without_agent_outage_ms: number;
  /** TCP flows in the host namespace with net.core.txrehash=1 (p50 and p99 over affected flows). */
  kernel_txrehash_outage_ms: number | null;
  kernel_txrehash_outage_p99_ms: number | null;
  failure_s: number;
  per_run: Array<{ affected: number; p50: number; max: number }>;
}

const round = (x: number): number => Math.round(x * 10) / 10;

export async function benchFailover(o: FailoverBenchOptions = {}): Promise<FailoverBenchResult> {
  const flows = o.flows ?? 32;
  const c = await compareFailover({
    probeIntervalMs: o.probeIntervalMs ?? 1000,
    runs: o.runs ?? 5,
    flows,
    kernelBaseline: o.kernelBaseline ?? true,
    prefixBase: 'bf',
    ...(o.progress ? { progress: (l: string) => o.progress!(`[failover] ${l}`) } : {}),
    ...(o.signal ? { signal: o.signal } : {}),
  });
  const affected = c.with.flatMap((r) => r.per_flow.filter((f) => f.affected));
  const outage = summarizeOutages(affected); // nearest-rank p50/p99 and max over every run's affected flows
  return {
    interval_ms: c.interval_ms,
    runs: c.with.length,
    flows_per_run: flows,
    affected_flows: affected.length,
    outage_ms: { p50: round(outage.p50), p99: round(outage.p99), max: round(outage.max) },
    multi_outage_flows: affected.filter((f) => f.outages > 1).length,
    without_agent_outage_ms: round(c.without.outage_ms.p50),
    kernel_txrehash_outage_ms: c.kernel ? round(c.kernel.host_tcp.outage_ms.p50) : null,
    kernel_txrehash_outage_p99_ms: c.kernel ? round(c.kernel.host_tcp.outage_ms.p99) : null,
    failure_s: c.failure_s,
    per_run: c.with.map((r) => ({ affected: r.affected_flows, p50: round(r.outage_ms.p50), max: round(r.outage_ms.max) })),
  };
}
