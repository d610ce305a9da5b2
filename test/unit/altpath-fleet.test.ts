/**
 * The AltPath controller in the fleet store: fleetReport turns its tables,
 * measurements and overrides into fleet records (BGP best as DSCP 0 in
 * `main`, each alternate in its DSCP table, the override marked), bounded;
 * the AltPathPublisher writes them to the memory store and to a real
 * redis-server (overrides also on the fleet timeline, ended ones cleared),
 * never waits on an unreachable Redis and publishes the whole state again
 * once it is back.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseNlri } from '../../src/altpath/bgp/nlri.js';
import { encode, type BmpInput } from '../../src/altpath/bmp/messages.js';
import { BmpSession } from '../../src/altpath/bmp/session.js';
import { parseControllerConfig, type ControllerConfigInput } from '../../src/altpath/controller/config.js';
import { AltpathController } from '../../src/altpath/controller/controller.js';
import { fleetReport } from '../../src/altpath/controller/fleet-report.js';
import { MemoryInjector } from '../../src/altpath/inject/memory.js';
import type { ConnSample } from '../../src/altpath/sample.js';
import { AltPathPublisher } from '../../src/controller/altpath-publisher.js';
import { MemoryStore, RedisStore, type FleetStore } from '../../src/controller/store/index.js';
import { startRedis, type TestRedis } from '../support/redis.js';

const P = '203.0.113.0/24';
const Q = '198.51.100.0/24';
const peers = [
  { address: '198.18.11.6', asn: 65001, path: [65001] },
  { address: '198.18.11.10', asn: 65002, path: [65002, 65002] },
  { address: '198.18.11.14', asn: 65003, path: [65003, 65003, 65003] },
];

function routerUp(s: BmpSession): void {
  const feed = (msgs: BmpInput[]): void => {
    for (const m of msgs) s.push(encode(m));
  };
  feed([{ type: 'initiation', sysName: 'pr' }]);
  for (const p of peers) {
    const peer = { address: p.address, asn: p.asn, bgpId: p.address };
    feed([
      { type: 'peer-up', peer, localAddress: '198.18.11.5', localPort: 179, remotePort: 1000, sentOpen: { asn: 65000, bgpId: '198.18.10.1' }, receivedOpen: { asn: p.asn, bgpId: p.address } },
      { type: 'route-monitoring', peer, update: { nlri: [parseNlri(P), parseNlri(Q)], attrs: { origin: 0, asPath: [{ type: 2, asns: p.path }], nextHop: p.address } } },
    ]);
  }
}

function sample(dscp: number, srttMs: number, ts: number, daddr = '203.0.113.10'): ConnSample {
  return { host: 'srv', ts_ms: ts, family: 4, saddr: '198.18.10.2', daddr, sport: 443, dport: 40000, dscp, srtt_us: srttMs * 1000, rttvar_us: 1, rto_us: 204000, total_retrans: 0, segs_out: 10, segs_in: 10, bytes_acked: 10000, bytes_received: 10, duration_us: 100000 };
}

function make(cfg: ControllerConfigInput = {}): AltpathController {
  const config = parseControllerConfig({ activePrefixes: [P, Q], minSamples: 5, injectors: [], ...cfg });
  const ctl = new AltpathController(config, { injectors: [new MemoryInjector('memory', true)] });
  routerUp(new BmpSession(ctl.rib, 'pr', 'pr:1'));
  return ctl;
}

/** P overridden: BGP best ~50 ms, the 2nd best (DSCP 12) ~25 ms. */
async function withOverride(ctl: AltpathController, t0: number): Promise<void> {
  await ctl.cycle(t0);
  ctl.ingest([...Array.from({ length: 6 }, (_, i) => sample(0, 50 + i, t0 + 10 + i)), ...Array.from({ length: 6 }, (_, i) => sample(12, 25 + i, t0 + 10 + i))], t0 + 100);
  await ctl.cycle(t0 + 200);
}

