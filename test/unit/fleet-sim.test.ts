/**
 * The fleet benchmark's simulated agents write what real agents write:
 * simEncodePeer is encodePeer, and a simulated report (hostWriteCommands in
 * one MULTI) stores the same keys and fields as RedisStore.publishHost, and
 * reads back through the controller's store as the same host.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SimAgent, simEncodePeer, simPeerFields } from '../../bench/fleet-sim.js';
import { decodePeer, encodePeer, hostWriteCommands, KEYS, RedisStore, type PeerSummary } from '../../src/controller/store/index.js';
import { Rng } from '../../src/ranker/rng.js';
import { startRedis, type TestRedis } from '../support/redis.js';

describe('fleet simulator wire format', () => {
  it('encodes summaries exactly as encodePeer does', () => {
    for (const bad of [new Set<number>(), new Set([3, 17, 31])]) {
      for (const [p50, p99, loss, sw] of [
        [0.213, 0.383, 0, null],
        [null, null, 0.09375, 1733389200123],
        [12, 40.5, 1, 5],
      ] as Array<[number | null, number | null, number, number | null]>) {
        const f = simPeerFields('198.18.3.11', bad);
        const summary: PeerSummary = { ...f, rtt_p50_ms: p50, rtt_p99_ms: p99, loss, probes: 32, last_switch: sw, updated: 1733389200999 };
        const head = `${JSON.stringify([1, f.peer, f.state, f.base_port, f.nports, f.healthy, f.preferred, f.bad, f.suspect, f.unknown]).slice(0, -1)},`;
        const s = simEncodePeer(head, p50, p99, loss, 32, sw, 1733389200999);
        expect(s).toBe(encodePeer(summary));
        expect(decodePeer(s)).toEqual(summary);
      }
    }
  });

  describe('against redis-server', () => {
    let redis: TestRedis;
    let raw: Redis;
    let store: RedisStore;
    beforeAll(async () => {
      redis = await startRedis();
      raw = new Redis(redis.port, '127.0.0.1');
      store = await RedisStore.open(redis.url, { waitReady: true });
    });
    afterAll(async () => {
      raw?.disconnect();
      await store?.close();
      await redis?.stop();
    });

    it('a simulated report stores what publishHost stores and reads back as the host', async () => {
      const rng = new Rng('fleet-sim-test', 3);
      const rand = (): number => rng.next();
      const agent = new SimAgent(7, { agents: 100, peers: 8, hostsPerGroup: 10 }, rand);
      agent.event(Date.now()); // some ports bad
      const now = Date.now();
      const { state, encoded } = agent.report(now);
      const res = await raw.multi(hostWriteCommands(state, encoded)).exec();
      expect(res!.every(([e]) => e === null)).toBe(true);
      const simHash = await raw.hgetall(KEYS.paths(state.host));
      const simHb = await raw.hgetall(KEYS.hb(state.host));
      const back = await store.host(state.host);
      expect(back?.state).toEqual(state);
      expect(back?.peers).toHaveLength(8);
      expect(back?.peers.some((p) => p.bad.length > 0)).toBe(true);
      // the same report through the real publisher's store write
      await raw.del(KEYS.paths(state.host), KEYS.hb(state.host));
      await store.publishHost(state, back!.peers);
      expect(await raw.hgetall(KEYS.paths(state.host))).toEqual(simHash);
      expect(await raw.hgetall(KEYS.hb(state.host))).toEqual(simHb);
      expect(await raw.pttl(KEYS.paths(state.host))).toBeGreaterThan(3600_000);
      expect(Number(await raw.zscore(KEYS.hosts, state.host))).toBe(now);
    });
  });
});
