/**
 * The CLP estimator for one (traffic sample, routing sample, network state):
 * SWARM Alg. A.1 body, Alg. 1 and Alg. A.2/A.3.
 *
 * - Routing sample: every flow gets a path drawn hop by hop from the ECMP/WCMP
 *   probabilities; the per-hop uniform variate is a hash of (routing seed,
 *   flow, hop), so two candidates route a flow the same way wherever their
 *   next-hop sets agree.
 * - Long flows (size > shortFlowBytes) go through epochs (Alg. 1): flows that
 *   arrive during an epoch join the active set, all active flows get
 *   demand-aware max-min fair rates with their loss-limited throughput as the
 *   cap (Alg. A.2/A.3), send for the epoch (a flow that arrives mid-epoch
 *   sends from its arrival; a flow that completes mid-epoch completes at its
 *   exact time), and completed flows record size / duration.
 * - Short flows: FCT = RTT count x (propagation RTT + queueing delay), the RTT
 *   count drawn from the RTT-count table for the flow's size, path drop rate and
 *   RTT; queueing delay summed over the path's links from the utilisation of
 *   the epoch the flow arrives in (long-flow rates plus short-flow load).
 *
 * Metrics of one sample (over flows that start inside the measurement
 * window): 1st-percentile and mean long-flow throughput, 99th and 50th
 * percentile short-flow FCT.
 */
import { ApproxScratch, maxMinApprox, maxMinParallelWaterfill, type MaxMinProblem } from './maxmin.js';
import { mix32 } from './rng.js';
import type { Router } from './routing.js';
import { mean, percentileSorted } from './stats.js';
import type { Trace } from './traffic.js';
import { lossLimitedBps, queueDelayS, rttCount, type LossTable, type Protocol, type QueueModel, type RttTable, type TransportParams } from './transport.js';

/** `approx`: maxMinApprox, warm-started from the previous epoch's rates (default); `exact`: 1-waterfilling (maxMinParallelWaterfill). */
export type Solver = 'approx' | 'exact';

export interface TransportModel {
  params: TransportParams;
  protocols: Protocol[];
  /** Cumulative protocol weights (last = 1). */
  protocolCum: number[];
  lossTables: LossTable[];
  rttTable: RttTable;
  queue: QueueModel;
}

export interface EstimatorConfig {
  epochS: number;
  shortFlowBytes: number;
  solver: Solver;
  measureFromS: number;
  measureToS: number;
  /** Stop simulating here even if measured flows are still running. */
  horizonS: number;
}

/** Indices into a sample's metric vector. */
export const M_TPUT_1P = 0;
export const M_TPUT_AVG = 1;
export const M_FCT_99 = 2;
export const M_FCT_50 = 3;
export const M_N_LONG = 4;
export const M_N_SHORT = 5;
export const M_UNROUTABLE = 6;
export const N_METRICS = 7;

/** Fast 3-input hash to [0, 1). */
export function u3(a: number, b: number, c: number): number {
  return mix32((mix32((a ^ 0x5bd1e995) >>> 0) + Math.imul(b, 0x27d4eb2d) + mix32(c + 0x165667b1)) >>> 0) / 4294967296;
}

export interface RoutedTrace {
  /** Path of flow i: links[ptr[i] .. ptr[i+1]); empty when unroutable. */
  ptr: Int32Array;
  links: Int32Array;
  routable: Uint8Array;
  /** Drop rate along the path (links and switches). */
  drop: Float64Array;
  /** One-way propagation delay, seconds. */
  propS: Float64Array;
}

/** `links` with room for `need` more entries after k (doubled when short; the filled part kept). */
export function withRoom(links: Int32Array<ArrayBuffer>, k: number, need = 16): Int32Array<ArrayBuffer> {
  if (links.length - k >= need) return links;
  const l2 = new Int32Array(Math.max(links.length * 2, k + need));
  l2.set(links);
  return l2;
}

