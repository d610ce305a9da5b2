/**
 * Data-plane benchmarks against their targets (issue 2): vxlan_sport per
 * packet <= 2.5x an empty TC program (BPF_PROG_TEST_RUN), and one batch write
 * of 50,000 peers' path entries <= 50 ms. Real BPF: root only.
 */
import { describe, it } from 'vitest';
import type { DataplaneBenchResult } from '../../bench/dataplane.js';
import type { MapsBenchResult } from '../../bench/maps.js';
import { expectTarget, runBench } from '../support/bench-target.js';
import { canLoadBpf } from '../support/privileged.js';

describe.runIf(canLoadBpf)('data-plane benchmarks', () => {
  it('bench dataplane: vxlan_sport vs an empty program', () => {
    const r = runBench<DataplaneBenchResult>('dataplane', ['bench', 'dataplane']);
    // Two kernel-timed figures from the same interleaved rounds (best of 5): 10% for load.
    expectTarget({ name: 'bench dataplane: vxlan_sport / empty program', measured: r.ratio, target: 2.5, kind: 'max', margin: 0.1, unit: 'x' });
  });

  it('bench maps: batch write of 50,000 peers', () => {
    const r = runBench<MapsBenchResult>('maps', ['bench', 'maps', '--peers', '50000', '--rounds', '7']);
    // Absolute wall time on 2 shared cores, best of 7 rounds (the first is cold;
    // best of 3 measured 66 ms at load 4.5 against 37 ms quiet): 30% for load.
    expectTarget({ name: 'bench maps: batch write, 50k peers', measured: r.batch_write_ms, target: 50, kind: 'max', margin: 0.3, unit: 'ms' });
  });
});
