/**
 * An event-driven fluid simulator of long flows, written independently of
 * src/ranker as the oracle for the epoch estimator (SWARM Alg. 1): rates are
 * recomputed with an exact max-min fair allocation (each flow capped by its
 * own rate limit) at every arrival and every departure, and between events
 * every flow sends at its rate. Plain arrays and objects, no shared code.
 */

export interface FluidFlow {
  /** Start time, seconds. */
  start: number;
  /** Size, bits. */
  bits: number;
  /** Rate cap, bits/s (Infinity = none). */
  cap: number;
  /** Link indices the flow crosses. */
  path: number[];
}

/** Exact max-min fair rates by progressive filling (plain JS, O(levels x flows x path)). */
export function maxMinFair(capacity: number[], flows: Array<{ path: number[]; cap: number }>): number[] {
  const rate = flows.map(() => 0);
  const frozen = flows.map(() => false);
  const left = capacity.slice();
  let remaining = flows.length;
  while (remaining > 0) {
    // Count unfrozen flows per link.
    const users = new Map<number, number>();
    flows.forEach((f, i) => {
      if (frozen[i]) return;
      for (const l of f.path) users.set(l, (users.get(l) ?? 0) + 1);
    });
    // The smallest increment that saturates a link or reaches a cap.
    let inc = Infinity;
    for (const [l, n] of users) inc = Math.min(inc, left[l]! / n);
    flows.forEach((f, i) => {
      if (!frozen[i]) inc = Math.min(inc, f.cap - rate[i]!);
    });
    inc = Math.max(0, inc);
    flows.forEach((f, i) => {
      if (frozen[i]) return;
      rate[i]! += inc;
      for (const l of f.path) left[l]! -= inc;
    });
    // Freeze flows at a cap or on a saturated link.
    flows.forEach((f, i) => {
      if (frozen[i]) return;
      const atCap = rate[i]! >= f.cap * (1 - 1e-12);
      const onFull = f.path.some((l) => left[l]! <= 1e-9 * capacity[l]!);
      if (atCap || onFull) {
        frozen[i] = true;
        remaining--;
      }
    });
  }
  return rate;
}

/** Completion time of every flow (Infinity if it can never finish). */
export function simulateFluid(capacity: number[], flows: FluidFlow[], horizon = Infinity): number[] {
  const order = flows.map((_, i) => i).sort((a, b) => flows[a]!.start - flows[b]!.start);
  const finish = flows.map(() => Infinity);
  const rem = flows.map((f) => f.bits);
  let active: number[] = [];
  let next = 0;
  let t = 0;
  while (next < order.length || active.length > 0) {
    if (active.length === 0) t = Math.max(t, flows[order[next]!]!.start);
    while (next < order.length && flows[order[next]!]!.start <= t) active.push(order[next++]!);
    const rates = maxMinFair(
      capacity,
      active.map((i) => ({ path: flows[i]!.path, cap: flows[i]!.cap })),
    );
    // Next event: the earliest departure or arrival.
    let dt = Infinity;
    active.forEach((i, j) => {
      if (rates[j]! > 0) dt = Math.min(dt, rem[i]! / rates[j]!);
    });
    if (next < order.length) dt = Math.min(dt, flows[order[next]!]!.start - t);
    if (!Number.isFinite(dt) || t + dt > horizon) break;
    t += dt;
    const still: number[] = [];
    active.forEach((i, j) => {
      rem[i]! -= rates[j]! * dt;
      if (rem[i]! <= 1e-6 * flows[i]!.bits) finish[i] = t;
      else still.push(i);
    });
    active = still;
  }
  return finish;
}
