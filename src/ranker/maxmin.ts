/**
 * Max-min fair rate allocation on typed arrays, with per-flow demand caps
 * (SWARM Alg. A.3: a flow's loss-limited rate is a virtual edge that only that
 * flow crosses, so a cap is simply a one-flow link of that capacity).
 *
 * Five solvers share one problem format:
 * - `maxMinWaterfill`: textbook waterfilling (Bertsekas & Gallager, Data
 *   Networks, §6.5.2): raise every unfrozen flow's rate to the next level at
 *   which a link saturates (or a flow reaches its cap), freeze those flows,
 *   repeat. One round per distinct bottleneck level, each O(links + sum of
 *   path lengths).
 * - `maxMinParallelWaterfill`: "1-waterfilling" (Jose et al., SIGMETRICS'19;
 *   the exact solver SWARM's Fig. 11 measures its approximation against, and
 *   the one `solver: exact` uses): every round freezes the flows of every link
 *   whose fair share is the smallest among the links its flows cross (its
 *   1-hop neighbourhood), so independent bottlenecks freeze in the same round;
 *   a cap is a one-flow link. O(links + path entries of unfrozen flows) per
 *   round; about a dozen rounds on a Clos instance.
 * - `maxMinProgressive`: the same exact allocation by progressive filling with a
 *   heap of link fair shares (shares only grow as flows freeze, so stale heap
 *   entries are skipped lazily). A second exact implementation for the tests.
 * - `maxMinApprox` (the ranker's): progressive filling in estimated rate
 *   order. Filling flows one at a time, each taking the smallest share any
 *   link on its path has left per unfilled flow, is exactly max-min fair when
 *   the flows come in the order of their max-min rates (a link's remaining
 *   share never falls, and on a flow's bottleneck it equals the flow's rate);
 *   in any order every allocation is feasible. So: order the flows by an
 *   estimate (the smallest initial fair share on the path, a lower bound of
 *   the max-min rate, or the previous epoch's rate as a warm start), fill,
 *   then fill again in the order of the rates the first pass gave. Two O(path
 *   entries) passes and two bucket sorts of the flows.
 * - `maxMinApproxWaterfill`: Soroush's approximate waterfilling (Namyar et
 *   al., NSDI'24), the approximation SWARM used: sort links by their initial
 *   fair share once, then visit them in that order and, where a link is
 *   oversubscribed by its flows' current rates, waterfill locally (flows below
 *   the local level keep their rate, the rest get the level); one refill pass
 *   hands capacity freed on earlier links to the flows that cross no
 *   saturated link. Kept for the benchmark's comparison.
 */

/** A max-min problem: links with capacities, flows with demand caps and paths (CSR). */
export interface MaxMinProblem {
  nLinks: number;
  /** Capacity per link (any unit; rates come out in the same unit). */
  capacity: Float64Array;
  nFlows: number;
  /** Upper bound per flow (Infinity = none). */
  demand: Float64Array;
  /** Flow f crosses flowLinks[flowPtr[f] .. flowPtr[f+1]). Length nFlows + 1. */
  flowPtr: Int32Array;
  flowLinks: Int32Array;
}

/** Relative tolerance used when comparing fair shares. */
const REL_EPS = 1e-9;

/**
 * Write the link -> flows transpose of the flow paths: flow f is listed under
 * each link it crosses, link l's flows at linkFlows[linkPtr[l] .. linkPtr[l+1]).
 * linkPtr (nLinks + 1 entries) must be all zero; fill needs nLinks entries and
 * linkFlows one per path entry (both are overwritten).
 */
function transposeInto(p: MaxMinProblem, linkPtr: Int32Array, fill: Int32Array, linkFlows: Int32Array): void {
  const { nLinks, nFlows, flowPtr, flowLinks } = p;
  const total = flowPtr[nFlows]!;
  for (let i = 0; i < total; i++) linkPtr[flowLinks[i]! + 1]!++;
  for (let l = 0; l < nLinks; l++) linkPtr[l + 1]! += linkPtr[l]!;
  fill.set(linkPtr.subarray(0, nLinks));
  for (let f = 0; f < nFlows; f++) for (let i = flowPtr[f]!; i < flowPtr[f + 1]!; i++) linkFlows[fill[flowLinks[i]!]!++] = f;
}

