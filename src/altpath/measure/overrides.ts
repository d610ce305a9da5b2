/**
 * The override rule (Edge Fabric §7.3): override BGP for a prefix when an
 * alternate route's median SRTT is at least `improvementMs` lower than the
 * primary's and its retransmit rate is no worse (within `retransTolerance`),
 * both with at least `minSamples` samples in the window. Among qualifying
 * alternates the one with the lowest median wins. Overrides expire after
 * `ttlMs` and must then be earned again with fresh samples; before that, an
 * override gives way only to a qualifying alternate whose median is lower than
 * its own by at least half of `improvementMs` (`betterOverride`).
 */
import type { RouteStatsSummary } from './route-stats.js';

export interface OverridePolicy {
  /** Required median SRTT advantage (ms). @default 20 */
  improvementMs: number;
  /** Samples each side needs in the window. @default 30 */
  minSamples: number;
  /** The alternate's retransmit rate may exceed the primary's by at most this (absolute). @default 0 */
  retransTolerance: number;
  /** An override lives this long, then is re-evaluated (ms). @default 600000 */
  ttlMs: number;
}

export interface Override {
  prefix: string;
  family: 4 | 6;
  /** The route injected as primary. */
  routeId: string;
  nextHop: string;
  /** The BGP best route it overrides. */
  primaryRouteId: string;
  since: number;
  expiresAt: number;
  /** The evidence: both routes' summaries when it was decided. */
  alternate: RouteStatsSummary;
  primary: RouteStatsSummary;
}

/** The routeId of the best qualifying alternate, or undefined. */
export function chooseOverride(
  primary: RouteStatsSummary,
  alternates: ReadonlyArray<{ routeId: string; stats: RouteStatsSummary }>,
  p: OverridePolicy,
): string | undefined {
  if (primary.samples < p.minSamples || primary.srtt_median_ms === null) return undefined;
  let best: { routeId: string; median: number } | undefined;
  for (const a of alternates) {
    const s = a.stats;
    if (s.samples < p.minSamples || s.srtt_median_ms === null) continue;
    if (primary.srtt_median_ms - s.srtt_median_ms < p.improvementMs) continue;
    if ((s.retrans_rate ?? 0) > (primary.retrans_rate ?? 0) + p.retransTolerance) continue;
    if (!best || s.srtt_median_ms < best.median) best = { routeId: a.routeId, median: s.srtt_median_ms };
  }
  return best?.routeId;
}

/**
 * Whether `next` (an alternate that qualifies by chooseOverride) should replace
 * the override in force `cur`: its median SRTT is lower by at least half the
 * required improvement, so two alternates of about the same speed never flap.
 * An override whose own samples have left the window gives way to any.
 */
export function betterOverride(cur: RouteStatsSummary, next: RouteStatsSummary, p: OverridePolicy): boolean {
  if (next.srtt_median_ms === null) return false;
  if (cur.srtt_median_ms === null) return true;
  return cur.srtt_median_ms - next.srtt_median_ms >= p.improvementMs / 2;
}