describe('fleetReport', () => {
  it('routes per prefix with their tables and measurements; the override with its evidence', async () => {
    const ctl = make();
    const t0 = Date.now();
    await ctl.cycle(t0);
    let r = fleetReport(ctl, { intervalMs: 1000, now: t0 });
    expect(r.overrides).toEqual([]);
    expect(r.meta).toMatchObject({ interval_ms: 1000, prefixes: 2, prefixes_reported: 2, dscps: [12, 24] });
    const rows = (prefix: string) => r.routes.filter((x) => x.prefix === prefix).map((x) => [x.rank, x.table, x.dscp, x.next_hop, x.as_path.join(' '), x.peer_asn]);
    expect(rows(P)).toEqual([
      [1, 'main', 0, '198.18.11.6', '65001', 65001],
      [2, 'dscp:12', 12, '198.18.11.10', '65002 65002', 65002],
      [3, 'dscp:24', 24, '198.18.11.14', '65003 65003 65003', 65003],
    ]);
    await withOverride(ctl, t0);
    r = fleetReport(ctl, { intervalMs: 1000 });
    const alt = r.routes.find((x) => x.prefix === P && x.dscp === 12)!;
    expect(alt).toMatchObject({ table: 'override', override: true, samples: 6, median_srtt_ms: 27.5 });
    expect(r.routes.find((x) => x.prefix === P && x.dscp === 0)).toMatchObject({ table: 'main', override: false, samples: 6, median_srtt_ms: 52.5 });
    expect(r.overrides).toHaveLength(1);
    expect(r.overrides[0]).toMatchObject({ prefix: P, dscp: 12, next_hop: '198.18.11.10', gain_ms: 25, alt_srtt_ms: 27.5, primary_srtt_ms: 52.5, alt_samples: 6, primary_samples: 6, route_id: alt.route_id });
    expect(r.overrides[0]!.expires_at - r.overrides[0]!.at).toBe(600_000);
  });

  it('is bounded: overridden prefixes first', async () => {
    const ctl = make();
    await withOverride(ctl, Date.now());
    const r = fleetReport(ctl, { intervalMs: 1000, maxPrefixes: 1 });
    expect(r.meta).toMatchObject({ prefixes: 2, prefixes_reported: 1 });
    expect(new Set(r.routes.map((x) => x.prefix))).toEqual(new Set([P]));
  });
});

