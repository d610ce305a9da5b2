/**
 * The RIB as JSON for status output: per prefix, every route (pre- and
 * post-policy) with its attributes, and the candidates' best-path rank.
 */
import { nlriText } from '../bgp/nlri.js';
import { candidates, rankRoutes } from './ranking.js';
import { routeNextHop, type Rib } from './rib.js';

export interface RibRouteView {
  /** Best-path rank among the candidates (1 = BGP's best); null for a route ranking does not consider (the other policy view). */
  rank: number | null;
  peer: string;
  peer_asn: number;
  router: string;
  policy: 'pre' | 'post';
  next_hop: string | null;
  as_path: string;
  origin: string;
  med: number | null;
  local_pref: number | null;
  communities?: number[];
}

export function ribView(rib: Rib, o: { limit?: number } = {}): Array<{ prefix: string; routes: RibRouteView[] }> {
  const out: Array<{ prefix: string; routes: RibRouteView[] }> = [];
  const limit = o.limit ?? Infinity;
  for (const e of rib.entries()) {
    if (out.length >= limit) break;
    const ranked = rankRoutes(candidates(e), Infinity);
    const routes = e.routes
      .map((r): RibRouteView => {
        const i = ranked.indexOf(r);
        return {
          rank: i >= 0 ? i + 1 : null,
          peer: r.peer.address,
          peer_asn: r.peer.asn,
          router: r.peer.router,
          policy: r.post ? 'post' : 'pre',
          next_hop: routeNextHop(r, e.nlri.family) ?? null,
          as_path: r.attrs.pathText,
          origin: ['igp', 'egp', 'incomplete'][r.attrs.origin]!,
          med: r.attrs.med ?? null,
          local_pref: r.attrs.localPref ?? null,
          ...(r.attrs.communities ? { communities: r.attrs.communities } : {}),
        };
      })
      .sort((a, b) => (a.rank ?? 99) - (b.rank ?? 99) || a.peer.localeCompare(b.peer) || a.policy.localeCompare(b.policy));
    out.push({ prefix: nlriText(e.nlri), routes });
  }
  return out.sort((a, b) => a.prefix.localeCompare(b.prefix));
}
