/**
 * altpath_dscp in the kernel through BPF_PROG_TEST_RUN: every packet fixture
 * (on CHECKSUM_NONE and CHECKSUM_COMPLETE skbs: with the latter the kernel
 * also fails the run if skb->csum no longer sums the packet), and a
 * differential test of random IPv4/IPv6 TCP/UDP flows, DSCP/ECN values,
 * configurations and exclusion lists against the TypeScript reference of
 * the hash and rule choice (src/altpath/flow-hash.ts), with every packet of a
 * flow getting the same mark.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { altpathDecide, type AltpathFlow } from '../../src/altpath/flow-hash.js';
import { PrefixSet } from '../../src/common/net.js';
import type { Altpath, AltpathRule } from '../../src/maps/altpath.js';
import { PsAltpathStat, type PsAltpathStatName } from '../../src/maps/names.generated.js';
import { ALL_12, ALTPATH_FIXTURES, CLIENT4, LOCAL4 } from '../fixtures/altpath-dscp-packets.js';
import { AltpathUnderTest } from '../support/altpath.js';
import { buildIp, ipTos, ipv4HeaderChecksumOk, withoutDscp, type IpSpec } from '../support/ip-packets.js';
import { pinToOneCpu } from '../support/netns.js';
import { canLoadBpf } from '../support/privileged.js';
import { xorshift32 } from '../support/random.js';

const TC_ACT_UNSPEC = -1;

function expectCounts(got: Record<PsAltpathStatName, bigint>, want: Partial<Record<PsAltpathStatName, number>>): void {
  for (const name of Object.keys(PsAltpathStat) as PsAltpathStatName[]) {
    expect.soft(Number(got[name]), `ps_altpath_stats ${name}`).toBe(want[name] ?? 0);
  }
}

const DECIDED: readonly PsAltpathStatName[] = ['MARKED', 'EXCLUDED', 'UNSELECTED'];

describe.runIf(canLoadBpf)('altpath_dscp through BPF_PROG_TEST_RUN', () => {
  let cached: AltpathUnderTest;
  let uncached: AltpathUnderTest;
  let restoreAffinity: (() => Promise<void>) | undefined;
  beforeAll(async () => {
    // per-CPU flow cache: keep every test run of this file on the same CPU, so a flow's second packet is a hit
    restoreAffinity = await pinToOneCpu();
    cached = new AltpathUnderTest();
    uncached = new AltpathUnderTest({ flowCache: false });
  });
  afterAll(async () => {
    cached?.close();
    uncached?.close();
    await restoreAffinity?.();
  });

  describe.each([
    ['with the flow cache, CHECKSUM_NONE skb', true, false],
    ['with the flow cache, CHECKSUM_COMPLETE skb', true, true],
    ['built without the flow cache, CHECKSUM_NONE skb', false, false],
  ] as const)('packet fixtures (%s)', (_n, cache, checksumComplete) => {
    it.each(ALTPATH_FIXTURES.map((f) => [f.description, f] as const))('%s', (_d, f) => {
      const sut = cache ? cached : uncached;
      sut.configure(f.config, f.exclude);
      let input = buildIp(f.input);
      if (f.ethType !== undefined) input.writeUInt16BE(f.ethType, 12);
      if (f.truncate !== undefined) input = input.subarray(0, f.truncate);
      // twice: the second packet of the flow is answered by the cache (when built with it), the same way
      for (let i = 0; i < 2; i++) {
        const r = sut.run(Buffer.from(input), { checksumComplete });
        expect(r.retval | 0).toBe(TC_ACT_UNSPEC);
        if (f.expectedOutput === 'unchanged') {
          expect(r.data.equals(input)).toBe(true);
        } else {
          const before = ipTos(input);
          const after = ipTos(r.data);
          expect(after.dscp).toBe(f.expectedOutput.dscp);
          expect(after.ecn).toBe(before.ecn);
          expect(withoutDscp(r.data).equals(withoutDscp(input))).toBe(true);
          if (f.input.family === 4) expect(ipv4HeaderChecksumOk(r.data)).toBe(true);
        }
      }
      const want: Partial<Record<PsAltpathStatName, number>> = {};
      for (const [k, v] of Object.entries(f.expectedStats) as Array<[PsAltpathStatName, number]>) want[k] = 2 * v;
      // one decision per flow with the cache (the first packet), none cached without it
      if (cache && DECIDED.some((k) => f.expectedStats[k])) want.CACHE_MISS = 1;
      expectCounts(sut.counts(), want);
    });
  });

  it('a configuration or exclusion change reaches flows whose decision is cached', () => {
    const sut = cached;
    const flow = buildIp({ family: 4, saddr: LOCAL4, daddr: CLIENT4, proto: 6, sport: 443, dport: 50123 });
    const dscpOf = (): number => ipTos(sut.run(Buffer.from(flow)).data).dscp;
    sut.configure(ALL_12);
    expect([dscpOf(), dscpOf()]).toEqual([12, 12]);
    sut.tables.writeConfig({ ...ALL_12, rules: [{ dscp: 24, basisPoints: 10_000 }] });
    expect([dscpOf(), dscpOf()]).toEqual([24, 24]);
    sut.tables.setExclusions([`${CLIENT4}/32`]);
    expect([dscpOf(), dscpOf()]).toEqual([0, 0]);
    sut.tables.setExclusions([]);
    expect(dscpOf()).toBe(24);
    sut.tables.writeConfig({ ...ALL_12, rules: [{ dscp: 24, basisPoints: 0 }] });
    expect(dscpOf()).toBe(0);
    const c = sut.counts();
    expect(Number(c.CACHE_MISS)).toBe(5); // one per configuration the flow met
  });

  it.each([
    ['with the flow cache', true],
    ['built without the flow cache', false],
  ] as const)('%s: agrees with the TypeScript reference on 6,000 random flows (IPv4/IPv6, TCP/UDP, DSCP/ECN, configurations, exclusions), each flow marked the same on every packet', (_n, cache) => {
    const sut = cache ? cached : uncached;
    const FLOWS = 6000;
    const seed = (Date.now() ^ 0xa17a17) >>> 0;
    const { rnd, int, u32 } = xorshift32(seed);
    const pick = <T>(xs: readonly T[]): T => xs[int(0, xs.length - 1)]!;
    const v4Pool = ['198.18.', '203.0.113.', '198.51.100.'];
    const v4 = (): string => {
      const p = pick(v4Pool);
      return p === '198.18.' ? `198.${18 + int(0, 1)}.${int(0, 255)}.${int(1, 254)}` : `${p}${int(1, 254)}`;
    };
    const v6 = (): string => `2001:db8:${int(0, 3).toString(16)}:${int(0, 0xffff).toString(16)}::${int(1, 0xffff).toString(16)}`;
    const randomRules = (): AltpathRule[] => {
      const n = int(1, 8);
      const dscps = new Set<number>();
      while (dscps.size < n) dscps.add(int(1, 63));
      let left = 10_000;
      return [...dscps].map((dscp) => {
        const bp = int(0, Math.min(left, rnd() < 0.2 ? 100 : rnd() < 0.5 ? 3000 : 10_000));
        left -= bp;
        return { dscp, basisPoints: bp };
      });
    };
    const randomExclusions = (): string[] => {
      const out: string[] = [];
      for (let i = int(0, 6); i > 0; i--) {
        out.push(
          pick([
            `203.0.113.${int(0, 255) & ~15}/28`,
            `198.51.100.0/${int(24, 26)}`,
            `198.18.${int(0, 255)}.0/24`,
            `2001:db8:${int(0, 3).toString(16)}::/48`,
            `2001:db8:1:${int(0, 0xffff).toString(16)}::/64`,
          ]),
        );
      }
      return [...new Set(out)];
    };

    let cfg: Altpath = { seed: u32(), onlyUnmarked: true, rules: randomRules() };
    let exclude: string[] = [];
    let excl = new PrefixSet(exclude);
    const mismatches: string[] = [];
    const outcomes: Record<string, number> = {};
    const expected: Partial<Record<PsAltpathStatName, number>> = {};
    sut.configure(cfg, exclude);

    for (let i = 0; i < FLOWS; i++) {
      if (i % 250 === 0 && i > 0) {
        // a new configuration (as a live update would write it)
        cfg = { seed: rnd() < 0.3 ? cfg.seed : u32(), onlyUnmarked: rnd() < 0.7, rules: randomRules() };
        exclude = randomExclusions();
        excl = new PrefixSet(exclude);
        sut.tables.setExclusions(exclude);
        sut.tables.writeConfig(cfg);
      }
      const family = rnd() < 0.5 ? 4 : 6;
      const flow: AltpathFlow = {
        family,
        saddr: family === 4 ? v4() : v6(),
        daddr: family === 4 ? v4() : v6(),
        sport: int(1, 65535),
        dport: int(1, 65535),
        proto: rnd() < 0.6 ? 6 : 17,
      };
      const dscp = rnd() < 0.8 ? 0 : int(0, 63);
      const ecn = int(0, 3);
      const want = altpathDecide(cfg, excl, flow, dscp);
      outcomes[want.outcome] = (outcomes[want.outcome] ?? 0) + 1;
      // two packets of the flow (different lengths): both must leave the same way
      for (const payloadLen of [int(0, 64), int(65, 1200)]) {
        const spec: IpSpec = { ...flow, dscp, ecn, payloadLen };
        const input = buildIp(spec);
        const r = sut.run(Buffer.from(input));
        const out = ipTos(r.data);
        expected[want.outcome] = (expected[want.outcome] ?? 0) + 1;
        const bad =
          (r.retval | 0) !== TC_ACT_UNSPEC ||
          out.dscp !== want.dscp ||
          out.ecn !== ecn ||
          !withoutDscp(r.data).equals(withoutDscp(input)) ||
          (family === 4 && !ipv4HeaderChecksumOk(r.data)) ||
          (want.dscp === dscp && !r.data.equals(input));
        if (bad && mismatches.length < 10) {
          mismatches.push(`${JSON.stringify(spec)} cfg=${JSON.stringify(cfg)} exclude=${exclude.join(',')}: got dscp ${out.dscp} ecn ${out.ecn}, want ${want.dscp} (${want.outcome})`);
        }
      }
    }
    expect(mismatches, `seed ${seed}`).toEqual([]);
    // the counters saw the same outcomes, packet for packet (reset at the start only)
    const got = sut.counts();
    for (const k of ['MARKED', 'EXCLUDED', 'UNSELECTED', 'PREMARKED'] as const) expect(Number(got[k]), `${k}, seed ${seed}`).toBe(expected[k] ?? 0);
    expect(Number(got.SKIPPED)).toBe(0);
    // with the cache, each flow is decided once per configuration; without it, every packet
    const decided = Object.values(expected).reduce((a, b) => a + (b ?? 0), 0) - (expected.PREMARKED ?? 0);
    if (cache) expect(Number(got.CACHE_MISS)).toBeLessThanOrEqual(decided / 2 + 50);
    else expect(Number(got.CACHE_MISS)).toBe(0);
    process.stderr.write(`altpath_dscp differential (${cache ? 'cached' : 'uncached'}, seed ${seed}): ${FLOWS} flows, outcomes ${JSON.stringify(outcomes)}, 0 mismatches, cache misses ${got.CACHE_MISS}\n`);
    // every outcome was exercised
    for (const k of ['MARKED', 'EXCLUDED', 'UNSELECTED', 'PREMARKED']) expect(outcomes[k] ?? 0, `${k} cases (seed ${seed})`).toBeGreaterThan(100);
  });
});