/** Link -> flows (the transpose of the flow paths), plus per-link flow counts. */
export function linkFlowIndex(p: MaxMinProblem): { linkPtr: Int32Array; linkFlows: Int32Array } {
  const linkPtr = new Int32Array(p.nLinks + 1);
  const linkFlows = new Int32Array(p.flowPtr[p.nFlows]!);
  transposeInto(p, linkPtr, new Int32Array(p.nLinks), linkFlows);
  return { linkPtr, linkFlows };
}

/** Validate shapes; throws RangeError describing the first inconsistency. */
export function checkProblem(p: MaxMinProblem): void {
  if (p.capacity.length < p.nLinks) throw new RangeError(`capacity has ${p.capacity.length} entries, need ${p.nLinks}`);
  if (p.demand.length < p.nFlows) throw new RangeError(`demand has ${p.demand.length} entries, need ${p.nFlows}`);
  if (p.flowPtr.length !== p.nFlows + 1) throw new RangeError(`flowPtr must have nFlows + 1 = ${p.nFlows + 1} entries`);
  const total = p.flowPtr[p.nFlows]!;
  for (let i = 0; i < total; i++) {
    const l = p.flowLinks[i]!;
    if (l < 0 || l >= p.nLinks) throw new RangeError(`flowLinks[${i}] = ${l} is not a link (0..${p.nLinks - 1})`);
  }
}

/**
 * Where both waterfillers start: a flow that crosses no link gets its cap at
 * once (only that limits it); every other flow is active and counted on each
 * link it crosses; rem is the capacity each link has left.
 */
function waterfillStart(p: MaxMinProblem): { rate: Float64Array; rem: Float64Array; cnt: Int32Array; active: Int32Array; nActive: number } {
  const { nLinks, nFlows, capacity, demand, flowPtr, flowLinks } = p;
  const rate = new Float64Array(nFlows);
  const rem = Float64Array.from(capacity.subarray(0, nLinks));
  const cnt = new Int32Array(nLinks);
  const active = new Int32Array(nFlows);
  let nActive = 0;
  for (let f = 0; f < nFlows; f++) {
    if (flowPtr[f + 1]! === flowPtr[f]!) {
      rate[f] = demand[f]!;
      continue;
    }
    active[nActive++] = f;
    for (let i = flowPtr[f]!; i < flowPtr[f + 1]!; i++) cnt[flowLinks[i]!]!++;
  }
  return { rate, rem, cnt, active, nActive };
}

/** Each link's fair share of what it has left among its unfrozen flows (Infinity: none); returns the smallest. */
function linkShares(nLinks: number, rem: Float64Array, cnt: Int32Array, share: Float64Array): number {
  let min = Number.POSITIVE_INFINITY;
  for (let l = 0; l < nLinks; l++) {
    const c = cnt[l]!;
    share[l] = c > 0 ? Math.max(0, rem[l]!) / c : Number.POSITIVE_INFINITY;
    if (share[l]! < min) min = share[l]!;
  }
  return min;
}

/** Freeze flow f at rate r: every link it crosses gives up r and one flow. */
function freezeFlow(f: number, r: number, flowPtr: Int32Array, flowLinks: Int32Array, rate: Float64Array, rem: Float64Array, cnt: Int32Array): void {
  rate[f] = r;
  for (let i = flowPtr[f]!; i < flowPtr[f + 1]!; i++) {
    const l = flowLinks[i]!;
    rem[l]! -= r;
    cnt[l]!--;
  }
}

