/**
 * Publishes an AltPath controller to the fleet store: every interval (and
 * right after each of its cycles) the route table per active prefix (BGP
 * best, the alternate in each DSCP table, the override) with measurements,
 * and the overrides in force: a new one as `putAltPathOverride` (it also
 * lands on the fleet timeline as an `altpath-override` event), one that
 * ended cleared. Reports are bounded by the source (a number of prefixes).
 *
 * The AltPath controller never waits on the store: the source is sampled
 * synchronously, every store call is asynchronous and fails at once while
 * Redis is unreachable (no offline queue), a publish in flight makes the next
 * one skip, and the client reconnects by itself; the next publish after that
 * writes the whole current state (routes are replaced as a whole; overrides
 * are checked against what the store holds: missing ones written, ended ones
 * cleared, kept ones not repeated on the timeline), so nothing needs buffering.
 *
 * The source is structural (AltPathSource): the CLI hands in the AltPath
 * controller's fleetReport (src/altpath/controller/fleet-report.ts); this
 * module never imports AltPath code.
 */
import type { Logger } from '../common/logger.js';
import type { AltPathMeta, AltPathOverride, AltPathRoute, FleetStore } from './store/index.js';

export interface AltPathSnapshot {
  routes: AltPathRoute[];
  overrides: AltPathOverride[];
  meta: AltPathMeta;
}

export interface AltPathSource {
  /** The current state (bounded). */
  snapshot(): AltPathSnapshot;
  /** Called after every decision cycle (publish then, not at the next interval); returns an unsubscribe. */
  onCycle?(cb: () => void): () => void;
}

export interface AltPathPublisherOptions {
  /** Name on the dashboard (`ps:altpath:hb` reporter). */
  reporter: string;
  /** Publish every this many ms. @default 5000 */
  intervalMs?: number;
  log?: Logger;
  /** Wall clock (ms). @default Date.now */
  now?: () => number;
}

export class AltPathPublisher {
  private timer: NodeJS.Timeout | undefined;
  private unsub: (() => void) | undefined;
  private inFlight: Promise<void> | undefined;
  private again = false;
  private stopped = false;
  private failing = false;
  /** Overrides as last written: prefix -> `route_id@at`. */
  private written = new Map<string, string>();
  /** Whether `written` was checked against the store (at start and after every failure). */
  private verified = false;
  private readonly now: () => number;
  readonly counters = { publishes: 0, overrides_written: 0, overrides_cleared: 0, errors: 0, skipped: 0 };

  constructor(
    readonly store: FleetStore,
    private readonly source: AltPathSource,
    private readonly o: AltPathPublisherOptions,
  ) {
    this.now = o.now ?? Date.now;
  }

  get intervalMs(): number {
    return this.o.intervalMs ?? 5000;
  }

  start(): void {
    this.timer = setInterval(() => void this.publishNow(), this.intervalMs);
    this.timer.unref?.();
    this.unsub = this.source.onCycle?.(() => void this.publishNow());
    void this.publishNow();
  }

  /** Publish the current state now (a publish in flight: once more right after it). */
  publishNow(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    if (this.inFlight) {
      this.again = true;
      return this.inFlight;
    }
    const p = this.publish().finally(() => {
      this.inFlight = undefined;
      if (this.again && !this.stopped) {
        this.again = false;
        void this.publishNow();
      }
    });
    this.inFlight = p;
    return p;
  }

  private async publish(): Promise<void> {
    if (!this.store.connected) {
      this.counters.skipped++;
      this.markFailing('not connected');
      return;
    }
    let snap: AltPathSnapshot;
    try {
      snap = this.source.snapshot();
    } catch (e) {
      this.o.log?.debug({ err: (e as Error).message }, 'cannot sample the AltPath controller');
      return;
    }
    try {
      // routes first: a dashboard woken by the override's event then finds the route table that goes with it
      await this.store.putAltPathRoutes(this.o.reporter, snap.routes, this.now(), snap.meta);
      const key = (x: AltPathOverride): string => `${x.route_id ?? x.next_hop}@${x.at}`;
      const now = new Map(snap.overrides.map((x) => [x.prefix, x]));
      if (!this.verified) {
        // at start and after trouble, from what the store holds: overrides an
        // earlier run left behind are cleared, ours that it lost (a restarted
        // Redis) are written again, ours that it kept are not repeated
        const stored = (await this.store.altPath()).overrides;
        const have = new Map(stored.map((x) => [x.prefix, key(x)]));
        for (const x of stored) if (!now.has(x.prefix)) await this.store.clearAltPathOverride(x.prefix);
        this.written = new Map([...now].filter(([p, x]) => have.get(p) === key(x)).map(([p, x]) => [p, key(x)]));
        this.verified = true;
      }
      for (const [prefix, x] of now) {
        if (this.written.get(prefix) === key(x)) continue;
        await this.store.putAltPathOverride(this.o.reporter, x);
        this.written.set(prefix, key(x));
        this.counters.overrides_written++;
      }
      for (const prefix of [...this.written.keys()]) {
        if (now.has(prefix)) continue;
        await this.store.clearAltPathOverride(prefix);
        this.written.delete(prefix);
        this.counters.overrides_cleared++;
      }
      this.counters.publishes++;
      if (this.failing) {
        this.failing = false;
        this.o.log?.info({ redis: this.store.target }, 'fleet store reachable again: AltPath state published');
      }
    } catch (e) {
      this.counters.errors++;
      this.markFailing((e as Error).message);
    }
  }

  private markFailing(why: string): void {
    this.verified = false;
    if (this.failing) return;
    this.failing = true;
    this.o.log?.warn({ redis: this.store.target, err: why }, 'cannot publish AltPath state to the fleet store; retrying');
  }

  /** Stop; one last publish (at most `graceMs`). */
  async stop(graceMs = 1000): Promise<void> {
    if (this.stopped) return;
    if (this.timer) clearInterval(this.timer);
    this.unsub?.();
    const last = (async () => {
      await this.inFlight;
      if (this.store.connected) await this.publish();
    })();
    this.stopped = true;
    await Promise.race([last, new Promise((r) => setTimeout(r, graceMs).unref())]);
  }
}
