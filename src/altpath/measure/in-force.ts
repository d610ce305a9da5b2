/**
 * Which route carried traffic of (prefix, DSCP) at a given time: a timeline
 * per key, appended each injection cycle when the route changes (DSCP 0: the
 * override or BGP's best; an AltPath DSCP: the route injected in its table,
 * or the default route when none was), pruned to the measurement window.
 * Samples are joined with it at their close time.
 */
export class InForceHistory {
  private readonly lines = new Map<string, Array<{ since: number; routeId: string | null }>>();

  private static key(prefix: string, dscp: number): string {
    return `${prefix}#${dscp}`;
  }

  /** Record that from `since` on, `routeId` (null: no route) carries (prefix, dscp). */
  record(prefix: string, dscp: number, routeId: string | null, since: number): void {
    const k = InForceHistory.key(prefix, dscp);
    let l = this.lines.get(k);
    if (!l) this.lines.set(k, (l = []));
    const last = l[l.length - 1];
    if (last && last.routeId === routeId) return;
    l.push({ since, routeId });
  }

  /** The route in force at time t; undefined when nothing was recorded at or before t. */
  at(prefix: string, dscp: number, t: number): string | null | undefined {
    const l = this.lines.get(InForceHistory.key(prefix, dscp));
    if (!l) return undefined;
    for (let i = l.length - 1; i >= 0; i--) if (l[i]!.since <= t) return l[i]!.routeId;
    return undefined;
  }

  /** Forget what ended before `before` (keeping the entry in force at `before`), and keys not touched since. */
  prune(before: number): void {
    for (const [k, l] of this.lines) {
      let i = 0;
      while (i + 1 < l.length && l[i + 1]!.since <= before) i++;
      if (i > 0) l.splice(0, i);
      if (l.length === 1 && l[0]!.routeId === null && l[0]!.since < before) this.lines.delete(k);
    }
  }

  get size(): number {
    return this.lines.size;
  }
}