/** Exact max-min fair rates by textbook waterfilling (see the file comment). */
export function maxMinWaterfill(p: MaxMinProblem, stats?: { rounds: number }): Float64Array {
  const { nLinks, nFlows, demand, flowPtr, flowLinks } = p;
  const start = waterfillStart(p);
  const { rate, rem, cnt } = start;
  const share = new Float64Array(nLinks);
  let { active, nActive } = start;
  let next: Int32Array = new Int32Array(nFlows);
  let rounds = 0;
  while (nActive > 0) {
    rounds++;
    // The next water level: the smallest link fair share or flow cap.
    let level = linkShares(nLinks, rem, cnt, share);
    for (let a = 0; a < nActive; a++) if (demand[active[a]!]! < level) level = demand[active[a]!]!;
    const lim = level * (1 + REL_EPS) + 1e-300;
    let nNext = 0;
    for (let a = 0; a < nActive; a++) {
      const f = active[a]!;
      let freeze = demand[f]! <= lim;
      if (!freeze) {
        for (let i = flowPtr[f]!; i < flowPtr[f + 1]!; i++) {
          if (share[flowLinks[i]!]! <= lim) {
            freeze = true;
            break;
          }
        }
      }
      if (freeze) freezeFlow(f, Math.min(level, demand[f]!), flowPtr, flowLinks, rate, rem, cnt);
      else next[nNext++] = f;
    }
    const t = active;
    active = next;
    next = t;
    nActive = nNext;
  }
  if (stats) stats.rounds = rounds;
  return rate;
}

/** Exact max-min fair rates by 1-waterfilling (see the file comment). */
export function maxMinParallelWaterfill(p: MaxMinProblem, stats?: { rounds: number }): Float64Array {
  const { nLinks, nFlows, demand, flowPtr, flowLinks } = p;
  const start = waterfillStart(p);
  const { rate, rem, cnt } = start;
  const share = new Float64Array(nLinks);
  const bott = new Uint8Array(nLinks);
  const fmin = new Float64Array(nFlows);
  let { active, nActive } = start;
  let next: Int32Array = new Int32Array(nFlows);
  let rounds = 0;
  while (nActive > 0) {
    rounds++;
    linkShares(nLinks, rem, cnt, share);
    bott.fill(1);
    for (let a = 0; a < nActive; a++) {
      const f = active[a]!;
      let m = demand[f]!;
      for (let i = flowPtr[f]!; i < flowPtr[f + 1]!; i++) {
        const s = share[flowLinks[i]!]!;
        if (s < m) m = s;
      }
      fmin[f] = m;
      const lim = m * (1 + REL_EPS) + 1e-300;
      for (let i = flowPtr[f]!; i < flowPtr[f + 1]!; i++) {
        const l = flowLinks[i]!;
        if (share[l]! > lim) bott[l] = 0;
      }
    }
    let nNext = 0;
    for (let a = 0; a < nActive; a++) {
      const f = active[a]!;
      const m = fmin[f]!;
      let freeze = demand[f]! <= m * (1 + REL_EPS);
      if (!freeze) {
        for (let i = flowPtr[f]!; i < flowPtr[f + 1]!; i++) {
          if (bott[flowLinks[i]!]) {
            freeze = true;
            break;
          }
        }
      }
      if (freeze) freezeFlow(f, m, flowPtr, flowLinks, rate, rem, cnt);
      else next[nNext++] = f;
    }
    const t = active;
    active = next;
    next = t;
    nActive = nNext;
  }
  if (stats) stats.rounds = rounds;
  return rate;
}

/** A binary min-heap of (key, id) on typed arrays; grows as needed. */
class MinHeap {
  keys: Float64Array;
  ids: Int32Array;
  size = 0;
  constructor(cap: number) {
    this.keys = new Float64Array(Math.max(16, cap));
    this.ids = new Int32Array(Math.max(16, cap));
  }
  push(k: number, id: number): void {
    if (this.size === this.keys.length) {
      const nk = new Float64Array(this.size * 2);
      nk.set(this.keys);
      this.keys = nk;
      const ni = new Int32Array(this.size * 2);
      ni.set(this.ids);
      this.ids = ni;
    }
    let i = this.size++;
    const keys = this.keys;
    const ids = this.ids;
    while (i > 0) {
      const par = (i - 1) >> 1;
      if (keys[par]! <= k) break;
      keys[i] = keys[par]!;
      ids[i] = ids[par]!;
      i = par;
    }
    keys[i] = k;
    ids[i] = id;
  }
  /** Remove the minimum; its key/id are left in topKey/topId. */
  topKey = 0;
  topId = 0;
  pop(): void {
    const keys = this.keys;
    const ids = this.ids;
    this.topKey = keys[0]!;
    this.topId = ids[0]!;
    const n = --this.size;
    const k = keys[n]!;
    const id = ids[n]!;
    let i = 0;
    for (;;) {
      let c = 2 * i + 1;
      if (c >= n) break;
      if (c + 1 < n && keys[c + 1]! < keys[c]!) c++;
      if (keys[c]! >= k) break;
      keys[i] = keys[c]!;
      ids[i] = ids[c]!;
      i = c;
    }
    keys[i] = k;
    ids[i] = id;
  }
}

