/**
 * The Redis fleet store (ioredis): the keys of schema.ts, one MULTI per host
 * write, streams trimmed with `MAXLEN ~`. Commands never queue while Redis is
 * unreachable (`enableOfflineQueue: false`, no per-request retries): they fail
 * at once and the caller decides (the agent's publisher buffers, the
 * controller marks its data stale). The client reconnects by itself with
 * backoff (100 ms doubling to 2 s). A second connection serves blocking
 * XREADs (the controller's event pump) so they never delay other commands.
 */
import { setImmediate as yieldLoop } from 'node:timers/promises';
import { Redis, type RedisOptions } from 'ioredis';
import { PathsteerError } from '../../common/errors.js';
import type { Logger } from '../../common/logger.js';
import { FLEET_EVENT_TYPES, HOST_KEY_TTL_MS, KEYS, MAXLEN, checkHostName, parseRedisUrl, type RedisTarget } from './schema.js';
import type { AltPathMeta, AltPathOverride, AltPathReport, AltPathRoute, FleetEvent, HostState, PeerSummary, RankerRecord, StoredEvent } from './schema.js';
import { altPathRouteField, eventFields, eventFromFields, type FleetStore, type HostSnapshot } from './store.js';

export interface RedisStoreOptions {
  /** Wait until Redis answers before returning (the controller); otherwise connect in the background (agents). @default false */
  waitReady?: boolean;
  /** How long waitReady waits (ms). @default 5000 */
  readyTimeoutMs?: number;
  /** A command without an answer fails after this long (ms). @default 2000 */
  commandTimeoutMs?: number;
  /** Longest pause between reconnection attempts (ms). @default 2000 */
  maxReconnectDelayMs?: number;
  /** Connection name shown by CLIENT LIST. */
  name?: string;
  log?: Logger;
}

type XEntry = [string, string[]];

function clientOptions(t: RedisTarget, o: RedisStoreOptions, extra: Partial<RedisOptions> = {}): RedisOptions {
  const maxDelay = o.maxReconnectDelayMs ?? 2000;
  return {
    ...(t.path ? { path: t.path } : { host: t.host!, port: t.port! }),
    ...(t.tls ? { tls: {} } : {}),
    db: t.db,
    ...(t.username ? { username: t.username } : {}),
    ...(t.password ? { password: t.password } : {}),
    ...(o.name ? { connectionName: o.name } : {}),
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: o.commandTimeoutMs ?? 2000,
    connectTimeout: 2000,
    lazyConnect: true,
    retryStrategy: (times: number) => Math.min(100 * 2 ** Math.min(times - 1, 10), maxDelay),
    ...extra,
  };
}

export class RedisStore implements FleetStore {
  readonly kind = 'redis' as const;
  readonly target: string;
  private blocking: Redis | undefined;
  private bulk: Redis | undefined;
  private lastError = '';
  private closed = false;

  private constructor(
    private readonly client: Redis,
    private readonly t: RedisTarget,
    private readonly o: RedisStoreOptions,
  ) {
    this.target = t.display;
    const log = o.log;
    client.on('error', (e: Error) => {
      // ioredis reports every failed attempt; log a reason once until it changes
      if (e.message !== this.lastError) log?.warn({ redis: this.target, err: e.message }, 'Redis unreachable; retrying');
      this.lastError = e.message;
    });
    client.on('ready', () => {
      if (this.lastError) log?.info({ redis: this.target }, 'Redis reachable again');
      this.lastError = '';
    });
  }

