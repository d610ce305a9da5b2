/**
 * Which route carried traffic of (prefix, DSCP) at a given time: per prefix a
 * timeline of entries `{since, routes}` where `routes[0]` is the route of
 * default traffic (DSCP 0: an override or BGP's best) and `routes[1 + i]` the
 * route of the i-th AltPath DSCP (the route injected in its table, or the
 * default route when none was). The controller appends an entry when any of
 * them changes and prunes entries older than the measurement window. Samples
 * are joined with it at their close time.
 */
export class InForceHistory {
  private readonly lines = new Map<string, Array<{ since: number; routes: ReadonlyArray<string | null> }>>();
  private readonly slot = new Map<number, number>();

  /** `dscps`: the AltPath DSCP values in table order. */
  constructor(dscps: readonly number[]) {
    this.slot.set(0, 0);
    dscps.forEach((d, i) => this.slot.set(d, i + 1));
  }

  /** From `since` on, default traffic of `prefix` takes routes[0], DSCP i takes routes[1 + i] (null: no route). */
  record(prefix: string, routes: ReadonlyArray<string | null>, since: number): void {
    let l = this.lines.get(prefix);
    if (!l) this.lines.set(prefix, (l = []));
    const last = l[l.length - 1];
    if (last && last.routes.length === routes.length && last.routes.every((r, i) => r === routes[i])) return;
    l.push({ since, routes });
  }

  /** The route in force for (prefix, dscp) at time t; undefined when nothing was recorded at or before t. A DSCP that is not an AltPath value follows the default route. */
  at(prefix: string, dscp: number, t: number): string | null | undefined {
    const l = this.lines.get(prefix);
    if (!l) return undefined;
    const i = this.slot.get(dscp) ?? 0;
    for (let k = l.length - 1; k >= 0; k--) if (l[k]!.since <= t) return l[k]!.routes[i];
    return undefined;
  }

  /** Forget what ended before `before` (keeping the entry in force at `before`). */
  prune(before: number): void {
    for (const l of this.lines.values()) {
      let i = 0;
      while (i + 1 < l.length && l[i + 1]!.since <= before) i++;
      if (i > 0) l.splice(0, i);
    }
  }

  /** Forget a prefix (no longer active): its last entry is older than any sample still accepted. */
  delete(prefix: string): void {
    this.lines.delete(prefix);
  }

  get size(): number {
    return this.lines.size;
  }
}
