/**
 * Per-route performance over a sliding window (Edge Fabric §6.2.3): the
 * samples joined to a route, and their summary: count, median and p90 SRTT,
 * retransmit rate (sum of total_retrans / sum of segs_out), goodput (median
 * of bytes_acked / duration per connection, bits/s).
 */
import type { ConnSample } from '../sample.js';

export interface RouteStatsSummary {
  samples: number;
  srtt_median_ms: number | null;
  srtt_p90_ms: number | null;
  retrans_rate: number | null;
  goodput_median_bps: number | null;
}

interface Point {
  ts: number;
  srttMs: number;
  retrans: number;
  segsOut: number;
  goodput: number;
}

/** Nearest-rank percentile of a sorted array. */
export function percentile(sorted: readonly number[], p: number): number {
  if (!sorted.length) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

/** Median (mean of the two middle values for an even count). */
export function median(sorted: readonly number[]): number {
  const n = sorted.length;
  if (!n) return NaN;
  return n % 2 ? sorted[(n - 1) / 2]! : (sorted[n / 2 - 1]! + sorted[n / 2]!) / 2;
}

export class RouteStats {
  private points: Point[] = [];
  private cache?: RouteStatsSummary;

  add(s: ConnSample): void {
    const dur = s.duration_us / 1e6;
    this.points.push({
      ts: s.ts_ms,
      srttMs: s.srtt_us / 1000,
      retrans: s.total_retrans,
      segsOut: s.segs_out,
      goodput: dur > 0 ? (s.bytes_acked * 8) / dur : 0,
    });
    this.cache = undefined;
  }

  /** Drop samples that closed before `since`; returns how many are left. */
  prune(since: number): number {
    let i = 0;
    while (i < this.points.length && this.points[i]!.ts < since) i++;
    if (i === 0 && this.points.every((p) => p.ts >= since)) return this.points.length;
    this.points = this.points.filter((p) => p.ts >= since);
    this.cache = undefined;
    return this.points.length;
  }

  get count(): number {
    return this.points.length;
  }

  summary(): RouteStatsSummary {
    if (this.cache) return this.cache;
    const n = this.points.length;
    if (!n) return (this.cache = { samples: 0, srtt_median_ms: null, srtt_p90_ms: null, retrans_rate: null, goodput_median_bps: null });
    const srtt = this.points.map((p) => p.srttMs).sort((a, b) => a - b);
    const gp = this.points.map((p) => p.goodput).sort((a, b) => a - b);
    let rt = 0;
    let so = 0;
    for (const p of this.points) {
      rt += p.retrans;
      so += p.segsOut;
    }
    return (this.cache = {
      samples: n,
      srtt_median_ms: +median(srtt).toFixed(3),
      srtt_p90_ms: +percentile(srtt, 90).toFixed(3),
      retrans_rate: so > 0 ? +(rt / so).toFixed(6) : 0,
      goodput_median_bps: Math.round(median(gp)),
    });
  }
}
