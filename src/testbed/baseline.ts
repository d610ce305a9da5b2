/**
 * The kernel baseline pathsteer must beat: TCP flows whose sockets live in the
 * host namespaces (`--local-tenant`), over the VXLAN device, under the same
 * spine-leaf blackhole. With net.core.txrehash=1 the kernel picks a new
 * sk_txhash on every RTO (and on spurious retransmissions at the receiver), so
 * the tunnel's outer source port, and with it the ECMP path, changes: the PRR
 * idea in stock Linux. Tenant VMs cannot do this (their packets reach the
 * tunnel forwarded, with the hash cleared as from a real NIC).
 */
import { join } from 'node:path';
import { run } from '../common/exec.js';
import { parseExperiment, runExperiment, type ExperimentResult } from './experiment.js';
import { nsenterArgv, runPrefix } from './netns.js';
import { repoRoot } from './paths.js';
import { loadSpec, type TestbedSpec } from './spec.js';
import { Testbed } from './testbed.js';

export interface BaselineOptions {
  /** Spec (or its path). @default examples/testbed/clos-2x2.json */
  spec?: TestbedSpec | string;
  /** Prefix for the testbed this function brings up and down. @default a fresh runPrefix('bl') */
  prefix?: string;
  /** @default 16 */
  flows?: number;
  /** Records per second per flow. @default 200 */
  ratePps?: number;
  /** @default 10 */
  durationS?: number;
  /** @default 2 */
  failAtS?: number;
  /** @default 8 */
  healAtS?: number;
  /** @default 'spine1-leaf2' */
  link?: string;
  /** @default 'host1' */
  from?: string;
  /** @default 'host2' */
  to?: string;
  /** Also run the same TCP flows between the first two VMs (no kernel repathing possible). @default false */
  compareVm?: boolean;
  progress?: (line: string) => void;
  signal?: AbortSignal;
}

export const BASELINE_SCHEMA = 'pathsteer.testbed.baseline/v1';

export interface BaselineResult {
  schema: typeof BASELINE_SCHEMA;
  mode: 'kernel-txrehash';
  spec: string;
  link: string;
  failure_s: number;
  /** Sysctls in force in the host namespaces during the run. */
  sysctl: { 'net.core.txrehash': string; 'net.ipv4.tcp_congestion_control': string };
  /** TCP between host namespaces over the tunnel, with kernel rehash. */
  host_tcp: ExperimentResult;
  /** The same flows between VMs (when compareVm). */
  vm_tcp?: ExperimentResult;
  up_ms: number;
  down_ms: number;
}

/** Bring up a local-tenant testbed, run the blackhole experiment with TCP, tear down. */
export async function runKernelBaseline(opts: BaselineOptions = {}): Promise<BaselineResult> {
  const spec =
    typeof opts.spec === 'object' ? opts.spec : loadSpec(opts.spec ?? join(repoRoot(), 'examples', 'testbed', 'clos-2x2.json'));
  const prefix = opts.prefix ?? runPrefix('bl');
  const link = opts.link ?? 'spine1-leaf2';
  const failAt = opts.failAtS ?? 2;
  const healAt = opts.healAtS ?? 8;
  const durationS = opts.durationS ?? 10;
  const t0 = performance.now();
  const tb = await Testbed.up(spec, { prefix, localTenant: true, ...(opts.progress ? { progress: opts.progress } : {}) });
  const upMs = performance.now() - t0;
  try {
    const from = opts.from ?? 'host1';
    const read = async (key: string): Promise<string> =>
      (await run(nsenterArgv(tb.netns(from), ['sysctl', '-n', key]), { allowFail: true })).stdout.trim();
    const sysctl = {
      'net.core.txrehash': await read('net.core.txrehash'),
      'net.ipv4.tcp_congestion_control': await read('net.ipv4.tcp_congestion_control'),
    };
    const experiment = (name: string, src: string, dst: string) =>
      parseExperiment({
        name,
        traffic: { from: src, to: dst, flows: opts.flows ?? 16, rate: opts.ratePps ?? 200, duration: durationS, protocol: 'tcp' as const },
        steps: [
          { at: failAt, do: 'fail', link, blackhole: true, direction: 'both' },
          { at: healAt, do: 'heal', link },
        ],
      });
    const runOpts = { ...(opts.signal ? { signal: opts.signal } : {}), ...(opts.progress ? { progress: opts.progress } : {}) };
    const hostTcp = await runExperiment(tb, experiment('kernel-txrehash', from, opts.to ?? 'host2'), runOpts);
    let vmTcp: ExperimentResult | undefined;
    if (opts.compareVm && tb.plan.vms.length >= 2) {
      vmTcp = await runExperiment(tb, experiment('vm-no-rehash', tb.plan.vms[0]!.name, tb.plan.vms[1]!.name), runOpts);
    }
    const d0 = performance.now();
    await Testbed.down(prefix);
    return {
      schema: BASELINE_SCHEMA,
      mode: 'kernel-txrehash',
      spec: spec.name,
      link,
      failure_s: healAt - failAt,
      sysctl,
      host_tcp: hostTcp,
      ...(vmTcp ? { vm_tcp: vmTcp } : {}),
      up_ms: Math.round(upMs),
      down_ms: Math.round(performance.now() - d0),
    };
  } finally {
    await Testbed.down(prefix).catch(() => undefined);
  }
}
