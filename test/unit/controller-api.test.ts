/**
 * The controller's HTTP API on a fleet written through the store contract
 * (memory store, real HTTP server on a loopback port): what the dashboard and
 * scripts read, SSE resuming from Last-Event-ID with keepalives, the token on
 * every request, read-only mode, stale marking, roll-up, and /metrics with low
 * cardinality.
 */
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startController, type RunningController } from '../../src/controller/run.js';
import { MemoryStore, type HostState, type PeerSummary } from '../../src/controller/store/index.js';

const TOKEN = 'test-token-123';

function hs(host: string, vtep: string, group: string, lastSeen = Date.now()): HostState {
  return { host, group, vtep, iface: 'eth0', version: 't', process_id: 1, started_at: '', last_seen: lastSeen, interval_ms: 1000, probe_rate_pps: 64, probes_sent: 1, responses: 1, lost: 0, failovers: 0, peers: 2, ports_bad: 0, buffered: 0, dropped: 0 };
}
function peer(p: string, o: Partial<PeerSummary> = {}): PeerSummary {
  return { peer: p, state: 'probing', base_port: 10000, nports: 32, healthy: '0xffffffff', preferred: '0xffff', bad: [], suspect: [], unknown: 0, rtt_p50_ms: 0.3, rtt_p99_ms: 0.5, loss: 0, probes: 32, last_switch: null, updated: Date.now(), ...o };
}

