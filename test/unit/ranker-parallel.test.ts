/**
 * Samples on worker_threads give exactly the single-threaded result, and a
 * seed reproduces a ranking. (Workers run the compiled worker under dist/,
 * which `npm test` builds first.)
 */
import { describe, expect, it } from 'vitest';
import { workerEntry } from '../../src/ranker/pool.js';
import { rank, type RankResult } from '../../src/ranker/ranker.js';
import { loadScenarioFile } from '../../src/ranker/scenario.js';

const scenario = loadScenarioFile('examples/ranker/s1-two-failures-bring-back.json');
const small = { trafficSamples: 3, routingSamples: 2 };

/** The parts of a result that must not depend on how it was computed. */
function essence(r: RankResult): unknown {
  return { best: r.best, samples: r.samples, candidates: r.candidates.map((c) => ({ ...c })) };
}

describe('parallel sample evaluation', () => {
  it('2 workers give exactly the single-threaded ranking', async () => {
    expect(workerEntry(), 'no compiled worker: run `npm run build:ts` (npm test does) before this test').toBeDefined();
    const single = await rank(scenario, { ...small, workers: 0 });
    const parallel = await rank(scenario, { ...small, workers: 2 });
    expect(single.workersUsed).toBe(0);
    expect(parallel.workersUsed).toBe(2);
    expect(essence(parallel)).toEqual(essence(single));
  });

  it('the same seed reproduces the ranking; another seed draws other samples', async () => {
    const a = await rank(scenario, { ...small, workers: 2, seed: 7 });
    const b = await rank(scenario, { ...small, workers: 1, seed: 7 });
    const c = await rank(scenario, { ...small, workers: 2, seed: 8 });
    expect(essence(b)).toEqual(essence(a));
    expect(c.candidates[0]!.metrics.tputAvg.point).not.toBe(a.candidates[0]!.metrics.tputAvg.point);
  });
});