/** Exact max-min fair rates by progressive filling with a lazy heap of link shares. */
export function maxMinProgressive(p: MaxMinProblem): Float64Array {
  const { nLinks, nFlows, capacity, demand, flowPtr, flowLinks } = p;
  const { linkPtr, linkFlows } = linkFlowIndex(p);
  const rate = new Float64Array(nFlows);
  const frozen = new Uint8Array(nFlows);
  const rem = Float64Array.from(capacity.subarray(0, nLinks));
  const cnt = new Int32Array(nLinks);
  const heap = new MinHeap(nLinks + nFlows);
  // ids >= 0 are links; ids < 0 are flow caps (-1 - f).
  for (let l = 0; l < nLinks; l++) {
    cnt[l] = linkPtr[l + 1]! - linkPtr[l]!;
    if (cnt[l]! > 0) heap.push(Math.max(0, rem[l]!) / cnt[l]!, l);
  }
  let left = 0;
  for (let f = 0; f < nFlows; f++) {
    if (flowPtr[f + 1]! === flowPtr[f]!) {
      rate[f] = demand[f]!;
      frozen[f] = 1;
      continue;
    }
    left++;
    if (Number.isFinite(demand[f]!)) heap.push(demand[f]!, -1 - f);
  }
  const freeze = (f: number, r: number): void => {
    frozen[f] = 1;
    rate[f] = r;
    left--;
    for (let i = flowPtr[f]!; i < flowPtr[f + 1]!; i++) {
      const l = flowLinks[i]!;
      rem[l]! -= r;
      if (--cnt[l]! > 0) heap.push(Math.max(0, rem[l]!) / cnt[l]!, l);
    }
  };
  while (left > 0 && heap.size > 0) {
    heap.pop();
    const id = heap.topId;
    const key = heap.topKey;
    if (id < 0) {
      const f = -1 - id;
      if (!frozen[f]) freeze(f, key);
      continue;
    }
    const c = cnt[id]!;
    if (c <= 0) continue;
    const cur = Math.max(0, rem[id]!) / c;
    if (cur !== key) continue; // stale entry; a fresher one is in the heap
    for (let i = linkPtr[id]!; i < linkPtr[id + 1]!; i++) {
      const f = linkFlows[i]!;
      if (!frozen[f]) freeze(f, cur);
    }
  }
  return rate;
}

/**
 * Reusable buffers for the approximate solvers (maxMinApprox, maxMinApproxWaterfill), so the estimator does not reallocate
 * every epoch. A result computed with a scratch is a view into it, valid until
 * the next call with the same scratch.
 */
