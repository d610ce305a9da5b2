/**
 * Which route carried traffic of (prefix, DSCP) at a given time: per prefix a
 * timeline of entries `{since, routes}` where `routes[0]` is the route of
 * default traffic (DSCP 0: an override or BGP's best) and `routes[1 + i]` the
 * route of the i-th AltPath DSCP (the route injected in its table, or the
 * default route when none was). The controller appends an entry when any of
 * them changes and prunes entries older than the measurement window. Samples
 * are joined with it at their close time.
 *
 * Keys and routes are generic: by default prefix text and routeId strings;
 * the controller keys by the RIB's prefix key and records route objects
 * (their ids are made only when a sample joins one), with `same` telling two
 * records of the same route apart from a change.
 */
export class InForceHistory<R = string, K = string> {
  /** Per prefix, flat: since, routes, since, routes, ... (one array per prefix, not an object per entry). */
  private readonly lines = new Map<K, Array<number | ReadonlyArray<R | null>>>();
  private readonly slot = new Map<number, number>();
  private readonly same: (a: R | null, b: R | null) => boolean;

  /** `dscps`: the AltPath DSCP values in table order; `same`: whether two recorded routes are the same route. @default === */
  constructor(dscps: readonly number[], same?: (a: R | null, b: R | null) => boolean) {
    this.slot.set(0, 0);
    dscps.forEach((d, i) => this.slot.set(d, i + 1));
    this.same = same ?? ((a, b) => a === b);
  }

  /** From `since` on, default traffic of `prefix` takes routes[0], DSCP i takes routes[1 + i] (null: no route). */
  record(prefix: K, routes: ReadonlyArray<R | null>, since: number): void {
    const l = this.lines.get(prefix);
    if (!l) {
      this.lines.set(prefix, [since, routes]);
      return;
    }
    const last = l[l.length - 1] as ReadonlyArray<R | null> | undefined;
    if (last && last.length === routes.length && last.every((r, i) => this.same(r, routes[i] ?? null))) return;
    l.push(since, routes);
  }

  /** The route in force for (prefix, dscp) at time t; undefined when nothing was recorded at or before t. A DSCP that is not an AltPath value follows the default route. */
  at(prefix: K, dscp: number, t: number): R | null | undefined {
    const l = this.lines.get(prefix);
    if (!l) return undefined;
    const i = this.slot.get(dscp) ?? 0;
    for (let k = l.length - 2; k >= 0; k -= 2) if ((l[k] as number) <= t) return (l[k + 1] as ReadonlyArray<R | null>)[i];
    return undefined;
  }

  /** Forget what ended before `before` (keeping the entry in force at `before`). */
  prune(before: number): void {
    for (const l of this.lines.values()) {
      let i = 0;
      while (i + 2 < l.length && (l[i + 2] as number) <= before) i += 2;
      if (i > 0) l.splice(0, i);
    }
  }

  /** Forget a prefix (no longer active): its last entry is older than any sample still accepted. */
  delete(prefix: K): void {
    this.lines.delete(prefix);
  }

  get size(): number {
    return this.lines.size;
  }
}
