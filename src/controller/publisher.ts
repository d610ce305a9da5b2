/**
 * Publishes one agent to the fleet store: every interval a heartbeat and the
 * per-peer path summaries (state: only the latest matters), and each failover
 * and port change as an event (history: kept in order, none lost while the
 * buffer has room).
 *
 * The agent never waits on the store: sampling is synchronous and cheap, every
 * store call is asynchronous, a publish still in flight makes the next tick
 * skip, and while the store is unreachable events wait in a bounded buffer
 * (oldest dropped first, counted) and go out, in order, once it answers again.
 *
 * A failover event carries the whole chain: detect (first failed probe ->
 * table write) and write from the agent, then "traffic moved": the data
 * plane's pin-move counter (ps_stats PIN_MOVED) is sampled every 20 ms after
 * the write; `moved_ms` is when it first rose, `flows_moved` how much it rose
 * until 300 ms after that (at most 1 s after the write). The counter is per
 * interface, so failovers of several peers at once share their moves.
 *
 * The source is structural (PublishSource): the CLI hands in the agent's
 * fleetSource() (src/agent/fleet-snapshot.ts); the controller never imports
 * agent code.
 */
import type { Logger } from '../common/logger.js';
import type { Registry } from '../common/metrics.js';
import type { FailoverData, FleetEvent, FleetStore, HostState, PeerSummary, PortData } from './store/index.js';

/** An agent's failover as it happened: the stored FailoverData without the traffic-moved part the publisher adds. */
export type SourceFailover = Omit<FailoverData, 'moved_ms' | 'flows_moved'> & { at: string };

export type SourcePort = PortData & { at: string };

export interface SourceSnapshot {
  iface: string;
  vtep: string;
  process_id: number;
  started_at: string;
  probe_rate_pps: number;
  probes_sent: number;
  responses: number;
  lost: number;
  failovers: number;
  ports_bad: number;
  peers: Array<Omit<PeerSummary, 'updated'>>;
}

/** What a publisher needs from an agent. */
export interface PublishSource {
  snapshot(): SourceSnapshot;
  onFailover(cb: (e: SourceFailover) => void): () => void;
  onPort(cb: (e: SourcePort) => void): () => void;
  /** ps_stats PIN_MOVED now; undefined when unknown. */
  pinMoves?(): number | undefined;
}

export interface PublisherOptions {
  /** Fleet name of this agent (`ps:{host}:...`). */
  host: string;
  /** Roll-up group (leaf/ToR). */
  group: string;
  version: string;
  /** Heartbeat and summaries every this many ms. @default 1000 */
  intervalMs?: number;
  /** Events kept while the store is unreachable; the oldest go first. @default 10000 */
  maxBuffered?: number;
  /** Events per store write. @default 500 */
  batch?: number;
  /** How long after a table write pin moves are counted (ms). @default 1000 */
  moveWindowMs?: number;
  /** Pin-move counter sampling period (ms). @default 20 */
  movePollMs?: number;
  /** Registry for the pathsteer_publish_* series. */
  registry?: Registry;
  log?: Logger;
  /** Wall clock (ms). @default Date.now */
  now?: () => number;
}

export class Publisher {
  private readonly buffer: FleetEvent[] = [];
  private readonly published = new Set<string>();
  private pendingRemoved = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private readonly moveTimers = new Map<NodeJS.Timeout, () => void>();
  private unsub: Array<() => void> = [];
  private inFlight: Promise<void> | undefined;
  private flushQueued = false;
  private failing = false;
  private stopped = false;
  private dropped = 0;
  private readonly now: () => number;
  private readonly intervalMs: number;
  private readonly maxBuffered: number;
  private readonly m;

  constructor(
    readonly store: FleetStore,
    private readonly source: PublishSource,
    private readonly o: PublisherOptions,
  ) {
    this.now = o.now ?? Date.now;
    this.intervalMs = o.intervalMs ?? 1000;
    this.maxBuffered = o.maxBuffered ?? 10_000;
    const r = o.registry;
    this.m = r
      ? {
          connected: r.gauge('pathsteer_publish_connected', '1 while the fleet store takes writes', () => [[undefined, this.store.connected ? 1 : 0]]),
          buffered: r.gauge('pathsteer_publish_events_buffered', 'Events waiting for the fleet store', () => [[undefined, this.buffer.length]]),
          events: r.counter('pathsteer_publish_events_total', 'Events written to the fleet store'),
          dropped: r.counter('pathsteer_publish_events_dropped_total', 'Events dropped because the buffer was full while the store was unreachable'),
          errors: r.counter('pathsteer_publish_errors_total', 'Failed writes to the fleet store'),
          duration: r.histogram('pathsteer_publish_duration_seconds', 'One publish round (heartbeat, summaries, events)'),
        }
      : undefined;
  }

  start(): void {
    this.unsub.push(this.source.onFailover((e) => this.onFailover(e)));
    this.unsub.push(this.source.onPort((e) => this.enqueue({ type: 'port', host: this.o.host, at: Date.parse(e.at) || this.now(), data: { peer: e.peer, port: e.port, idx: e.idx, healthy: e.healthy, reason: e.reason } })));
    this.timer = setInterval(() => void this.tick(), this.intervalMs);
    this.timer.unref?.();
    void this.tick();
  }

  /** Events waiting for the store. */
  get bufferedEvents(): number {
    return this.buffer.length;
  }

  get droppedEvents(): number {
    return this.dropped;
  }

  private enqueue(e: FleetEvent): void {
    this.buffer.push(e);
    if (this.buffer.length > this.maxBuffered) {
      const n = this.buffer.length - this.maxBuffered;
      this.buffer.splice(0, n);
      this.dropped += n;
      this.m?.dropped.inc(undefined, n);
    }
    this.flushSoon();
  }