/** Draw a routing sample for every flow of the trace. */
export function routeTrace(router: Router, tr: Trace, routeSeed: number): RoutedTrace {
  const ptr = new Int32Array(tr.n + 1);
  let links = new Int32Array(Math.max(64, tr.n * 6));
  const routable = new Uint8Array(tr.n);
  const drop = new Float64Array(tr.n);
  const propS = new Float64Array(tr.n);
  let k = 0;
  let f = 0;
  const uniform = (hop: number): number => u3(routeSeed, f, hop);
  for (f = 0; f < tr.n; f++) {
    links = withRoom(links, k);
    const end = router.samplePath(tr.src[f]!, tr.dst[f]!, uniform, links, k);
    if (end < 0) {
      ptr[f + 1] = k;
      continue;
    }
    fillRoutedFlow(router, links, k, end, f, routable, drop, propS);
    k = end;
    ptr[f + 1] = k;
  }
  return { ptr, links: links.subarray(0, k), routable, drop, propS };
}

/** Record flow f's path links[k..end) as routable with its drop rate and propagation delay under the router's state. */
export function fillRoutedFlow(router: Router, links: Int32Array, k: number, end: number, f: number, routable: Uint8Array, drop: Float64Array, propS: Float64Array): void {
  const topo = router.topo;
  const st = router.state;
  routable[f] = 1;
  let keep = 1;
  let d = 0;
  for (let i = k; i < end; i++) {
    const l = links[i]!;
    keep *= 1 - st.linkDrop[l]!;
    d += topo.delayS[l]!;
    if (i < end - 1) keep *= 1 - st.nodeDrop[topo.to[l]!]!;
  }
  drop[f] = 1 - keep;
  propS[f] = d;
}

/** Input of the long-flow epoch simulation (also driven directly by tests). */
export interface LongFlowInput {
  nLinks: number;
  capacity: Float64Array;
  n: number;
  /** Ascending start times, seconds. */
  start: Float64Array;
  sizeBits: Float64Array;
  /** Loss-limited rate cap, bps (Infinity = none). */
  cap: Float64Array;
  pathPtr: Int32Array;
  pathLinks: Int32Array;
}

/**
 * Per-epoch view handed to the hook. The per-link arrays are indexed by the
 * stretch's local link id: `localId[l]` for global link l, -1 when no long
 * flow crosses l (rate 0, no flows, not saturated).
 */
export interface EpochView {
  t0: number;
  t1: number;
  /** Global link id -> local id (-1: no long flow on it). */
  localId: Int32Array;
  /** Sum of long-flow rates per local link. */
  linkRate: Float64Array;
  /** Long flows per local link. */
  linkFlows: Int32Array;
  /** Local link saturated by capacity-limited flows. */
  saturated: Uint8Array;
  /** Global id of each local link (first `nTouched` entries). */
  touched: Int32Array;
  nTouched: number;
}

export interface LongFlowResult {
  /** Completion time per flow; NaN if not done by the horizon. */
  finish: Float64Array;
  /** Bits not yet sent at the end. */
  remaining: Float64Array;
  epochs: number;
}

export interface EpochOptions {
  epochS: number;
  solver: Solver;
  /** Never simulate past this time. */
  horizonS: number;
  /**
   * Flows whose completion the caller needs; the run ends once all of them
   * completed and the clock passed `notBeforeS`. Without it the run goes on
   * until every flow completed.
   */
  watch?: Uint8Array;
  notBeforeS?: number;
  /** Sees each epoch's link utilisation (and idle stretches with none). */
  hook?: (v: EpochView) => void;
}

