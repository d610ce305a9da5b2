/**
 * The agent's fleet publisher against a real redis-server: heartbeat and
 * summaries every interval, events in order, a bounded buffer (oldest dropped
 * and counted) while Redis is gone, everything buffered delivered once it is
 * back, and the failover's traffic-moved time from the pin-move counter. The
 * source is a scripted stand-in for the agent (the real agent is exercised in
 * test/e2e/fleet-*.test.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Registry } from '../../src/common/metrics.js';
import { Publisher, type PublishSource, type SourceFailover, type SourcePort, type SourceSnapshot } from '../../src/controller/publisher.js';
import { MemoryStore, RedisStore } from '../../src/controller/store/index.js';
import { startRedis, type TestRedis } from '../support/redis.js';

class Source implements PublishSource {
  failover: ((e: SourceFailover) => void) | undefined;
  port: ((e: SourcePort) => void) | undefined;
  pins = 0;
  peers = ['198.18.2.3', '198.18.3.3'];
  snapshot(): SourceSnapshot {
    return {
      iface: 'eth0',
      vtep: '198.18.1.3',
      process_id: 1,
      started_at: new Date().toISOString(),
      probe_rate_pps: 64,
      probes_sent: 10,
      responses: 10,
      lost: 0,
      failovers: 0,
      ports_bad: 0,
      peers: this.peers.map((p) => ({ peer: p, state: 'probing', base_port: 10000, nports: 32, healthy: '0xffffffff', preferred: '0xff', bad: [], suspect: [], unknown: 0, rtt_p50_ms: 0.2, rtt_p99_ms: 0.3, loss: 0, probes: 32, last_switch: null })),
    };
  }
  onFailover(cb: (e: SourceFailover) => void): () => void {
    this.failover = cb;
    return () => (this.failover = undefined);
  }
  onPort(cb: (e: SourcePort) => void): () => void {
    this.port = cb;
    return () => (this.port = undefined);
  }
  pinMoves(): number {
    return this.pins;
  }
  emitPort(i: number): void {
    this.port!({ at: new Date().toISOString(), peer: '198.18.2.3', port: 10000 + (i % 32), idx: i % 32, healthy: i % 2 === 0, reason: `n${i}` });
  }
}

const until = async (f: () => Promise<boolean> | boolean, ms = 10_000): Promise<void> => {
  const t0 = Date.now();
  while (!(await f())) {
    if (Date.now() - t0 > ms) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 25));
  }
};

describe('fleet publisher', () => {
  let redis: TestRedis;
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => redis.stop());

  it('publishes heartbeat and summaries every interval; removed peers disappear', async () => {
    const store = RedisStore.fromUrlBackground(redis.url);
    const src = new Source();
    const p = new Publisher(store, src, { host: 'pub-a', group: 'leaf1', version: 't', intervalMs: 100 });
    p.start();
    await until(async () => (await store.host('pub-a').catch(() => undefined))?.peers.length === 2);
    const first = (await store.host('pub-a'))!.state!.last_seen;
    await until(async () => (await store.host('pub-a'))!.state!.last_seen > first);
    src.peers = ['198.18.2.3'];
    await until(async () => (await store.host('pub-a'))!.peers.length === 1);
    expect((await store.host('pub-a'))!.state).toMatchObject({ group: 'leaf1', vtep: '198.18.1.3', interval_ms: 100, peers: 1 });
    await p.stop();
    await store.close();
  });

  it('keeps at most maxBuffered events while Redis is gone (oldest dropped, counted) and delivers the rest in order when it returns', async () => {
    const store = RedisStore.fromUrlBackground(redis.url, { maxReconnectDelayMs: 200 });
    const src = new Source();
    const reg = new Registry();
    const p = new Publisher(store, src, { host: 'pub-b', group: 'g', version: 't', intervalMs: 100, maxBuffered: 50, registry: reg });
    p.start();
    await until(() => store.connected);
    src.emitPort(0);
    await until(async () => (await store.hostEvents('pub-b', 10)).length === 1);
    await redis.kill();
    await until(() => !store.connected);
    // the agent's side never waits: 80 events while down are taken at once
    const t0 = performance.now();
    for (let i = 1; i <= 80; i++) src.emitPort(i);
    expect(performance.now() - t0).toBeLessThan(50);
    await new Promise((r) => setTimeout(r, 300));
    expect(p.bufferedEvents).toBe(50);
    expect(p.droppedEvents).toBe(30);
    expect(reg.expose()).toMatch(/pathsteer_publish_events_dropped_total 30/);
    expect(reg.expose()).toMatch(/pathsteer_publish_connected 0/);
    await redis.restart();
    await until(async () => (await store.hostEvents('pub-b', 100).catch(() => [])).length === 50, 15_000);
    const evs = await store.hostEvents('pub-b', 100);
    // the newest 50 (31..80), in order
    expect(evs.map((e) => (e.type === 'port' ? e.data.reason : ''))).toEqual(Array.from({ length: 50 }, (_, i) => `n${31 + i}`));
    expect(p.bufferedEvents).toBe(0);
    // the heartbeat carries what was dropped
    await until(async () => (await store.host('pub-b'))?.state?.dropped === 30);
    await p.stop();
    await store.close();
  });

  it('Redis unreachable when the agent starts is not fatal: events wait and go out once it answers', async () => {
    await redis.kill();
    const store = RedisStore.fromUrlBackground(redis.url, { maxReconnectDelayMs: 200 });
    const src = new Source();
    const p = new Publisher(store, src, { host: 'pub-d', group: 'g', version: 't', intervalMs: 100 });
    p.start();
    for (let i = 0; i < 5; i++) src.emitPort(i);
    await new Promise((r) => setTimeout(r, 300));
    expect(p.bufferedEvents).toBe(5);
    await redis.restart();
    await until(async () => (await store.hostEvents('pub-d', 10).catch(() => [])).length === 5, 15_000);
    expect((await store.host('pub-d'))?.peers).toHaveLength(2);
    await p.stop();
    await store.close();
  });

  it('a failover carries detect, write and traffic moved (first pin move after the write, flows moved within the window)', async () => {
    const store = new MemoryStore();
    const src = new Source();
    const p = new Publisher(store, src, { host: 'pub-c', group: 'g', version: 't', intervalMs: 1000, moveWindowMs: 1000, movePollMs: 10 });
    p.start();
    src.pins = 100;
    src.failover!({ at: new Date().toISOString(), peer: '198.18.2.3', ports_down: [10001, 10002], ports_up: [], healthy_before: 32, healthy_after: 30, nports: 32, detect_ms: 140, write_ms: 0.1 });
    setTimeout(() => (src.pins = 103), 60);
    setTimeout(() => (src.pins = 105), 120);
    await until(async () => (await store.recentEvents(5)).length === 1, 3000);
    const [e] = await store.recentEvents(5);
    expect(e!.type).toBe('failover');
    if (e!.type !== 'failover') return;
    expect(e.data.detect_ms).toBe(140);
    expect(e.data.flows_moved).toBe(5);
    expect(e.data.moved_ms).toBeGreaterThanOrEqual(50);
    expect(e.data.moved_ms).toBeLessThan(400);
    // no flow moved: moved_ms null, after the window
    src.failover!({ at: new Date().toISOString(), peer: '198.18.3.3', ports_down: [10003], ports_up: [], healthy_before: 32, healthy_after: 31, nports: 32, detect_ms: 90, write_ms: 0.1 });
    await until(async () => (await store.recentEvents(5)).length === 2, 3000);
    const last = (await store.recentEvents(1))[0]!;
    expect(last.type === 'failover' && last.data.moved_ms).toBe(null);
    await p.stop();
  });
});