function publisherSuite(name: string, open: () => Promise<{ store: FleetStore; redis?: TestRedis; close(): Promise<void> }>): void {
  describe(`AltPathPublisher: ${name}`, () => {
    let env: Awaited<ReturnType<typeof open>>;
    beforeAll(async () => {
      env = await open();
    });
    afterAll(async () => {
      await env?.close();
    });

    it('publishes routes and meta; an override goes to the timeline once, and is cleared when it ends', async () => {
      const { store } = env;
      const ctl = make();
      const t0 = Date.now();
      await ctl.cycle(t0);
      const pub = new AltPathPublisher(store, { snapshot: () => fleetReport(ctl, { intervalMs: 60_000 }), onCycle: (cb) => ctl.onCycle(() => cb()) }, { reporter: 'altpath@test', intervalMs: 60_000 });
      const before = await store.lastEventId();
      pub.start();
      await pub.publishNow();
      let a = await store.altPath();
      expect(a.reporter).toBe('altpath@test');
      expect(a.meta).toMatchObject({ interval_ms: 60_000, prefixes: 2 });
      expect(a.routes.filter((x) => x.prefix === P).map((x) => x.table).sort()).toEqual(['dscp:12', 'dscp:24', 'main']);
      expect(a.overrides).toEqual([]);
      // the override is published by the cycle that made it, not at the next interval
      ctl.ingest([...Array.from({ length: 6 }, (_, i) => sample(0, 50 + i, t0 + 10 + i)), ...Array.from({ length: 6 }, (_, i) => sample(12, 25 + i, t0 + 10 + i))], t0 + 100);
      await ctl.cycle(t0 + 200);
      const deadline = Date.now() + 3000;
      while ((await store.altPath()).overrides.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      a = await store.altPath();
      expect(a.overrides).toHaveLength(1);
      expect(a.overrides[0]).toMatchObject({ prefix: P, next_hop: '198.18.11.10', gain_ms: 25, dscp: 12 });
      expect(a.routes.find((x) => x.prefix === P && x.dscp === 12)).toMatchObject({ table: 'override', override: true });
      await pub.publishNow();
      await pub.publishNow();
      const evs = (await store.eventsAfter(before, 100)).filter((e) => e.type === 'altpath-override');
      expect(evs).toHaveLength(1);
      expect(evs[0]!.host).toBe('altpath@test');
      // the override lapses (TTL): cleared from the store
      await ctl.cycle(t0 + 200 + 600_001);
      await pub.publishNow();
      expect((await store.altPath()).overrides).toEqual([]);
      expect(pub.counters).toMatchObject({ overrides_written: 1, overrides_cleared: 1, errors: 0 });
      await pub.stop();
    });

    it('clears overrides an earlier run left behind', async () => {
      const { store } = env;
      await store.putAltPathOverride('altpath@old', { prefix: '198.51.100.0/24', dscp: 12, next_hop: '198.18.11.10', gain_ms: 30, reason: 'old', at: Date.now() - 60_000 });
      const ctl = make();
      await ctl.cycle(Date.now());
      const pub = new AltPathPublisher(store, { snapshot: () => fleetReport(ctl, { intervalMs: 60_000 }) }, { reporter: 'altpath@test', intervalMs: 60_000 });
      await pub.publishNow();
      expect((await store.altPath()).overrides).toEqual([]);
      await pub.stop();
    });
  });
}

publisherSuite('memory store', async () => {
  const store = new MemoryStore();
  return { store, close: async () => store.close() };
});

publisherSuite('real redis-server', async () => {
  const redis = await startRedis();
  const store = await RedisStore.open(redis.url, { waitReady: true });
  return {
    store,
    redis,
    close: async () => {
      await store.close();
      await redis.stop();
    },
  };
});

describe('AltPathPublisher while Redis is down (real redis-server)', () => {
  let redis: TestRedis;
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    await redis?.stop();
  });

  it('never waits on it; after the restart the whole state is published again', async () => {
    const store = RedisStore.fromUrlBackground(redis.url, { maxReconnectDelayMs: 200 });
    const ctl = make();
    await withOverride(ctl, Date.now());
    const pub = new AltPathPublisher(store, { snapshot: () => fleetReport(ctl, { intervalMs: 300 }), onCycle: (cb) => ctl.onCycle(() => cb()) }, { reporter: 'altpath@test', intervalMs: 300 });
    pub.start();
    const t1 = Date.now();
    while ((await store.altPath().catch(() => ({ overrides: [] }))).overrides.length === 0 && Date.now() - t1 < 5000) await new Promise((r) => setTimeout(r, 50));
    expect((await store.altPath()).overrides).toHaveLength(1);
    await redis.kill();
    // publishing and cycling go on without waiting
    for (let i = 0; i < 5; i++) {
      const t = performance.now();
      await pub.publishNow();
      await ctl.cycle(Date.now());
      expect(performance.now() - t).toBeLessThan(500);
    }
    expect(pub.counters.skipped + pub.counters.errors).toBeGreaterThan(0);
    await redis.restart(); // empty: nothing persisted
    const t2 = Date.now();
    let a = { overrides: [] as unknown[], routes: [] as unknown[] };
    while ((a.overrides.length === 0 || a.routes.length === 0) && Date.now() - t2 < 10_000) {
      await new Promise((r) => setTimeout(r, 100));
      a = await store.altPath().catch(() => a);
    }
    expect(a.routes.length).toBeGreaterThan(0);
    expect(a.overrides).toHaveLength(1);
    await pub.stop();
    await store.close();
  }, 30_000);
});