/** SWARM Alg. 1 on typed arrays (see the file comment). */
export function runEpochs(inp: LongFlowInput, opt: EpochOptions): LongFlowResult {
  const { epochS, solver, horizonS, watch, hook } = opt;
  const notBefore = opt.notBeforeS ?? 0;
  const { n, start, sizeBits, cap, pathPtr, pathLinks, capacity, nLinks } = inp;
  const finish = new Float64Array(n).fill(Number.NaN);
  const remaining = Float64Array.from(sizeBits);
  const active = new Int32Array(n);
  let nActive = 0;
  let next = 0;
  const localId = new Int32Array(nLinks).fill(-1);
  const touched = new Int32Array(nLinks);
  const linkRate = new Float64Array(nLinks);
  const linkFlows = new Int32Array(nLinks);
  const saturated = new Uint8Array(nLinks);
  let maxPath = 0;
  for (let f = 0; f < n; f++) maxPath = Math.max(maxPath, pathPtr[f + 1]! - pathPtr[f]!);
  let pLinks = new Int32Array(Math.max(16, n * Math.max(1, maxPath)));
  const pPtr = new Int32Array(n + 1);
  const pDemand = new Float64Array(n);
  const pCap = new Float64Array(nLinks);
  const scratch = new ApproxScratch();
  // Warm start of the approximate solver: each flow's rate in the previous solve orders it in the next (NaN: new).
  const lastRate = new Float64Array(n).fill(Number.NaN);
  const pHint = new Float64Array(n);
  let epoch = 0;
  let epochs = 0;
  let watched = 0;
  if (watch) for (let f = 0; f < n; f++) watched += watch[f]!;
  const view: EpochView = { t0: 0, t1: 0, localId, linkRate, linkFlows, saturated, touched, nTouched: 0 };
  /** The epoch a flow starting at x joins: the e with e*epochS <= x < (e+1)*epochS as computed below. */
  const epochOf = (x: number): number => {
    let e = Math.floor(x / epochS);
    if (x >= (e + 1) * epochS) e++;
    else if (e > 0 && x < e * epochS) e--;
    return e;
  };
  for (;;) {
    let t0 = epoch * epochS;
    if (t0 >= horizonS) break;
    if (watch && watched === 0 && t0 >= notBefore) break;
    if (nActive === 0) {
      if (next >= n) break;
      // Nothing running: jump to the epoch of the next arrival (the hook still
      // sees the idle stretch so short flows there are handled).
      const e = epochOf(start[next]!);
      if (e > epoch) {
        if (hook) {
          view.nTouched = 0;
          for (let i = epoch; i < e; i++) {
            view.t0 = i * epochS;
            view.t1 = (i + 1) * epochS;
            hook(view);
          }
        }
        epoch = e;
        t0 = epoch * epochS;
      }
    }
    const t1 = (epoch + 1) * epochS;
    while (next < n && start[next]! < t1) active[nActive++] = next++;
    // Compact problem over the links the active flows cross.
    let nLocal = 0;
    let k = 0;
    for (let a = 0; a < nActive; a++) {
      const f = active[a]!;
      pDemand[a] = cap[f]!;
      pHint[a] = lastRate[f]!;
      for (let i = pathPtr[f]!; i < pathPtr[f + 1]!; i++) {
        const l = pathLinks[i]!;
        let id = localId[l]!;
        if (id < 0) {
          id = localId[l] = nLocal;
          touched[nLocal] = l;
          pCap[nLocal] = capacity[l]!;
          nLocal++;
        }
        pLinks[k++] = id;
      }
      pPtr[a + 1] = k;
    }
    const prob: MaxMinProblem = {
      nLinks: nLocal,
      capacity: pCap,
      nFlows: nActive,
      demand: pDemand,
      flowPtr: pPtr.subarray(0, nActive + 1),
      flowLinks: pLinks.subarray(0, k),
    };
    const rate = nActive === 0 ? new Float64Array(0) : solver === 'exact' ? maxMinParallelWaterfill(prob) : maxMinApprox(prob, scratch, { hint: pHint });
    for (let a = 0; a < nActive; a++) lastRate[active[a]!] = rate[a]!;
    epochs++;
    // The rates stay valid until the active set changes: through the epoch in
    // which the first flow completes, up to the epoch before the next arrival.
    // Skipping the solver over that stretch gives the same result as stepping
    // epoch by epoch (completions inside an epoch are exact either way).
    let last = epoch;
    {
      let tmin = Number.POSITIVE_INFINITY;
      for (let a = 0; a < nActive; a++) {
        const f = active[a]!;
        const r = rate[a]!;
        if (r > 0) {
          const tf = (start[f]! > t0 ? start[f]! : t0) + remaining[f]! / r;
          if (tf < tmin) tmin = tf;
        }
      }
      let e = Number.isFinite(tmin) ? Math.floor(tmin / epochS) : Number.MAX_SAFE_INTEGER;
      if (next < n) e = Math.min(e, epochOf(start[next]!) - 1);
      e = Math.min(e, Math.ceil(horizonS / epochS) - 1);
      if (watch && watched === 0) e = Math.min(e, Math.ceil(notBefore / epochS) - 1);
      last = Math.max(epoch, e);
    }
    const tEnd = (last + 1) * epochS;
    if (hook) {
      // Sums on the compact problem's dense local ids, flows in path order.
      linkRate.fill(0, 0, nLocal);
      linkFlows.fill(0, 0, nLocal);
      for (let a = 0; a < nActive; a++) {
        const r = rate[a]!;
        for (let i = pPtr[a]!; i < pPtr[a + 1]!; i++) {
          const id = pLinks[i]!;
          linkRate[id]! += r;
          linkFlows[id]!++;
        }
      }
      for (let i = 0; i < nLocal; i++) saturated[i] = linkRate[i]! >= pCap[i]! * (1 - 1e-6) ? 1 : 0;
      view.nTouched = nLocal;
      for (let e = epoch; e <= last; e++) {
        view.t0 = e * epochS;
        view.t1 = (e + 1) * epochS;
        hook(view);
      }
    }
    for (let i = 0; i < nLocal; i++) localId[touched[i]!] = -1;
    // Advance every active flow through the stretch.
    let w = 0;
    for (let a = 0; a < nActive; a++) {
      const f = active[a]!;
      const r = rate[a]!;
      const s0 = start[f]! > t0 ? start[f]! : t0;
      const dt = tEnd - s0;
      const rem = remaining[f]!;
      if (r > 0 && rem <= r * dt) {
        remaining[f] = 0;
        finish[f] = s0 + rem / r;
        if (watch && watch[f]) watched--;
      } else {
        remaining[f] = rem - r * dt;
        active[w++] = f;
      }
    }
    nActive = w;
    epoch = last + 1;
    if (pLinks.length < k) pLinks = new Int32Array(k * 2);
  }
  return { finish, remaining, epochs };
}

