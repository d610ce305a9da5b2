/**
 * `bench ranker` against its target: ranking the 16K-server Clos at `pathsteer
 * rank`'s defaults (0.25 ms epochs, 21 x 8 samples, 2 workers) in <= 60 s.
 *
 * CI-sized: the full default run takes minutes on this machine, over the
 * two-minute budget of a bench-target test. This runs the same scenario, the
 * same 16,384 servers and the same 0.25 ms epochs on 2 x 2 samples (16
 * estimates: 4 candidates each) and scales to the default 21 x 8: every
 * estimate is an independent run of the same size on the same worker pool,
 * so the default run takes the model build plus 672 estimates' CPU time
 * shared by the 2 workers. CPU time, because the wall time of 16 estimates on
 * a machine loaded by other jobs says more about them than about the ranker
 * (at load 13 the workers got about a fifth of a core each). What a
 * regression changes is the CPU time per estimate. `pathsteer bench ranker`
 * runs the real thing (wall time, at the defaults).
 */
import { describe, it } from 'vitest';
import type { RankerBenchResult } from '../../bench/ranker.js';
import { defaultSampleCounts } from '../../src/ranker/defaults.js';
import { expectTarget, runBench, saveBench } from '../support/bench-target.js';

describe('bench ranker', () => {
  it('16,384 servers at the default epoch: time scaled to the default sample count', () => {
    const k = 2;
    const n = 2;
    const r = runBench<RankerBenchResult>('ranker-ci', ['bench', 'ranker', '--traffic-samples', String(k), '--routing-samples', String(n)]);
    const d = defaultSampleCounts();
    const scaled = r.build_s + (d.trafficSamples * d.routingSamples * r.candidates * r.cpu_s_per_estimate) / r.workers;
    saveBench('ranker-ci', `pathsteer bench ranker --traffic-samples ${k} --routing-samples ${n} --json`, { ...r, scaled_to_default_samples_s: +scaled.toFixed(1) });
    // An absolute time derived from CPU time on 2 shared cores (caches and clocks still suffer from
    // load): 25%. Known gap: several times the target at the defaults (bench/README.md); the floor
    // catches a regression of the cost per estimate.
    expectTarget({ name: 'bench ranker: 16K servers at the defaults (scaled from 2x2 samples)', measured: +scaled.toFixed(1), target: r.target_seconds, kind: 'max', margin: 0.25, unit: 's', knownGapFloor: 600 });
  });
});
