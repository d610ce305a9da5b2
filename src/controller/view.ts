/**
 * The controller's view of the fleet: polls the store (heartbeat index, host
 * states, path summaries) once per interval, judges every host-peer pair
 * against its RTT baseline, and keeps ready-to-serve answers (fleet tiles, the
 * peer-pair matrix rolled up by group when large, worst pairs, hosts) so an
 * API request never waits on Redis or on a fleet-sized computation. Work is
 * cut into slices that yield to the event loop, so requests are served while
 * a poll of thousands of hosts is under way. Fleet events (the timeline) come
 * from the store's fleet stream through one pump (XREAD BLOCK) that also feeds
 * the SSE clients.
 */
import { EventEmitter } from 'node:events';
import { setImmediate as yieldLoop } from 'node:timers/promises';
import type { Logger } from '../common/logger.js';
import { PairSlots, popcountHex } from './pair-slots.js';
import type { FleetStore, HostSnapshot, PeerSummary, StoredEvent } from './store/index.js';

/** Pair status, worst last (the matrix colours by it; a rolled-up cell shows its worst pair). */
export const STATUS = ['none', 'ok', 'pending', 'warn', 'stale', 'bad', 'down'] as const;
export type PairStatus = (typeof STATUS)[number];
const RANK: Record<PairStatus, number> = { none: 0, ok: 1, pending: 2, warn: 3, stale: 4, bad: 5, down: 6 };

export interface ViewOptions {
  /** Poll the store every this many ms. @default 1000 */
  pollMs?: number;
  /** A host whose last report is older than this is stale (ms). @default 5000 */
  staleAfterMs?: number;
  /** Above this many hosts the matrix rolls up by group. @default 64 */
  maxMatrixHosts?: number;
  /** Probe loss at which a pair is bad (warn at a tenth of it). @default 0.05 */
  badLoss?: number;
  /** RTT p50 above baseline x this is warn... @default 1.5 */
  rttFactor?: number;
  /** ...when it is also this much above the baseline (ms): sub-ms jitter is no news. @default 2 */
  rttFloorMs?: number;
  /** Points kept per pair series (one per poll). @default 120 */
  pairPoints?: number;
  /** Points kept in the fleet series. @default 600 */
  fleetPoints?: number;
  /** Fleet events kept in memory for tiles and the timeline. @default 10000 */
  eventCache?: number;
  /** At most this share of the time goes to polling (the rest waits between polls). @default 0.5 */
  pollShare?: number;
  /** Hosts judged per slice before yielding to requests. @default 50 */
  slice?: number;
  log?: Logger;
  /** Wall clock (ms). @default Date.now */
  now?: () => number;
}

export interface PairView {
  src: string;
  src_group: string;
  /** The peer's host name when it reports too, else its VTEP. */
  dst: string;
  dst_vtep: string;
  dst_group: string;
  status: PairStatus;
  loss: number;
  rtt_p50_ms: number | null;
  rtt_p99_ms: number | null;
  baseline_ms: number | null;
  healthy: number;
  nports: number;
  bad: number;
  age_ms: number;
}

export interface HostView {
  host: string;
  group: string;
  vtep: string;
  iface: string;
  version: string;
  last_seen: number;
  age_ms: number;
  stale: boolean;
  peers: number;
  ports_bad: number;
  probe_rate_pps: number;
  failovers: number;
  buffered: number;
  dropped: number;
}

export interface Snapshot {
  generated_at: number;
  poll_ms: number;
  store: { kind: string; target: string; ok: boolean; error: string | null };
  hosts: HostView[];
  pairs: PairView[];
}

/** Ready-made JSON bodies, rebuilt after every poll. */
interface Bodies {
  fleet: string;
  hosts: string;
  worst: string;
  matrix: Map<string, string>;
}

