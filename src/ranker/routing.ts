/**
 * Routing as a BGP-routed Clos does it (RFC 7938): valley-free paths, each
 * switch forwarding a destination ToR's prefix over every next hop that still
 * advertises it, and a pod's T1s sharing an AS so a path never leaves a pod to
 * come back into it. Per hop the next hop is chosen with ECMP or WCMP
 * probabilities (SWARM §3.3 "modeling routing uncertainty", Fig. 6); a path's
 * probability is the product of its hops' probabilities.
 *
 * Per destination ToR D (computed lazily and cached):
 * - reach[v]: v has a route to D (D itself; a T1 in D's pod with a link to D; a
 *   T2 with a link to such a T1; a T1 of another pod with a link to such a T2; a
 *   ToR with a link to a T1 that has one).
 * - with capacity WCMP, capTo[v]: the capacity v can push towards D (sum over
 *   next hops of min(link capacity, next hop's capTo)); a next hop's weight is
 *   min(link capacity, capTo[next hop]) — the WCMP paper's rule (Zhou et al.,
 *   EuroSys'14) applied hop by hop.
 */
import { linkUsable, type NetState } from './state.js';
import { TIER_T0, TIER_T1, TIER_T2, type Topology } from './topology.js';

interface DestInfo {
  /** reach per switch (index = node - nServers). */
  reach: Uint8Array;
  /** capTo per switch, only with capacity WCMP. */
  capTo: Float64Array | null;
}

export class Router {
  readonly topo: Topology;
  private readonly dest = new Map<number, DestInfo>();
  /** Usable flag per directed link (snapshot of the state). */
  readonly usable: Uint8Array;
  private readonly cand = new Int32Array(256);
  private readonly candW = new Float64Array(256);

  constructor(readonly state: NetState) {
    this.topo = state.topo;
    this.usable = new Uint8Array(this.topo.nLinks);
    for (let l = 0; l < this.topo.nLinks; l++) this.usable[l] = linkUsable(state, l) ? 1 : 0;
  }

  /** Per-destination routing information for ToR `d` (node id). */
  info(d: number): DestInfo {
    let x = this.dest.get(d);
    if (!x) {
      x = this.compute(d);
      this.dest.set(d, x);
    }
    return x;
  }

  private compute(d: number): DestInfo {
    const t = this.topo;
    const S = t.nServers;
    const nSw = t.nNodes - S;
    const reach = new Uint8Array(nSw);
    const capTo = this.state.wcmpCapacity ? new Float64Array(nSw) : null;
    const { pod, outPtr, outLinks, upPtr, upLinks, to } = t;
    const usable = this.usable;
    const podD = pod[d]!;
    if (this.state.nodeDisabled[d]) return { reach, capTo };
    reach[d - S] = 1;
    if (capTo) capTo[d - S] = Number.POSITIVE_INFINITY;
    const cap = this.state.capacity;
    // T1s of D's pod: a usable link to D.
    for (let i = t.podT1Ptr[podD]!; i < t.podT1Ptr[podD + 1]!; i++) {
      const u = t.podT1[i]!;
      for (let j = outPtr[u]!; j < outPtr[u + 1]!; j++) {
        const l = outLinks[j]!;
        if (to[l] === d && usable[l]) {
          reach[u - S] = 1;
          if (capTo) capTo[u - S] = cap[l]!;
        }
      }
    }
    // T2s: a usable down link to a reaching T1 of D's pod.
    for (const v of t.t2s) {
      let c = 0;
      for (let j = outPtr[v]!; j < outPtr[v + 1]!; j++) {
        const l = outLinks[j]!;
        const u = to[l]!;
        if (pod[u] === podD && usable[l] && reach[u - S]) {
          reach[v - S] = 1;
          if (capTo) c += Math.min(cap[l]!, capTo[u - S]!);
        }
      }
      if (capTo) capTo[v - S] = c;
    }
    // v reaches D when a usable up link leads to a switch that does; its
    // WCMP capacity is the sum over those links.
    const viaUp = (v: number): void => {
      let c = 0;
      for (let j = upPtr[v]!; j < upPtr[v + 1]!; j++) {
        const l = upLinks[j]!;
        const w = to[l]!;
        if (usable[l] && reach[w - S]) {
          reach[v - S] = 1;
          if (capTo) c += Math.min(cap[l]!, capTo[w - S]!);
        }
      }
      if (capTo) capTo[v - S] = c;
    };
    // T1s of other pods: a usable up link to a reaching T2.
    if (t.t2s.length > 0) {
      for (let q = 0; q + 1 < t.podT1Ptr.length; q++) {
        if (q === podD) continue;
        for (let i = t.podT1Ptr[q]!; i < t.podT1Ptr[q + 1]!; i++) viaUp(t.podT1[i]!);
      }
    }
    // ToRs: a usable up link to a reaching T1 of their own pod.
    for (const v of t.tors) if (v !== d) viaUp(v);
    return { reach, capTo };
  }

