/**
 * Path reuse across candidates (the route diff): for one (traffic sample,
 * routing sample), a flow's path under candidate C is drawn with the same
 * per-hop variates u3(routeSeed, flow, hop) as under a reference candidate R,
 * so it is the same path wherever C and R agree on the next hops (links and
 * weights, exactly) at every switch R's path visits and on the flow's server
 * links. Those flows copy R's path; only the others are sampled again. The
 * result is identical to routeTrace(C) (test/unit/ranker-reroute.test.ts).
 *
 * Which (destination ToR, switch) pairs agree is memoised per router pair
 * (HopDiff) and reused across every sample the evaluator runs.
 */
import { fillRoutedFlow, u3, withRoom, type RoutedTrace } from './estimator.js';
import type { Router } from './routing.js';
import type { Trace } from './traffic.js';

/** Per (destination ToR, switch): 0 = not compared yet, 1 = same next hops and weights, 2 = different. */
export class HopDiff {
  private readonly memo: Uint8Array;
  private readonly torIdx: Int32Array;
  private readonly nSw: number;
  private readonly la = new Int32Array(256);
  private readonly wa = new Float64Array(256);
  private readonly lb = new Int32Array(256);
  private readonly wb = new Float64Array(256);
  /** Same link and switch drop rates in both states: a copied path keeps its drop rate and delay too. */
  readonly sameDrops: boolean;

  constructor(
    readonly ref: Router,
    readonly cand: Router,
  ) {
    const t = ref.topo;
    this.nSw = t.nNodes - t.nServers;
    this.torIdx = new Int32Array(t.nNodes).fill(-1);
    t.tors.forEach((d, i) => {
      this.torIdx[d] = i;
    });
    this.memo = new Uint8Array(t.tors.length * this.nSw);
    const a = ref.state;
    const b = cand.state;
    const eq = (x: Float64Array, y: Float64Array): boolean => x === y || (x.length === y.length && x.every((v, i) => Object.is(v, y[i])));
    this.sameDrops = eq(a.linkDrop, b.linkDrop) && eq(a.nodeDrop, b.nodeDrop);
  }

  /** Do both routers forward towards ToR d identically at switch v? */
  same(v: number, d: number): boolean {
    const i = this.torIdx[d]! * this.nSw + (v - this.ref.topo.nServers);
    let m = this.memo[i]!;
    if (m === 0) {
      m = this.compare(v, d) ? 1 : 2;
      this.memo[i] = m;
    }
    return m === 1;
  }

  private compare(v: number, d: number): boolean {
    const na = this.ref.nextHops(v, d, this.la, this.wa);
    const nb = this.cand.nextHops(v, d, this.lb, this.wb);
    if (na !== nb) return false;
    for (let i = 0; i < na; i++) if (this.la[i] !== this.lb[i] || this.wa[i] !== this.wb[i]) return false;
    return true;
  }
}

/** Flows rerouteTrace copied from the reference / sampled again (added to by each call). */
export interface RerouteStats {
  reused: number;
  resampled: number;
}

/**
 * routeTrace(diff.cand, tr, routeSeed), reusing `base` = routeTrace(diff.ref,
 * baseTrace, routeSeed) for every flow whose path cannot differ.
 */
export function rerouteTrace(diff: HopDiff, tr: Trace, routeSeed: number, baseTrace: Trace, base: RoutedTrace, stats?: RerouteStats): RoutedTrace {
  const router = diff.cand;
  const topo = router.topo;
  const to = topo.to;
  const usable = router.usable;
  const serverTor = topo.serverTor;
  const sameDrops = diff.sameDrops;
  const sameTrace = tr === baseTrace || (tr.src === baseTrace.src && tr.dst === baseTrace.dst);
  const ptr = new Int32Array(tr.n + 1);
  let links = new Int32Array(Math.max(64, base.links.length + 64));
  const routable = new Uint8Array(tr.n);
  const drop = new Float64Array(tr.n);
  const propS = new Float64Array(tr.n);
  const bPtr = base.ptr;
  const bLinks = base.links;
  let k = 0;
  let f = 0;
  let reused = 0;
  const uniform = (hop: number): number => u3(routeSeed, f, hop);
  for (f = 0; f < tr.n; f++) {
    links = withRoom(links, k);
    const s = tr.src[f]!;
    const t = tr.dst[f]!;
    let end = -2; // -2: not decided by reuse
    if (base.routable[f] && (sameTrace || (s === baseTrace.src[f] && t === baseTrace.dst[f]))) {
      const p0 = bPtr[f]!;
      const p1 = bPtr[f + 1]!;
      if (usable[bLinks[p0]!] && usable[bLinks[p1 - 1]!]) {
        const D = serverTor[t]!;
        let ok = true;
        let v = serverTor[s]!;
        // Switches visited: the source ToR, then the head of every link up to D.
        for (let i = p0 + 1; v !== D; i++) {
          if (!diff.same(v, D)) {
            ok = false;
            break;
          }
          v = to[bLinks[i]!]!;
        }
        if (ok) {
          for (let i = p0; i < p1; i++) links[k + i - p0] = bLinks[i]!;
          end = k + p1 - p0;
          reused++;
          if (sameDrops) {
            routable[f] = 1;
            drop[f] = base.drop[f]!;
            propS[f] = base.propS[f]!;
            k = end;
            ptr[f + 1] = k;
            continue;
          }
        }
      }
    }
    if (end === -2) end = router.samplePath(s, t, uniform, links, k);
    if (end < 0) {
      ptr[f + 1] = k;
      continue;
    }
    fillRoutedFlow(router, links, k, end, f, routable, drop, propS);
    k = end;
    ptr[f + 1] = k;
  }
  if (stats) {
    stats.reused += reused;
    stats.resampled += tr.n - reused;
  }
  return { ptr, links: links.subarray(0, k), routable, drop, propS };
}