export class FleetView implements FleetViewApi {
  readonly pollIn: 'thread' | 'worker' = 'thread';
  readonly events = new EventEmitter<{ tick: [FleetTiles]; event: [StoredEvent] }>();
  /** After every poll, `true` when it read the store (the poll worker posts its state on it). */
  readonly polled = new EventEmitter<{ polled: [boolean] }>();
  private snap: Snapshot;
  private bodies: Bodies | undefined;
  private readonly slots: PairSlots;
  private pollGen = 0;
  /** Times of the pair series ring, and the write position. */
  private readonly seriesT: Float64Array;
  private seriesPos = 0;
  private seriesLen = 0;
  private readonly fleetSeries: Array<{ t: number; probe_rate: number; loss: number; fresh: number; bad_pairs: number }> = [];
  private readonly eventCache: StoredEvent[] = [];
  /** The series slot of every pair of the snapshot (same order). */
  private snapSlots: number[] = [];
  /** Slots first assigned in the poll that made the snapshot. */
  private snapFresh: number[] = [];
  private lastEventId = '0-0';
  private pollTimer: NodeJS.Timeout | undefined;
  private running = false;
  private polling: Promise<void> | undefined;
  private pumping: Promise<void> | undefined;
  private lastPollMs = 0;
  private pollError: string | null = null;
  private readonly o: Required<Omit<ViewOptions, 'log' | 'now'>>;
  private readonly now: () => number;

  constructor(
    readonly store: FleetStore,
    opts: ViewOptions = {},
  ) {
    this.o = {
      pollMs: opts.pollMs ?? 1000,
      staleAfterMs: opts.staleAfterMs ?? 5000,
      maxMatrixHosts: opts.maxMatrixHosts ?? 64,
      badLoss: opts.badLoss ?? 0.05,
      rttFactor: opts.rttFactor ?? 1.5,
      rttFloorMs: opts.rttFloorMs ?? 2,
      pairPoints: opts.pairPoints ?? 120,
      fleetPoints: opts.fleetPoints ?? 600,
      eventCache: opts.eventCache ?? 10_000,
      slice: opts.slice ?? 50,
      pollShare: Math.min(0.95, Math.max(0.05, opts.pollShare ?? 0.5)),
    };
    this.now = opts.now ?? Date.now;
    this.seriesT = new Float64Array(this.o.pairPoints);
    this.slots = new PairSlots(this.o.pairPoints);
    this.snap = { generated_at: 0, poll_ms: 0, store: { kind: store.kind, target: store.target, ok: false, error: 'not polled yet' }, hosts: [], pairs: [] };
    this.events.setMaxListeners(0);
    this.log = opts.log;
  }

  private readonly log: Logger | undefined;

  get options(): Readonly<Required<Omit<ViewOptions, 'log' | 'now'>>> {
    return this.o;
  }

  /** Load recent events, then poll (first poll in the background) and pump events. */
  async start(): Promise<void> {
    this.running = true;
    try {
      const recent = await this.store.recentEvents(Math.min(this.o.eventCache, 2000));
      for (const e of recent) this.cacheEvent(e);
      this.lastEventId = recent.at(-1)?.id ?? (await this.store.lastEventId());
    } catch (e) {
      this.log?.warn({ err: (e as Error).message }, 'cannot read the fleet timeline yet');
    }
    // the first poll runs in the background: a large fleet must not hold up listening
    this.polling = this.pollOnce().finally(() => this.schedule());
    this.pumping = this.pump();
  }

  /** Resolves after the first poll finished (tests, tools). */
  async firstPoll(): Promise<void> {
    while (this.snap.generated_at === 0 && this.running) {
      await this.polling?.catch(() => undefined);
      if (this.snap.generated_at === 0) await new Promise((r) => setTimeout(r, 50));
    }
  }

  async stop(): Promise<void> {
    this.running = false;
    if (this.pollTimer) clearTimeout(this.pollTimer);
    await this.polling?.catch(() => undefined);
    // a blocked XREAD ends when the store closes; do not wait out its block time
    await Promise.race([this.pumping?.catch(() => undefined), new Promise((r) => setTimeout(r, 100))]);
  }

  /**
   * Next poll after pollMs, or later when polls are expensive: at most
   * pollShare of the time goes to polling (on the serving thread half, the
   * rest to serving).
   */
  private schedule(): void {
    if (!this.running) return;
    const share = this.o.pollShare;
    const wait = Math.max(this.o.pollMs - this.lastPollMs, (this.lastPollMs * (1 - share)) / share);
    this.pollTimer = setTimeout(() => {
      this.polling = this.pollOnce().finally(() => this.schedule());
    }, wait);
  }

