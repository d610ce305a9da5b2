/**
 * The AltPath controller's state as fleet-store records (DESIGN §8): per
 * active prefix the routes in its tables (BGP best in `main` as DSCP 0, each
 * alternate in its DSCP table, the override), with their measurements, and
 * the overrides in force with their evidence. Built from the controller's
 * own status (the same figures `pathsteer altpath status --json` shows),
 * bounded to `maxPrefixes` prefixes (overridden ones first, then by traffic).
 *
 * The records are the fleet store's AltPathRoute, AltPathOverride and
 * AltPathMeta (src/controller/store/schema.ts) with every field filled; the
 * import is type-only, so nothing of the controller is loaded here. The CLI
 * hands them to its AltPathPublisher.
 */
import type { AltPathMeta, AltPathOverride, AltPathRoute } from '../../controller/store/schema.js';
import type { AltpathController } from './controller.js';

export type FleetAltPathRoute = Required<AltPathRoute>;
export type FleetAltPathOverride = Required<AltPathOverride>;

export interface FleetAltPathReport {
  routes: FleetAltPathRoute[];
  overrides: FleetAltPathOverride[];
  meta: Required<AltPathMeta>;
}

/** The parts of `AltpathController.status()` read here (pathsteer.altpath.status/v1). */
interface StatusShape {
  config: { dscps: number[]; cycle_ms: number };
  last_cycle: { at: string } | null;
  prefixes: Array<{
    prefix: string;
    last_traffic: string | null;
    routes: Array<{
      rank: number;
      route_id: string;
      peer_asn: number;
      next_hop: string | null;
      as_path: string;
      table: string | null;
      performance: { samples: number; srtt_median_ms: number | null; srtt_p90_ms: number | null; retrans_rate: number | null };
    }>;
  }>;
  overrides: Array<{
    prefix: string;
    routeId: string;
    nextHop: string;
    primaryRouteId: string;
    since: number;
    expiresAt: number;
    alternate: { samples: number; srtt_median_ms: number | null };
    primary: { samples: number; srtt_median_ms: number | null };
  }>;
}

const asPath = (text: string): number[] => (text.match(/\d+/g) ?? []).map(Number);

export interface FleetReportOptions {
  /** Prefixes per report at most. @default 500 */
  maxPrefixes?: number;
  /** How often the publisher reports (ms), for the meta record. */
  intervalMs: number;
  /** Wall clock (ms). @default Date.now */
  now?: number;
}

/** The controller's routes, tables, measurements and overrides as fleet records. */
export function fleetReport(c: Pick<AltpathController, 'status'>, o: FleetReportOptions): FleetAltPathReport {
  const max = o.maxPrefixes ?? 500;
  const now = o.now ?? Date.now();
  // every active prefix, then the bounded choice (the status' own default cap is 1000)
  const st = c.status({ limit: 1_000_000 }) as StatusShape;
  const dscps = st.config.dscps;
  const ovByPrefix = new Map(st.overrides.map((x) => [x.prefix, x]));
  const prefixes = [...st.prefixes].sort((a, b) => Number(ovByPrefix.has(b.prefix)) - Number(ovByPrefix.has(a.prefix)) || (b.last_traffic ?? '').localeCompare(a.last_traffic ?? '') || a.prefix.localeCompare(b.prefix));
  const chosen = prefixes.slice(0, max);
  const routes: FleetAltPathRoute[] = [];
  const overrides: FleetAltPathOverride[] = [];
  for (const p of chosen) {
    const ov = ovByPrefix.get(p.prefix);
    // which DSCP carries each route: the BGP best is DSCP 0, an alternate its table's value
    const dscpOf = new Map<string, number>();
    for (const r of p.routes) {
      if (r.rank === 1) dscpOf.set(r.route_id, 0);
      else if (r.table?.startsWith('dscp:')) dscpOf.set(r.route_id, Number(r.table.slice(5)));
    }
    // an override's route keeps the DSCP of the table it is measured in (the status marks its table `override`)
    if (ov && !dscpOf.has(ov.routeId)) {
      const i = p.routes.findIndex((r) => r.route_id === ov.routeId);
      const alt = i - 1; // ranks 2, 3, ... go to the DSCP tables in order
      dscpOf.set(ov.routeId, alt >= 0 && alt < dscps.length ? dscps[alt]! : -1);
    }
    for (const r of p.routes) {
      const dscp = dscpOf.get(r.route_id);
      if (dscp === undefined || dscp < 0 || r.next_hop === null) continue;
      const isOv = ov?.routeId === r.route_id;
      routes.push({
        prefix: p.prefix,
        dscp,
        rank: r.rank,
        next_hop: r.next_hop,
        as_path: asPath(r.as_path),
        peer_asn: r.peer_asn,
        samples: r.performance.samples,
        median_srtt_ms: r.performance.srtt_median_ms,
        p90_srtt_ms: r.performance.srtt_p90_ms,
        retrans_rate: r.performance.retrans_rate,
        updated: now,
        table: isOv ? 'override' : dscp === 0 ? 'main' : `dscp:${dscp}`,
        override: isOv,
        route_id: r.route_id,
      });
    }
  }
  for (const x of st.overrides) {
    const r = routes.find((y) => y.route_id === x.routeId);
    const gain = x.primary.srtt_median_ms !== null && x.alternate.srtt_median_ms !== null ? x.primary.srtt_median_ms - x.alternate.srtt_median_ms : 0;
    overrides.push({
      prefix: x.prefix,
      dscp: r?.dscp ?? 0,
      next_hop: x.nextHop,
      gain_ms: Math.round(gain * 1000) / 1000,
      reason: `median SRTT ${x.alternate.srtt_median_ms ?? '?'} ms vs ${x.primary.srtt_median_ms ?? '?'} ms over BGP best (${x.alternate.samples}/${x.primary.samples} samples)`,
      at: x.since,
      route_id: x.routeId,
      primary_route_id: x.primaryRouteId,
      expires_at: x.expiresAt,
      alt_srtt_ms: x.alternate.srtt_median_ms,
      primary_srtt_ms: x.primary.srtt_median_ms,
      alt_samples: x.alternate.samples,
      primary_samples: x.primary.samples,
    });
  }
  return {
    routes,
    overrides,
    meta: { interval_ms: o.intervalMs, prefixes: st.prefixes.length, prefixes_reported: chosen.length, cycle_ms: st.config.cycle_ms, last_cycle: st.last_cycle?.at ?? null, dscps },
  };
}
