/**
 * What injection writes: route tables by slot (`dscp:12`, `dscp:24` for the
 * AltPath tables, `override` for BGP overrides), each a map from prefix text
 * to the next hop and the route it stands for, and the diff between what an
 * injector has written and what the controller wants (only changes are
 * written).
 */

/** `dscp:<value>` for an AltPath table, `override` for the override table. */
export type TableSlot = string;

export const OVERRIDE_SLOT: TableSlot = 'override';
export const dscpSlot = (dscp: number): TableSlot => `dscp:${dscp}`;

export interface InjectedRoute {
  /** Prefix text ("203.0.113.0/24"). */
  prefix: string;
  family: 4 | 6;
  nextHop: string;
  /** The route it stands for (routeId), for status and the sample join. */
  routeId: string;
}

export type RouteTables = Map<TableSlot, Map<string, InjectedRoute>>;

export interface RouteChange {
  slot: TableSlot;
  op: 'set' | 'delete';
  prefix: string;
  family: 4 | 6;
  /** For 'set'. */
  nextHop?: string;
  /** For 'set'. */
  routeId?: string;
}

/** Changes that turn `written` into `desired` (a route with a new next hop is a set; same next hop, nothing). */
export function diffTables(written: RouteTables, desired: RouteTables): RouteChange[] {
  const out: RouteChange[] = [];
  for (const [slot, want] of desired) {
    const have = written.get(slot);
    for (const [prefix, r] of want) {
      const h = have?.get(prefix);
      if (h && h.nextHop === r.nextHop) continue;
      // a route that is already this change (the controller's table entries are) serves as it: no copy per route
      const c = r as Partial<RouteChange> & InjectedRoute;
      out.push(c.op === 'set' && c.slot === slot && c.prefix === prefix ? (c as RouteChange) : { slot, op: 'set', prefix, family: r.family, nextHop: r.nextHop, routeId: r.routeId });
    }
  }
  for (const [slot, have] of written) {
    const want = desired.get(slot);
    for (const [prefix, h] of have) if (!want?.has(prefix)) out.push({ slot, op: 'delete', prefix, family: h.family });
  }
  return out;
}

/** Apply changes to a table set in place (what an injector does to its record after writing them). */
export function applyChanges(t: RouteTables, changes: readonly RouteChange[]): void {
  for (const c of changes) {
    let m = t.get(c.slot);
    if (c.op === 'set') {
      if (!m) t.set(c.slot, (m = new Map()));
      // a change carries every field of a route: keep the object itself (changes are never modified after)
      m.set(c.prefix, c as RouteChange & InjectedRoute);
    } else m?.delete(c.prefix);
  }
}

export function cloneTables(t: RouteTables): RouteTables {
  return new Map([...t].map(([k, v]) => [k, new Map(v)]));
}

export function countRoutes(t: RouteTables): number {
  let n = 0;
  for (const m of t.values()) n += m.size;
  return n;
}