export class ApproxScratch {
  keys = new Float64Array(0);
  local = new Float64Array(0);
  linkPtr = new Int32Array(0);
  linkFlows = new Int32Array(0);
  fill = new Int32Array(0);
  rate = new Float64Array(0);
  res = new Float64Array(0);
  // maxMinApprox: flows per link (all / not yet filled), capacity left, fair share; per flow the order key, its bucket, the order
  cnt0 = new Int32Array(0);
  cnt = new Int32Array(0);
  rem = new Float64Array(0);
  share = new Float64Array(0);
  key = new Float64Array(0);
  bucketOf = new Int32Array(0);
  order = new Int32Array(0);
  buckets = new Int32Array(0);
  ensure(nLinks: number, nFlows: number, entries: number): void {
    const grow = <T extends Int32Array | Float64Array>(a: T, n: number, make: (n: number) => T): T => (a.length < n ? make(Math.max(n, a.length * 2)) : a);
    this.keys = grow(this.keys, nLinks, (n) => new Float64Array(n));
    this.linkPtr = grow(this.linkPtr, nLinks + 1, (n) => new Int32Array(n));
    this.fill = grow(this.fill, nLinks, (n) => new Int32Array(n));
    this.res = grow(this.res, nLinks, (n) => new Float64Array(n));
    this.linkFlows = grow(this.linkFlows, entries, (n) => new Int32Array(n));
    this.local = grow(this.local, nFlows, (n) => new Float64Array(n));
    this.rate = grow(this.rate, nFlows, (n) => new Float64Array(n));
  }
  ensureFill(nLinks: number, nFlows: number): void {
    const grow = <T extends Int32Array | Float64Array>(a: T, n: number, make: (n: number) => T): T => (a.length < n ? make(Math.max(n, a.length * 2)) : a);
    this.cnt0 = grow(this.cnt0, nLinks, (n) => new Int32Array(n));
    this.cnt = grow(this.cnt, nLinks, (n) => new Int32Array(n));
    this.rem = grow(this.rem, nLinks, (n) => new Float64Array(n));
    this.share = grow(this.share, nLinks, (n) => new Float64Array(n));
    this.key = grow(this.key, nFlows, (n) => new Float64Array(n));
    this.bucketOf = grow(this.bucketOf, nFlows, (n) => new Int32Array(n));
    this.order = grow(this.order, nFlows, (n) => new Int32Array(n));
    this.rate = grow(this.rate, nFlows, (n) => new Float64Array(n));
  }
}

const sortWords = new Uint32Array(2);
const sortWordsF = new Float64Array(sortWords.buffer);
/** Little-endian hosts keep the high word of a double in index 1. */
const HI = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1 ? 1 : 0;
const LO = 1 - HI;

/**
 * Soroush's approximate waterfilling (Namyar et al., NSDI'24, the algorithm
 * SWARM's App. A.3 names): one pass over the links in the order of their
 * initial fair share, local waterfilling where a link is oversubscribed by
 * its flows' current rates, then one refill pass. Kept as a reference for the
 * benchmark and the tests; the ranker uses maxMinApprox. With a `scratch` the
 * result is a view into it (valid until its next use).
 */
export function maxMinApproxWaterfill(p: MaxMinProblem, scratch?: ApproxScratch, refill = true): Float64Array {
  const { nLinks, nFlows, capacity, demand, flowPtr } = p;
  const sc = scratch ?? new ApproxScratch();
  const entries = flowPtr[nFlows]!;
  sc.ensure(nLinks, nFlows, entries);
  // link -> flows transpose in the scratch buffers
  const linkPtr = sc.linkPtr.subarray(0, nLinks + 1).fill(0);
  const linkFlows = sc.linkFlows;
  transposeInto(p, linkPtr, sc.fill, linkFlows);
  const rate = scratch ? sc.rate.subarray(0, nFlows) : new Float64Array(nFlows);
  rate.set(demand.subarray(0, nFlows));
  // Sort links by initial fair share with one native numeric sort: a positive
  // double's bit pattern orders like the number, so keep its high 32 bits
  // (about 6 significant digits) and put the link index in the low 32 bits.
  const keys = sc.keys;
  const kw = new Uint32Array(keys.buffer, keys.byteOffset, keys.length * 2);
  let nk = 0;
  for (let l = 0; l < nLinks; l++) {
    const c = linkPtr[l + 1]! - linkPtr[l]!;
    if (c === 0) continue;
    sortWordsF[0] = Math.max(0, capacity[l]!) / c;
    kw[2 * nk + HI] = sortWords[HI]!;
    kw[2 * nk + LO] = l;
    nk++;
  }
  const sorted = keys.subarray(0, nk).sort();
  const sw = new Uint32Array(sorted.buffer, sorted.byteOffset, nk * 2);
  const local = sc.local;
  for (let k = 0; k < nk; k++) {
    const l = sw[2 * k + LO]!;
    const a = linkPtr[l]!;
    const b = linkPtr[l + 1]!;
    const cap = Math.max(0, capacity[l]!);
    let sum = 0;
    for (let i = a; i < b; i++) sum += rate[linkFlows[i]!]!;
    if (sum <= cap * (1 + REL_EPS)) continue;
    const n = b - a;
    for (let i = a; i < b; i++) local[i - a] = rate[linkFlows[i]!]!;
    const s = local.subarray(0, n).sort();
    let c = cap;
    let level = 0;
    for (let i = 0; i < n; i++) {
      const left = n - i;
      if (s[i]! * left >= c) {
        level = c / left;
        break;
      }
      c -= s[i]!;
    }
    for (let i = a; i < b; i++) {
      const f = linkFlows[i]!;
      if (rate[f]! > level) rate[f] = level;
    }
  }
  if (refill) refillPass(p, rate, linkPtr, linkFlows, sc.res, sc);
  return rate;
}

