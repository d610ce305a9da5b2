/**
 * Inject into any route-table target with the shape of gateway-sim's
 * PeeringRouter (`setRoute(slot, prefix, nextHop)`, `deleteRoute(slot,
 * prefix)`, `families`). altpath does not import gateway-sim (DESIGN §1); the
 * CLI or a test hands the router in. Prefixes of a family the target does not
 * carry are left out and counted.
 */
import type { Logger } from '../../common/logger.js';
import { DiffingInjector, type SyncResult } from './injector.js';
import type { RouteChange, RouteTables, TableSlot } from './tables.js';

export interface RouteTableTarget {
  readonly families: readonly (4 | 6)[];
  setRoute(slot: string, prefix: string, nextHop: string): void;
  deleteRoute(slot: string, prefix: string): void;
}

export class TableTargetInjector extends DiffingInjector {
  readonly kind = 'table-target';
  /** Routes of the last sync left out because the target does not carry their family. */
  unsupported = 0;

  constructor(
    readonly name: string,
    private readonly target: RouteTableTarget,
    log?: Logger,
  ) {
    super(log);
  }

  async start(): Promise<void> {}

  override async apply(changes: readonly RouteChange[]): Promise<SyncResult> {
    const fams = new Set(this.target.families);
    const keep = changes.filter((c) => fams.has(c.family));
    this.unsupported = changes.length - keep.length;
    return super.apply(keep);
  }

  override async sync(desired: RouteTables): Promise<SyncResult> {
    const fams = new Set(this.target.families);
    this.unsupported = 0;
    const filtered: RouteTables = new Map();
    for (const [slot, m] of desired) {
      const f = new Map([...m].filter(([, r]) => fams.has(r.family)));
      this.unsupported += m.size - f.size;
      filtered.set(slot, f);
    }
    return super.sync(filtered);
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
