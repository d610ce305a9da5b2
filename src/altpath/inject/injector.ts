/**
 * The injector contract and the diffing base every injector shares: the
 * controller hands the full desired tables each cycle; the injector writes
 * only the difference from what it last wrote (read back from the target at
 * start, so a restarted controller resumes instead of rewriting), and on stop
 * removes what it wrote unless told to keep it.
 */
import type { Logger } from '../../common/logger.js';
import { applyChanges, cloneTables, countRoutes, diffTables, type RouteChange, type RouteTables, type TableSlot } from './tables.js';

export interface SyncResult {
  changes: number;
  sets: number;
  deletes: number;
  ms: number;
  /** A write that failed (the injector re-read its target and will retry next cycle). */
  error?: string;
  /** Routes left out because the target cannot hold them (see `accepts`). */
  unsupported?: number;
}

export interface InjectorStatus {
  name: string;
  kind: string;
  routes: number;
  /** slot -> target table name/number. */
  tables: Record<TableSlot, string>;
  last?: SyncResult;
  writes: number;
  errors: number;
}

export interface Injector {
  readonly name: string;
  readonly kind: string;
  /** Set up classification (rules, marks) and read back what the target holds. */
  start(): Promise<void>;
  /** Make the target hold `desired`, writing only the differences from what it holds (a full diff). */
  sync(desired: RouteTables): Promise<SyncResult>;
  /**
   * Write changes computed by the caller against the tables it last handed
   * in (the cheap path each cycle). After a failed write the injector sets
   * `needsSync` and the caller must `sync` the full tables again.
   */
  apply(changes: readonly RouteChange[]): Promise<SyncResult>;
  /** True until the first sync, and after a failed write: the next call must be `sync`. */
  readonly needsSync: boolean;
  /** What the injector believes the target holds. */
  written(): RouteTables;
  /** Remove routes and classification it installed, unless `keep`. Safe twice. */
  stop(opts?: { keep?: boolean }): Promise<void>;
  status(): InjectorStatus;
}

export abstract class DiffingInjector implements Injector {
  abstract readonly name: string;
  abstract readonly kind: string;
  protected state: RouteTables = new Map();
  protected last?: SyncResult;
  protected writes = 0;
  protected errors = 0;
  needsSync = true;

  constructor(protected readonly log?: Logger) {}

  abstract start(): Promise<void>;
  abstract stop(opts?: { keep?: boolean }): Promise<void>;
  /** Write changes to the target; throw when it refused any. */
  protected abstract write(changes: readonly RouteChange[]): Promise<void>;
  /** Re-read the target's tables (after a failed write). */
  protected abstract readBack(): Promise<RouteTables>;
  protected abstract tableNames(): Record<TableSlot, string>;

  /**
   * Whether the target can hold this route (e.g. gateway-sim carries IPv4
   * only; a Linux IPv6 route cannot have an IPv4 next hop). Routes it cannot
   * hold are left out of every write and counted in `unsupported`: the
   * marked traffic of that prefix takes the default route.
   */
  protected accepts(_r: { family: 4 | 6; nextHop?: string }): boolean {
    return true;
  }

  /** Routes left out by the last write because the target cannot hold them. */
  unsupported = 0;

  async sync(desired: RouteTables): Promise<SyncResult> {
    const t0 = performance.now();
    this.needsSync = false;
    return this.write1(diffTables(this.state, desired), t0);
  }

  async apply(changes: readonly RouteChange[]): Promise<SyncResult> {
    return this.write1(changes, performance.now());
  }

  private async write1(all: readonly RouteChange[], t0: number): Promise<SyncResult> {
    const changes = all.filter((c) => c.op === 'delete' || this.accepts(c));
    this.unsupported = all.length - changes.length;
    const sets = changes.filter((c) => c.op === 'set').length;
    let error: string | undefined;
    if (changes.length) {
      try {
        await this.write(changes);
        applyChanges(this.state, changes);
        this.writes += changes.length;
      } catch (e) {
        error = e instanceof Error ? e.message : String(e);
        this.errors++;
        this.needsSync = true;
        this.log?.warn({ injector: this.name, err: error }, 'route injection failed; re-reading the target');
        try {
          this.state = await this.readBack();
        } catch (e2) {
          this.log?.warn({ injector: this.name, err: String(e2) }, 'cannot re-read the target');
        }
      }
    }
    this.last = {
      changes: changes.length,
      sets,
      deletes: changes.length - sets,
      ms: +(performance.now() - t0).toFixed(3),
      ...(this.unsupported ? { unsupported: this.unsupported } : {}),
      ...(error ? { error } : {}),
    };
    return this.last;
  }

  written(): RouteTables {
    return cloneTables(this.state);
  }

  status(): InjectorStatus {
    return { name: this.name, kind: this.kind, routes: countRoutes(this.state), tables: this.tableNames(), ...(this.last ? { last: this.last } : {}), writes: this.writes, errors: this.errors };
  }
}