/**
 * One refill pass: capacity a link was left with (because a later link lowered
 * some of its flows) goes to the flows that can still grow — those below their
 * cap that cross no saturated link — smallest rate first, each taking at most
 * its even share of the residual capacity on every link of its path. Keeps the
 * allocation feasible. Most flows cross a saturated link after the first pass,
 * so the pass is cheap.
 */
function refillPass(p: MaxMinProblem, rate: Float64Array, linkPtr: Int32Array, linkFlows: Int32Array, res: Float64Array, sc: ApproxScratch): void {
  const { nLinks, nFlows, capacity, demand, flowPtr, flowLinks } = p;
  for (let l = 0; l < nLinks; l++) {
    let sum = 0;
    for (let i = linkPtr[l]!; i < linkPtr[l + 1]!; i++) sum += rate[linkFlows[i]!]!;
    const c = Math.max(0, capacity[l]!);
    res[l] = c - sum > c * 1e-9 ? c - sum : 0;
  }
  // Candidates: below their cap, no saturated link on the path. Reuse `keys`
  // (sorted by rate: rate's high word + flow index, as in the link sort).
  const keys = sc.keys.length >= nFlows ? sc.keys : (sc.keys = new Float64Array(nFlows));
  const kw = new Uint32Array(keys.buffer, keys.byteOffset, keys.length * 2);
  const grow = sc.fill; // per-link count of candidates
  grow.fill(0, 0, nLinks);
  let nc = 0;
  for (let f = 0; f < nFlows; f++) {
    if (!(rate[f]! < demand[f]!)) continue;
    let ok = true;
    for (let j = flowPtr[f]!; j < flowPtr[f + 1]!; j++) {
      if (res[flowLinks[j]!] === 0) {
        ok = false;
        break;
      }
    }
    if (!ok) continue;
    for (let j = flowPtr[f]!; j < flowPtr[f + 1]!; j++) grow[flowLinks[j]!]!++;
    sortWordsF[0] = rate[f]!;
    kw[2 * nc + HI] = sortWords[HI]!;
    kw[2 * nc + LO] = f;
    nc++;
  }
  if (nc === 0) return;
  const sorted = keys.subarray(0, nc).sort();
  const fw = new Uint32Array(sorted.buffer, sorted.byteOffset, nc * 2);
  for (let k = 0; k < nc; k++) {
    const f = fw[2 * k + LO]!;
    let inc = demand[f]! - rate[f]!;
    for (let j = flowPtr[f]!; j < flowPtr[f + 1]!; j++) {
      const l = flowLinks[j]!;
      const share = res[l]! / grow[l]!;
      if (share < inc) inc = share;
    }
    for (let j = flowPtr[f]!; j < flowPtr[f + 1]!; j++) {
      const l = flowLinks[j]!;
      grow[l]!--;
      if (inc > 0) res[l] = Math.max(0, res[l]! - inc);
    }
    if (inc > 0) rate[f]! += inc;
  }
}