interface Resp {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}
function get(url: string, path: string, headers: Record<string, string> = {}, method = 'GET'): Promise<Resp> {
  return new Promise((resolve, reject) => {
    const req = request(new URL(path, url), { method, headers }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}
const auth = { authorization: `Bearer ${TOKEN}` };
const json = async <T = Record<string, unknown>>(url: string, path: string): Promise<T> => JSON.parse((await get(url, path, auth)).body) as T;

/** An SSE connection collecting messages until closed. */
function sse(url: string, headers: Record<string, string>) {
  const msgs: Array<{ id?: string; event?: string; data?: string; comment?: string }> = [];
  let buf = '';
  const req = request(new URL('api/v1/stream', url), { headers }, (res) => {
    res.on('data', (d: Buffer) => {
      buf += d.toString();
      let i;
      while ((i = buf.indexOf('\n\n')) >= 0) {
        const block = buf.slice(0, i);
        buf = buf.slice(i + 2);
        const m: { id?: string; event?: string; data?: string; comment?: string } = {};
        for (const line of block.split('\n')) {
          if (line.startsWith(':')) m.comment = line.slice(1).trim();
          else {
            const k = line.slice(0, line.indexOf(':'));
            const v = line.slice(line.indexOf(':') + 1).trim();
            if (k === 'id' || k === 'event' || k === 'data') m[k] = v;
          }
        }
        msgs.push(m);
      }
    });
  });
  req.on('error', () => undefined);
  req.end();
  return { msgs, close: () => req.destroy() };
}
const until = async (f: () => boolean, ms = 5000): Promise<void> => {
  const t0 = Date.now();
  while (!f()) {
    if (Date.now() - t0 > ms) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
};

describe('controller API', () => {
  const store = new MemoryStore();
  let c: RunningController;
  let ro: RunningController;

  beforeAll(async () => {
    await store.publishHost(hs('h1', '198.18.1.3', 'leaf1'), [peer('198.18.2.3', { bad: [3, 4], healthy: '0xffffffe7', loss: 0.06 }), peer('198.18.1.5')]);
    await store.publishHost(hs('h2', '198.18.2.3', 'leaf2'), [peer('198.18.1.3')]);
    await store.publishHost(hs('h3', '198.18.1.5', 'leaf1', Date.now() - 60_000), [peer('198.18.1.3')]);
    c = await startController({ redis: 'memory:', store, listen: '127.0.0.1:0', token: TOKEN, pollMs: 100, staleAfterMs: 5000, keepaliveMs: 200, waitFirstPoll: true });
    ro = await startController({ redis: 'memory:', store, listen: '127.0.0.1:0', readOnly: true, pollMs: 100, maxMatrixHosts: 2, waitFirstPoll: true });
  });
  afterAll(async () => {
    await c.stop();
    await ro.stop();
  });

  it('with a token, every request needs it (header, cookie from ?token=, or query); without, 401 and a hint', async () => {
    for (const path of ['', 'assets/app.js', 'api/v1/fleet', 'api/v1/stream', 'metrics']) {
      const r = await get(c.url, path);
      expect(r.status, path).toBe(401);
      expect(r.body).toMatch(/needs its token/);
    }
    expect((await get(c.url, 'api/v1/fleet', { authorization: 'Bearer wrong-token' })).status).toBe(401);
    expect((await get(c.url, 'api/v1/fleet', auth)).status).toBe(200);
    const page = await get(c.url, `?token=${TOKEN}`);
    expect(page.status).toBe(200);
    expect(page.body).toMatch(/<canvas id="matrix"/);
    const cookie = String(page.headers['set-cookie']).split(';')[0]!;
    expect(cookie).toBe(`ps_token=${TOKEN}`);
    expect(String(page.headers['set-cookie'])).toMatch(/HttpOnly; SameSite=Strict/);
    expect((await get(c.url, 'api/v1/hosts', { cookie })).status).toBe(200);
    expect((await get(c.url, 'assets/uPlot.iife.min.js', { cookie })).body).toMatch(/uPlot/);
  });

  it('serves tiles, hosts with staleness, the worst pairs and a pair with its port strip', async () => {
    const f = await json(c.url, 'api/v1/fleet');
    expect(f).toMatchObject({ agents: 3, agents_fresh: 2, agents_stale: 1, store_ok: true });
    const hosts = await json<{ hosts: Array<{ host: string; stale: boolean }> }>(c.url, 'api/v1/hosts');
    expect(hosts.hosts.find((h) => h.host === 'h3')?.stale).toBe(true);
    const w = await json<{ pairs: Array<{ src: string; dst: string; status: string }> }>(c.url, 'api/v1/worst?limit=5');
    // the stale host's pair and the pair with bad ports lead; names resolve VTEPs to reporting hosts
    expect(w.pairs.slice(0, 2).map((p) => `${p.src}>${p.dst}:${p.status}`).sort()).toEqual(['h1>h2:bad', 'h3>h1:stale']);
    const d = await json<{ ports: Array<{ idx: number; state: string }>; pair: { status: string } }>(c.url, 'api/v1/pair?src=h1&dst=h2');
    expect(d.pair.status).toBe('bad');
    expect(d.ports).toHaveLength(32);
    expect(d.ports.filter((p) => p.state === 'bad').map((p) => p.idx)).toEqual([3, 4]);
    expect(d.ports[0]!.state).toBe('preferred');
    expect(d.ports[20]!.state).toBe('healthy');
    expect((await get(c.url, 'api/v1/pair?src=h1&dst=nowhere', auth)).status).toBe(404);
    expect((await get(c.url, 'api/v1/pair', auth)).status).toBe(400);
    expect((await get(c.url, 'api/v1/events?before=junk', auth)).status).toBe(400);
    expect((await get(c.url, 'api/v1/matrix?by=rack', auth)).status).toBe(400);
  });

  it('the matrix is by host when small and rolls up by group above maxMatrixHosts (worst pair per cell)', async () => {
    const m = await json<{ by: string; labels: string[]; statuses: string[]; status: number[] }>(c.url, 'api/v1/matrix');
    expect(m.by).toBe('host');
    const at = (r: string, col: string): string => m.statuses[m.status[m.labels.indexOf(r) * m.labels.length + m.labels.indexOf(col)]!]!;
    expect(at('h1', 'h2')).toBe('bad');
    expect(at('h2', 'h1')).toBe('ok');
    expect(at('h3', 'h1')).toBe('stale');
    expect(at('h2', 'h3')).toBe('none');
    const g = await json<{ by: string; labels: string[]; statuses: string[]; status: number[]; count: number[] }>(ro.url, 'api/v1/matrix');
    expect(g.by).toBe('group');
    expect(g.labels.sort()).toEqual(['leaf1', 'leaf2']);
    const gi = (r: string, col: string): number => g.labels.indexOf(r) * g.labels.length + g.labels.indexOf(col);
    expect(g.statuses[g.status[gi('leaf1', 'leaf2')]!]).toBe('bad');
    expect(g.statuses[g.status[gi('leaf1', 'leaf1')]!]).toBe('stale'); // h1>h3 ok, h3>h1 stale: the worst shows
    expect(g.count[gi('leaf1', 'leaf1')]).toBe(2);
  });

  it('SSE: tick and events with stream ids, keepalive comments, and a reconnect with Last-Event-ID gets exactly what it missed', async () => {
    const a = sse(c.url, auth);
    await until(() => a.msgs.some((m) => m.event === 'tick'));
    await store.addEvents([{ type: 'failover', host: 'h1', at: Date.now(), data: { peer: '198.18.2.3', ports_down: [10003], ports_up: [], healthy_before: 32, healthy_after: 31, nports: 32, detect_ms: 100, write_ms: 0.1, moved_ms: 20, flows_moved: 2 } }]);
    await until(() => a.msgs.some((m) => m.event === 'failover'));
    const first = a.msgs.find((m) => m.event === 'failover')!;
    expect(first.id).toMatch(/^\d+-\d+$/);
    expect(JSON.parse(first.data!)).toMatchObject({ id: first.id, host: 'h1', type: 'failover' });
    await until(() => a.msgs.some((m) => m.comment === 'keepalive'), 2000);
    a.close();
    // missed while away
    const missed = await store.addEvents([
      { type: 'failover', host: 'h2', at: Date.now(), data: { peer: '198.18.1.3', ports_down: [10009], ports_up: [], healthy_before: 32, healthy_after: 31, nports: 32, detect_ms: 90, write_ms: 0.1, moved_ms: null, flows_moved: 0 } },
      { type: 'port', host: 'h2', at: Date.now(), data: { peer: '198.18.1.3', port: 10009, idx: 9, healthy: false, reason: 'k-of-n' } },
      { type: 'failover', host: 'h1', at: Date.now(), data: { peer: '198.18.1.5', ports_down: [10001], ports_up: [], healthy_before: 32, healthy_after: 31, nports: 32, detect_ms: 80, write_ms: 0.1, moved_ms: null, flows_moved: 0 } },
    ]);
    const b = sse(c.url, { ...auth, 'last-event-id': first.id! });
    await until(() => b.msgs.filter((m) => m.id).length >= 2);
    await new Promise((r) => setTimeout(r, 300));
    expect(b.msgs.filter((m) => m.id).map((m) => m.id)).toEqual([missed[0], missed[2]]);
    // then live
    const [live] = await store.addEvents([{ type: 'failover', host: 'h3', at: Date.now(), data: { peer: '198.18.1.3', ports_down: [10002], ports_up: [], healthy_before: 32, healthy_after: 31, nports: 32, detect_ms: 70, write_ms: 0.1, moved_ms: null, flows_moved: 0 } }]);
    await until(() => b.msgs.some((m) => m.id === live));
    expect(b.msgs.filter((m) => m.id).map((m) => m.id)).toEqual([missed[0], missed[2], live]);
    b.close();
    const bad = await get(c.url, 'api/v1/stream', { ...auth, 'last-event-id': 'nonsense' });
    expect(bad.status).toBe(400);
  });

  it('read-only refuses writes; a writable controller forgets a host', async () => {
    const r = await get(ro.url, 'api/v1/hosts/h3', {}, 'DELETE');
    expect(r.status).toBe(403);
    expect(r.body).toMatch(/read-only/);
    expect((await json<{ read_only: boolean }>(ro.url, 'api/v1/config')).read_only).toBe(true);
    expect((await get(c.url, 'api/v1/hosts/h3', auth, 'DELETE')).status).toBe(200);
    expect(await store.host('h3')).toBeUndefined();
    expect((await get(c.url, 'api/v1/hosts/h1', auth, 'POST')).status).toBe(405);
  });

  it('/metrics: build info, requests by route and code, agents by freshness; never a host, peer or port as a label', async () => {
    const m = (await get(c.url, 'metrics', auth)).body;
    expect(m).toMatch(/^pathsteer_build_info\{node="v[\d.]+",version="[^"]+"\} 1$/m);
    expect(m).toMatch(/pathsteer_controller_http_requests_total\{code="200",route="\/api\/v1\/fleet"\} \d+/);
    expect(m).toMatch(/pathsteer_controller_http_request_duration_seconds_bucket\{route="\/api\/v1\/fleet",le="0.005"\} \d+/);
    expect(m).toMatch(/pathsteer_controller_agents\{state="fresh"\} \d/);
    const labels = m.split('\n').flatMap((l) => /\{([^}]*)\}/.exec(l)?.[1] ?? []);
    expect(labels.filter((l) => /h1|198\.18\.|1000\d/.test(l))).toEqual([]);
    for (const line of m.trim().split('\n')) expect(line).toMatch(/^(# (HELP|TYPE) \S+ .+|[a-z_]+(\{[^}]*\})? -?[0-9.e+]+)$/);
  });
});