  /** Connect to `url` (a UsageError when the URL is bad; with waitReady, a PathsteerError when Redis does not answer). */
  static async open(url: string, o: RedisStoreOptions = {}): Promise<RedisStore> {
    if (!o.waitReady) return RedisStore.fromUrlBackground(url, o);
    const t = parseRedisUrl(url);
    const client = new Redis(clientOptions(t, o));
    const store = new RedisStore(client, t, o);
    const timeoutMs = o.readyTimeoutMs ?? 5000;
    try {
      await Promise.race([
        client.connect(),
        new Promise((_, reject) => setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs).unref()),
      ]);
      await client.ping();
    } catch (e) {
      client.disconnect();
      throw new PathsteerError(`cannot reach Redis at ${t.display}: ${(e as Error).message}`);
    }
    return store;
  }

  /** Connect in the background (agents): returns at once, reconnects forever; commands fail while unreachable. */
  static fromUrlBackground(url: string, o: RedisStoreOptions = {}): RedisStore {
    const t = parseRedisUrl(url);
    const client = new Redis(clientOptions(t, o));
    const store = new RedisStore(client, t, o);
    client.connect().catch(() => undefined); // reconnects by itself; the error handler logs
    return store;
  }

  get connected(): boolean {
    return this.client.status === 'ready';
  }

  async publishHost(state: HostState, peers: readonly PeerSummary[], removed: readonly string[] = []): Promise<void> {
    const encoded: string[] = [];
    for (const p of peers) encoded.push(p.peer, encodePeer(p));
    check(await this.client.multi(hostWriteCommands(state, encoded, removed)).exec());
  }

  async addEvents(events: readonly FleetEvent[]): Promise<string[]> {
    if (events.length === 0) return [];
    const m = this.client.multi();
    const fleetAt: number[] = [];
    let n = 0;
    for (const e of events) {
      const h = checkHostName(e.host);
      const f = eventFields(e);
      m.xadd(KEYS.hostEvents(h), 'MAXLEN', '~', String(MAXLEN.hostEvents), '*', ...f);
      m.pexpire(KEYS.hostEvents(h), HOST_KEY_TTL_MS);
      n += 2;
      if (FLEET_EVENT_TYPES.has(e.type)) {
        m.xadd(KEYS.events, 'MAXLEN', '~', String(MAXLEN.events), '*', ...f);
        fleetAt.push(n++);
      } else fleetAt.push(n - 2);
    }
    const r = check(await m.exec());
    return fleetAt.map((i) => String(r[i]));
  }

  async putAltPathRoutes(reporter: string, routes: readonly AltPathRoute[], at = Date.now(), meta?: AltPathMeta): Promise<void> {
    const m = this.client.multi();
    m.del(KEYS.altpathRoutes);
    if (routes.length > 0) {
      const args: string[] = [];
      for (const r of routes) args.push(altPathRouteField(r), JSON.stringify(r));
      m.hset(KEYS.altpathRoutes, ...args);
    }
    m.hset(KEYS.altpathHb, 'reporter', reporter, 'last_seen', String(at), ...(meta ? ['meta', JSON.stringify(meta)] : []));
    check(await m.exec());
  }

  async putAltPathOverride(reporter: string, o: AltPathOverride): Promise<string> {
    await this.client.hset(KEYS.altpathOverrides, o.prefix, JSON.stringify(o));
    await this.client.hset(KEYS.altpathHb, 'reporter', reporter, 'last_seen', String(Date.now()));
    const [id] = await this.addEvents([{ type: 'altpath-override', host: reporter, at: o.at, data: o }]);
    return id!;
  }

  async clearAltPathOverride(prefix: string): Promise<void> {
    await this.client.hdel(KEYS.altpathOverrides, prefix);
  }

  async addRankerResult(r: RankerRecord, publisher = 'ranker'): Promise<string> {
    const id = (await this.client.xadd(KEYS.ranker, 'MAXLEN', '~', String(MAXLEN.ranker), '*', 'data', JSON.stringify(r)))!;
    await this.addEvents([{ type: 'ranker', host: publisher, at: r.at, data: { id, scenario: r.scenario, best: r.best } }]);
    return id;
  }

  async forgetHost(host: string): Promise<void> {
    const h = checkHostName(host);
    const m = this.client.multi();
    m.del(KEYS.hb(h), KEYS.paths(h), KEYS.hostEvents(h));
    m.zrem(KEYS.hosts, h);
    check(await m.exec());
  }

  /** The connection for whole-fleet reads: thousands of replies in one pipeline must not queue other commands behind them. */
  private bulkClient(): Redis {
    if (!this.bulk) {
      this.bulk = new Redis(clientOptions(this.t, this.o, { commandTimeout: Math.max(this.o.commandTimeoutMs ?? 2000, 10_000) }));
      this.bulk.on('error', () => undefined); // the main client logs reachability
      this.bulk.connect().catch(() => undefined);
    }
    return this.bulk;
  }

  async hosts(): Promise<HostSnapshot[]> {
    const bulk = this.bulkClient();
    if (bulk.status !== 'ready') {
      await new Promise<void>((resolve, reject) => {
        const ready = (): void => {
          clearTimeout(t);
          resolve();
        };
        const t = setTimeout(() => {
          bulk.off('ready', ready);
          reject(new PathsteerError('Redis not reachable for the fleet poll'));
        }, 2000);
        bulk.once('ready', ready);
      });
    }
    const flat = await bulk.zrange(KEYS.hosts, 0, -1, 'WITHSCORES');
    const index: Array<[string, number]> = [];
    for (let i = 0; i + 1 < flat.length; i += 2) index.push([flat[i]!, Number(flat[i + 1])]);
    if (index.length === 0) return [];
    const p = bulk.pipeline();
    for (const [h] of index) {
      p.hget(KEYS.hb(h), 'state');
      p.hgetall(KEYS.paths(h));
    }
    const r = check(await p.exec());
    const out: HostSnapshot[] = [];
    for (let i = 0; i < index.length; i++) {
      // decoding thousands of hosts' summaries yields to other work now and then
      if (i > 0 && i % 50 === 0) await yieldLoop();
      const [host, lastSeen] = index[i]!;
      const state = parseJson<HostState>(r[2 * i] as string | null);
      const peers = decodePeers(r[2 * i + 1] as Record<string, string> | null);
      // index entries whose keys expired are left out
      if (state || peers.length > 0) out.push({ host, last_seen: lastSeen, state, peers });
    }
    return out;
  }

  async host(host: string): Promise<HostSnapshot | undefined> {
    const h = checkHostName(host);
    const [score, state, paths] = await Promise.all([this.client.zscore(KEYS.hosts, h), this.client.hget(KEYS.hb(h), 'state'), this.client.hgetall(KEYS.paths(h))]);
    const st = parseJson<HostState>(state);
    if (score === null && !st) return undefined;
    const peers = decodePeers(paths);
    if (!st && peers.length === 0) return undefined;
    return { host: h, last_seen: Number(score ?? st?.last_seen ?? 0), state: st, peers };
  }

  async eventsAfter(after: string, count: number): Promise<StoredEvent[]> {
    return toEvents((await this.client.xrange(KEYS.events, `(${after}`, '+', 'COUNT', count)) as XEntry[]);
  }

  async recentEvents(count: number, before?: string): Promise<StoredEvent[]> {
    const r = (await this.client.xrevrange(KEYS.events, before ? `(${before}` : '+', '-', 'COUNT', count)) as XEntry[];
    return toEvents(r.reverse());
  }

  async hostEvents(host: string, count: number): Promise<StoredEvent[]> {
    const r = (await this.client.xrevrange(KEYS.hostEvents(checkHostName(host)), '+', '-', 'COUNT', count)) as XEntry[];
    return toEvents(r.reverse());
  }

  async waitEvents(after: string, count: number, blockMs: number): Promise<StoredEvent[]> {
    if (!this.blocking) {
      // its own connection: a blocked XREAD must not hold up other commands
      this.blocking = new Redis(clientOptions(this.t, this.o, { commandTimeout: Math.max(blockMs, 1000) + 5000, lazyConnect: true }));
      this.blocking.on('error', () => undefined); // the main client logs reachability
      this.blocking.connect().catch(() => undefined);
    }
    if (this.blocking.status !== 'ready') {
      // not connected (yet): behave like a poll, so callers do not spin
      await new Promise((r) => setTimeout(r, Math.min(blockMs, 250)));
      if ((this.blocking.status as string) !== 'ready') return this.eventsAfter(after, count);
    }
    const r = (await this.blocking.xread('COUNT', count, 'BLOCK', blockMs, 'STREAMS', KEYS.events, after)) as Array<[string, XEntry[]]> | null;
    return r ? toEvents(r[0]![1]) : [];
  }

  async lastEventId(): Promise<string> {
    const r = (await this.client.xrevrange(KEYS.events, '+', '-', 'COUNT', 1)) as XEntry[];
    return r[0]?.[0] ?? '0-0';
  }

  async altPath(): Promise<AltPathReport> {
    const [hb, routes, overrides] = await Promise.all([
      this.client.hgetall(KEYS.altpathHb),
      this.client.hgetall(KEYS.altpathRoutes),
      this.client.hgetall(KEYS.altpathOverrides),
    ]);
    return {
      reporter: hb.reporter ?? null,
      last_seen: hb.last_seen ? Number(hb.last_seen) : null,
      meta: parseJson<AltPathMeta>(hb.meta),
      routes: Object.values(routes)
        .map((v) => parseJson<AltPathRoute>(v))
        .filter((x): x is AltPathRoute => x !== null),
      overrides: Object.values(overrides)
        .map((v) => parseJson<AltPathOverride>(v))
        .filter((x): x is AltPathOverride => x !== null),
    };
  }

  async rankerResults(count: number): Promise<Array<RankerRecord & { id: string }>> {
    const r = (await this.client.xrevrange(KEYS.ranker, '+', '-', 'COUNT', count)) as XEntry[];
    return r.flatMap(([id, f]) => {
      const v = parseJson<RankerRecord>(f[f.indexOf('data') + 1] ?? null);
      return v ? [{ ...v, id }] : [];
    });
  }

  async ping(): Promise<number> {
    const t0 = performance.now();
    await this.client.ping();
    return performance.now() - t0;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.blocking?.disconnect();
    this.bulk?.disconnect();
    if (this.client.status === 'ready') await this.client.quit().catch(() => this.client.disconnect());
    else this.client.disconnect();
  }
}