/** Options of maxMinApprox. */
export interface ApproxOptions {
  /**
   * Filling passes: the first in the order of each flow's estimated rate, each
   * further one in the order of the rates the pass before gave. @default 2
   */
  passes?: number;
  /**
   * Warm start: per flow, a rate to order it by instead of an estimate (e.g.
   * its rate in the previous epoch); NaN where there is none, and those flows
   * are ordered by their smallest initial fair share.
   */
  hint?: Float64Array;
}

/**
 * Approximate max-min fair rates by progressive filling in estimated rate
 * order (see the file comment): order the flows by a rate estimate (the
 * smallest initial fair share on the path, or a warm-start hint; bucket
 * sort), fill them one by one, each taking the smallest share any of its
 * links has left per unfilled flow (or its cap), then fill again in the order
 * of the rates the first pass gave. With a `scratch` the result is a view
 * into it (valid until its next use).
 */
export function maxMinApprox(p: MaxMinProblem, scratch?: ApproxScratch, opts: ApproxOptions = {}): Float64Array {
  const { nLinks, nFlows, capacity, demand, flowPtr, flowLinks } = p;
  const sc = scratch ?? new ApproxScratch();
  sc.ensureFill(nLinks, nFlows);
  const cnt0 = sc.cnt0;
  const share = sc.share;
  const key = sc.key;
  const rate = scratch ? sc.rate.subarray(0, nFlows) : new Float64Array(nFlows);
  countFlowsPerLink(nLinks, flowPtr[0]!, flowPtr[nFlows]!, flowLinks, cnt0);
  fairShares(nLinks, capacity, cnt0, share);
  const hint = opts.hint;
  if (hint !== undefined) {
    // Warm start: the hinted rate where there is one, else the smallest initial fair share.
    if (hint.length < nFlows) throw new RangeError(`hint has ${hint.length} entries, need ${nFlows}`);
    hintOrMinShare(nFlows, demand, flowPtr, flowLinks, share, hint, key);
  } else {
    // Lower bound of every flow's rate: its cap or the smallest initial fair share on its path.
    minShareOnPath(nFlows, demand, flowPtr, flowLinks, share, key);
  }
  const passes = Math.max(1, Math.floor(opts.passes ?? 2));
  for (let pass = 0; pass < passes; pass++) {
    if (pass > 0) key.set(rate);
    const n = orderByKey(nFlows, key, flowPtr, sc);
    fillInOrder(n, sc.order, nLinks, capacity, demand, flowPtr, flowLinks, cnt0, sc.cnt, sc.rem, rate);
  }
  for (let f = 0; f < nFlows; f++) if (flowPtr[f + 1]! === flowPtr[f]!) rate[f] = demand[f]!;
  return rate;
}

function countFlowsPerLink(nLinks: number, from: number, to: number, flowLinks: Int32Array, cnt: Int32Array): void {
  cnt.fill(0, 0, nLinks);
  for (let i = from; i < to; i++) cnt[flowLinks[i]!]!++;
}

function fairShares(nLinks: number, capacity: Float64Array, cnt: Int32Array, share: Float64Array): void {
  for (let l = 0; l < nLinks; l++) {
    const c = cnt[l]!;
    share[l] = c > 0 ? Math.max(0, capacity[l]!) / c : Number.POSITIVE_INFINITY;
  }
}

/** key[f] = hint[f], or min(demand[f], smallest share[l] on f's path) where the hint is NaN. */
function hintOrMinShare(nFlows: number, demand: Float64Array, flowPtr: Int32Array, flowLinks: Int32Array, share: Float64Array, hint: Float64Array, key: Float64Array): void {
  for (let f = 0; f < nFlows; f++) {
    const h = hint[f]!;
    if (h === h) {
      key[f] = h;
      continue;
    }
    let m = demand[f]!;
    for (let i = flowPtr[f]!; i < flowPtr[f + 1]!; i++) {
      const s = share[flowLinks[i]!]!;
      if (s < m) m = s;
    }
    key[f] = m;
  }
}

