/**
 * Inject into any route-table target with the shape of gateway-sim's
 * PeeringRouter (`setRoute(slot, prefix, nextHop)`, `deleteRoute(slot,
 * prefix)`, `families`). altpath does not import gateway-sim (DESIGN §1); the
 * CLI or a test hands the router in. Prefixes of a family the target does not
 * carry are left out and counted.
 */
import type { Logger } from '../../common/logger.js';
import { DiffingInjector } from './injector.js';
import type { RouteChange, RouteTables, TableSlot } from './tables.js';

export interface RouteTableTarget {
  readonly families: readonly (4 | 6)[];
  setRoute(slot: string, prefix: string, nextHop: string): void;
  deleteRoute(slot: string, prefix: string): void;
}

export class TableTargetInjector extends DiffingInjector {
  readonly kind = 'table-target';

  constructor(
    readonly name: string,
    private readonly target: RouteTableTarget,
    log?: Logger,
  ) {
    super(log);
  }

  async start(): Promise<void> {}

  protected override accepts(r: { family: 4 | 6 }): boolean {
    return this.target.families.includes(r.family);
  }

  protected async write(changes: readonly RouteChange[]): Promise<void> {
    for (const c of changes) {
      if (c.op === 'set') this.target.setRoute(c.slot, c.prefix, c.nextHop!);
      else this.target.deleteRoute(c.slot, c.prefix);
    }
  }

  protected async readBack(): Promise<RouteTables> {
    return this.state;
  }

  protected tableNames(): Record<TableSlot, string> {
    return Object.fromEntries([...this.state.keys()].map((k) => [k, k]));
  }

  async stop(opts: { keep?: boolean } = {}): Promise<void> {
    if (opts.keep) return;
    for (const [slot, m] of this.state) for (const p of m.keys()) this.target.deleteRoute(slot, p);
    this.state = new Map();
  }
}
