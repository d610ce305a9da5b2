/**
 * `bench failover` against its target: tenant outage p99 <= 1.2 s at the
 * default 1 s probe interval, on clos-2x2 (a spine link blackholed) and
 * clos-4x4 (a whole spine of four fails: fewer broken ports, slower
 * detection). One run per fabric with fresh agents (the bench default is 5),
 * no kernel baseline, one test per fabric to keep each near a minute.
 * Namespaces and BPF: root only; the benchmark tears everything down, also
 * on failure.
 */
import { describe, it } from 'vitest';
import type { FailoverBenchResult } from '../../bench/failover.js';
import { expectTarget, runBench } from '../support/bench-target.js';
import { canLoadBpf } from '../support/privileged.js';

describe.runIf(canLoadBpf)('bench failover', () => {
  for (const fabric of ['clos-2x2', 'clos-4x4'] as const) {
    it(`outage p99 on ${fabric} at the 1 s probe interval`, () => {
      const r = runBench<FailoverBenchResult>(`failover-ci-${fabric}`, ['bench', 'failover', '--fabric', fabric, '--runs', '1', '--no-kernel-baseline']);
      const f = r.fabrics[0]!;
      // Wall-clock outages of real flows through agents on a shared 2-core machine: 10% for load
      // (the agent's timers run late when the CPU is busy).
      expectTarget({ name: `bench failover: outage p99, ${f.fabric} (${f.failed})`, measured: f.outage_ms.p99, target: 1200, kind: 'max', margin: 0.1, unit: 'ms' });
    });
  }
});
