/**
 * BGP best-path order per prefix (RFC 4271 §9.1.2.2, with the common vendor
 * first step): among the candidate routes (each peer's post-policy route when
 * the router sends post-policy for that peer, else its pre-policy route),
 *   1. highest weight (configured per peer),
 *   2. highest LOCAL_PREF (100 when absent),
 *   3. shortest AS_PATH (an AS_SET counts 1, confederation segments 0),
 *   4. lowest ORIGIN (IGP < EGP < INCOMPLETE),
 *   5. lowest MED, compared only between routes from the same neighbour AS
 *      (a missing MED is 0, the best),
 *   6. eBGP over iBGP,
 *   7. lowest BGP identifier of the peer, then lowest peer address.
 * Because step 5 is not a total order, routes are ranked by repeated
 * selection: the best of all, then the best of the rest, and so on.
 *
 * AltPath uses ranks 2 and 3 as alternates. An exclusion list of ASNs keeps
 * alternates away from those networks (Edge Fabric §6.2.2: destinations with
 * poor performance on alternate paths): a prefix whose primary route ends in
 * an excluded AS gets no alternates, and no alternate crosses an excluded AS.
 */
import { ipv4Value, parseIpv6 } from '../../common/net.js';
import type { PrefixEntry, Route } from './rib.js';

export const DEFAULT_LOCAL_PREF = 100;

function isEbgp(r: Route): boolean {
  return r.peer.localAsn === undefined || r.peer.asn !== r.peer.localAsn;
}

function addrOrder(a: string, b: string): number {
  const x = ipv4Value(a);
  const y = ipv4Value(b);
  if (x >= 0 && y >= 0) return x - y;
  if (x >= 0) return -1;
  if (y >= 0) return 1;
  try {
    return Buffer.compare(parseIpv6(a), parseIpv6(b));
  } catch {
    return a < b ? -1 : a > b ? 1 : 0;
  }
}

/** Compare two addresses by their u32 values when both are IPv4 (the common case), else as addresses. */
function order(x: number, y: number, a: string, b: string): number {
  return x >= 0 && y >= 0 ? x - y : addrOrder(a, b);
}

function keepMax(c: Route[], f: (r: Route) => number): Route[] {
  if (c.length < 2) return c;
  let best = -Infinity;
  for (const r of c) best = Math.max(best, f(r));
  return c.filter((r) => f(r) === best);
}

function keepMin(c: Route[], f: (r: Route) => number): Route[] {
  if (c.length < 2) return c;
  let best = Infinity;
  for (const r of c) best = Math.min(best, f(r));
  return c.filter((r) => f(r) === best);
}

/** The best route among candidates (RFC 4271 §9.1.2.2 order above); undefined for none. */
export function selectBest(cands: readonly Route[]): Route | undefined {
  let c = cands as Route[];
  if (c.length < 2) return c[0];
  c = keepMax(c, (r) => r.peer.weight);
  c = keepMax(c, (r) => r.attrs.localPref ?? DEFAULT_LOCAL_PREF);
  c = keepMin(c, (r) => r.attrs.asPathLen);
  c = keepMin(c, (r) => r.attrs.origin);
  if (c.length > 1) {
    // MED: remove a route when another from the same neighbour AS has a lower MED
    const minByAs = new Map<number, number>();
    for (const r of c) {
      const m = r.attrs.med ?? 0;
      const cur = minByAs.get(r.attrs.neighborAs);
      if (cur === undefined || m < cur) minByAs.set(r.attrs.neighborAs, m);
    }
    c = c.filter((r) => (r.attrs.med ?? 0) === minByAs.get(r.attrs.neighborAs));
  }
  if (c.length > 1 && c.some(isEbgp)) c = c.filter(isEbgp);
  if (c.length < 2) return c[0];
  let best = c[0]!;
  for (let i = 1; i < c.length; i++) {
    const r = c[i]!;
    const d = order(r.peer.bgpIdNum, best.peer.bgpIdNum, r.peer.bgpId, best.peer.bgpId) || order(r.peer.addrNum, best.peer.addrNum, r.peer.address, best.peer.address) || (r.peer.id < best.peer.id ? -1 : 1);
    if (d < 0) best = r;
  }
  return best;
}

