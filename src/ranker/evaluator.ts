/**
 * Evaluates samples: sample (k, n) is traffic trace k with routing sample n,
 * run on every requested candidate (common random numbers: all candidates
 * see the same trace and the same per-flow hop variates). The same class runs
 * in worker threads and in-process, so results do not depend on where a
 * sample runs.
 *
 * Path reuse: the first feasible target of a sample is routed in full; every
 * other target copies its paths wherever the two networks forward the same
 * way along them and samples only the rest (reroute.ts), which gives the
 * same paths as routing it in full.
 */
import { estimateSample, N_METRICS, routeTrace } from './estimator.js';
import { candidateTrace, type Candidate, type Model } from './model.js';
import { HopDiff, rerouteTrace, type RerouteStats } from './reroute.js';
import { Router } from './routing.js';
import { hashInts } from './rng.js';
import { generateTrace, type Trace } from './traffic.js';

export interface EvaluatorOptions {
  /** Reuse the reference target's paths (default true; false routes every target in full). */
  reusePaths?: boolean;
}

export class SampleEvaluator {
  private cachedK = -1;
  private cachedTrace: Trace | undefined;
  private healthyCand: Candidate | undefined;
  private readonly diffs = new Map<Router, Map<Router, HopDiff>>();
  private readonly reusePaths: boolean;
  /** Flows routed in full (reference targets, or every target without reuse) / copied / sampled again, over every evaluate() call. */
  readonly routeStats: RerouteStats & { full: number } = { full: 0, reused: 0, resampled: 0 };

  constructor(
    readonly model: Model,
    opts: EvaluatorOptions = {},
  ) {
    this.reusePaths = opts.reusePaths ?? true;
  }

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

  private diff(ref: Router, cand: Router): HopDiff {
    let m = this.diffs.get(ref);
    if (!m) this.diffs.set(ref, (m = new Map()));
    let d = m.get(cand);
    if (!d) m.set(cand, (d = new HopDiff(ref, cand)));
    return d;
  }

  /** Metric vectors (targets.length x N_METRICS); infeasible targets get NaN. */
  evaluate(k: number, n: number, targets: readonly number[]): Float64Array {
    const out = new Float64Array(targets.length * N_METRICS).fill(Number.NaN);
    const tr = this.trace(k);
    const routeSeed = hashInts(this.model.scenario.seed, k, n, 0x2077e);
    let ref: { router: Router; trace: Trace; routed: ReturnType<typeof routeTrace> } | undefined;
    targets.forEach((ti, j) => {
      const c = this.target(ti);
      if (!c.feasible) return;
      const ct = candidateTrace(this.model, c, tr);
      let routed;
      if (!this.reusePaths || !ref) {
        routed = routeTrace(c.router, ct, routeSeed);
        this.routeStats.full += ct.n;
        if (this.reusePaths) ref = { router: c.router, trace: ct, routed };
      } else routed = rerouteTrace(this.diff(ref.router, c.router), ct, routeSeed, ref.trace, ref.routed, this.routeStats);
      const m = estimateSample({ router: c.router }, ct, routeSeed, this.model.cfg, this.model.transport, routed);
      out.set(m, j * N_METRICS);
    });
    return out;
  }
}