/** key[f] = min(demand[f], smallest share[l] on f's path). */
function minShareOnPath(nFlows: number, demand: Float64Array, flowPtr: Int32Array, flowLinks: Int32Array, share: Float64Array, key: Float64Array): void {
  let a = flowPtr[0]!;
  for (let f = 0; f < nFlows; f++) {
    const b = flowPtr[f + 1]!;
    let m = demand[f]!;
    for (let i = a; i < b; i++) {
      const s = share[flowLinks[i]!]!;
      if (s < m) m = s;
    }
    key[f] = m;
    a = b;
  }
}

/**
 * sc.order[0..n) = the flows that cross a link, by ascending key: a counting
 * sort on the keys' high 32 bits (sign, exponent, top mantissa bits: they
 * order like the positive numbers), shifted so there are at most
 * max(2n, 4096) buckets; flows in one bucket (keys within a small relative
 * step, about 0.1% on the benchmark instance) keep their index order.
 * Returns n.
 */
function orderByKey(nFlows: number, key: Float64Array, flowPtr: Int32Array, sc: ApproxScratch): number {
  const kw = new Uint32Array(key.buffer, key.byteOffset, nFlows * 2);
  const q = sc.bucketOf;
  const order = sc.order;
  let lo = 0x7fffffff; // keys are >= 0, so their high words are below 2^31
  let hi = 0;
  let n = 0;
  for (let f = 0; f < nFlows; f++) {
    if (flowPtr[f + 1]! === flowPtr[f]!) {
      q[f] = -1;
      continue;
    }
    const w = key[f]! > 0 ? kw[2 * f + HI]! : 0; // a zero or negative-zero key sorts first
    q[f] = w;
    if (w < lo) lo = w;
    if (w > hi) hi = w;
    n++;
  }
  if (n === 0) return 0;
  let shift = 0;
  const most = Math.max(2 * n, 4096);
  while ((hi - lo) >>> shift >= most) shift++;
  const nb = ((hi - lo) >>> shift) + 2;
  if (sc.buckets.length < nb) sc.buckets = new Int32Array(Math.max(nb, sc.buckets.length * 2));
  const bk = sc.buckets;
  bk.fill(0, 0, nb);
  for (let f = 0; f < nFlows; f++) {
    const w = q[f]!;
    if (w === -1) continue;
    const b = (w - lo) >>> shift;
    q[f] = b;
    bk[b + 1]!++;
  }
  for (let b = 1; b < nb; b++) bk[b]! += bk[b - 1]!;
  for (let f = 0; f < nFlows; f++) {
    const b = q[f]!;
    if (b >= 0) order[bk[b]!++] = f;
  }
  return n;
}

/**
 * Progressive filling in the given order: each flow takes min(its cap, the
 * smallest remaining capacity per unfilled flow on its path), then leaves its
 * links that much less and one flow fewer. A link's remaining share never
 * falls as flows are filled (a flow takes at most it), so every allocation is
 * feasible, and the result is exactly max-min fair when the flows come in the
 * order of their max-min rates.
 */
function fillInOrder(
  n: number,
  order: Int32Array,
  nLinks: number,
  capacity: Float64Array,
  demand: Float64Array,
  flowPtr: Int32Array,
  flowLinks: Int32Array,
  cnt0: Int32Array,
  cnt: Int32Array,
  rem: Float64Array,
  rate: Float64Array,
): void {
  for (let l = 0; l < nLinks; l++) {
    cnt[l] = cnt0[l]!;
    rem[l] = Math.max(0, capacity[l]!);
  }
  for (let k = 0; k < n; k++) {
    const f = order[k]!;
    const a = flowPtr[f]!;
    const b = flowPtr[f + 1]!;
    let m = demand[f]!;
    for (let i = a; i < b; i++) {
      const l = flowLinks[i]!;
      // rem / cnt < m without a division per link (cnt >= 1: f itself is unfilled)
      if (rem[l]! < m * cnt[l]!) m = rem[l]! / cnt[l]!;
    }
    if (!(m > 0)) m = 0;
    rate[f] = m;
    for (let i = a; i < b; i++) {
      const l = flowLinks[i]!;
      cnt[l]!--;
      rem[l]! -= m;
    }
  }
}