/** Everything needed to evaluate one candidate network on samples. */
export interface NetContext {
  router: Router;
}

/**
 * Estimate one sample: route the trace (or take `routedIn`, which must equal
 * routeTrace(net.router, tr, routeSeed)), run the long flows through epochs,
 * compute short-flow FCTs; returns the metric vector (M_* indices).
 */
export function estimateSample(net: NetContext, tr: Trace, routeSeed: number, cfg: EstimatorConfig, tm: TransportModel, routedIn?: RoutedTrace): Float64Array {
  const router = net.router;
  const topo = router.topo;
  const st = router.state;
  const routed = routedIn ?? routeTrace(router, tr, routeSeed);
  const out = new Float64Array(N_METRICS);
  // Split into long and short flows; count unroutable measured flows.
  const longIdx: number[] = [];
  const shortIdx: number[] = [];
  let unroutable = 0;
  for (let f = 0; f < tr.n; f++) {
    const measured = tr.start[f]! >= cfg.measureFromS && tr.start[f]! < cfg.measureToS;
    if (!routed.routable[f]) {
      if (measured) unroutable++;
      continue;
    }
    (tr.size[f]! > cfg.shortFlowBytes ? longIdx : shortIdx).push(f);
  }
  out[M_UNROUTABLE] = unroutable;
  // Long flows: loss-limited caps, then epochs.
  const nL = longIdx.length;
  const start = new Float64Array(nL);
  const sizeBits = new Float64Array(nL);
  const capArr = new Float64Array(nL);
  const lp = new Int32Array(nL + 1);
  let total = 0;
  for (let i = 0; i < nL; i++) total += routed.ptr[longIdx[i]! + 1]! - routed.ptr[longIdx[i]!]!;
  const ll = new Int32Array(total);
  for (let i = 0, k = 0; i < nL; i++) {
    const f = longIdx[i]!;
    start[i] = tr.start[f]!;
    sizeBits[i] = tr.size[f]! * 8;
    const p = routed.drop[f]!;
    if (p > 0) {
      const proto = pickProtocol(tm, u3(tr.seed, f, 11));
      capArr[i] = lossLimitedBps(tm.lossTables[proto]!, p, 2 * routed.propS[f]!, u3(tr.seed, f, 12));
    } else capArr[i] = Number.POSITIVE_INFINITY;
    for (let j = routed.ptr[f]!; j < routed.ptr[f + 1]!; j++) ll[k++] = routed.links[j]!;
    lp[i + 1] = k;
  }
  // Short flows arriving in each epoch: queueing from that epoch's utilisation.
  const nS = shortIdx.length;
  const fcts: number[] = [];
  let sNext = 0;
  const shortLoad = new Float64Array(topo.nLinks);
  const loadTouched: number[] = [];
  const hook = (v: EpochView): void => {
    const t1 = v.t1;
    const span = v.t1 - v.t0;
    const first = sNext;
    while (sNext < nS && tr.start[shortIdx[sNext]!]! < t1) sNext++;
    if (sNext === first) return;
    // Offered short-flow load per link during this stretch.
    for (let i = first; i < sNext; i++) {
      const f = shortIdx[i]!;
      const bits = tr.size[f]! * 8;
      for (let j = routed.ptr[f]!; j < routed.ptr[f + 1]!; j++) {
        const l = routed.links[j]!;
        if (shortLoad[l] === 0) loadTouched.push(l);
        shortLoad[l]! += bits / span;
      }
    }
    for (let i = first; i < sNext; i++) {
      const f = shortIdx[i]!;
      const s = tr.start[f]!;
      if (s < cfg.measureFromS || s >= cfg.measureToS) continue;
      let q = 0;
      for (let j = routed.ptr[f]!; j < routed.ptr[f + 1]!; j++) {
        const l = routed.links[j]!;
        const c = st.capacity[l]!;
        const id = v.localId[l]!;
        const util = ((id >= 0 ? v.linkRate[id]! : 0) + shortLoad[l]!) / c;
        q += queueDelayS(tm.queue, util, id >= 0 && v.saturated[id] === 1, id >= 0 ? v.linkFlows[id]! : 0, c);
      }
      const rtt = 2 * routed.propS[f]!;
      const count = rttCount(tm.rttTable, tr.size[f]!, routed.drop[f]!, rtt, u3(tr.seed, f, 13));
      fcts.push(count * (rtt + q));
    }
    for (const l of loadTouched) shortLoad[l] = 0;
    loadTouched.length = 0;
  };
  const isMeasured = new Uint8Array(nL);
  for (let i = 0; i < nL; i++) isMeasured[i] = start[i]! >= cfg.measureFromS && start[i]! < cfg.measureToS ? 1 : 0;
  const inp: LongFlowInput = { nLinks: topo.nLinks, capacity: st.capacity, n: nL, start, sizeBits, cap: capArr, pathPtr: lp, pathLinks: ll };
  const res = runEpochs(inp, {
    epochS: cfg.epochS,
    solver: cfg.solver,
    horizonS: cfg.horizonS,
    watch: isMeasured,
    notBeforeS: cfg.measureToS,
    hook,
  });
  // Short flows after the last epoch see no long flows.
  if (sNext < nS) {
    hook({
      t0: 0,
      t1: Number.POSITIVE_INFINITY,
      localId: new Int32Array(topo.nLinks).fill(-1),
      linkRate: new Float64Array(0),
      linkFlows: new Int32Array(0),
      saturated: new Uint8Array(0),
      touched: new Int32Array(0),
      nTouched: 0,
    });
  }
  const tputs: number[] = [];
  for (let i = 0; i < nL; i++) {
    if (!isMeasured[i]) continue;
    const fin = res.finish[i]!;
    if (!Number.isNaN(fin)) tputs.push(sizeBits[i]! / Math.max(fin - start[i]!, 1e-9));
    else tputs.push((sizeBits[i]! - res.remaining[i]!) / Math.max(cfg.horizonS - start[i]!, 1e-9));
  }
  const ts = Float64Array.from(tputs).sort();
  const fs = Float64Array.from(fcts).sort();
  out[M_TPUT_1P] = percentileSorted(ts, 1);
  out[M_TPUT_AVG] = mean(ts);
  out[M_FCT_99] = percentileSorted(fs, 99);
  out[M_FCT_50] = percentileSorted(fs, 50);
  out[M_N_LONG] = ts.length;
  out[M_N_SHORT] = fs.length;
  return out;
}

function pickProtocol(tm: TransportModel, u: number): number {
  for (let i = 0; i < tm.protocolCum.length; i++) if (u < tm.protocolCum[i]!) return i;
  return tm.protocolCum.length - 1;
}
