/**
 * Path reuse across candidates (src/ranker/reroute.ts): copying the reference
 * candidate's paths where the next hops agree gives exactly the paths, and
 * so exactly the estimates, of routing every candidate in full.
 */
import { describe, expect, it } from 'vitest';
import { routeTrace } from '../../src/ranker/estimator.js';
import { SampleEvaluator } from '../../src/ranker/evaluator.js';
import { buildModel, candidateTrace } from '../../src/ranker/model.js';
import { HopDiff, rerouteTrace } from '../../src/ranker/reroute.js';
import { hashInts } from '../../src/ranker/rng.js';
import { loadScenarioFile } from '../../src/ranker/scenario.js';

const files = [
  'examples/ranker/s1-two-failures-bring-back.json', // link disable / bring back
  'examples/ranker/s2-capacity-cut.json', // capacity cut, WCMP candidates
  'examples/ranker/s3-tor-and-link.json', // ToR drain: traffic moved, other src/dst
];

describe('path reuse across candidates', () => {
  for (const file of files) {
    it(`${file}: every target's estimates equal full resampling, with reuse and resampling both exercised`, () => {
      const model = buildModel(loadScenarioFile(file));
      const targets = [...model.candidates.map((_, i) => i), model.candidates.length];
      expect(targets.length).toBeGreaterThan(2);
      const reuse = new SampleEvaluator(model);
      const full = new SampleEvaluator(model, { reusePaths: false });
      for (let k = 0; k < 2; k++) {
        for (let n = 0; n < 2; n++) {
          const a = reuse.evaluate(k, n, targets);
          const b = full.evaluate(k, n, targets);
          expect(Array.from(a)).toEqual(Array.from(b));
          // Another reference (targets in reverse) gives the same vectors too.
          const c = reuse.evaluate(k, n, [...targets].reverse());
          expect(Array.from(c)).toEqual(reorder(b, targets.length));
        }
      }
      // Both paths of rerouteTrace ran: copied flows and flows sampled again.
      expect(reuse.routeStats.reused).toBeGreaterThan(0);
      expect(reuse.routeStats.resampled).toBeGreaterThan(0);
      expect(full.routeStats.reused).toBe(0);
    });
  }

  it('routed traces are identical to routeTrace, path by path, for every candidate against every reference', () => {
    const model = buildModel(loadScenarioFile(files[0]!));
    const seed = hashInts(model.scenario.seed, 0, 1, 0x2077e);
    const tr0 = new SampleEvaluator(model).trace(0);
    const cands = model.candidates.filter((c) => c.feasible);
    let differing = 0;
    let sameDrops = 0; // pairs whose copied paths also copy drop rate and delay
    for (const r of cands) {
      const rt = candidateTrace(model, r, tr0);
      const base = routeTrace(r.router, rt, seed);
      for (const c of cands) {
        const ct = candidateTrace(model, c, tr0);
        const want = routeTrace(c.router, ct, seed);
        const stats = { reused: 0, resampled: 0 };
        const hd = new HopDiff(r.router, c.router);
        if (hd.sameDrops) sameDrops++;
        const got = rerouteTrace(hd, ct, seed, rt, base, stats);
        expect(Array.from(got.ptr)).toEqual(Array.from(want.ptr));
        expect(Array.from(got.links)).toEqual(Array.from(want.links));
        expect(Array.from(got.routable)).toEqual(Array.from(want.routable));
        expect(Array.from(got.drop)).toEqual(Array.from(want.drop));
        expect(Array.from(got.propS)).toEqual(Array.from(want.propS));
        if (r === c) expect(stats.resampled).toBe(Array.from(base.routable).filter((x) => !x).length);
        else if (stats.resampled > 0) differing++;
      }
    }
    expect(differing).toBeGreaterThan(0);
    expect(sameDrops).toBeGreaterThan(0);
  });

  it('HopDiff marks a switch whose next hops a disabled link changes, and not one it leaves alone', () => {
    const model = buildModel(loadScenarioFile(files[0]!));
    const a = model.candidates[0]!.router;
    const b = model.candidates.find((c) => c.feasible && !c.router.sameSplits(a))!.router;
    const t = a.topo;
    let diff = 0;
    let same = 0;
    const hd = new HopDiff(a, b);
    for (const d of t.tors) for (let v = t.nServers; v < t.nNodes; v++) if (v !== d) (hd.same(v, d) ? same++ : diff++);
    expect(diff).toBeGreaterThan(0);
    expect(same).toBeGreaterThan(0);
  });
});

/** Metric vectors of `b` (targets in order) for the targets in reverse order. */
function reorder(b: Float64Array, nTargets: number): number[] {
  const w = b.length / nTargets;
  const out: number[] = [];
  for (let j = nTargets - 1; j >= 0; j--) out.push(...Array.from(b.subarray(j * w, (j + 1) * w)));
  return out;
}