  /**
   * Next hops of switch v towards ToR d: fills `links`/`weights` (reused
   * buffers) and returns their count (0 = no route).
   */
  nextHops(v: number, d: number, links: Int32Array = this.cand, weights: Float64Array = this.candW): number {
    const t = this.topo;
    const S = t.nServers;
    const { reach, capTo } = this.info(d);
    const { tier, pod, outPtr, outLinks, to } = t;
    const tv = tier[v]!;
    let n = 0;
    const w = this.state.weight;
    const cap = this.state.capacity;
    for (let i = outPtr[v]!; i < outPtr[v + 1]!; i++) {
      const l = outLinks[i]!;
      const u = to[l]!;
      if (u < S || !this.usable[l] || !reach[u - S]) continue;
      const tu = tier[u]!;
      let ok = false;
      if (tv === TIER_T0) ok = tu === TIER_T1;
      else if (tv === TIER_T1) ok = pod[v] === pod[d] ? u === d : tu === TIER_T2;
      else if (tv === TIER_T2) ok = tu === TIER_T1 && pod[u] === pod[d];
      if (!ok) continue;
      const wt = capTo ? Math.min(cap[l]!, capTo[u - S]!) * w[l]! : w[l]!;
      if (!(wt > 0)) continue;
      links[n] = l;
      weights[n] = wt;
      n++;
    }
    return n;
  }

  /**
   * Do two routers split traffic identically (same next hops with the same
   * normalised weights at every switch, for every destination ToR)?
   */
  sameSplits(o: Router, tol = 1e-9): boolean {
    const t = this.topo;
    const la = new Int32Array(256);
    const wa = new Float64Array(256);
    const lb = new Int32Array(256);
    const wb = new Float64Array(256);
    for (const d of t.tors) {
      for (let v = t.nServers; v < t.nNodes; v++) {
        if (v === d) continue;
        const na = this.nextHops(v, d, la, wa);
        const nb = o.nextHops(v, d, lb, wb);
        if (na !== nb) return false;
        let sa = 0;
        let sb = 0;
        for (let i = 0; i < na; i++) {
          if (la[i] !== lb[i]) return false;
          sa += wa[i]!;
          sb += wb[i]!;
        }
        for (let i = 0; i < na; i++) if (Math.abs(wa[i]! / sa - wb[i]! / sb) > tol) return false;
      }
    }
    return true;
  }

  /** Can server s reach server t? */
  reachable(s: number, t: number): boolean {
    const topo = this.topo;
    const S = topo.serverTor[s]!;
    const D = topo.serverTor[t]!;
    const up = topo.serverUplink[s]!;
    const down = topo.serverDownlink[t]!;
    if (!this.usable[up] || !this.usable[down]) return false;
    return S === D || this.info(D).reach[S - topo.nServers] === 1;
  }

