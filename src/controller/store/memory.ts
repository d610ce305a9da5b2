/**
 * The in-memory fleet store: the same contract as the Redis store (stream ids
 * `ms-seq`, approximate MAXLEN trimming, host keys expiring after a day) inside
 * one process. For tests, benchmarks and embedding a controller and its
 * publishers in one process; several processes share a fleet through Redis.
 */
import { EventEmitter } from 'node:events';
import { FLEET_EVENT_TYPES, HOST_KEY_TTL_MS, MAXLEN, checkHostName } from './schema.js';
import type { AltPathMeta, AltPathOverride, AltPathReport, AltPathRoute, FleetEvent, HostState, PeerSummary, RankerRecord, StoredEvent } from './schema.js';
import { altPathRouteField, compareIds, type FleetStore, type HostSnapshot } from './store.js';

interface Stream<T> {
  entries: Array<{ id: string; v: T }>;
  last: { ms: number; seq: number };
}

function newStream<T>(): Stream<T> {
  return { entries: [], last: { ms: 0, seq: 0 } };
}

/** XADD * semantics: ids grow strictly even when the clock does not. */
function append<T>(s: Stream<T>, v: T, maxlen: number, nowMs: number): string {
  const last = s.last;
  const id = nowMs > last.ms ? { ms: nowMs, seq: 0 } : { ms: last.ms, seq: last.seq + 1 };
  s.last = id;
  const sid = `${id.ms}-${id.seq}`;
  s.entries.push({ id: sid, v });
  if (s.entries.length > maxlen) s.entries.splice(0, s.entries.length - maxlen);
  return sid;
}

interface HostRec {
  lastSeen: number;
  state: HostState | null;
  peers: Map<string, PeerSummary>;
  events: Stream<FleetEvent>;
  writtenAt: number;
}

export interface MemoryStoreOptions {
  /** Wall clock (ms). @default Date.now */
  now?: () => number;
}

export class MemoryStore implements FleetStore {
  readonly kind = 'memory' as const;
  readonly target = 'memory';
  readonly connected = true;
  private readonly hostRecs = new Map<string, HostRec>();
  private readonly fleet = newStream<FleetEvent>();
  private readonly ranker = newStream<RankerRecord>();
  private altHb: { reporter: string; at: number; meta: AltPathMeta | null } | undefined;
  private routes = new Map<string, AltPathRoute>();
  private readonly overrides = new Map<string, AltPathOverride>();
  private readonly wake = new EventEmitter();
  private readonly now: () => number;
  private closed = false;

  constructor(o: MemoryStoreOptions = {}) {
    this.now = o.now ?? Date.now;
    this.wake.setMaxListeners(0);
  }

  private rec(host: string): HostRec {
    checkHostName(host);
    let r = this.hostRecs.get(host);
    if (!r) {
      r = { lastSeen: 0, state: null, peers: new Map(), events: newStream(), writtenAt: this.now() };
      this.hostRecs.set(host, r);
    }
    return r;
  }

  private expire(): void {
    const cutoff = this.now() - HOST_KEY_TTL_MS;
    for (const [h, r] of this.hostRecs) if (r.writtenAt < cutoff) this.hostRecs.delete(h);
  }

  async publishHost(state: HostState, peers: readonly PeerSummary[], removed: readonly string[] = []): Promise<void> {
    const r = this.rec(state.host);
    r.lastSeen = state.last_seen;
    r.state = structuredClone(state);
    for (const p of removed) r.peers.delete(p);
    for (const p of peers) r.peers.set(p.peer, structuredClone(p));
    r.writtenAt = this.now();
  }

  async addEvents(events: readonly FleetEvent[]): Promise<string[]> {
    const ids: string[] = [];
    for (const e of events) {
      const r = this.rec(e.host);
      const copy = structuredClone(e);
      const hid = append(r.events, copy, MAXLEN.hostEvents, this.now());
      r.writtenAt = this.now();
      ids.push(FLEET_EVENT_TYPES.has(e.type) ? append(this.fleet, copy, MAXLEN.events, this.now()) : hid);
    }
    if (events.some((e) => FLEET_EVENT_TYPES.has(e.type))) this.wake.emit('event');
    return ids;
  }

