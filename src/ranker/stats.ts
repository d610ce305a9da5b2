/**
 * Small statistics helpers on numeric arrays: percentiles (linear
 * interpolation between order statistics, as numpy's default), means, and the
 * Dvoretzky–Kiefer–Wolfowitz sample sizes SWARM uses (§3.3).
 */

/** The p-th percentile (0..100) of `sorted` (ascending); NaN when empty. */
export function percentileSorted(sorted: ArrayLike<number>, p: number): number {
  const n = sorted.length;
  if (n === 0) return Number.NaN;
  if (n === 1) return sorted[0]!;
  const pos = (Math.min(100, Math.max(0, p)) / 100) * (n - 1);
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  const a = sorted[lo]!;
  const b = sorted[hi]!;
  if (lo === hi || a === b) return a;
  if (!Number.isFinite(a) || !Number.isFinite(b)) return pos - lo < 0.5 ? a : b;
  return a + (b - a) * (pos - lo);
}

/** The p-th percentile (0..100) of unsorted values. */
export function percentile(values: ArrayLike<number>, p: number): number {
  const s = Float64Array.from(values as ArrayLike<number>).sort();
  return percentileSorted(s, p);
}

/** Arithmetic mean; NaN when empty. */
export function mean(values: ArrayLike<number>): number {
  if (values.length === 0) return Number.NaN;
  let s = 0;
  for (let i = 0; i < values.length; i++) s += values[i]!;
  return s / values.length;
}

/**
 * DKW: with n i.i.d. samples, P(sup |F_n - F| > eps) <= 2 exp(-2 n eps^2).
 * The smallest n giving confidence 1 - alpha is ceil(ln(2/alpha) / (2 eps^2)).
 */
export function dkwSampleCount(alpha: number, epsilon: number): number {
  if (!(alpha > 0 && alpha < 1)) throw new RangeError(`alpha must be in (0, 1), got ${alpha}`);
  if (!(epsilon > 0 && epsilon < 1)) throw new RangeError(`epsilon must be in (0, 1), got ${epsilon}`);
  return Math.ceil(Math.log(2 / alpha) / (2 * epsilon * epsilon));
}

/** The DKW band half-width for n samples at confidence 1 - alpha. */
export function dkwEpsilon(n: number, alpha: number): number {
  if (n <= 0) return 1;
  return Math.sqrt(Math.log(2 / alpha) / (2 * n));
}

/**
 * A (1 - alpha) confidence interval for the q-quantile (0..1) of the
 * distribution behind `sorted`, from the DKW band: [F_n^-1(q - eps), F_n^-1(q + eps)].
 * Ends outside the sample are ±Infinity (too few samples to bound that side).
 */
export function dkwQuantileInterval(sorted: ArrayLike<number>, q: number, alpha: number): [number, number] {
  const n = sorted.length;
  const eps = dkwEpsilon(n, alpha);
  const lo = q - eps;
  const hi = q + eps;
  const at = (p: number): number => sorted[Math.min(n - 1, Math.max(0, Math.ceil(p * n) - 1))]!;
  return [lo <= 0 ? Number.NEGATIVE_INFINITY : at(lo), hi >= 1 ? Number.POSITIVE_INFINITY : at(hi)];
}
