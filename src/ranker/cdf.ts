/**
 * Flow-size distributions: piecewise-linear CDFs given as (bytes, cumulative
 * percent) points, sampled by inverse transform with linear interpolation
 * between points (the convention of the traffic generators these tables come
 * from).
 *
 * Built-in tables (data points only):
 * - `dctcp-websearch`: the web search workload of Alizadeh et al., "Data Center
 *   TCP (DCTCP)", SIGCOMM 2010, as tabulated in HPCC's traffic_gen folder
 *   (alibaba-edu/High-Precision-Congestion-Control, WebSearch_distribution.txt).
 * - `fb-hadoop`: the Facebook Hadoop cluster of Roy et al., "Inside the Social
 *   Network's (Datacenter) Network", SIGCOMM 2015, as tabulated in the same
 *   folder (FbHdp_distribution.txt).
 */
import { UsageError } from '../common/errors.js';

/** A CDF as points: sizes ascending (bytes), cumulative fractions ascending ending at 1. */
export interface SizeCdf {
  name: string;
  bytes: number[];
  cdf: number[];
}

/** (bytes, percent) points of the DCTCP web search distribution. */
const WEBSEARCH: Array<[number, number]> = [
  [0, 0], [10000, 15], [20000, 20], [30000, 30], [50000, 40], [80000, 53], [200000, 60],
  [1000000, 70], [2000000, 80], [5000000, 90], [10000000, 97], [30000000, 100],
];

/** (bytes, percent) points of the Facebook Hadoop distribution. */
const FBHADOOP: Array<[number, number]> = [
  [0, 0], [100, 1], [200, 2], [300, 5], [350, 15], [400, 20], [500, 30], [600, 40], [700, 50],
  [1000, 60], [2000, 67], [7000, 70], [30000, 72], [50000, 82], [80000, 87], [120000, 90],
  [300000, 95], [1000000, 97.5], [2000000, 99], [10000000, 100],
];

export const BUILTIN_CDFS = {
  'dctcp-websearch': WEBSEARCH,
  'fb-hadoop': FBHADOOP,
} as const;

export type BuiltinCdfName = keyof typeof BUILTIN_CDFS;

/**
 * Build a SizeCdf from (bytes, cumulative) points; cumulative values are
 * percent when the last one is 100, fractions when it is 1. Throws UsageError
 * naming the first bad point.
 */
export function cdfFromPoints(name: string, points: ReadonlyArray<readonly [number, number]>): SizeCdf {
  if (points.length < 2) throw new UsageError(`flow-size CDF ${name}: needs at least 2 points, got ${points.length}`);
  const last = points[points.length - 1]![1];
  const scale = Math.abs(last - 100) < 1e-9 ? 100 : Math.abs(last - 1) < 1e-12 ? 1 : Number.NaN;
  if (Number.isNaN(scale)) {
    throw new UsageError(`flow-size CDF ${name}: the last cumulative value must be 100 (percent) or 1 (fraction), got ${last}`);
  }
  const bytes: number[] = [];
  const cdf: number[] = [];
  points.forEach(([b, c], i) => {
    if (!Number.isFinite(b) || b < 0) throw new UsageError(`flow-size CDF ${name}: point ${i + 1} has a bad size ${b}`);
    if (!Number.isFinite(c) || c < 0 || c > scale) throw new UsageError(`flow-size CDF ${name}: point ${i + 1} has a bad cumulative value ${c}`);
    if (i > 0 && (b < bytes[i - 1]! || c / scale < cdf[i - 1]!)) {
      throw new UsageError(`flow-size CDF ${name}: point ${i + 1} (${b}, ${c}) is not ascending`);
    }
    bytes.push(b);
    cdf.push(c / scale);
  });
  return { name, bytes, cdf };
}

/** Parse a text table ("bytes cumulative" per line, '#' comments) or a JSON array of pairs. */
export function parseCdfText(name: string, text: string): SizeCdf {
  const t = text.trim();
  if (t.startsWith('[')) {
    let v: unknown;
    try {
      v = JSON.parse(t);
    } catch (e) {
      throw new UsageError(`flow-size CDF ${name}: not valid JSON: ${(e as Error).message}`);
    }
    if (!Array.isArray(v) || !v.every((p) => Array.isArray(p) && p.length === 2 && p.every((x) => typeof x === 'number'))) {
      throw new UsageError(`flow-size CDF ${name}: JSON must be an array of [bytes, cumulative] pairs`);
    }
    return cdfFromPoints(name, v as Array<[number, number]>);
  }
  const pts: Array<[number, number]> = [];
  t.split('\n').forEach((line, i) => {
    const s = line.replace(/#.*/, '').trim();
    if (!s) return;
    const parts = s.split(/[\s,]+/);
    const b = Number(parts[0]);
    const c = Number(parts[1]);
    if (parts.length < 2 || Number.isNaN(b) || Number.isNaN(c)) {
      throw new UsageError(`flow-size CDF ${name}: line ${i + 1} is not "bytes cumulative": ${JSON.stringify(line)}`);
    }
    pts.push([b, c]);
  });
  return cdfFromPoints(name, pts);
}

export function builtinCdf(name: BuiltinCdfName): SizeCdf {
  return cdfFromPoints(name, BUILTIN_CDFS[name]);
}

/** Inverse-transform sample for u in [0, 1): bytes, at least 1. */
export function sampleSize(c: SizeCdf, u: number): number {
  const { bytes, cdf } = c;
  // binary search the first point with cdf > u
  let lo = 0;
  let hi = cdf.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (cdf[mid]! > u) hi = mid;
    else lo = mid + 1;
  }
  if (lo === 0) return Math.max(1, bytes[0]!);
  const c0 = cdf[lo - 1]!;
  const c1 = cdf[lo]!;
  const b0 = bytes[lo - 1]!;
  const b1 = bytes[lo]!;
  const x = c1 > c0 ? b0 + ((u - c0) / (c1 - c0)) * (b1 - b0) : b1;
  return Math.max(1, Math.round(x));
}

/** Mean flow size in bytes of the piecewise-linear distribution. */
export function meanSize(c: SizeCdf): number {
  let m = c.cdf[0]! * c.bytes[0]!;
  for (let i = 1; i < c.bytes.length; i++) m += (c.cdf[i]! - c.cdf[i - 1]!) * ((c.bytes[i]! + c.bytes[i - 1]!) / 2);
  return m;
}

/** P(size <= x) of the piecewise-linear distribution. */
export function cdfAt(c: SizeCdf, x: number): number {
  const { bytes, cdf } = c;
  if (x < bytes[0]!) return 0;
  for (let i = 1; i < bytes.length; i++) {
    if (x < bytes[i]!) return cdf[i - 1]! + ((x - bytes[i - 1]!) / (bytes[i]! - bytes[i - 1]!)) * (cdf[i]! - cdf[i - 1]!);
  }
  return 1;
}
