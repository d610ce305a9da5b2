/**
 * The controller's HTTP server (node:http, no framework): the JSON API under
 * /api/v1, server-sent events (/api/v1/stream), the dashboard's static assets
 * and Prometheus /metrics. With a token every request must carry it
 * (`Authorization: Bearer T`, the `ps_token` cookie the dashboard gets when
 * opened as `/?token=T`, or `?token=T`); read-only mode refuses every write.
 *
 * SSE: `event: failover|port|altpath-override|ranker` messages carry the fleet
 * stream id as their `id`, so a client reconnecting with `Last-Event-ID` gets
 * what it missed (replayed from the store) before live events; `event: tick`
 * (no id) follows each poll with the fleet tiles; a `: keepalive` comment
 * every keepaliveMs holds proxies open.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../common/logger.js';
import { Registry } from '../common/metrics.js';
import { packageVersion } from '../common/version.js';
import { STREAM_ID, compareIds, type StoredEvent } from './store/index.js';
import type { FleetTiles, FleetViewApi } from './view.js';

export interface ServerOptions {
  /** Require this token on every request. */
  token?: string;
  /** Refuse writes (DELETE /api/v1/hosts/NAME). @default false */
  readOnly?: boolean;
  /** SSE keepalive comment period (ms). @default 15000 */
  keepaliveMs?: number;
  log?: Logger;
}

interface Asset {
  type: string;
  body: Buffer;
}

const require = createRequire(import.meta.url);

/** The dashboard's files: ./dashboard next to this module (copied to dist by the build), uPlot from its package. */
function loadAssets(): Map<string, Asset> {
  const dir = new URL('./dashboard/', import.meta.url);
  const a = new Map<string, Asset>();
  const add = (path: string, file: string | URL, type: string): void => {
    a.set(path, { type, body: readFileSync(file) });
  };
  add('/', new URL('index.html', dir), 'text/html; charset=utf-8');
  add('/assets/app.js', new URL('app.js', dir), 'text/javascript; charset=utf-8');
  add('/assets/style.css', new URL('style.css', dir), 'text/css; charset=utf-8');
  add('/assets/uPlot.iife.min.js', require.resolve('uplot/dist/uPlot.iife.min.js'), 'text/javascript; charset=utf-8');
  add('/assets/uPlot.min.css', require.resolve('uplot/dist/uPlot.min.css'), 'text/css; charset=utf-8');
  return a;
}

const sha = (s: string): Buffer => createHash('sha256').update(s).digest();

function cookies(req: IncomingMessage): Map<string, string> {
  const m = new Map<string, string>();
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const i = part.indexOf('=');
    if (i > 0) m.set(part.slice(0, i).trim(), decodeURIComponent(part.slice(i + 1).trim()));
  }
  return m;
}

/** A route name for metrics (never the host or pair in the path: low cardinality). */
function routeOf(path: string): string {
  if (path.startsWith('/api/v1/hosts/')) return '/api/v1/hosts/:host';
  if (path.startsWith('/assets/')) return '/assets';
  return path;
}

interface SseClient {
  res: ServerResponse;
  lastSent: string;
  replaying: boolean;
  pending: StoredEvent[];
}

export class ControllerServer {
  private readonly server: Server;
  private readonly assets = loadAssets();
  private readonly clients = new Set<SseClient>();
  private readonly keepalive: NodeJS.Timeout;
  private readonly tokenHash: Buffer | undefined;
  readonly registry = new Registry();
  private readonly m;
  private readonly onTick = (t: FleetTiles): void => this.broadcastTick(t);
  private readonly onEvent = (e: StoredEvent): void => this.broadcastEvent(e);