  /** Read every host and rebuild the snapshot and the answers. */
  async pollOnce(): Promise<void> {
    const t0 = performance.now();
    // ages are measured from when the read began: decoding a large fleet takes
    // a while, and that time must not count against the hosts' reports
    const now = this.now();
    let hosts: HostSnapshot[];
    try {
      hosts = await this.store.hosts();
      if (this.pollError) this.log?.info({ store: this.store.target }, 'fleet store readable again');
      this.pollError = null;
    } catch (e) {
      const msg = (e as Error).message;
      if (this.pollError !== msg) this.log?.warn({ store: this.store.target, err: msg }, 'cannot poll the fleet store; serving the last snapshot as stale');
      this.pollError = msg;
      this.snap = { ...this.snap, store: { ...this.snap.store, ok: false, error: msg } };
      this.bodies = undefined;
      this.polled.emit('polled', false);
      return;
    }
    const byVtep = new Map<string, HostSnapshot>();
    for (const h of hosts) if (h.state) byVtep.set(h.state.vtep, h);
    const hostViews: HostView[] = [];
    const pairs: PairView[] = [];
    const pairSlots: number[] = [];
    // series ring: one slot per poll, shared by every pair
    const pos = this.seriesPos;
    this.seriesT[pos] = now;
    this.seriesPos = (pos + 1) % this.o.pairPoints;
    this.seriesLen = Math.min(this.seriesLen + 1, this.o.pairPoints);
    const g = ++this.pollGen;
    for (let i = 0; i < hosts.length; i++) {
      if (i > 0 && i % this.o.slice === 0) await yieldLoop();
      const h = hosts[i]!;
      const st = h.state;
      const lastSeen = st?.last_seen ?? h.last_seen;
      const age = Math.max(0, now - lastSeen);
      const stale = isStale(age, st?.interval_ms, this.o.staleAfterMs);
      const group = st?.group ?? 'unknown';
      hostViews.push({
        host: h.host,
        group,
        vtep: st?.vtep ?? '',
        iface: st?.iface ?? '',
        version: st?.version ?? '',
        last_seen: lastSeen,
        age_ms: age,
        stale,
        peers: h.peers.length,
        ports_bad: st?.ports_bad ?? 0,
        probe_rate_pps: st?.probe_rate_pps ?? 0,
        failovers: st?.failovers ?? 0,
        buffered: st?.buffered ?? 0,
        dropped: st?.dropped ?? 0,
      });
      for (const p of h.peers) {
        const dstHost = byVtep.get(p.peer);
        const slot = this.slots.slot(h.host, p.peer, g);
        pairs.push(this.judge(h.host, group, p, dstHost, slot, stale, now));
        pairSlots.push(slot);
        this.record(slot, p, pos);
      }
    }
    // forget pairs that vanished
    this.slots.sweep(g);
    await yieldLoop();
    hostViews.sort((a, b) => a.group.localeCompare(b.group) || a.host.localeCompare(b.host));
    this.lastPollMs = performance.now() - t0;
    // the next snapshot and its answers are made in slices, then swapped in together
    const next: Snapshot = {
      generated_at: now,
      poll_ms: Math.round(this.lastPollMs * 10) / 10,
      store: { kind: this.store.kind, target: this.store.target, ok: true, error: null },
      hosts: hostViews,
      pairs,
    };
    const tiles = this.tilesOf(next);
    await yieldLoop();
    const worst = this.worstOf(next.pairs, 100);
    await yieldLoop();
    const bodies = this.buildBodies(tiles, next, worst);
    this.snap = next;
    this.snapSlots = pairSlots;
    this.snapFresh = this.slots.drainFresh();
    this.bodies = bodies;
    this.fleetSeries.push({ t: now, probe_rate: tiles.probe_rate_pps, loss: tiles.loss, fresh: tiles.agents_fresh, bad_pairs: tiles.pairs_bad });
    if (this.fleetSeries.length > this.o.fleetPoints) this.fleetSeries.shift();
    this.events.emit('tick', tiles);
    this.polled.emit('polled', true);
  }