  /** Can ToR a reach ToR b (ignoring server links)? */
  torReachable(a: number, b: number): boolean {
    if (this.state.nodeDisabled[a] || this.state.nodeDisabled[b]) return false;
    return a === b || this.info(b).reach[a - this.topo.nServers] === 1;
  }

  /**
   * Sample a path from server s to server t. `uniform(hop)` returns the
   * uniform variate for each hop. Appends directed links to `out` starting at
   * `at`; returns the new end, or -1 when there is no route.
   */
  samplePath(s: number, t: number, uniform: (hop: number) => number, out: Int32Array, at: number): number {
    const topo = this.topo;
    const S = topo.serverTor[s]!;
    const D = topo.serverTor[t]!;
    const up = topo.serverUplink[s]!;
    const down = topo.serverDownlink[t]!;
    if (!this.usable[up] || !this.usable[down]) return -1;
    let k = at;
    out[k++] = up;
    let v = S;
    let hop = 0;
    while (v !== D) {
      const n = this.nextHops(v, D);
      if (n === 0) return -1;
      let total = 0;
      for (let i = 0; i < n; i++) total += this.candW[i]!;
      let x = uniform(hop++) * total;
      let pick = n - 1;
      for (let i = 0; i < n; i++) {
        x -= this.candW[i]!;
        if (x < 0) {
          pick = i;
          break;
        }
      }
      const l = this.cand[pick]!;
      out[k++] = l;
      v = topo.to[l]!;
      if (hop > 16) return -1; // cannot happen in a valley-free Clos; guards bad graphs
    }
    out[k++] = down;
    return k;
  }

  /** Every path from server s to server t with its probability (for tests and inspection). */
  pathDistribution(s: number, t: number): Array<{ links: number[]; probability: number }> {
    const topo = this.topo;
    const S = topo.serverTor[s]!;
    const D = topo.serverTor[t]!;
    const up = topo.serverUplink[s]!;
    const down = topo.serverDownlink[t]!;
    if (!this.usable[up] || !this.usable[down]) return [];
    const out: Array<{ links: number[]; probability: number }> = [];
    const walk = (v: number, links: number[], p: number): void => {
      if (v === D) {
        out.push({ links: [...links, down], probability: p });
        return;
      }
      const ls = new Int32Array(256);
      const ws = new Float64Array(256);
      const n = this.nextHops(v, D, ls, ws);
      let total = 0;
      for (let i = 0; i < n; i++) total += ws[i]!;
      for (let i = 0; i < n; i++) walk(topo.to[ls[i]!]!, [...links, ls[i]!], (p * ws[i]!) / total);
    };
    walk(S, [up], 1);
    return out;
  }

  /**
   * Expected load (bps) per directed link when ToR a sends `bps` to ToR b,
   * added into `load` (splits along next-hop probabilities).
   */
  addTorDemand(a: number, b: number, bps: number, load: Float64Array): boolean {
    if (a === b) return true;
    if (!this.torReachable(a, b)) return false;
    const topo = this.topo;
    const ls = new Int32Array(256);
    const ws = new Float64Array(256);
    // At most 4 switch hops: push mass hop by hop; masses keyed by node.
    let frontier = new Map<number, number>([[a, bps]]);
    for (let hop = 0; hop < 8 && frontier.size > 0; hop++) {
      const next = new Map<number, number>();
      for (const [v, m] of frontier) {
        if (v === b) continue;
        const n = this.nextHops(v, b, ls, ws);
        let total = 0;
        for (let i = 0; i < n; i++) total += ws[i]!;
        for (let i = 0; i < n; i++) {
          const l = ls[i]!;
          const share = (m * ws[i]!) / total;
          load[l]! += share;
          const u = topo.to[l]!;
          next.set(u, (next.get(u) ?? 0) + share);
        }
      }
      frontier = next;
    }
    return true;
  }
}