/**
 * The commands of one host's report, run as one MULTI (one slot: the host's
 * hash tag): heartbeat, summaries (`encodedPeers` = peer, encodePeer(summary),
 * peer, ...), removed peers, TTLs, the heartbeat index. The one definition of
 * the report's wire format: RedisStore.publishHost and the fleet benchmark's
 * simulated agents (bench/fleet-sim.ts) both write through it.
 */
export function hostWriteCommands(state: HostState, encodedPeers: readonly string[], removed: readonly string[] = []): string[][] {
  const h = checkHostName(state.host);
  const cmds: string[][] = [['hset', KEYS.hb(h), 'last_seen', String(state.last_seen), 'state', JSON.stringify(state)]];
  if (removed.length > 0) cmds.push(['hdel', KEYS.paths(h), ...removed]);
  if (encodedPeers.length > 0) cmds.push(['hset', KEYS.paths(h), ...encodedPeers]);
  cmds.push(['pexpire', KEYS.hb(h), String(HOST_KEY_TTL_MS)], ['pexpire', KEYS.paths(h), String(HOST_KEY_TTL_MS)], ['zadd', KEYS.hosts, String(state.last_seen), h]);
  return cmds;
}

/**
 * A peer summary as stored in `ps:{HOST}:paths`: a JSON array in schema
 * order with a leading format version (a third of the bytes of the object
 * form, and as much less for the controller to parse every second).
 */
