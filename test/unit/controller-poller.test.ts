/**
 * The controller's poll: when a host counts as stale (only after it missed
 * reports: its own publish interval counts, and the time the poll spends
 * reading and decoding a large fleet does not), and the poll in a worker
 * thread (--poll-in worker) against a real redis-server serving the same
 * answers as the poll on the serving thread, including the queries the
 * worker answers (a host, a pair, a group's matrix, filtered worst pairs).
 */
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolvePollIn, startController, type RunningController } from '../../src/controller/run.js';
import { MemoryStore, RedisStore, type FleetStore, type HostSnapshot, type HostState, type PeerSummary } from '../../src/controller/store/index.js';
import { FleetView, isStale } from '../../src/controller/view.js';
import { workerEntry } from '../../src/controller/worker-view.js';
import { startRedis, type TestRedis } from '../support/redis.js';

const T0 = 1_733_390_000_000;

function hs(host: string, vtep: string, lastSeen: number, intervalMs = 1000, group = 'leaf-a'): HostState {
  return { host, group, vtep, iface: 'eth0', version: 't', process_id: 1, started_at: '', last_seen: lastSeen, interval_ms: intervalMs, probe_rate_pps: 64, probes_sent: 1, responses: 1, lost: 0, failovers: 0, peers: 1, ports_bad: 0, buffered: 0, dropped: 0 };
}
function peer(p: string, updated: number, o: Partial<PeerSummary> = {}): PeerSummary {
  return { peer: p, state: 'probing', base_port: 10000, nports: 32, healthy: '0xffffffff', preferred: '0xffff', bad: [], suspect: [], unknown: 0, rtt_p50_ms: 0.3, rtt_p99_ms: 0.5, loss: 0, probes: 32, last_switch: null, updated, ...o };
}

describe('stale hosts', () => {
  it('isStale: past stale-after and past three of the host own intervals', () => {
    expect(isStale(4000, 1000, 5000)).toBe(false);
    expect(isStale(5001, 1000, 5000)).toBe(true);
    expect(isStale(6000, 10_000, 5000)).toBe(false);
    expect(isStale(30_001, 10_000, 5000)).toBe(true);
    expect(isStale(5001, undefined, 5000)).toBe(true);
  });

  it('a host that publishes every 10 s is fresh between its reports, stale once it missed them', async () => {
    const store = new MemoryStore();
    let now = T0;
    const view = new FleetView(store, { staleAfterMs: 5000, now: () => now });
    await store.publishHost(hs('slow', '198.18.1.10', T0, 10_000), [peer('198.18.1.11', T0)]);
    await store.publishHost(hs('fast', '198.18.1.11', T0, 1000), [peer('198.18.1.10', T0)]);
    now = T0 + 8000; // the slow host's first report, its next one not yet due
    await view.pollOnce();
    const by = new Map(view.snapshot.hosts.map((h) => [h.host, h]));
    expect(by.get('slow')!.stale).toBe(false);
    expect(by.get('fast')!.stale).toBe(true);
    expect(view.snapshot.pairs.find((p) => p.src === 'slow')!.status).toBe('ok');
    expect(view.snapshot.pairs.find((p) => p.src === 'fast')!.status).toBe('stale');
    now = T0 + 31_000;
    await view.pollOnce();
    expect(view.snapshot.hosts.find((h) => h.host === 'slow')!.stale).toBe(true);
    expect(view.tiles()).toMatchObject({ agents: 2, agents_fresh: 0, agents_stale: 2 });
  });

  it('ages are measured from when the read began: a slow read of a large fleet does not make fresh hosts stale', async () => {
    const mem = new MemoryStore();
    let now = T0 + 2000;
    // the read takes 4 s (a loaded machine decoding thousands of hosts)
    const slow = new Proxy(mem, {
      get(t, prop, recv) {
        if (prop === 'hosts')
          return async (): Promise<HostSnapshot[]> => {
            const r = await t.hosts();
            now += 4000;
            return r;
          };
        return Reflect.get(t, prop, recv) as unknown;
      },
    }) as FleetStore;
    await mem.publishHost(hs('a', '198.18.1.10', T0), [peer('198.18.1.11', T0)]);
    const view = new FleetView(slow, { staleAfterMs: 5000, now: () => now });
    await view.pollOnce();
    const h = view.snapshot.hosts[0]!;
    expect(h.age_ms).toBe(2000);
    expect(h.stale).toBe(false);
    expect(view.snapshot.generated_at).toBe(T0 + 2000);
  });
});

interface Resp {
  status: number;
  body: string;
}
function get(url: string, path: string): Promise<Resp> {
  return new Promise((resolve, reject) => {
    const req = request(new URL(path, url), (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode!, body }));
    });
    req.on('error', reject);
    req.end();
  });
}
const json = async <T = Record<string, unknown>>(url: string, path: string): Promise<T> => {
  const r = await get(url, path);
  expect(r.status, `${path}: ${r.body.slice(0, 200)}`).toBe(200);
  return JSON.parse(r.body) as T;
};

describe('where the poll runs', () => {
  it('auto: a worker for Redis, the serving thread for a store in this process', () => {
    expect(resolvePollIn({ redis: 'memory:' })).toBe('thread');
    expect(resolvePollIn({ redis: 'redis://127.0.0.1:6379', pollIn: 'thread' })).toBe('thread');
    expect(resolvePollIn({ redis: 'redis://127.0.0.1:6379' })).toBe(workerEntry() ? 'worker' : 'thread');
    expect(() => resolvePollIn({ redis: 'memory:', pollIn: 'worker' })).toThrow(/needs a Redis store/);
  });
});