  async putAltPathRoutes(reporter: string, routes: readonly AltPathRoute[], at = this.now(), meta?: AltPathMeta): Promise<void> {
    this.altHb = { reporter, at, meta: meta ? structuredClone(meta) : (this.altHb?.meta ?? null) };
    this.routes = new Map(routes.map((r) => [altPathRouteField(r), structuredClone(r)]));
  }

  async putAltPathOverride(reporter: string, o: AltPathOverride): Promise<string> {
    this.overrides.set(o.prefix, structuredClone(o));
    this.altHb = { reporter, at: this.now(), meta: this.altHb?.meta ?? null };
    const [id] = await this.addEvents([{ type: 'altpath-override', host: reporter, at: o.at, data: o }]);
    return id!;
  }

  async clearAltPathOverride(prefix: string): Promise<void> {
    this.overrides.delete(prefix);
  }

  async addRankerResult(r: RankerRecord, publisher = 'ranker'): Promise<string> {
    const id = append(this.ranker, structuredClone(r), MAXLEN.ranker, this.now());
    await this.addEvents([{ type: 'ranker', host: publisher, at: r.at, data: { id, scenario: r.scenario, best: r.best } }]);
    return id;
  }

  async forgetHost(host: string): Promise<void> {
    this.hostRecs.delete(host);
  }

  private snap(host: string, r: HostRec): HostSnapshot {
    return { host, last_seen: r.lastSeen, state: r.state ? structuredClone(r.state) : null, peers: [...r.peers.values()].map((p) => structuredClone(p)) };
  }

  async hosts(): Promise<HostSnapshot[]> {
    this.expire();
    return [...this.hostRecs].filter(([, r]) => r.lastSeen > 0).map(([h, r]) => this.snap(h, r));
  }

  async host(host: string): Promise<HostSnapshot | undefined> {
    this.expire();
    const r = this.hostRecs.get(host);
    return r && r.lastSeen > 0 ? this.snap(host, r) : undefined;
  }

  async eventsAfter(after: string, count: number): Promise<StoredEvent[]> {
    const out: StoredEvent[] = [];
    for (const e of this.fleet.entries) {
      if (compareIds(e.id, after) <= 0) continue;
      out.push({ ...structuredClone(e.v), id: e.id });
      if (out.length >= count) break;
    }
    return out;
  }

  async recentEvents(count: number, before?: string): Promise<StoredEvent[]> {
    const all = before ? this.fleet.entries.filter((e) => compareIds(e.id, before) < 0) : this.fleet.entries;
    return all.slice(Math.max(0, all.length - count)).map((e) => ({ ...structuredClone(e.v), id: e.id }));
  }

  async hostEvents(host: string, count: number): Promise<StoredEvent[]> {
    const r = this.hostRecs.get(host);
    if (!r) return [];
    return r.events.entries.slice(Math.max(0, r.events.entries.length - count)).map((e) => ({ ...structuredClone(e.v), id: e.id }));
  }

  async waitEvents(after: string, count: number, blockMs: number): Promise<StoredEvent[]> {
    const now = await this.eventsAfter(after, count);
    if (now.length > 0 || blockMs <= 0 || this.closed) return now;
    await new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(t);
        this.wake.off('event', done);
        this.wake.off('close', done);
        resolve();
      };
      const t = setTimeout(done, blockMs);
      this.wake.on('event', done);
      this.wake.on('close', done);
    });
    return this.eventsAfter(after, count);
  }

  async lastEventId(): Promise<string> {
    return this.fleet.entries.at(-1)?.id ?? '0-0';
  }

  async altPath(): Promise<AltPathReport> {
    return {
      reporter: this.altHb?.reporter ?? null,
      last_seen: this.altHb?.at ?? null,
      meta: this.altHb?.meta ? structuredClone(this.altHb.meta) : null,
      routes: [...this.routes.values()].map((r) => structuredClone(r)),
      overrides: [...this.overrides.values()].map((o) => structuredClone(o)),
    };
  }

  async rankerResults(count: number): Promise<Array<RankerRecord & { id: string }>> {
    return this.ranker.entries
      .slice(-count)
      .reverse()
      .map((e) => ({ ...structuredClone(e.v), id: e.id }));
  }

  async ping(): Promise<number> {
    return 0;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.wake.emit('close');
  }
}
