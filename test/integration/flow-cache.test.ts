/**
 * vxlan_sport's per-CPU flow cache (ps_flow_cache) through BPF_PROG_TEST_RUN,
 * with this process pinned to one CPU so consecutive test runs share a slot:
 * hits give the same port and rewrite as the full path; a table change made
 * through pathsteer's APIs (which advance ps_config.path_gen) reaches the very
 * next packet of a flow, and a change that skips the bump would not (why every
 * API bumps); activity stays exact across flushes and evictions; pins stay
 * alive under the cache. Also: every API that writes ps_path or ps_pin
 * advances path_gen, and two processes bumping at once lose no increment.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { flowHash, selectPort } from '../../src/agent/select-port.js';
import { BpfObject } from '../../src/loader/index.js';
import { combineActivity } from '../../src/maps/activity.js';
import { locate, SPORT_MAPS, SportMaps } from '../../src/maps/dataplane.js';
import { flowSlotOf } from '../../src/maps/flow-cache.js';
import { MapName, ProgName, PsStat, type PsStatName } from '../../src/maps/names.generated.js';
import { objectPath } from '../../src/maps/objects.js';
import { PathEntryCodec, pathEntry, PS_F_PIN, PS_F_PREFER, type PathEntry } from '../../src/maps/path-entry.js';
import { PinKeyCodec, PinValCodec } from '../../src/maps/pin.js';
import { PeerCodec } from '../../src/maps/scalar.js';
import { diffStats, type StatCounts } from '../../src/maps/stats.js';
import { runPrefix } from '../../src/testbed/netns.js';
import { FIXTURE_CONFIG } from '../fixtures/vxlan-sport-packets.js';
import { buildUdp4, innerFrame, parseUdp4, udpChecksumOk, vxlanPayload } from '../support/packets.js';
import { expectStats } from '../support/expect-fixture.js';
import { pinToOneCpu } from '../support/netns.js';
import { canLoadBpf } from '../support/privileged.js';
import { xorshift32 } from '../support/random.js';
import { SportUnderTest } from '../support/sport.js';

const PROGRAMS = [ProgName.vxlanSport, ProgName.vxlanSportCompat];
const LOCAL = '198.18.0.1';
const P1 = '198.18.0.2';
const P2 = '198.18.0.3';
const BASE = 40000;
const SEED = FIXTURE_CONFIG.hashSeed;
const BUMPER = new URL('../support/bump-gen.mjs', import.meta.url).pathname;

const tunnelPacket = (peer: string, sport: number, seq = 1): Buffer =>
  buildUdp4({ saddr: LOCAL, daddr: peer, sport, dport: 4789, payload: vxlanPayload(100, innerFrame(60, seq)) });

/**
 * Only the named counters moved, by exactly this much. CACHE_FLUSH depends on
 * whether the tick (jiffies) moved on between two packets; it is checked
 * where the test waits for that.
 */
function expectCounts(d: StatCounts, want: Partial<Record<PsStatName, number>>): void {
  expectStats(d, want, ['CACHE_FLUSH']);
}

