/**
 * vxlan_sport in the kernel through BPF_PROG_TEST_RUN: every packet fixture,
 * and a differential test of >= 10,000 random (entry, flow) cases against the
 * TypeScript reference selectPort(), with pins and stateful groups, for both
 * builds of the program (precise and compat) with the flow cache, and the
 * precise build without it. Table writes go through TypedMaps that advance
 * path_gen, as every pathsteer API does (test/support/sport.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { flowHash, selectPort, validWindow } from '../../src/agent/select-port.js';
import { MapName, PS_STAT_MAX, ProgName, PsStat } from '../../src/maps/names.generated.js';
import { pathEntry, PS_F_PIN, type PathEntry } from '../../src/maps/path-entry.js';
import { FIXTURE_CONFIG, FIXTURES } from '../fixtures/vxlan-sport-packets.js';
import { buildUdp4, genevePayload, innerFrame, parseUdp4, udpChecksumOk, udpPseudoSeed, vxlanPayload } from '../support/packets.js';
import { expectChecksum, expectStats } from '../support/expect-fixture.js';
import { canLoadBpf } from '../support/privileged.js';
import { xorshift32 } from '../support/random.js';
import { SportUnderTest } from '../support/sport.js';

const TC_ACT_OK = 0;
const PROGRAMS = [ProgName.vxlanSport, ProgName.vxlanSportCompat];
const VARIANTS = [
  { name: `${ProgName.vxlanSport} (flow cache)`, prog: ProgName.vxlanSport, cache: true },
  { name: `${ProgName.vxlanSportCompat} (flow cache)`, prog: ProgName.vxlanSportCompat, cache: true },
  { name: `${ProgName.vxlanSport} (built without the flow cache)`, prog: ProgName.vxlanSport, cache: false },
];

describe.runIf(canLoadBpf)('vxlan_sport through BPF_PROG_TEST_RUN', () => {
  let sut: SportUnderTest;
  let uncached: SportUnderTest;
  beforeAll(() => {
    sut = new SportUnderTest(FIXTURE_CONFIG);
    uncached = new SportUnderTest(FIXTURE_CONFIG, { flowCache: false });
  });
  afterAll(() => {
    sut?.close();
    uncached?.close();
  });

  it('counts one ps_stats id per enum ps_stat value', () => {
    expect(Object.keys(PsStat)).toHaveLength(PS_STAT_MAX);
    expect(sut.obj.map(MapName.stats).maxEntries).toBe(PS_STAT_MAX);
  });

  describe.each(PROGRAMS)('%s: packet fixtures', (prog) => {
    it.each(FIXTURES.map((f) => [f.description, f] as const))('%s', (_d, f) => {
      sut.reset();
      for (const p of f.paths ?? []) sut.path.set(p.peer, p.entry);
      let input = buildUdp4(f.input);
      if (f.truncate !== undefined) input = input.subarray(0, f.truncate);
      const r = sut.run(prog, Buffer.from(input), f.ctx);
      expect(r.retval).toBe(TC_ACT_OK);
      if (f.expectedOutput === 'unchanged') {
        expect(r.data.equals(input)).toBe(true);
      } else {
        const out = parseUdp4(r.data);
        const inp = parseUdp4(input);
        expect(out.sport).toBe(f.expectedOutput.sport);
        // only sport and checksum may change
        const strip = (b: Buffer, l4: number): Buffer => Buffer.concat([b.subarray(0, l4), b.subarray(l4 + 2, l4 + 6), b.subarray(l4 + 8)]);
        expect(strip(r.data, out.l4).equals(strip(input, inp.l4))).toBe(true);
        expectChecksum(f.expectedOutput.check, r.data, input);
      }
      expectStats(sut.stats(), f.expectedStats);
    });
  });

  describe.each(VARIANTS.map((v) => [v.name, v] as const))('%s: differential test against selectPort()', (_n, variant) => {
    it('agrees with the TypeScript reference on 10,000 random cases with table changes, then 2,000 without, with pins and stateful groups', () => {
      const CASES = 10_000;
      const STEADY = 2_000; // no table changes: the flow cache answers repeat flows
      const { prog } = variant;
      const dut = variant.cache ? sut : uncached;
      dut.reset();
      const seed = (Date.now() ^ 0x9e3779b9) >>> 0;
      const { rnd, int } = xorshift32(seed);
      const r64 = (): bigint => (BigInt(int(0, 0xffffffff)) << 32n) | BigInt(int(0, 0xffffffff));
      const bits = (): bigint => {
        const k = rnd();
        if (k < 0.05) return 0n;
        if (k < 0.15) return (1n << 64n) - 1n;
        if (k < 0.5) return r64() & r64() & r64(); // sparse
        if (k < 0.8) return r64();
        return 1n << BigInt(int(0, 63));
      };
      const randomEntry = (): PathEntry => {
        const k = rnd();
        const nports = k < 0.03 ? 0 : k < 0.06 ? int(65, 255) : k < 0.5 ? int(1, 16) : int(1, 64);
        const base = rnd() < 0.03 ? int(65536 - 70, 65535) : int(1024, 65535 - 64);
        return pathEntry({
          basePort: base,
          nports,
          flags: int(0, 7),
          ngroups: int(0, 9),
          healthy: bits(),
          preferred: bits(),
          groupMask: Array.from({ length: 8 }, bits),
        });
      };
      const peers = Array.from({ length: 40 }, (_, i) => `198.18.${100 + (i >> 4)}.${1 + (i & 15)}`);
      const sports = new Map(peers.map((p) => [p, Array.from({ length: 12 }, () => int(1, 65535))]));
      const entries = new Map<string, PathEntry>();
      const pins = new Map<string, number>();
      const activity = new Map<string, { packets: bigint; bytes: bigint; ports: bigint }>();
      const mismatches: string[] = [];
      let steered = 0;
      let pinHits = 0;
      let stateful = 0;

      for (let i = 0; i < CASES + STEADY; i++) {
        const peer = peers[int(0, peers.length - 1)]!;
        const k = i < CASES ? rnd() : 1;
        let e = entries.get(peer);
        if (k < 0.04 && e) {
          dut.path.delete(peer);
          entries.delete(peer);
          e = undefined;
        } else if (!e || k < 0.15) {
          e = randomEntry();
          dut.path.set(peer, e);
          entries.set(peer, e);
        } else if (k < 0.3) {
          // ports fail and recover: flip a few healthy bits
          let h = e.healthy;
          for (let j = int(1, 3); j > 0; j--) h ^= 1n << BigInt(int(0, Math.max(0, Math.min(e.nports, 64) - 1)));
          e = { ...e, healthy: h };
          dut.path.set(peer, e);
          entries.set(peer, e);
        }
        const sport = rnd() < 0.75 ? sports.get(peer)![int(0, 11)]! : int(1, 65535);
        const dport = rnd() < 0.85 ? 4789 : 6081;
        const csum = rnd() < 0.7;
        const pkt = buildUdp4({
          saddr: '198.18.0.1',
          daddr: peer,
          sport,
          dport,
          udpCsum: csum,
          payload: (dport === 4789 ? vxlanPayload : genevePayload)(int(1, 0xffffff), innerFrame(int(14, 300), i + 1)),
        });
        // compat cannot tell a full checksum equal to the pseudo-header sum from a seed (p = 2^-16)
        const p0 = parseUdp4(pkt);
        const ambiguous = csum && p0.check === udpPseudoSeed(p0.saddr, p0.daddr, p0.udp.length);

        const h = flowHash(sport, FIXTURE_CONFIG.hashSeed);
        const pinKey = `${peer}/${h}`;
        let expected = sport;
        let idx: number | undefined;
        if (e && validWindow(e)) {
          const pin = e.flags & PS_F_PIN ? pins.get(pinKey) : undefined;
          const c = selectPort(e, h, pin);
          if (c) {
            expected = c.port;
            idx = c.idx;
            steered++;
            if (c.pinned) pinHits++;
            if (e.flags & PS_F_PIN && !c.pinned) pins.set(pinKey, c.idx);
            if (e.flags & 1 && e.ngroups > 0) stateful++;
          }
        }
        const a = activity.get(peer) ?? { packets: 0n, bytes: 0n, ports: 0n };
        a.packets++;
        a.bytes += BigInt(pkt.length);
        if (idx !== undefined) a.ports |= 1n << BigInt(idx);
        activity.set(peer, a);

        const r = dut.run(prog, pkt);
        const out = parseUdp4(r.data);
        const checksumOk = csum ? out.check !== 0 && (udpChecksumOk(r.data) || (prog === ProgName.vxlanSportCompat && ambiguous)) : out.check === 0;
        if (r.retval !== TC_ACT_OK || out.sport !== expected || !checksumOk) {
          mismatches.push(`case ${i} peer ${peer} sport ${sport} h ${h}: got ${out.sport} want ${expected} csum ${checksumOk} entry ${JSON.stringify(e, (_k, v) => (typeof v === 'bigint' ? `0x${v.toString(16)}` : v))}`);
        }
      }

      expect(mismatches.slice(0, 5), `seed ${seed}: ${mismatches.length} mismatches of ${CASES + STEADY}`).toEqual([]);
      const hits = Number(dut.stats().CACHE_HIT);
      // ~1,000 distinct flows, a quarter of them one-off, across the CPUs' caches: 700-800 hits measured
      if (variant.cache) expect(hits).toBeGreaterThan(STEADY / 5);
      else expect(hits).toBe(0);
      // the cases exercised what they claim to
      expect(steered).toBeGreaterThan(CASES / 3);
      expect(pinHits).toBeGreaterThan(CASES / 20); // 930..1310 of 10,000 over 200 generator seeds
      expect(stateful).toBeGreaterThan(CASES / 50);
      // per-peer activity and pins, as the model predicts
      for (const [peer, a] of activity) {
        const got = dut.activityOf(peer);
        expect(got, peer).toBeDefined();
        expect({ packets: got!.packets, bytes: got!.bytes, ports: got!.portsInUse }).toEqual(a);
      }
      const kernelPins = dut.pin.getAll();
      expect(kernelPins).toHaveLength(pins.size);
      for (const [k, [v]] of kernelPins) expect(v!.idx, `${k.peer}/${k.flowHash}`).toBe(pins.get(`${k.peer}/${k.flowHash}`));
    });
  });
});
