/**
 * Comparators that turn metric estimates into a ranking (SWARM §3.2 input 6,
 * §4.1, §D.4):
 * - PriorityFCT: minimise 99p FCT; tie-breakers 1p throughput, then average throughput.
 * - PriorityAvgT: maximise average throughput; then 99p FCT, then 1p throughput.
 * - Priority1pT: maximise 1p throughput; then average throughput, then 99p FCT.
 * - Linear: minimise w0 FCT99/FCT99_h + w1 T1p_h/T1p + w2 Tavg_h/Tavg, each metric
 *   normalised by the healthy network's.
 * Two candidates tie on a metric when they are within the tie band (10%) of
 * each other. A priority comparator picks the best by selection: keep the
 * candidates within the band of the best value of the first metric, then of
 * the second among those, and take the best of the last; the next rank is the
 * same selection over the remaining candidates. Candidates that partition the
 * network rank after every feasible one.
 */
import type { Comparator } from './scenario.js';

export type MetricKey = 'fct99' | 'tput1p' | 'tputAvg';

export const METRIC_INFO: Record<MetricKey, { label: string; better: 'min' | 'max'; unit: string; scale: number }> = {
  fct99: { label: '99p FCT', better: 'min', unit: 'ms', scale: 1e3 },
  tput1p: { label: '1p throughput', better: 'max', unit: 'Mbps', scale: 1e-6 },
  tputAvg: { label: 'avg throughput', better: 'max', unit: 'Mbps', scale: 1e-6 },
};

export const PRIORITIES: Record<'PriorityFCT' | 'PriorityAvgT' | 'Priority1pT', MetricKey[]> = {
  PriorityFCT: ['fct99', 'tput1p', 'tputAvg'],
  PriorityAvgT: ['tputAvg', 'fct99', 'tput1p'],
  Priority1pT: ['tput1p', 'tputAvg', 'fct99'],
};

export interface Scored {
  name: string;
  feasible: boolean;
  point: Record<MetricKey, number>;
}

export interface RankEntry {
  index: number;
  reason: string;
  /** Linear comparator score (lower is better). */
  score?: number;
}

export function comparatorName(c: Comparator): string {
  return typeof c === 'string' ? c : `Linear(${c.weights.join(',')})`;
}

function fmt(k: MetricKey, v: number): string {
  const i = METRIC_INFO[k];
  if (!Number.isFinite(v)) return String(v);
  const x = v * i.scale;
  return `${x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toPrecision(3)} ${i.unit}`;
}

/** Is v better than w on metric k (NaN is never better)? */
function better(k: MetricKey, v: number, w: number): boolean {
  if (Number.isNaN(v)) return false;
  if (Number.isNaN(w)) return true;
  return METRIC_INFO[k].better === 'min' ? v < w : v > w;
}

/** Is v within the tie band of the best value b on metric k? */
export function withinBand(k: MetricKey, v: number, b: number, band: number): boolean {
  if (Number.isNaN(v) || Number.isNaN(b)) return true; // cannot tell them apart
  if (v === b) return true;
  if (!Number.isFinite(b) || !Number.isFinite(v)) return false;
  return Math.abs(v - b) <= band * Math.abs(b);
}

/** Linear comparator score (lower is better). */
export function linearScore(p: Record<MetricKey, number>, healthy: Record<MetricKey, number>, w: readonly [number, number, number]): number {
  return w[0] * (p.fct99 / healthy.fct99) + w[1] * (healthy.tput1p / p.tput1p) + w[2] * (healthy.tputAvg / p.tputAvg);
}

/** Rank items with a comparator; returns entries best first. */
export function rankByComparator(items: Scored[], comparator: Comparator, band: number, healthy?: Record<MetricKey, number>): RankEntry[] {
  const feasible = items.map((x, i) => ({ x, i })).filter((e) => e.x.feasible);
  const infeasible = items.map((x, i) => ({ x, i })).filter((e) => !e.x.feasible);
  const out: RankEntry[] = [];
  if (typeof comparator !== 'string') {
    if (!healthy) throw new Error('Linear comparator needs the healthy network metrics');
    const scored = feasible.map((e) => ({ ...e, s: linearScore(e.x.point, healthy, comparator.weights) }));
    scored.sort((a, b) => (a.s === b.s ? a.i - b.i : Number.isNaN(a.s) ? 1 : Number.isNaN(b.s) ? -1 : a.s - b.s));
    for (const e of scored) out.push({ index: e.i, score: e.s, reason: `linear score ${e.s.toFixed(3)} (1 per metric = healthy network)` });
  } else {
    const prio = PRIORITIES[comparator];
    const left = feasible.slice();
    while (left.length > 0) {
      // Narrow by each metric's tie band in priority order; keep the pools to explain the pick.
      let pool = left.slice();
      const stages: Array<{ k: MetricKey; best: number; pool: typeof pool }> = [];
      for (let m = 0; m < prio.length; m++) {
        const k = prio[m]!;
        let best = pool[0]!;
        for (const e of pool) if (better(k, e.x.point[k], best.x.point[k])) best = e;
        const b = best.x.point[k];
        stages.push({ k, best: b, pool });
        if (m === prio.length - 1) {
          pool = [best];
          break;
        }
        pool = pool.filter((e) => withinBand(k, e.x.point[k], b, band));
        if (pool.length === 1) break;
      }
      const pick = pool[0]!;
      const why: string[] = [];
      for (const st of stages) {
        const v = pick.x.point[st.k];
        const label = METRIC_INFO[st.k].label;
        const others = st.pool.filter((e) => e !== pick);
        if (others.length === 0) continue;
        if (v === st.best || (Number.isNaN(v) && Number.isNaN(st.best))) {
          const runner = others.reduce((a, e) => (better(st.k, e.x.point[st.k], a.x.point[st.k]) ? e : a), others[0]!);
          why.push(`best ${label} ${fmt(st.k, v)} (next ${fmt(st.k, runner.x.point[st.k])})`);
        } else why.push(`${label} ${fmt(st.k, v)} within ${Math.round(band * 100)}% of the best ${fmt(st.k, st.best)}`);
      }
      out.push({ index: pick.i, reason: why.length ? why.join('; ') : 'only candidate left' });
      left.splice(left.indexOf(pick), 1);
    }
  }
  for (const e of infeasible) out.push({ index: e.i, reason: 'infeasible: partitions the network' });
  return out;
}