  private judge(src: string, srcGroup: string, p: PeerSummary, dst: HostSnapshot | undefined, slot: number, stale: boolean, now: number): PairView {
    const healthy = popcountHex(p.healthy);
    // leaky minimum: follows drops at once, rises ~0.1% per poll
    const b = this.slots.baseline[slot]!;
    let base: number | undefined = Number.isNaN(b) ? undefined : b;
    if (p.rtt_p50_ms !== null && p.rtt_p50_ms > 0) {
      base = base === undefined ? p.rtt_p50_ms : Math.min(p.rtt_p50_ms, base * 1.001);
      this.slots.baseline[slot] = base;
    }
    let status: PairStatus;
    if (stale) status = 'stale';
    else if (p.state !== 'probing' || p.unknown >= p.nports) status = 'pending';
    else if (healthy === 0) status = 'down';
    else if (p.bad.length > 0 || p.loss >= this.o.badLoss) status = 'bad';
    else if (
      p.loss >= this.o.badLoss / 10 ||
      (base !== undefined && p.rtt_p50_ms !== null && p.rtt_p50_ms > base * this.o.rttFactor && p.rtt_p50_ms - base > this.o.rttFloorMs)
    )
      status = 'warn';
    else status = 'ok';
    return {
      src,
      src_group: srcGroup,
      dst: dst?.host ?? p.peer,
      dst_vtep: p.peer,
      dst_group: dst?.state?.group ?? `${p.peer.split('.').slice(0, 3).join('.')}.0/24`,
      status,
      loss: p.loss,
      rtt_p50_ms: p.rtt_p50_ms,
      rtt_p99_ms: p.rtt_p99_ms,
      baseline_ms: base === undefined ? null : Math.round(base * 1000) / 1000,
      healthy,
      nports: p.nports,
      bad: p.bad.length,
      age_ms: Math.max(0, now - p.updated),
    };
  }

  private record(slot: number, p: PeerSummary, pos: number): void {
    const k = slot * this.o.pairPoints + pos;
    this.slots.p50[k] = p.rtt_p50_ms ?? Number.NaN;
    this.slots.p99[k] = p.rtt_p99_ms ?? Number.NaN;
    this.slots.loss[k] = p.loss;
  }