describe.runIf(canLoadBpf)('vxlan_sport flow cache (BPF_PROG_TEST_RUN on one CPU)', () => {
  let sut: SportUnderTest;
  let uncached: SportUnderTest;
  let restoreAffinity: (() => Promise<void>) | undefined;

  beforeAll(async () => {
    // per-CPU slots: keep every test run of this file on the same CPU
    restoreAffinity = await pinToOneCpu();
    sut = new SportUnderTest(FIXTURE_CONFIG);
    uncached = new SportUnderTest(FIXTURE_CONFIG, { flowCache: false });
  });
  afterAll(async () => {
    sut?.close();
    uncached?.close();
    await restoreAffinity?.();
  });

  /** One packet of flow (peer, sport) through prog: the port it left with and the counters it moved. */
  const send = (prog: string, peer: string, sport: number, s: SportUnderTest = sut): { port: number; d: StatCounts; out: Buffer } => {
    const before = s.stats();
    const r = s.run(prog, tunnelPacket(peer, sport));
    expect(udpChecksumOk(r.data)).toBe(true);
    return { port: parseUdp4(r.data).sport, d: diffStats(s.stats(), before), out: r.data };
  };

  describe.each(PROGRAMS)('%s', (prog) => {
    it('the second packet of a flow is a cache hit: same port, same bytes, no table lookups; unknown peers are cached too', () => {
      sut.reset();
      sut.path.set(P1, pathEntry({ basePort: BASE, nports: 16, healthy: 0xffffn, flags: PS_F_PIN }));
      const first = send(prog, P1, 51000);
      const want = selectPort(sut.path.get(P1)!, flowHash(51000, SEED))!;
      expect(first.port).toBe(want.port);
      expectCounts(first.d, { TUNNEL: 1, CACHE_MISS: 1, STEERED: 1, REWRITTEN: 1, PIN_NEW: 1, CSUM_FIXED: 1 });
      const second = send(prog, P1, 51000);
      expect(second.out.equals(first.out)).toBe(true);
      expectCounts(second.d, { TUNNEL: 1, CACHE_HIT: 1, STEERED: 1, REWRITTEN: 1, CSUM_FIXED: 1 });
      // the slot the kernel used is the one flowSlotOf names
      const slot = sut.flowCache.getPerCpu(flowSlotOf(P1, flowHash(51000, SEED)))!.find((x) => x.peer === P1);
      expect(slot).toMatchObject({ flowHash: flowHash(51000, SEED), sport: want.port, idx: want.idx, outcome: PsStat.STEERED });

      expectCounts(send(prog, P2, 52000).d, { TUNNEL: 1, CACHE_MISS: 1, NO_ENTRY: 1 });
      const again = send(prog, P2, 52000);
      expect(again.port).toBe(52000);
      expectCounts(again.d, { TUNNEL: 1, CACHE_HIT: 1, NO_ENTRY: 1 });
    });

    it('a table change made through the API reaches the very next packet of the same flow', () => {
      sut.reset();
      const h = flowHash(51000, SEED);
      const gen0 = sut.gen.current();
      // pinned: the flow moves only when its port fails, and stays after recovery
      const all = pathEntry({ basePort: BASE, nports: 16, healthy: 0xffffn, flags: PS_F_PIN });
      sut.path.set(P1, all);
      const p = send(prog, P1, 51000).port;
      expect(send(prog, P1, 51000).d.CACHE_HIT).toBe(1n);
      sut.path.set(P1, { ...all, healthy: 0xffffn & ~(1n << BigInt(p - BASE)) });
      const moved = send(prog, P1, 51000);
      expect(moved.port).toBe(selectPort({ ...all, healthy: 0xffffn & ~(1n << BigInt(p - BASE)) }, h)!.port);
      expect(moved.port).not.toBe(p);
      expectCounts(moved.d, { TUNNEL: 1, CACHE_MISS: 1, STEERED: 1, REWRITTEN: 1, PIN_MOVED: 1, CSUM_FIXED: 1 });
      sut.path.set(P1, all);
      expect(send(prog, P1, 51000).port).toBe(moved.port); // recovered port does not pull it back
      // preferred ports, not pinned: the flow follows the preference at once
      const pref = (bit: number): PathEntry => pathEntry({ basePort: BASE, nports: 16, healthy: 0xffffn, preferred: 1n << BigInt(bit), flags: PS_F_PREFER });
      sut.path.set(P1, pref(3));
      expect(send(prog, P1, 51000).port).toBe(BASE + 3);
      expect(send(prog, P1, 51000).d.CACHE_HIT).toBe(1n);
      sut.path.set(P1, pref(11));
      expect(send(prog, P1, 51000).port).toBe(BASE + 11);
      // removed, then back
      sut.path.delete(P1);
      expectCounts(send(prog, P1, 51000).d, { TUNNEL: 1, CACHE_MISS: 1, NO_ENTRY: 1 });
      sut.path.setMany([[P1, pref(5)]]);
      expect(send(prog, P1, 51000).port).toBe(BASE + 5);
      sut.path.deleteMany([P1]);
      expect(send(prog, P1, 51000).port).toBe(51000);
      // a pin written by user space
      sut.path.set(P1, all);
      send(prog, P1, 51000);
      sut.pin.set({ peer: P1, flowHash: h }, { idx: 9 });
      const pinned = send(prog, P1, 51000);
      expect(pinned.port).toBe(BASE + 9);
      expect(pinned.d.PIN_HIT).toBe(1n);
      // one generation per API call: path.set x6, delete, setMany, deleteMany, pin.set
      expect(sut.gen.current() - gen0).toBe(10);
    });

    it('without a path_gen bump the cached decision outlives a table change (the reason every API bumps)', () => {
      sut.reset();
      const all = pathEntry({ basePort: BASE, nports: 16, healthy: 0xffffn });
      sut.path.set(P1, all);
      const p = send(prog, P1, 51000).port;
      const without = { ...all, healthy: 0xffffn & ~(1n << BigInt(p - BASE)) };
      sut.raw(MapName.path).update(PeerCodec.encode(P1), PathEntryCodec.encode(without)); // bypasses the bump
      const stale = send(prog, P1, 51000);
      expect(stale.port).toBe(p); // still the now-unhealthy port
      expect(stale.d.CACHE_HIT).toBe(1n);
      sut.gen.bump();
      expect(send(prog, P1, 51000).port).toBe(selectPort(without, flowHash(51000, SEED))!.port);
    });

    it('a random same-flow sequence of table changes (through the API) and packets agrees with selectPort after every change', () => {
      sut.reset();
      const seed = (Date.now() ^ 0x2545f491) >>> 0 || 1;
      const { rnd, int } = xorshift32(seed);
      const peers = [P1, P2, '198.18.0.4'];
      const sports = [51000, 51001, 52000, 53000];
      const entries = new Map<string, PathEntry>();
      const pins = new Map<string, number>();
      const mismatches: string[] = [];
      let hits = 0;
      for (let step = 0; step < 3000; step++) {
        const peer = peers[int(0, peers.length - 1)]!;
        const k = rnd();
        if (k < 0.05) {
          sut.path.delete(peer);
          entries.delete(peer);
        } else if (k < 0.3 || !entries.has(peer)) {
          const nports = int(1, 16);
          const e = pathEntry({
            basePort: BASE,
            nports,
            flags: [0, PS_F_PIN, PS_F_PREFER, PS_F_PIN | PS_F_PREFER][int(0, 3)]!,
            healthy: BigInt(int(0, 0xffff)) & ((1n << BigInt(nports)) - 1n),
            preferred: BigInt(int(0, 0xffff)),
          });
          sut.path.set(peer, e);
          entries.set(peer, e);
        }
        for (let n = int(1, 4); n > 0; n--) {
          const sport = sports[int(0, sports.length - 1)]!;
          const h = flowHash(sport, SEED);
          const e = entries.get(peer);
          let want = sport;
          if (e) {
            const key = `${peer}/${h}`;
            const c = selectPort(e, h, e.flags & PS_F_PIN ? pins.get(key) : undefined);
            if (c) {
              want = c.port;
              if (e.flags & PS_F_PIN && !c.pinned) pins.set(key, c.idx);
            }
          }
          const got = send(prog, peer, sport);
          if (got.d.CACHE_HIT) hits++;
          if (got.port !== want) mismatches.push(`step ${step} ${peer}/${sport}: got ${got.port} want ${want}`);
        }
      }
      expect(mismatches.slice(0, 5), `seed ${seed}: ${mismatches.length} mismatches`).toEqual([]);
      expect(hits).toBeGreaterThan(1000); // the cache answered most repeat packets
    });

    it('activity is exact: pending counts are flushed once per tick, added when read, and flushed to their own peer on eviction', async () => {
      sut.reset();
      sut.path.set(P1, pathEntry({ basePort: BASE, nports: 16, healthy: 0xffffn }));
      const len = BigInt(tunnelPacket(P1, 51000).length);
      const p = send(prog, P1, 51000).port;
      for (let i = 0; i < 4; i++) send(prog, P1, 51000);
      const flushedOnly = (peer: string): bigint => combineActivity(sut.activity.getPerCpu(peer) ?? []).packets;
      expect(sut.activityOf(P1)).toMatchObject({ packets: 5n, bytes: 5n * len, portsInUse: 1n << BigInt(p - BASE) });
      await sleep(25); // > one tick at HZ >= 100
      const t0 = process.hrtime.bigint();
      const d = send(prog, P1, 51000).d;
      expect(d.CACHE_FLUSH).toBe(1n);
      expect(flushedOnly(P1)).toBe(5n); // the miss, then the four hits the flush handed over
      expect(sut.activityOf(P1)!.packets).toBe(6n);
      // the coarse clock lags by up to one tick
      expect(combineActivity(sut.activity.getPerCpu(P1)!).lastSeenNs).toBeGreaterThan(t0 - 20_000_000n);

      // P2's flow takes over P1's slot: P1's pending packets go to P1, not P2
      sut.path.set(P2, pathEntry({ basePort: BASE, nports: 16, healthy: 0xffffn }));
      send(prog, P1, 51000);
      send(prog, P1, 51000);
      const slot = flowSlotOf(P1, flowHash(51000, SEED));
      let rival = 1;
      while (flowSlotOf(P2, flowHash(rival, SEED)) !== slot) rival++;
      const before = flushedOnly(P1);
      const ev = send(prog, P2, rival).d;
      expect(ev.CACHE_MISS).toBe(1n);
      expect(flushedOnly(P1)).toBeGreaterThan(before); // evicted pending counts reached ps_activity
      expect(sut.activityOf(P1)!.packets).toBe(8n);
      expect(sut.activityOf(P2)!.packets).toBe(1n);
      expect(send(prog, P1, 51000).d.CACHE_MISS).toBe(1n); // and back
    });

    it('pins stay alive under the cache: an evicted pin is written back at the next flush, and a pin naming another port wins', async () => {
      sut.reset();
      sut.path.set(P1, pathEntry({ basePort: BASE, nports: 16, healthy: 0xffffn, flags: PS_F_PIN }));
      const h = flowHash(51000, SEED);
      const key = PinKeyCodec.encode({ peer: P1, flowHash: h });
      const p = send(prog, P1, 51000).port;
      // what LRU eviction does: the pin goes, nothing bumps path_gen
      sut.raw(MapName.pin).delete(key);
      await sleep(25);
      const d = send(prog, P1, 51000).d;
      expect(d.CACHE_REPIN).toBe(1n);
      expect(sut.pin.get({ peer: P1, flowHash: h })).toEqual({ idx: p - BASE });
      // another CPU re-chose after an eviction: every CPU must follow the pin
      const other = (p - BASE + 5) % 16;
      sut.raw(MapName.pin).update(key, PinValCodec.encode({ idx: other }));
      await sleep(25);
      const follow = send(prog, P1, 51000);
      expect(follow.port).toBe(BASE + other);
      expect(follow.d.PIN_HIT).toBe(1n);
      expect(send(prog, P1, 51000).d.CACHE_HIT).toBe(1n);
    });

    it('built without the cache (ps_no_flow_cache), every packet takes the full path', () => {
      uncached.reset();
      uncached.path.set(P1, pathEntry({ basePort: BASE, nports: 16, healthy: 0xffffn, flags: PS_F_PIN }));
      const a = send(prog, P1, 51000, uncached);
      expectCounts(a.d, { TUNNEL: 1, STEERED: 1, REWRITTEN: 1, PIN_NEW: 1, CSUM_FIXED: 1 });
      const b = send(prog, P1, 51000, uncached);
      expect(b.port).toBe(a.port);
      expectCounts(b.d, { TUNNEL: 1, STEERED: 1, REWRITTEN: 1, PIN_HIT: 1, CSUM_FIXED: 1 });
      expect(uncached.activityOf(P1)!.packets).toBe(2n);
    });
  });
});

