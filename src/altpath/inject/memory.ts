/**
 * An injector that only keeps the tables in memory: a dry run (what would be
 * written), the benchmark's injection target, and a stand-in in unit tests.
 */
import type { Logger } from '../../common/logger.js';
import { DiffingInjector } from './injector.js';
import type { RouteChange, RouteTables, TableSlot } from './tables.js';

export class MemoryInjector extends DiffingInjector {
  readonly kind = 'memory';
  /** Every change ever written, when `record` (tests). */
  readonly history: RouteChange[] = [];

  constructor(
    readonly name = 'memory',
    private readonly record = false,
    log?: Logger,
  ) {
    super(log);
  }

  async start(): Promise<void> {}

  async stop(opts: { keep?: boolean } = {}): Promise<void> {
    if (!opts.keep) this.state = new Map();
  }

  protected async write(changes: readonly RouteChange[]): Promise<void> {
    if (this.record) this.history.push(...changes);
  }

  protected async readBack(): Promise<RouteTables> {
    return this.state;
  }

  protected tableNames(): Record<TableSlot, string> {
    return Object.fromEntries([...this.state.keys()].map((k) => [k, k]));
  }
}