describe.runIf(workerEntry() !== undefined)('poll in a worker thread, real redis-server', () => {
  let redis: TestRedis;
  let writer: RedisStore;
  let w: RunningController;
  let t: RunningController;
  beforeAll(async () => {
    redis = await startRedis();
    writer = await RedisStore.open(redis.url, { waitReady: true });
    const now = Date.now();
    // two groups of three hosts, each probing the others; one pair with bad ports
    for (let i = 0; i < 6; i++) {
      const g = i < 3 ? 'leaf-a' : 'leaf-b';
      const peers = [];
      for (let j = 0; j < 6; j++) if (j !== i) peers.push(peer(`198.18.1.${10 + j}`, now, i === 0 && j === 4 ? { bad: [3, 4], healthy: '0xffffffe7', loss: 0.0625 } : {}));
      await writer.publishHost(hs(`h${i}`, `198.18.1.${10 + i}`, now, 1000, g), peers);
    }
    await writer.addEvents([{ type: 'failover', host: 'h0', at: now, data: { peer: '198.18.1.14', ports_down: [10003, 10004], ports_up: [], healthy_before: 32, healthy_after: 30, nports: 32, detect_ms: 120, write_ms: 0.1, moved_ms: 20, flows_moved: 3 } }]);
    const common = { redis: redis.url, listen: '127.0.0.1:0', pollMs: 200, maxMatrixHosts: 4, waitFirstPoll: true };
    w = await startController({ ...common, pollIn: 'worker' });
    t = await startController({ ...common, pollIn: 'thread' });
  }, 30_000);
  afterAll(async () => {
    await w?.stop();
    await t?.stop();
    await writer?.close();
    await redis?.stop();
  });

  it('serves what the poll on the serving thread serves', async () => {
    expect((await json<{ poll_in: string }>(w.url, 'api/v1/config')).poll_in).toBe('worker');
    expect((await json<{ poll_in: string }>(t.url, 'api/v1/config')).poll_in).toBe('thread');
    // the two controllers polled at different moments: leave out what depends on when
    const strip = (x: unknown): unknown => JSON.parse(JSON.stringify(x), (k, v: unknown) => (k === 'generated_at' || k === 'age_ms' || k === 'poll_ms' ? undefined : v));
    const [fw, ft] = [await json(w.url, 'api/v1/fleet'), await json(t.url, 'api/v1/fleet')];
    expect(strip(fw)).toEqual(strip(ft));
    expect(fw).toMatchObject({ agents: 6, agents_fresh: 6, pairs: 30, pairs_bad: 1, failovers_1h: 1 });
    for (const path of ['api/v1/matrix', 'api/v1/matrix?by=host', 'api/v1/matrix?by=group&group=leaf-a', 'api/v1/worst?limit=3', 'api/v1/worst?limit=5&src_group=leaf-a', 'api/v1/hosts/h0']) {
      const [a, b] = [await json<{ generated_at: number }>(w.url, path), await json<{ generated_at: number }>(t.url, path)];
      expect(strip(a), path).toEqual(strip(b));
    }
    const m = await json<{ by: string; labels: string[] }>(w.url, 'api/v1/matrix');
    expect(m.by).toBe('group');
    expect(m.labels.slice(0, 2)).toEqual(['leaf-a', 'leaf-b']);
    const worst = await json<{ pairs: Array<{ src: string; dst: string; status: string }> }>(w.url, 'api/v1/worst?limit=5&src_group=leaf-a');
    expect(worst.pairs[0]).toMatchObject({ src: 'h0', dst: 'h4', status: 'bad' });
    // a pair is answered on the serving thread (columns and its own series ring): the same detail
    type Detail = { ports: Array<{ state: string }>; failovers: unknown[]; series: { t: number[]; rtt_p50_ms: Array<number | null>; loss: Array<number | null> } };
    const pair = await json<Detail>(w.url, 'api/v1/pair?src=h0&dst=h4');
    const pairT = await json<Detail>(t.url, 'api/v1/pair?src=h0&dst=198.18.1.14');
    expect(pair.ports.filter((p) => p.state === 'bad')).toHaveLength(2);
    expect(pair.failovers).toHaveLength(1);
    expect(strip({ ...pair, series: undefined })).toEqual(strip({ ...pairT, series: undefined }));
    expect(pair.series.t.length).toBeGreaterThan(0);
    expect(pair.series.rtt_p50_ms, JSON.stringify(pair.series)).toEqual(pair.series.t.map(() => 0.3));
    expect(pair.series.loss).toEqual(pair.series.t.map(() => 0.063));
    expect((await get(w.url, 'api/v1/hosts/nobody')).status).toBe(404);
    expect((await get(w.url, 'api/v1/pair?src=h0&dst=nobody')).status).toBe(404);
    const metrics = (await get(w.url, 'metrics')).body;
    expect(metrics).toMatch(/pathsteer_controller_peer_pairs\{status="bad"\} 1/);
    expect(metrics).toMatch(/pathsteer_controller_store_up 1/);
  });

  it('new reports and events reach the serving thread', async () => {
    const before = await json<{ generated_at: number }>(w.url, 'api/v1/fleet');
    await writer.publishHost(hs('h6', '198.18.1.16', Date.now(), 1000, 'leaf-b'), [peer('198.18.1.10', Date.now())]);
    const t0 = Date.now();
    let f = before as { generated_at: number; agents?: number };
    while (f.agents !== 7 && Date.now() - t0 < 5000) {
      await new Promise((r) => setTimeout(r, 100));
      f = await json(w.url, 'api/v1/fleet');
    }
    expect(f.agents).toBe(7);
    expect(f.generated_at).toBeGreaterThan(before.generated_at);
    expect((await json<{ host: { host: string } }>(w.url, 'api/v1/hosts/h6')).host.host).toBe('h6');
  });
});