describe.runIf(canLoadBpf)('path_gen: every write through pathsteer advances it, atomically', () => {
  const pinRoot = `/sys/fs/bpf/${runPrefix('dq')}`;
  const pinDir = (): string => locate('x0', { pinRoot }).pinDir;
  let maps: SportMaps;

  beforeAll(() => {
    // the pins of an interface, without an interface: load vxlan_sport with its maps pinned
    mkdirSync(pinDir(), { recursive: true });
    const obj = BpfObject.open(objectPath('vxlanSport'));
    try {
      for (const p of obj.programNames()) obj.setAutoload(p, false);
      obj.pinMaps(pinDir(), SPORT_MAPS);
      obj.load();
    } finally {
      obj.close();
    }
    maps = SportMaps.open('x0', { pinRoot });
  });
  afterAll(() => {
    maps?.close();
    rmSync(pinRoot, { recursive: true, force: true });
  });

  it('SportMaps.path and .pin: set, delete, setMany, deleteMany each advance path_gen by one', () => {
    const gen = (): number => maps.config.get(0)!.pathGen;
    const e = pathEntry({ basePort: BASE, nports: 8, healthy: 0xffn });
    const k = { peer: P1, flowHash: 7 };
    const steps: Array<[string, () => unknown]> = [
      ['path.set', () => maps.path.set(P1, e)],
      ['path.setMany', () => maps.path.setMany([[P1, e], [P2, e]])],
      ['path.delete', () => maps.path.delete(P1)],
      ['path.deleteMany', () => maps.path.deleteMany([P2])],
      ['pin.set', () => maps.pin.set(k, { idx: 1 })],
      ['pin.setMany', () => maps.pin.setMany([[k, { idx: 2 }]])],
      ['pin.delete', () => maps.pin.delete(k)],
      ['pin.deleteMany', () => maps.pin.setMany([[k, { idx: 3 }]]) && maps.pin.deleteMany([k])],
      ['path.delete of a missing peer', () => maps.path.delete('198.18.9.9')],
    ];
    for (const [what, step] of steps) {
      const before = gen();
      step();
      expect(gen() - before, what).toBe(what === 'pin.deleteMany' ? 2 : 1);
    }
  });

  it('two processes bumping at once lose no increment (the add is atomic in the kernel)', async () => {
    const start = maps.config.get(0)!.pathGen;
    const N = 3000;
    const one = (): Promise<number> =>
      new Promise((resolve, reject) => {
        const c = spawn('node', [BUMPER, JSON.stringify({ pin: `${pinDir()}/${MapName.config}`, n: N })], { stdio: ['ignore', 'ignore', 'inherit'] });
        c.on('exit', (code) => (code === 0 ? resolve(code) : reject(new Error(`bump-gen exited ${code}`))));
      });
    await Promise.all([one(), one()]);
    expect(maps.config.get(0)!.pathGen - start).toBe(2 * N);
  });
});