  /** Event pump: the fleet stream, in order, into the cache and to listeners (SSE). */
  private async pump(): Promise<void> {
    let failing = false;
    while (this.running) {
      try {
        const evs = await this.store.waitEvents(this.lastEventId, 500, 2000);
        failing = false;
        for (const e of evs) {
          this.lastEventId = e.id;
          this.cacheEvent(e);
          this.events.emit('event', e);
        }
      } catch (e) {
        if (!this.running) break;
        if (!failing) this.log?.warn({ err: (e as Error).message }, 'cannot read fleet events; retrying');
        failing = true;
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  }

  private cacheEvent(e: StoredEvent): void {
    this.eventCache.push(e);
    if (this.eventCache.length > this.o.eventCache) this.eventCache.splice(0, this.eventCache.length - this.o.eventCache);
  }

  get generatedAt(): number {
    return this.snap.generated_at;
  }

  /** Newest fleet event id the pump has seen. */
  get lastSeenEventId(): string {
    return this.lastEventId;
  }

  get snapshot(): Snapshot {
    return this.snap;
  }

  stats(): ViewStats {
    const by: Record<string, number> = {};
    for (const p of this.snap.pairs) by[p.status] = (by[p.status] ?? 0) + 1;
    return { generated_at: this.snap.generated_at, poll_ms: this.snap.poll_ms, store_ok: this.snap.store.ok, pairs_by_status: by };
  }

  tiles(): FleetTiles {
    return this.tilesOf(this.snap);
  }

  private tilesOf(s: Snapshot): FleetTiles {
    const now = this.now();
    let fresh = 0;
    let rate = 0;
    for (const h of s.hosts) {
      if (h.stale) continue;
      fresh++;
      rate += h.probe_rate_pps;
    }
    // mean probe loss over the pairs of fresh hosts (each summary covers one interval)
    const staleHosts = new Set(s.hosts.filter((h) => h.stale).map((h) => h.host));
    let pairsFresh = 0;
    let lost = 0;
    let bad = 0;
    for (const p of s.pairs) {
      if (p.status === 'bad' || p.status === 'down') bad++;
      if (staleHosts.has(p.src)) continue;
      pairsFresh++;
      lost += p.loss;
    }
    const hourAgo = now - 3600_000;
    let failovers = 0;
    for (let i = this.eventCache.length - 1; i >= 0; i--) {
      const e = this.eventCache[i]!;
      if (e.at < hourAgo) break;
      if (e.type === 'failover') failovers++;
    }
    return {
      generated_at: s.generated_at,
      age_ms: s.generated_at ? Math.max(0, now - s.generated_at) : null,
      store_ok: s.store.ok,
      store_error: s.store.error,
      agents: s.hosts.length,
      agents_fresh: fresh,
      agents_stale: s.hosts.length - fresh,
      probe_rate_pps: Math.round(rate),
      loss: pairsFresh > 0 ? Math.round((lost / pairsFresh) * 1e5) / 1e5 : 0,
      failovers_1h: failovers,
      pairs: s.pairs.length,
      pairs_bad: bad,
      poll_ms: s.poll_ms,
      stale_after_ms: this.o.staleAfterMs,
    };
  }

  private buildBodies(tiles: FleetTiles, s = this.snap, worst = this.worstOf(s.pairs, 100)): Bodies {
    const meta = { generated_at: s.generated_at, stale_after_ms: this.o.staleAfterMs };
    return {
      fleet: JSON.stringify({ ...tiles, store: s.store }),
      hosts: JSON.stringify({ ...meta, hosts: s.hosts }),
      worst: JSON.stringify({ ...meta, pairs: worst }),
      matrix: new Map(),
    };
  }

  /** JSON bodies for the cached endpoints (recomputed when the store could not be read). */
  body(kind: 'fleet' | 'hosts' | 'worst'): string {
    if (!this.bodies) this.bodies = this.buildBodies(this.tiles());
    return this.bodies[kind];
  }

  matrixBody(by: 'auto' | 'host' | 'group', group?: string): string {
    if (!this.bodies) this.bodies = this.buildBodies(this.tiles());
    const k = `${by}|${group ?? ''}`;
    let b = this.bodies.matrix.get(k);
    if (!b) {
      b = JSON.stringify(this.matrix(by, group));
      this.bodies.matrix.set(k, b);
    }
    return b;
  }

  /** Worst pairs first: status, then loss, then RTT over baseline. */
  worstPairs(limit: number, filter?: { srcGroup?: string; dstGroup?: string }): PairView[] {
    return this.worstOf(this.snap.pairs, limit, filter);
  }

  private worstOf(pairs: readonly PairView[], limit: number, filter?: { srcGroup?: string; dstGroup?: string }): PairView[] {
    const ratio = (p: PairView): number => (p.rtt_p50_ms !== null && p.baseline_ms ? p.rtt_p50_ms / p.baseline_ms : 1);
    const cmp = (a: PairView, b: PairView): number =>
      RANK[b.status] - RANK[a.status] || b.loss - a.loss || ratio(b) - ratio(a) || a.src.localeCompare(b.src) || a.dst.localeCompare(b.dst);
    // top-k by insertion into a sorted array of at most `limit`: O(n) for a fleet of mostly healthy pairs
    const top: PairView[] = [];
    for (const p of pairs) {
      if (filter?.srcGroup && p.src_group !== filter.srcGroup) continue;
      if (filter?.dstGroup && p.dst_group !== filter.dstGroup) continue;
      if (top.length >= limit && cmp(p, top[top.length - 1]!) >= 0) continue;
      let i = top.length;
      while (i > 0 && cmp(p, top[i - 1]!) < 0) i--;
      top.splice(i, 0, p);
      if (top.length > limit) top.pop();
    }
    return top;
  }

  /**
   * The peer-pair matrix: by host when the fleet (or `group`) has at most
   * maxMatrixHosts hosts, else by group; a rolled-up cell has its worst
   * pair's status, the share of bad pairs and the mean loss.
   */
  matrix(by: 'auto' | 'host' | 'group', group?: string): MatrixView {
    const s = this.snap;
    const hosts = group ? s.hosts.filter((h) => h.group === group) : s.hosts;
    const mode: 'host' | 'group' = by === 'auto' ? (hosts.length > this.o.maxMatrixHosts ? 'group' : 'host') : by;
    const labels: string[] = [];
    const index = new Map<string, number>();
    const add = (l: string): number => {
      let i = index.get(l);
      if (i === undefined) {
        i = labels.length;
        labels.push(l);
        index.set(l, i);
      }
      return i;
    };
    if (mode === 'host') for (const h of hosts) add(h.host);
    else for (const h of hosts) add(h.group);
    const inScope = new Set(hosts.map((h) => h.host));
    const pairs = s.pairs.filter((p) => inScope.has(p.src));
    // peers that do not report (no agent) still get a column in host mode
    for (const p of pairs) add(mode === 'host' ? p.dst : p.dst_group);
    const n = labels.length;
    const status = new Array<number>(n * n).fill(0);
    const loss = new Array<number>(n * n).fill(0);
    const count = new Array<number>(n * n).fill(0);
    const bad = new Array<number>(n * n).fill(0);
    const rtt = new Array<number | null>(n * n).fill(null);
    for (const p of pairs) {
      const r = index.get(mode === 'host' ? p.src : p.src_group)!;
      const c = index.get(mode === 'host' ? p.dst : p.dst_group)!;
      const k = r * n + c;
      status[k] = Math.max(status[k]!, RANK[p.status]);
      loss[k]! += p.loss;
      count[k]!++;
      if (p.status === 'bad' || p.status === 'down') bad[k]!++;
      if (p.rtt_p50_ms !== null) rtt[k] = Math.max(rtt[k] ?? 0, p.rtt_p50_ms);
    }
    for (let k = 0; k < n * n; k++) if (count[k]! > 0) loss[k] = Math.round((loss[k]! / count[k]!) * 1e5) / 1e5;
    return {
      generated_at: s.generated_at,
      stale_after_ms: this.o.staleAfterMs,
      by: mode,
      group: group ?? null,
      hosts: hosts.length,
      statuses: STATUS,
      labels,
      status,
      loss,
      count,
      bad,
      rtt_p50_ms: rtt,
    };
  }

  host(name: string): { host: HostView; pairs: PairView[] } | undefined {
    const h = this.snap.hosts.find((x) => x.host === name);
    if (!h) return undefined;
    return { host: h, pairs: this.snap.pairs.filter((p) => p.src === name) };
  }

  /** A pair's detail: its summary, the port strip, status history (host stream) and series. */
  async pair(src: string, dst: string): Promise<PairDetail | undefined> {
    const pv = this.snap.pairs.find((p) => p.src === src && (p.dst === dst || p.dst_vtep === dst));
    if (!pv) return undefined;
    const slot = this.slots.find(src, pv.dst_vtep);
    const n = this.o.pairPoints;
    const t: number[] = [];
    const col = (a: Float32Array): Array<number | null> => {
      const out: Array<number | null> = [];
      for (let i = 0; i < this.seriesLen; i++) {
        const k = (this.seriesPos - this.seriesLen + i + n) % n;
        if (a === this.slots.p50) t.push(this.seriesT[k]!);
        out.push(slot === undefined ? null : roundSeries(a[slot * n + k]!));
      }
      return out;
    };
    const series = { t, rtt_p50_ms: col(this.slots.p50), rtt_p99_ms: col(this.slots.p99), loss: col(this.slots.loss) };
    return pairDetail(this.store, pv, series, { generated_at: this.snap.generated_at, stale_after_ms: this.o.staleAfterMs });
  }

  /** The series slot of every pair of the snapshot, in its order, and the slots first assigned by the poll that made it (their series start empty). */
  slotsOfSnapshot(): { slots: readonly number[]; fresh: readonly number[] } {
    return { slots: this.snapSlots, fresh: this.snapFresh };
  }

  fleetSeriesBody(): string {
    const f = this.fleetSeries;
    return JSON.stringify({
      generated_at: this.snap.generated_at,
      t: f.map((x) => x.t),
      probe_rate_pps: f.map((x) => x.probe_rate),
      loss: f.map((x) => x.loss),
      agents_fresh: f.map((x) => x.fresh),
      pairs_bad: f.map((x) => x.bad_pairs),
    });
  }
}

/**
 * A host is stale once it missed reports: silent longer than `staleAfterMs`
 * and longer than three of its own publish intervals (an agent publishing
 * every 10 s is not stale 5 s after its report, nor after its first one).
 */
export function isStale(ageMs: number, intervalMs: number | undefined, staleAfterMs: number): boolean {
  const every = intervalMs !== undefined && Number.isFinite(intervalMs) && intervalMs > 0 ? intervalMs : 0;
  return ageMs > Math.max(staleAfterMs, 3 * every);
}

/** What /metrics needs of a view. */
export interface ViewStats {
  generated_at: number;
  poll_ms: number;
  store_ok: boolean;
  pairs_by_status: Record<string, number>;
}

/**
 * What the HTTP server needs of a view: FleetView (polling on the serving
 * thread) or WorkerView (poll-worker.ts: polling and decoding in a worker
 * thread, answers posted to the serving thread).
 */
export interface FleetViewApi {
  readonly events: EventEmitter<{ tick: [FleetTiles]; event: [StoredEvent] }>;
  readonly store: FleetStore;
  readonly options: Readonly<Required<Omit<ViewOptions, 'log' | 'now'>>>;
  readonly lastSeenEventId: string;
  /** Where the poll runs. */
  readonly pollIn: 'thread' | 'worker';
  start(): Promise<void>;
  firstPoll(): Promise<void>;
  stop(): Promise<void>;
  tiles(): FleetTiles;
  stats(): ViewStats;
  body(kind: 'fleet' | 'hosts' | 'worst'): string;
  fleetSeriesBody(): string;
  matrixBody(by: 'auto' | 'host' | 'group', group?: string): string | Promise<string>;
  worstPairs(limit: number, filter?: { srcGroup?: string; dstGroup?: string }): PairView[] | Promise<PairView[]>;
  host(name: string): { host: HostView; pairs: PairView[] } | undefined | Promise<{ host: HostView; pairs: PairView[] } | undefined>;
  pair(src: string, dst: string): Promise<PairDetail | undefined>;
  /** generated_at of the snapshot the answers come from. */
  readonly generatedAt: number;
}

const roundSeries = (x: number): number | null => (Number.isFinite(x) ? Math.round(x * 1000) / 1000 : null);

/** One series point as the pair detail shows it (ms rounded to a microsecond; null when unknown). */
export { roundSeries };

/**
 * A pair's detail from its judged view and its series: the summary, one
 * entry per candidate port, its port changes and failovers (from the host's
 * stream). Shared by the serving-thread poll and the poll worker's serving side.
 */
export async function pairDetail(store: FleetStore, pv: PairView, series: PairDetail['series'], meta: { generated_at: number; stale_after_ms: number }): Promise<PairDetail | undefined> {
  const hs = await store.host(pv.src);
  const summary = hs?.peers.find((p) => p.peer === pv.dst_vtep);
  if (!summary) return undefined;
  const evs = await store.hostEvents(pv.src, 500);
  const history = evs
    .filter((e) => e.type === 'port' && e.data.peer === pv.dst_vtep)
    .map((e) => ({ id: e.id, at: e.at, ...(e.type === 'port' ? e.data : ({} as never)) }));
  const failovers = evs.filter((e) => e.type === 'failover' && e.data.peer === pv.dst_vtep).map((e) => ({ id: e.id, at: e.at, ...(e.data as object) }));
  const healthy = BigInt(summary.healthy);
  const preferred = BigInt(summary.preferred);
  const ports = Array.from({ length: summary.nports }, (_, i) => {
    const b = 1n << BigInt(i);
    const state = summary.bad.includes(i) ? 'bad' : summary.suspect.includes(i) ? 'suspect' : healthy & b ? (preferred & b ? 'preferred' : 'healthy') : 'unknown';
    return { idx: i, port: summary.base_port + i, state };
  });
  return { ...meta, pair: pv, summary, ports, history, failovers, series };
}

export interface FleetTiles {
  generated_at: number;
  age_ms: number | null;
  store_ok: boolean;
  store_error: string | null;
  agents: number;
  agents_fresh: number;
  agents_stale: number;
  probe_rate_pps: number;
  /** Mean probe loss over fresh pairs in the last interval (0..1). */
  loss: number;
  failovers_1h: number;
  pairs: number;
  pairs_bad: number;
  poll_ms: number;
  stale_after_ms: number;
}

export interface MatrixView {
  generated_at: number;
  stale_after_ms: number;
  by: 'host' | 'group';
  group: string | null;
  hosts: number;
  statuses: readonly string[];
  labels: string[];
  /** Row-major n x n: index into statuses (0 = no pair). */
  status: number[];
  loss: number[];
  count: number[];
  bad: number[];
  rtt_p50_ms: Array<number | null>;
}

export interface PairDetail {
  generated_at: number;
  stale_after_ms: number;
  pair: PairView;
  summary: PeerSummary;
  ports: Array<{ idx: number; port: number; state: string }>;
  history: Array<Record<string, unknown>>;
  failovers: Array<Record<string, unknown>>;
  series: { t: number[]; rtt_p50_ms: Array<number | null>; rtt_p99_ms: Array<number | null>; loss: Array<number | null> };
}