  constructor(
    private readonly view: FleetViewApi,
    private readonly o: ServerOptions = {},
  ) {
    this.tokenHash = o.token ? sha(o.token) : undefined;
    const r = this.registry;
    this.m = {
      requests: r.counter('pathsteer_controller_http_requests_total', 'HTTP requests, by route and status code'),
      duration: r.histogram('pathsteer_controller_http_request_duration_seconds', 'HTTP request latency (until the answer was handed to the socket), by route'),
      sse: r.gauge('pathsteer_controller_sse_clients', 'Connected server-sent-event clients', () => [[undefined, this.clients.size]]),
      agents: r.gauge('pathsteer_controller_agents', 'Agents in the heartbeat index, by freshness', () => {
        const t = this.view.tiles();
        return [
          [{ state: 'fresh' }, t.agents_fresh],
          [{ state: 'stale' }, t.agents_stale],
        ];
      }),
      pairs: r.gauge('pathsteer_controller_peer_pairs', 'Host-peer pairs, by status', () => Object.entries(this.view.stats().pairs_by_status).map(([status, v]) => [{ status }, v])),
      poll: r.gauge('pathsteer_controller_poll_seconds', 'Duration of the last store poll', () => [[undefined, this.view.stats().poll_ms / 1000]]),
      storeUp: r.gauge('pathsteer_controller_store_up', '1 when the last store poll succeeded', () => [[undefined, this.view.stats().store_ok ? 1 : 0]]),
      build: r.buildInfo('pathsteer_build_info', 'pathsteer version and Node.js runtime of this process', { version: packageVersion(), node: process.version }),
    };
    this.server = createServer((req, res) => void this.handle(req, res));
    this.server.keepAliveTimeout = 65_000;
    this.keepalive = setInterval(() => {
      for (const c of this.clients) c.res.write(': keepalive\n\n');
    }, o.keepaliveMs ?? 15_000);
    this.keepalive.unref();
    view.events.on('tick', this.onTick);
    view.events.on('event', this.onEvent);
  }