export function encodePeer(p: PeerSummary): string {
  return JSON.stringify([1, p.peer, p.state, p.base_port, p.nports, p.healthy, p.preferred, p.bad, p.suspect, p.unknown, p.rtt_p50_ms, p.rtt_p99_ms, p.loss, p.probes, p.last_switch, p.updated]);
}

export function decodePeer(s: string): PeerSummary | null {
  const a = parseJson<unknown[]>(s);
  if (!Array.isArray(a) || a[0] !== 1 || a.length < 16) return null;
  return {
    peer: a[1] as string,
    state: a[2] as string,
    base_port: a[3] as number,
    nports: a[4] as number,
    healthy: a[5] as string,
    preferred: a[6] as string,
    bad: a[7] as number[],
    suspect: a[8] as number[],
    unknown: a[9] as number,
    rtt_p50_ms: a[10] as number | null,
    rtt_p99_ms: a[11] as number | null,
    loss: a[12] as number,
    probes: a[13] as number,
    last_switch: a[14] as number | null,
    updated: a[15] as number,
  };
}

function decodePeers(h: Record<string, string> | null): PeerSummary[] {
  const out: PeerSummary[] = [];
  if (!h) return out;
  for (const k in h) {
    const p = decodePeer(h[k]!);
    if (p) out.push(p);
  }
  return out;
}

function parseJson<T>(s: string | null | undefined): T | null {
  if (!s) return null;
  try {
    return JSON.parse(s) as T;
  } catch {
    return null;
  }
}

function toEvents(r: XEntry[]): StoredEvent[] {
  return r.flatMap(([id, f]) => {
    const e = eventFromFields(id, f);
    return e ? [e] : [];
  });
}

/** The results of a MULTI/pipeline, throwing its first error. */
function check(r: Array<[Error | null, unknown]> | null): unknown[] {
  if (!r) throw new PathsteerError('Redis transaction aborted');
  for (const [e] of r) if (e) throw e;
  return r.map(([, v]) => v);
}
