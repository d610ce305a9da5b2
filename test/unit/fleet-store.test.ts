/**
 * The fleet store contract, run unchanged against the memory store and a real
 * redis-server (started here on loopback, temp dir, no persistence): what the
 * controller reads back is what agents, the ranker and AltPath wrote; streams
 * resume from an id, are trimmed, and wake a blocked reader.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UsageError } from '../../src/common/errors.js';
import { KEYS, MemoryStore, RedisStore, parseRedisUrl, type FleetEvent, type FleetStore, type HostState, type PeerSummary } from '../../src/controller/store/index.js';
import { startRedis, type TestRedis } from '../support/redis.js';

let n = 0;
const uniq = (p: string): string => `${p}-${process.pid}-${++n}`;

function hostState(host: string, o: Partial<HostState> = {}): HostState {
  return {
    host,
    group: '198.18.1.0/24',
    vtep: '198.18.1.3',
    iface: 'eth0',
    version: '0.1.0',
    process_id: 7,
    started_at: new Date(0).toISOString(),
    last_seen: Date.now(),
    interval_ms: 1000,
    probe_rate_pps: 32,
    probes_sent: 100,
    responses: 99,
    lost: 1,
    failovers: 0,
    peers: 1,
    ports_bad: 0,
    buffered: 0,
    dropped: 0,
    ...o,
  };
}

function peer(p: string, o: Partial<PeerSummary> = {}): PeerSummary {
  return {
    peer: p,
    state: 'probing',
    base_port: 10000,
    nports: 32,
    healthy: '0xffffffff',
    preferred: '0xffff',
    bad: [],
    suspect: [],
    unknown: 0,
    rtt_p50_ms: 0.2,
    rtt_p99_ms: 0.4,
    loss: 0,
    probes: 32,
    last_switch: null,
    updated: Date.now(),
    ...o,
  };
}

const failover = (host: string, peerIp: string, at = Date.now()): FleetEvent => ({
  type: 'failover',
  host,
  at,
  data: { peer: peerIp, ports_down: [10001], ports_up: [], healthy_before: 32, healthy_after: 31, nports: 32, detect_ms: 120, write_ms: 0.05, moved_ms: 20, flows_moved: 3 },
});
const portEv = (host: string, idx: number): FleetEvent => ({ type: 'port', host, at: Date.now(), data: { peer: '198.18.2.3', port: 10000 + idx, idx, healthy: false, reason: 'reprobe-failed' } });

function contract(name: string, make: () => Promise<FleetStore>, cleanup: () => Promise<void> = async () => undefined): void {
  describe(`fleet store contract: ${name}`, () => {
    let s: FleetStore;
    beforeAll(async () => {
      s = await make();
    });
    afterAll(async () => {
      await s.close();
      await cleanup();
    });

    it('reads back heartbeats and peer summaries; removed peers go; unknown hosts are undefined', async () => {
      const h = uniq('h');
      await s.publishHost(hostState(h, { last_seen: 1_700_000_000_000 }), [peer('198.18.2.3'), peer('198.18.3.3', { bad: [1, 2], loss: 0.5 })]);
      let got = await s.host(h);
      expect(got?.state?.vtep).toBe('198.18.1.3');
      expect(got?.last_seen).toBe(1_700_000_000_000);
      expect(got?.peers.map((p) => p.peer).sort()).toEqual(['198.18.2.3', '198.18.3.3']);
      expect(got?.peers.find((p) => p.peer === '198.18.3.3')?.bad).toEqual([1, 2]);
      await s.publishHost(hostState(h, { last_seen: 1_700_000_001_000 }), [peer('198.18.2.3', { loss: 0.25 })], ['198.18.3.3']);
      got = await s.host(h);
      expect(got?.peers.map((p) => [p.peer, p.loss])).toEqual([['198.18.2.3', 0.25]]);
      expect(got?.last_seen).toBe(1_700_000_001_000);
      expect((await s.hosts()).find((x) => x.host === h)?.state?.last_seen).toBe(1_700_000_001_000);
      expect(await s.host(uniq('nobody'))).toBeUndefined();
      await s.forgetHost(h);
      expect(await s.host(h)).toBeUndefined();
      expect((await s.hosts()).some((x) => x.host === h)).toBe(false);
    });

    it('rejects host names that would break the key scheme', async () => {
      await expect(s.publishHost(hostState('a}b{c'), [])).rejects.toBeInstanceOf(UsageError);
      await expect(s.publishHost(hostState('has space'), [])).rejects.toThrow(/not valid/);
    });

    it('failovers go to the host stream and the fleet timeline, port events only to the host stream; ids resume', async () => {
      const h = uniq('ev');
      const start = await s.lastEventId();
      const ids = await s.addEvents([portEv(h, 1), failover(h, '198.18.2.3'), portEv(h, 2), failover(h, '198.18.4.3')]);
      expect(ids).toHaveLength(4);
      const fleet = await s.eventsAfter(start, 100);
      expect(fleet.map((e) => [e.type, e.host, (e.data as { peer: string }).peer])).toEqual([
        ['failover', h, '198.18.2.3'],
        ['failover', h, '198.18.4.3'],
      ]);
      expect(fleet.map((e) => e.id)).toEqual([ids[1], ids[3]]);
      expect(fleet[0]!.data).toMatchObject({ detect_ms: 120, flows_moved: 3, moved_ms: 20 });
      // resume after the first: only the second
      expect((await s.eventsAfter(fleet[0]!.id, 100)).map((e) => e.id)).toEqual([fleet[1]!.id]);
      expect(await s.lastEventId()).toBe(fleet[1]!.id);
      const recent = await s.recentEvents(1);
      expect(recent.map((e) => e.id)).toEqual([fleet[1]!.id]);
      expect((await s.recentEvents(1, fleet[1]!.id)).map((e) => e.id)).toEqual([fleet[0]!.id]);
      const hostEvs = await s.hostEvents(h, 10);
      expect(hostEvs.map((e) => e.type)).toEqual(['port', 'failover', 'port', 'failover']);
      expect(hostEvs.map((e) => (e.type === 'port' ? e.data.idx : -1))).toEqual([1, -1, 2, -1]);
    });

    it('trims a host stream to about MAXLEN (1000)', async () => {
      const h = uniq('trim');
      for (let i = 0; i < 12; i++) await s.addEvents(Array.from({ length: 100 }, (_, j) => portEv(h, (i * 100 + j) % 64)));
      const len = (await s.hostEvents(h, 5000)).length;
      expect(len).toBeGreaterThanOrEqual(1000);
      expect(len).toBeLessThanOrEqual(1100);
    });

    it('a blocked reader wakes on a new fleet event and times out empty without one', async () => {
      const after = await s.lastEventId();
      const t0 = Date.now();
      expect(await s.waitEvents(after, 10, 200)).toEqual([]);
      expect(Date.now() - t0).toBeGreaterThanOrEqual(150);
      const h = uniq('wake');
      const waiting = s.waitEvents(after, 10, 5000);
      await new Promise((r) => setTimeout(r, 100));
      const t1 = Date.now();
      await s.addEvents([failover(h, '198.18.9.3')]);
      const got = await waiting;
      expect(Date.now() - t1).toBeLessThan(2000);
      expect(got.map((e) => e.host)).toEqual([h]);
    });

    it('AltPath: empty until a controller reports; routes replaced as a whole; overrides on the timeline', async () => {
      const empty = await s.altPath();
      if (empty.reporter === null) expect(empty.routes).toEqual([]);
      const route = (prefix: string, dscp: number, rank: number) => ({
        prefix,
        dscp,
        rank,
        next_hop: '198.51.100.1',
        as_path: [64500, 64501],
        peer_asn: 64500,
        samples: 40,
        median_srtt_ms: 20 + rank,
        p90_srtt_ms: 30,
        retrans_rate: 0.001,
        updated: Date.now(),
      });
      await s.putAltPathRoutes('altpath-1', [route('203.0.113.0/24', 0, 1), route('203.0.113.0/24', 12, 2)]);
      const meta = { interval_ms: 5000, prefixes: 3, prefixes_reported: 1, cycle_ms: 30000, last_cycle: null, dscps: [12, 24] };
      await s.putAltPathRoutes('altpath-1', [{ ...route('198.51.100.0/24', 0, 1), table: 'main', override: false, route_id: '198.51.100.0/24 via 198.51.100.1 [64500 64501]' }], Date.now(), meta);
      let a = await s.altPath();
      expect(a.reporter).toBe('altpath-1');
      expect(a.meta).toEqual(meta);
      expect(a.routes[0]).toMatchObject({ table: 'main', override: false });
      expect(a.routes.map((r) => r.prefix)).toEqual(['198.51.100.0/24']);
      const before = await s.lastEventId();
      const id = await s.putAltPathOverride('altpath-1', { prefix: '203.0.113.0/24', dscp: 12, next_hop: '198.51.100.9', gain_ms: 25, reason: 'median SRTT 25 ms lower', at: Date.now() });
      a = await s.altPath();
      expect(a.overrides.map((o) => o.prefix)).toEqual(['203.0.113.0/24']);
      const evs = await s.eventsAfter(before, 10);
      expect(evs.map((e) => [e.id, e.type])).toEqual([[id, 'altpath-override']]);
      await s.clearAltPathOverride('203.0.113.0/24');
      expect((await s.altPath()).overrides).toEqual([]);
    });

    it('ranker results: newest first, each announced on the timeline', async () => {
      const before = await s.lastEventId();
      const rec = (best: string) => ({
        scenario: 's1',
        comparator: 'PriorityFCT',
        best,
        at: Date.now(),
        seconds: 1.5,
        samples: 32,
        candidates: [{ rank: 1, name: best, feasible: true, fct99: 0.01, tput1p: 1e9, tputAvg: 5e9, note: '' }],
      });
      const a = await s.addRankerResult(rec('no action'));
      const b = await s.addRankerResult(rec('disable T0-T1'));
      const r = await s.rankerResults(2);
      expect(r.map((x) => [x.id, x.best])).toEqual([
        [b, 'disable T0-T1'],
        [a, 'no action'],
      ]);
      const evs = await s.eventsAfter(before, 10);
      expect(evs.map((e) => (e.type === 'ranker' ? e.data.id : ''))).toEqual([a, b]);
    });

    it('ping answers', async () => {
      expect(await s.ping()).toBeGreaterThanOrEqual(0);
      expect(s.connected).toBe(true);
    });
  });
}

contract('memory', async () => new MemoryStore());

let redis: TestRedis;
contract(
  'redis',
  async () => {
    redis = await startRedis();
    return RedisStore.open(redis.url, { waitReady: true });
  },
  async () => redis.stop(),
);

describe('redis specifics', () => {
  let r: TestRedis;
  beforeAll(async () => {
    r = await startRedis();
  });
  afterAll(async () => r.stop());

  it('keys follow the schema: per-host hash tags, TTL on host keys, trimmed streams; unix sockets work', async () => {
    const s = await RedisStore.open(r.unixUrl, { waitReady: true });
    await s.publishHost(hostState('host-a'), [peer('198.18.2.3')]);
    await s.addEvents([failover('host-a', '198.18.2.3')]);
    const raw = new Redis(r.port, '127.0.0.1');
    const keys = (await raw.keys('ps:*')).sort();
    expect(keys).toEqual(['ps:events', 'ps:hosts', 'ps:{host-a}:events', 'ps:{host-a}:hb', 'ps:{host-a}:paths']);
    expect(await raw.pttl('ps:{host-a}:hb')).toBeGreaterThan(23 * 3600_000);
    expect(await raw.type('ps:{host-a}:events')).toBe('stream');
    expect(Number(await raw.zscore(KEYS.hosts, 'host-a'))).toBeGreaterThan(0);
    raw.disconnect();
    await s.close();
  });

  it('open with waitReady fails with one line naming the URL when Redis is not there', async () => {
    await expect(RedisStore.open('redis://127.0.0.1:1', { waitReady: true, readyTimeoutMs: 1500 })).rejects.toThrow(/^cannot reach Redis at redis:\/\/127\.0\.0\.1:1\/?: /);
  });

  it('commands fail at once (no offline queue) while Redis is down, and work again after it returns', async () => {
    const s = await RedisStore.open(r.url, { waitReady: true });
    await r.kill();
    const t0 = Date.now();
    await expect(s.publishHost(hostState('host-b'), [])).rejects.toThrow();
    expect(Date.now() - t0).toBeLessThan(2500);
    await r.restart();
    const deadline = Date.now() + 10_000;
    while (!s.connected && Date.now() < deadline) await new Promise((res) => setTimeout(res, 50));
    await s.publishHost(hostState('host-b'), [peer('198.18.2.3')]);
    expect((await s.host('host-b'))?.peers).toHaveLength(1);
    await s.close();
  });
});

describe('parseRedisUrl', () => {
  it('accepts redis, rediss and unix URLs', () => {
    expect(parseRedisUrl('redis://127.0.0.1:6380/2')).toMatchObject({ host: '127.0.0.1', port: 6380, db: 2, tls: false });
    expect(parseRedisUrl('rediss://u:secret@cache.example:6390')).toMatchObject({ host: 'cache.example', port: 6390, tls: true, username: 'u', password: 'secret' });
    expect(parseRedisUrl('rediss://u:secret@cache.example:6390').display).not.toContain('secret');
    expect(parseRedisUrl('unix:///run/redis/redis.sock')).toMatchObject({ path: '/run/redis/redis.sock', db: 0 });
    expect(parseRedisUrl('redis://[::1]:6379')).toMatchObject({ host: '::1' });
  });
  it('rejects the rest with a usage error that says what is expected', () => {
    for (const bad of ['localhost:6379', 'http://x:1', 'redis://h:1/99', 'unix://', 'redis://']) {
      expect(() => parseRedisUrl(bad), bad).toThrow(UsageError);
    }
    expect(() => parseRedisUrl('localhost')).toThrow(/expected redis:\/\/host:port/);
  });
});