/** The routes ranking considers: per peer, its post-policy route if it sends post-policy, else pre-policy; peers that are down are left out. */
export function candidates(e: PrefixEntry): Route[] {
  const rs = e.routes;
  if (rs.length === 1) return rs[0]!.peer.up && rs[0]!.post === rs[0]!.peer.hasPostPolicy ? [rs[0]!] : [];
  return rs.filter((r) => r.peer.up && r.post === r.peer.hasPostPolicy);
}

/**
 * Every step but MED as one comparison (negative: a is better). Without two
 * routes from the same neighbour AS, MED never applies and this is a total
 * order, so ranking is a sort.
 */
function compareNoMed(a: Route, b: Route): number {
  return (
    b.peer.weight - a.peer.weight ||
    (b.attrs.localPref ?? DEFAULT_LOCAL_PREF) - (a.attrs.localPref ?? DEFAULT_LOCAL_PREF) ||
    a.attrs.asPathLen - b.attrs.asPathLen ||
    a.attrs.origin - b.attrs.origin ||
    (isEbgp(a) ? 0 : 1) - (isEbgp(b) ? 0 : 1) ||
    order(a.peer.bgpIdNum, b.peer.bgpIdNum, a.peer.bgpId, b.peer.bgpId) ||
    order(a.peer.addrNum, b.peer.addrNum, a.peer.address, b.peer.address) ||
    (a.peer.id < b.peer.id ? -1 : a.peer.id > b.peer.id ? 1 : 0)
  );
}

function distinctNeighbours(routes: readonly Route[]): boolean {
  for (let i = 1; i < routes.length; i++) for (let j = 0; j < i; j++) if (routes[i]!.attrs.neighborAs === routes[j]!.attrs.neighborAs) return false;
  return true;
}

/** The first `n` routes of a prefix in best-path order. */
export function rankRoutes(routes: readonly Route[], n = 3): Route[] {
  return rankOwned([...routes], n);
}

/** rankRoutes of an array the caller hands over (sorted in place, no copy). */
function rankOwned(routes: Route[], n: number): Route[] {
  if (routes.length <= 1) return routes;
  if (distinctNeighbours(routes)) {
    routes.sort(compareNoMed);
    if (routes.length > n) routes.length = n;
    return routes;
  }
  const rest = routes;
  const out: Route[] = [];
  while (rest.length > 0 && out.length < n) {
    const b = selectBest(rest)!;
    out.push(b);
    rest.splice(rest.indexOf(b), 1);
  }
  return out;
}

export interface RankingOptions {
  /** ASNs never used for alternates (see the file comment). @default none */
  excludeAsns?: ReadonlySet<number>;
  /** How many alternates to pick (one per AltPath DSCP). @default 2 */
  alternates?: number;
}

export interface Ranked {
  /** Routes in best-path order (at most 1 + alternates + the excluded ones skipped). */
  ranked: Route[];
  primary?: Route;
  /** Alternates in order: [0] for the first AltPath DSCP, [1] for the second. */
  alternates: Route[];
  /** Why there are fewer alternates than asked, when an exclusion caused it. */
  excluded?: 'destination' | 'path';
}

/** Rank a prefix and pick its alternates, honouring the exclusion list. */
export function rankPrefix(e: PrefixEntry, o: RankingOptions = {}): Ranked {
  const want = o.alternates ?? 2;
  const ex = o.excludeAsns;
  // candidates() is a new array: ranked in place
  const ranked = rankOwned(candidates(e), ex && ex.size > 0 ? Infinity : want + 1);
  const primary = ranked[0];
  if (!primary) return { ranked, primary: undefined, alternates: [], excluded: undefined };
  if (ex && ex.size > 0 && ex.has(primary.attrs.originAs)) return { ranked, primary, alternates: [], excluded: 'destination' };
  const alternates: Route[] = [];
  let excluded: Ranked['excluded'];
  for (let i = 1; i < ranked.length && alternates.length < want; i++) {
    const r = ranked[i]!;
    if (ex && ex.size > 0 && [...r.attrs.asns].some((a) => ex.has(a))) {
      excluded = 'path';
      continue;
    }
    alternates.push(r);
  }
  return { ranked, primary, alternates, excluded };
}