  listen(host: string, port: number): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        resolve(this.server.address() as AddressInfo);
      });
    });
  }

  async close(): Promise<void> {
    clearInterval(this.keepalive);
    this.view.events.off('tick', this.onTick);
    this.view.events.off('event', this.onEvent);
    for (const c of this.clients) c.res.end();
    this.clients.clear();
    await new Promise<void>((r) => {
      this.server.close(() => r());
      this.server.closeAllConnections();
    });
  }

  private authorized(req: IncomingMessage, url: URL): { ok: boolean; setCookie: boolean } {
    if (!this.tokenHash) return { ok: true, setCookie: false };
    const candidates: Array<[string, boolean]> = [];
    const auth = req.headers.authorization;
    if (auth?.startsWith('Bearer ')) candidates.push([auth.slice(7), false]);
    const c = cookies(req).get('ps_token');
    if (c) candidates.push([c, false]);
    const q = url.searchParams.get('token');
    if (q) candidates.push([q, true]);
    for (const [t, fromQuery] of candidates) if (timingSafeEqual(sha(t), this.tokenHash)) return { ok: true, setCookie: fromQuery };
    return { ok: false, setCookie: false };
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const t0 = performance.now();
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://controller');
    } catch {
      res.writeHead(400).end();
      return;
    }
    const route = routeOf(url.pathname);
    res.once('finish', () => {
      this.m.requests.inc({ route: this.knownRoute(route), code: String(res.statusCode) });
      if (route !== '/api/v1/stream') this.m.duration.observe((performance.now() - t0) / 1000, { route: this.knownRoute(route) });
    });
    res.setHeader('x-content-type-options', 'nosniff');
    res.setHeader('referrer-policy', 'no-referrer');
    const auth = this.authorized(req, url);
    if (!auth.ok) {
      this.json(res, 401, { error: 'this controller needs its token: Authorization: Bearer TOKEN, or open the dashboard as /?token=TOKEN' });
      return;
    }
    if (auth.setCookie) res.setHeader('set-cookie', `ps_token=${encodeURIComponent(this.o.token!)}; HttpOnly; SameSite=Strict; Path=/`);
    try {
      await this.route(req, res, url);
    } catch (e) {
      this.o.log?.warn({ path: url.pathname, err: (e as Error).message }, 'request failed');
      if (!res.headersSent) this.json(res, 503, { error: `fleet store: ${(e as Error).message}` });
      else res.end();
    }
  }

  private knownRoute(route: string): string {
    const known = ['/', '/assets', '/metrics', '/api/v1/fleet', '/api/v1/hosts', '/api/v1/hosts/:host', '/api/v1/matrix', '/api/v1/worst', '/api/v1/pair', '/api/v1/events', '/api/v1/altpath', '/api/v1/ranker', '/api/v1/series', '/api/v1/stream', '/api/v1/config'];
    return known.includes(route) ? route : 'other';
  }

  private async route(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const p = url.pathname;
    const method = req.method ?? 'GET';
    if (method === 'DELETE' && p.startsWith('/api/v1/hosts/')) {
      if (this.o.readOnly) return this.json(res, 403, { error: 'read-only controller: writes are disabled' });
      const host = decodeURIComponent(p.slice('/api/v1/hosts/'.length));
      await this.view.store.forgetHost(host);
      return this.json(res, 200, { forgotten: host });
    }
    if (method !== 'GET' && method !== 'HEAD') return this.json(res, 405, { error: `${method} not allowed` });
    if (p === '/favicon.ico') {
      res.writeHead(204).end();
      return;
    }
    const asset = this.assets.get(p === '/index.html' ? '/' : p);
    if (asset) {
      res.writeHead(200, {
        'content-type': asset.type,
        'cache-control': p === '/' ? 'no-store' : 'max-age=300',
        'content-security-policy': "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'",
      });
      res.end(asset.body);
      return;
    }
    const int = (name: string, def: number, max: number): number => {
      const v = Number(url.searchParams.get(name) ?? def);
      return Number.isInteger(v) && v > 0 ? Math.min(v, max) : def;
    };
    switch (p) {
      case '/metrics':
        res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
        res.end(this.registry.expose());
        return;
      case '/api/v1/config':
        return this.json(res, 200, { read_only: !!this.o.readOnly, stale_after_ms: this.view.options.staleAfterMs, poll_ms: this.view.options.pollMs, poll_in: this.view.pollIn, version: packageVersion(), store: this.view.store.target });
      case '/api/v1/fleet':
        return this.raw(res, this.view.body('fleet'));
      case '/api/v1/hosts':
        return this.raw(res, this.view.body('hosts'));
      case '/api/v1/worst': {
        const limit = int('limit', 20, 1000);
        const sg = url.searchParams.get('src_group') ?? undefined;
        const dg = url.searchParams.get('dst_group') ?? undefined;
        if (!sg && !dg && limit <= 100) {
          const all = JSON.parse(this.view.body('worst')) as { pairs: unknown[] };
          return this.json(res, 200, { ...all, pairs: all.pairs.slice(0, limit) });
        }
        return this.json(res, 200, { generated_at: this.view.generatedAt, stale_after_ms: this.view.options.staleAfterMs, pairs: await this.view.worstPairs(limit, { ...(sg ? { srcGroup: sg } : {}), ...(dg ? { dstGroup: dg } : {}) }) });
      }
      case '/api/v1/matrix': {
        const by = url.searchParams.get('by') ?? 'auto';
        if (by !== 'auto' && by !== 'host' && by !== 'group') return this.json(res, 400, { error: 'by must be auto, host or group' });
        const group = url.searchParams.get('group') ?? undefined;
        return this.raw(res, await this.view.matrixBody(by, group));
      }
      case '/api/v1/pair': {
        const src = url.searchParams.get('src');
        const dst = url.searchParams.get('dst');
        if (!src || !dst) return this.json(res, 400, { error: 'src (host) and dst (host or VTEP) are required' });
        const d = await this.view.pair(src, dst);
        if (!d) return this.json(res, 404, { error: `no pair ${src} -> ${dst} in the fleet` });
        return this.json(res, 200, d);
      }
      case '/api/v1/events': {
        const limit = int('limit', 200, 2000);
        const before = url.searchParams.get('before') ?? undefined;
        if (before !== undefined && !STREAM_ID.test(before)) return this.json(res, 400, { error: 'before must be a stream id (ms-seq)' });
        const evs = await this.view.store.recentEvents(limit, before);
        return this.json(res, 200, { generated_at: Date.now(), events: evs });
      }
      case '/api/v1/altpath': {
        const a = await this.view.store.altPath();
        // stale after three missed reports (at least the fleet's stale-after); 90 s for a reporter that does not say its interval
        const staleAfter = a.meta?.interval_ms ? Math.max(3 * a.meta.interval_ms, this.view.options.staleAfterMs) : 90_000;
        const now = Date.now();
        const age = a.last_seen === null ? null : Math.max(0, now - a.last_seen);
        return this.json(res, 200, { generated_at: now, stale_after_ms: staleAfter, age_ms: age, stale: age !== null && age > staleAfter, ...a });
      }
      case '/api/v1/ranker': {
        const r = await this.view.store.rankerResults(int('limit', 5, 100));
        return this.json(res, 200, { generated_at: Date.now(), results: r });
      }
      case '/api/v1/series':
        return this.raw(res, this.view.fleetSeriesBody());
      case '/api/v1/stream':
        return this.stream(req, res, url);
      default:
        if (p.startsWith('/api/v1/hosts/')) {
          const h = await this.view.host(decodeURIComponent(p.slice('/api/v1/hosts/'.length)));
          if (!h) return this.json(res, 404, { error: 'no such host in the fleet' });
          return this.json(res, 200, { generated_at: this.view.generatedAt, stale_after_ms: this.view.options.staleAfterMs, ...h });
        }
        return this.json(res, 404, { error: `no such path: ${p}` });
    }
  }

  private json(res: ServerResponse, code: number, v: unknown): void {
    this.raw(res, JSON.stringify(v), code);
  }

  private raw(res: ServerResponse, body: string, code = 200): void {
    res.writeHead(code, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', 'x-server-time': String(Date.now()) });
    res.end(body);
  }

  private async stream(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const resume = (req.headers['last-event-id'] as string | undefined) ?? url.searchParams.get('after') ?? undefined;
    if (resume !== undefined && !STREAM_ID.test(resume)) return this.json(res, 400, { error: 'Last-Event-ID must be a stream id (ms-seq)' });
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive', 'x-accel-buffering': 'no' });
    res.write('retry: 2000\n\n');
    const c: SseClient = { res, lastSent: resume ?? this.view.lastSeenEventId, replaying: resume !== undefined, pending: [] };
    this.clients.add(c);
    req.on('close', () => this.clients.delete(c));
    this.sendTick(c, this.view.tiles());
    if (resume === undefined) return;
    // what the client missed, from the store, then whatever arrived meanwhile
    try {
      for (;;) {
        const evs = await this.view.store.eventsAfter(c.lastSent, 500);
        for (const e of evs) this.sendEvent(c, e);
        if (evs.length < 500) break;
      }
    } catch (e) {
      this.o.log?.warn({ err: (e as Error).message }, 'cannot replay events for a reconnecting client');
    }
    c.replaying = false;
    for (const e of c.pending) this.sendEvent(c, e);
    c.pending = [];
  }

  private sendEvent(c: SseClient, e: StoredEvent): void {
    if (compareIds(e.id, c.lastSent) <= 0) return;
    c.lastSent = e.id;
    c.res.write(`id: ${e.id}\nevent: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`);
  }

  private sendTick(c: SseClient, t: FleetTiles): void {
    c.res.write(`event: tick\ndata: ${JSON.stringify(t)}\n\n`);
  }

  private broadcastEvent(e: StoredEvent): void {
    for (const c of this.clients) {
      if (c.replaying) c.pending.push(e);
      else this.sendEvent(c, e);
    }
  }

  private broadcastTick(t: FleetTiles): void {
    for (const c of this.clients) this.sendTick(c, t);
  }
}