  /** Events go out without waiting for the next heartbeat. */
  private flushSoon(): void {
    if (this.flushQueued || this.stopped) return;
    this.flushQueued = true;
    setImmediate(() => {
      this.flushQueued = false;
      if (!this.inFlight && this.store.connected) void this.run(false);
    });
  }

  private onFailover(e: SourceFailover): void {
    const writeAt = Date.parse(e.at) || this.now();
    const base = this.source.pinMoves?.();
    const data: FailoverData = {
      peer: e.peer,
      ports_down: e.ports_down,
      ports_up: e.ports_up,
      healthy_before: e.healthy_before,
      healthy_after: e.healthy_after,
      nports: e.nports,
      detect_ms: e.detect_ms,
      write_ms: e.write_ms,
      moved_ms: null,
      flows_moved: 0,
    };
    const emit = (): void => this.enqueue({ type: 'failover', host: this.o.host, at: writeAt, data });
    if (base === undefined || this.stopped) {
      emit();
      return;
    }
    const window = this.o.moveWindowMs ?? 1000;
    const poll = this.o.movePollMs ?? 20;
    const t0 = performance.now();
    let firstAt: number | undefined;
    const t = setInterval(() => {
      const v = this.source.pinMoves?.();
      const el = performance.now() - t0;
      if (v !== undefined && v > base) {
        if (firstAt === undefined) {
          firstAt = el;
          data.moved_ms = Math.round(el);
        }
        data.flows_moved = v - base;
      }
      if (el >= window || (firstAt !== undefined && el - firstAt >= 300) || v === undefined) {
        clearInterval(t);
        this.moveTimers.delete(t);
        emit();
      }
    }, poll);
    this.moveTimers.set(t, emit);
  }

  private tick(): Promise<void> {
    if (this.stopped || this.inFlight) return Promise.resolve();
    return this.run(true);
  }

  private run(withState: boolean): Promise<void> {
    const p = this.publish(withState).finally(() => {
      this.inFlight = undefined;
    });
    this.inFlight = p;
    return p;
  }

  private async publish(withState: boolean): Promise<void> {
    if (!this.store.connected) {
      this.markFailing('not connected');
      return;
    }
    const t0 = performance.now();
    try {
      if (withState) await this.publishState();
      await this.flushEvents();
      if (this.failing) {
        this.failing = false;
        this.o.log?.info({ redis: this.store.target, dropped: this.dropped }, 'fleet store reachable again: state and buffered events published');
      }
      this.m?.duration.observe((performance.now() - t0) / 1000);
    } catch (e) {
      this.m?.errors.inc();
      this.markFailing((e as Error).message);
    }
  }

  private markFailing(why: string): void {
    if (this.failing) return;
    this.failing = true;
    this.o.log?.warn({ redis: this.store.target, err: why, buffered: this.buffer.length }, 'cannot publish to the fleet store: buffering events, retrying');
  }

  private async publishState(): Promise<void> {
    let snap: SourceSnapshot;
    try {
      snap = this.source.snapshot();
    } catch (e) {
      this.o.log?.debug({ err: (e as Error).message }, 'cannot sample the agent');
      return;
    }
    const now = this.now();
    const state: HostState = {
      host: this.o.host,
      group: this.o.group,
      vtep: snap.vtep,
      iface: snap.iface,
      version: this.o.version,
      process_id: snap.process_id,
      started_at: snap.started_at,
      last_seen: now,
      interval_ms: this.intervalMs,
      probe_rate_pps: snap.probe_rate_pps,
      probes_sent: snap.probes_sent,
      responses: snap.responses,
      lost: snap.lost,
      failovers: snap.failovers,
      peers: snap.peers.length,
      ports_bad: snap.ports_bad,
      buffered: this.buffer.length,
      dropped: this.dropped,
    };
    const current = new Set(snap.peers.map((p) => p.peer));
    for (const p of this.published) if (!current.has(p)) this.pendingRemoved.add(p);
    for (const p of current) this.pendingRemoved.delete(p);
    const removed = [...this.pendingRemoved];
    await this.store.publishHost(
      state,
      snap.peers.map((p) => ({ ...p, updated: now })),
      removed,
    );
    this.pendingRemoved = new Set();
    this.published.clear();
    for (const p of current) this.published.add(p);
  }

  private async flushEvents(): Promise<void> {
    const batch = this.o.batch ?? 500;
    while (this.buffer.length > 0) {
      const n = Math.min(batch, this.buffer.length);
      const chunk = this.buffer.slice(0, n);
      await this.store.addEvents(chunk);
      // written: only now leave the buffer (a failed write keeps them, in order)
      this.buffer.splice(0, n);
      this.m?.events.inc(undefined, n);
    }
  }

  /** Stop sampling; one last attempt (at most `graceMs`) to publish state and buffered events. */
  async stop(graceMs = 1000): Promise<void> {
    if (this.stopped) return;
    if (this.timer) clearInterval(this.timer);
    for (const u of this.unsub) u();
    this.unsub = [];
    // failovers still counting their moves go out as they are
    for (const [t, emit] of this.moveTimers) {
      clearInterval(t);
      emit();
    }
    this.moveTimers.clear();
    const last = (async () => {
      if (this.inFlight) await this.inFlight;
      if (this.store.connected) await this.run(true);
    })();
    this.stopped = true;
    await Promise.race([last, new Promise((r) => setTimeout(r, graceMs).unref())]);
    if (this.buffer.length > 0) this.o.log?.warn({ lost: this.buffer.length }, 'stopped with events the fleet store never received');
  }
}
