/**
 * The failover comparison behind `pathsteer demo` and `pathsteer bench
 * failover`: on a fresh testbed (clos-2x2 by default), tenant UDP flows
 * between two VMs (vm1 -> vm2) while links are blackholed in both directions
 * (spine1-leaf2 by default; on clos-4x4 `pathsteer bench failover` fails
 * every link of spine1, a whole spine of four), once without pathsteer and
 * `runs` times with an agent on every host (fresh agents per run, so each run
 * starts from flows spread over all ports); optionally the kernel-txrehash TCP
 * baseline. Everything it creates is removed, also on failure or abort.
 */
import { join } from 'node:path';
import { startAgents, stopAgent, waitConverged, type AgentProcess } from './agents.js';
import { runKernelBaseline, type BaselineResult } from './baseline.js';
import { parseExperiment, runExperiment, type ExperimentResult } from './experiment.js';
import { runPrefix } from './netns.js';
import { repoRoot } from './paths.js';
import { Testbed } from './testbed.js';

export interface FailoverComparisonOptions {
  /** Testbed spec in examples/testbed (without .json). @default 'clos-2x2' */
  spec?: string;
  /** Traffic source and destination VMs. @default 'vm1', 'vm2' */
  from?: string;
  to?: string;
  /** Links blackholed (both directions) from failAtS to healAtS. @default ['spine1-leaf2'] */
  failLinks?: string[];
  /** Agent probe interval per port (ms). @default 1000 */
  probeIntervalMs?: number;
  /** Runs with agents. @default 1 */
  runs?: number;
  /** Tenant UDP flows. @default 32 */
  flows?: number;
  /** Packets per second per flow. @default 200 */
  ratePps?: number;
  /** Blackhole starts / heals at these offsets (s); traffic lasts durationS. */
  failAtS?: number;
  healAtS?: number;
  durationS?: number;
  /** Also run the kernel txrehash TCP baseline (its own testbed). @default false */
  kernelBaseline?: boolean;
  /** Namespace prefix base. @default 'fo' */
  prefixBase?: string;
  progress?: (line: string) => void;
  signal?: AbortSignal;
}

export interface FailoverComparison {
  spec: string;
  /** The failed links, comma-separated. */
  link: string;
  links: string[];
  failure_s: number;
  interval_ms: number;
  without: ExperimentResult;
  with: ExperimentResult[];
  kernel?: BaselineResult;
  up_ms: number;
  converge_ms: number[];
}

export async function compareFailover(o: FailoverComparisonOptions = {}): Promise<FailoverComparison> {
  const progress = o.progress ?? (() => undefined);
  const interval = o.probeIntervalMs ?? 1000;
  const failAt = o.failAtS ?? 2;
  const healAt = o.healAtS ?? 8;
  const spec = o.spec ?? 'clos-2x2';
  const links = o.failLinks ?? ['spine1-leaf2'];
  const link = links.join(', ');
  const from = o.from ?? 'vm1';
  const to = o.to ?? 'vm2';
  const exp = parseExperiment({
    name: 'failover',
    traffic: { from, to, flows: o.flows ?? 32, rate: o.ratePps ?? 200, duration: o.durationS ?? 10, protocol: 'udp' },
    steps: [...links.map((l) => ({ at: failAt, do: 'fail', link: l, blackhole: true })), { at: healAt, do: 'heal' }],
  });
  const run = (tb: Testbed) => runExperiment(tb, exp, o.signal ? { signal: o.signal } : {});
  const prefix = runPrefix(o.prefixBase ?? 'fo');
  const t0 = performance.now();
  progress(`bringing up the ${spec} testbed (namespaces ${prefix}-*)`);
  const tb = await Testbed.up(join(repoRoot(), 'examples', 'testbed', `${spec}.json`), { prefix });
  const upMs = performance.now() - t0;
  let agents: AgentProcess[] = [];
  const withRuns: ExperimentResult[] = [];
  const converge: number[] = [];
  let without: ExperimentResult;
  try {
    progress(`without pathsteer: ${exp.traffic.flows} UDP flows ${from} -> ${to}, ${link} blackholed from ${failAt} s to ${healAt} s`);
    without = await run(tb);
    const runs = o.runs ?? 1;
    for (let i = 0; i < runs && !o.signal?.aborted; i++) {
      const c0 = performance.now();
      progress(`starting pathsteer agents on ${tb.hosts().map((h) => h.name).join(', ')} (probe interval ${interval} ms)${runs > 1 ? ` [run ${i + 1}/${runs}]` : ''}`);
      agents = await startAgents(tb, { probeIntervalMs: interval });
      await waitConverged(tb, agents);
      converge.push(Math.round(performance.now() - c0));
      progress(`with pathsteer: the same flows, the same blackhole${runs > 1 ? ` [run ${i + 1}/${runs}]` : ''}`);
      withRuns.push(await run(tb));
      for (const a of agents) await stopAgent(a);
      agents = [];
    }
  } finally {
    for (const a of agents) await stopAgent(a).catch(() => undefined);
    progress('tearing the testbed down');
    await Testbed.down(prefix);
  }
  let kernel: BaselineResult | undefined;
  if (o.kernelBaseline && !o.signal?.aborted) {
    progress('kernel baseline: TCP flows in the host namespace with net.core.txrehash=1, same blackhole');
    kernel = await runKernelBaseline({ failAtS: failAt, healAtS: healAt, ...(o.signal ? { signal: o.signal } : {}), progress });
  }
  return {
    spec,
    link,
    links,
    failure_s: healAt - failAt,
    interval_ms: interval,
    without,
    with: withRuns,
    ...(kernel ? { kernel } : {}),
    up_ms: Math.round(upMs),
    converge_ms: converge,
  };
}
