/**
 * Evaluates samples: sample (k, n) is traffic trace k with routing sample n,
 * run on every requested candidate (common random numbers: all candidates
 * see the same trace and the same per-flow hop variates). The same class runs
 * in worker threads and in-process, so results do not depend on where a
 * sample runs.
 */
import { estimateSample, N_METRICS } from './estimator.js';
import { candidateTrace, type Candidate, type Model } from './model.js';
import { Router } from './routing.js';
import { hashInts } from './rng.js';
import { generateTrace, type Trace } from './traffic.js';

export class SampleEvaluator {
  private cachedK = -1;
  private cachedTrace: Trace | undefined;
  private healthyCand: Candidate | undefined;

  constructor(readonly model: Model) {}

  /** Target index: 0..candidates-1 are candidates, `candidates.length` is the healthy network. */
  target(i: number): Candidate {
    const m = this.model;
    if (i < m.candidates.length) return m.candidates[i]!;
    if (!this.healthyCand) {
      this.healthyCand = { name: 'healthy network', actions: [], state: m.healthy, router: new Router(m.healthy), feasible: true };
    }
    return this.healthyCand;
  }

  trace(k: number): Trace {
    if (k !== this.cachedK || !this.cachedTrace) {
      this.cachedTrace = generateTrace(this.model.traffic, this.model.topo, this.model.scenario.seed, k);
      this.cachedK = k;
    }
    return this.cachedTrace;
  }

  /** Metric vectors (targets.length x N_METRICS); infeasible targets get NaN. */
  evaluate(k: number, n: number, targets: readonly number[]): Float64Array {
    const out = new Float64Array(targets.length * N_METRICS).fill(Number.NaN);
    const tr = this.trace(k);
    const routeSeed = hashInts(this.model.scenario.seed, k, n, 0x2077e);
    targets.forEach((ti, j) => {
      const c = this.target(ti);
      if (!c.feasible) return;
      const m = estimateSample({ router: c.router }, candidateTrace(this.model, c, tr), routeSeed, this.model.cfg, this.model.transport);
      out.set(m, j * N_METRICS);
    });
    return out;
  }
}
