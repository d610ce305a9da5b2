/**
 * Ranker building blocks: DKW sample sizes, flow-size CDF sampling, the
 * transport tables seeded from models (PFTK/Mathis, slow-start rounds,
 * queueing) and their file replacements, and the comparators.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/common/errors.js';
import { builtinCdf, cdfAt, meanSize, parseCdfText, sampleSize } from '../../src/ranker/cdf.js';
import { rankByComparator, type Scored } from '../../src/ranker/comparators.js';
import { Rng } from '../../src/ranker/rng.js';
import { parseScenario, resolveScenario } from '../../src/ranker/scenario.js';
import { dkwEpsilon, dkwQuantileInterval, dkwSampleCount, percentile } from '../../src/ranker/stats.js';
import {
  lossLimitedBps,
  mathisBps,
  modelLossTable,
  modelRttTable,
  pftkBps,
  queueDelayS,
  rttCount,
} from '../../src/ranker/transport.js';

const T = { mss: 1460, initCwnd: 10, minRtoMs: 200, initRtoMs: 1000, handshake: true };

describe('DKW sample sizes', () => {
  it('n = ceil(ln(2/alpha) / (2 eps^2))', () => {
    expect(dkwSampleCount(0.05, 0.1)).toBe(185); // ln(40)/0.02 = 184.4
    expect(dkwSampleCount(0.05, 0.05)).toBe(738);
    expect(dkwSampleCount(0.01, 0.1)).toBe(265); // ln(200)/0.02 = 264.9
    expect(dkwSampleCount(0.05, 0.3)).toBe(21);
    expect(dkwSampleCount(0.05, 0.5)).toBe(8);
    expect(() => dkwSampleCount(0, 0.1)).toThrow(RangeError);
    expect(() => dkwSampleCount(0.05, 1)).toThrow(RangeError);
  });

  it('the band half-width inverts the sample count', () => {
    for (const n of [8, 21, 185, 1000]) expect(dkwSampleCount(0.05, dkwEpsilon(n, 0.05) * 1.0000001)).toBeLessThanOrEqual(n);
  });

  it('the median interval contains the true median of a uniform sample at the stated confidence', () => {
    const rng = new Rng('dkw-ci');
    let covered = 0;
    const trials = 400;
    for (let t = 0; t < trials; t++) {
      const xs = Float64Array.from({ length: 30 }, () => rng.next()).sort();
      const [lo, hi] = dkwQuantileInterval(xs, 0.5, 0.05);
      if (lo <= 0.5 && 0.5 <= hi) covered++;
    }
    expect(covered / trials).toBeGreaterThanOrEqual(0.95);
  });
});

describe('flow-size CDFs', () => {
  for (const name of ['dctcp-websearch', 'fb-hadoop'] as const) {
    it(`${name}: samples follow the table (Kolmogorov–Smirnov distance < 1%)`, () => {
      const c = builtinCdf(name);
      const rng = new Rng('cdf', name);
      const n = 50_000;
      const xs = Float64Array.from({ length: n }, () => sampleSize(c, rng.next())).sort();
      let ks = 0;
      for (const b of c.bytes) {
        // empirical P(X <= b)
        let lo = 0;
        let hi = n;
        while (lo < hi) {
          const m = (lo + hi) >> 1;
          if (xs[m]! <= b) lo = m + 1;
          else hi = m;
        }
        ks = Math.max(ks, Math.abs(lo / n - cdfAt(c, b)));
      }
      expect(ks).toBeLessThan(0.01);
      let sum = 0;
      for (const x of xs) sum += x;
      expect(Math.abs(sum / n - meanSize(c)) / meanSize(c)).toBeLessThan(0.03);
    });
  }

  it('web search: 60% of flows are at most 200 KB, the largest 30 MB', () => {
    const c = builtinCdf('dctcp-websearch');
    expect(cdfAt(c, 200_000)).toBeCloseTo(0.6, 12);
    expect(sampleSize(c, 0.999999)).toBeLessThanOrEqual(30_000_000);
    expect(sampleSize(c, 0)).toBeGreaterThanOrEqual(1);
  });

  it('parses text and JSON tables in percent or fractions, and names the bad line', () => {
    const a = parseCdfText('a', '# size cdf\n0 0\n1000 50\n\n2000 100\n');
    const b = parseCdfText('b', '[[0, 0], [1000, 0.5], [2000, 1]]');
    expect(a.cdf).toEqual(b.cdf);
    expect(meanSize(a)).toBe(1000);
    expect(() => parseCdfText('c', '0 0\n1000 60\n900 100')).toThrow(/point 3 .* not ascending/);
    expect(() => parseCdfText('d', '0 0\n1000 60')).toThrow(/last cumulative value must be 100/);
    expect(() => parseCdfText('e', '0 0\nabc 100')).toThrow(UsageError);
  });
});

describe('transport tables', () => {
  it('PFTK reduces to Mathis without timeouts and is below it with them', () => {
    const rtt = 100e-6;
    for (const p of [1e-5, 1e-3, 0.05]) {
      // PFTK's first term is the square-root law with constant sqrt(3/2): same as Mathis.
      expect(pftkBps(p, rtt, { ...T, minRtoMs: 1e-9 })).toBeCloseTo(mathisBps(p, rtt, T), -3);
      expect(pftkBps(p, rtt, T)).toBeLessThan(mathisBps(p, rtt, T));
    }
    // 5% loss with a 200 ms RTO: timeouts dominate, a few Mbps.
    expect(pftkBps(0.05, 240e-6, T) / 1e6).toBeGreaterThan(1);
    expect(pftkBps(0.05, 240e-6, T) / 1e6).toBeLessThan(5);
    expect(pftkBps(0, rtt, T)).toBe(Number.POSITIVE_INFINITY);
  });

  it('the loss table interpolates the model and falls with loss and RTT', () => {
    const tab = modelLossTable('cubic', T);
    for (const p of [2e-6, 5e-4, 0.04]) {
      const got = lossLimitedBps(tab, p, 150e-6, 0.5);
      expect(Math.abs(got - pftkBps(p, 150e-6, T)) / pftkBps(p, 150e-6, T)).toBeLessThan(0.1);
    }
    let prev = Number.POSITIVE_INFINITY;
    for (const p of [1e-7, 1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 0.1]) {
      const v = lossLimitedBps(tab, p, 200e-6, 0.5);
      expect(v).toBeLessThan(prev);
      prev = v;
    }
    expect(lossLimitedBps(tab, 1e-3, 400e-6, 0.5)).toBeLessThan(lossLimitedBps(tab, 1e-3, 100e-6, 0.5));
  });

  it('BBR is not loss-limited below 20% loss', () => {
    const tab = modelLossTable('bbr', T);
    expect(lossLimitedBps(tab, 0.05, 200e-6, 0.5)).toBe(Number.POSITIVE_INFINITY);
    expect(Number.isFinite(lossLimitedBps(tab, 0.3, 200e-6, 0.5))).toBe(true);
  });

  it('without loss a short flow takes the handshake plus its slow-start rounds', () => {
    const tab = modelRttTable(T, 150_000);
    // IW 10: 1-10 segments one round, 11-30 two, 31-70 three, 71-103 four; plus the handshake.
    expect(rttCount(tab, 1460, 0, 100e-6, 0.5)).toBe(2);
    expect(rttCount(tab, 10 * 1460, 0, 100e-6, 0.5)).toBe(2);
    expect(rttCount(tab, 30 * 1460, 0, 100e-6, 0.9)).toBe(3);
    expect(rttCount(tab, 70 * 1460, 0, 100e-6, 0.1)).toBe(4);
    expect(rttCount(tab, 150_000, 0, 100e-6, 0.1)).toBe(5);
  });

  it('loss lengthens the tail: at 5% the 99th percentile includes a retransmission timeout', () => {
    const tab = modelRttTable(T, 150_000);
    const rtt = 240e-6;
    const q = (p: number, u: number): number => rttCount(tab, 50_000, p, rtt, u);
    expect(q(5e-5, 0.5)).toBe(q(0, 0.5));
    expect(q(0.05, 0.99) * rtt).toBeGreaterThan(0.2); // >= one 200 ms RTO
    expect(q(0.05, 0.99)).toBeGreaterThan(q(0.001, 0.99));
  });

  it('queueing: M/M/1 below saturation, a standing queue when saturated, capped by the buffer', () => {
    const q = { kind: 'model' as const, bufferBytes: 512 * 1024, standingFraction: 0.5, mss: 1460 };
    const c = 10e9;
    const pkt = (1460 * 8) / c;
    expect(queueDelayS(q, 0, false, 0, c)).toBe(0);
    expect(queueDelayS(q, 0.5, false, 3, c)).toBeCloseTo(pkt, 15);
    expect(queueDelayS(q, 0.9, false, 3, c)).toBeCloseTo(9 * pkt, 15);
    expect(queueDelayS(q, 0.99999, false, 3, c)).toBeCloseTo((512 * 1024 * 8) / c, 12);
    expect(queueDelayS(q, 1, true, 3, c)).toBeCloseTo((0.5 * 512 * 1024 * 8) / c, 12);
  });

  it('measured tables from files replace the models', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pathsteer-ranker-'));
    writeFileSync(join(dir, 'loss.json'), JSON.stringify({ source: 'testbed', rttUs: [100, 1000], lossRates: [1e-4, 1e-2], mbps: [[[900, 1100], [50]], [[90, 110], [5]]] }));
    writeFileSync(join(dir, 'rtt.json'), JSON.stringify({ sizeBytes: [150000], lossRates: [0, 0.1], rttUs: [100], rttCounts: [[[[7]], [[9, 11]]]] }));
    writeFileSync(join(dir, 'queue.json'), JSON.stringify({ utilization: [0, 1], flows: [0, 10], delayUs: [[0, 0], [100, 300]] }));
    const s = parseScenario({
      topology: { kind: 'clos', pods: 1, torsPerPod: 2, t1PerPod: 2, t2: 0, serversPerTor: 2 },
      traffic: { load: 0.1, durationMs: 10, measureMs: [1, 5] },
      transport: { lossTables: { cubic: { file: 'loss.json' } }, rttTable: { file: 'rtt.json' }, queue: { file: 'queue.json' } },
    });
    const r = resolveScenario(s, dir);
    const loss = r.lossTables.cubic!;
    expect(loss.source).toContain('loss.json');
    expect(lossLimitedBps(loss, 1e-4, 100e-6, 0.25)).toBeCloseTo(900e6, 0);
    expect(lossLimitedBps(loss, 1e-4, 100e-6, 0.75)).toBeCloseTo(1100e6, 0);
    expect(rttCount(r.rttTable!, 10_000, 0, 100e-6, 0.5)).toBe(7);
    expect(rttCount(r.rttTable!, 10_000, 0.1, 100e-6, 0.9)).toBe(11);
    expect(queueDelayS(r.queueTable!, 1, true, 5, 10e9)).toBeCloseTo(200e-6, 12);
    writeFileSync(join(dir, 'bad.json'), JSON.stringify({ rttUs: [100], lossRates: [1e-4], mbps: [[[]]] }));
    expect(() => resolveScenario({ ...s, transport: { ...s.transport, lossTables: { cubic: { file: 'bad.json' } } } }, dir)).toThrow(
      /mbps\[0\]\[0\] must be a non-empty list/,
    );
  });
});

describe('comparators', () => {
  const mk = (name: string, fct99: number, tput1p: number, tputAvg: number, feasible = true): Scored => ({ name, feasible, point: { fct99, tput1p, tputAvg } });
  const names = (items: Scored[], c: Parameters<typeof rankByComparator>[1], h?: Scored['point']): string[] =>
    rankByComparator(items, c, 0.1, h).map((e) => items[e.index]!.name);

  it('PriorityFCT: lowest 99p FCT wins unless within 10%, then 1p throughput decides', () => {
    const items = [mk('a', 10e-3, 100e6, 1e9), mk('b', 10.5e-3, 500e6, 1e9), mk('c', 20e-3, 900e6, 2e9)];
    expect(names(items, 'PriorityFCT')).toEqual(['b', 'a', 'c']);
    // outside the band the FCT alone decides
    items[1] = mk('b', 11.5e-3, 500e6, 1e9);
    expect(names(items, 'PriorityFCT')).toEqual(['a', 'b', 'c']);
  });

  it('PriorityAvgT and Priority1pT use their own metric order and tie-breakers', () => {
    const items = [mk('a', 10e-3, 100e6, 1.0e9), mk('b', 5e-3, 100e6, 0.95e9), mk('c', 1e-3, 900e6, 0.5e9)];
    expect(names(items, 'PriorityAvgT')).toEqual(['b', 'a', 'c']); // a,b tie on avg; b has the lower FCT
    expect(names(items, 'Priority1pT')).toEqual(['c', 'b', 'a']); // a,b tie on 1p and on avg (within 10%); b has the lower FCT
  });

  it('Linear normalises by the healthy network and sums', () => {
    const healthy = { fct99: 1e-3, tput1p: 1e9, tputAvg: 2e9 };
    const items = [mk('a', 2e-3, 1e9, 2e9), mk('b', 1e-3, 0.4e9, 2e9)];
    const r = rankByComparator(items, { kind: 'Linear', weights: [1, 1, 1] }, 0.1, healthy);
    expect(r.map((e) => items[e.index]!.name)).toEqual(['a', 'b']);
    expect(r[0]!.score).toBeCloseTo(4, 12);
    expect(r[1]!.score).toBeCloseTo(1 + 2.5 + 1, 12);
    expect(names(items, { kind: 'Linear', weights: [10, 1, 1] }, healthy)).toEqual(['b', 'a']);
  });

  it('infeasible candidates (partitions) rank last whatever their numbers', () => {
    const items = [mk('cut', 1e-3, 9e9, 9e9, false), mk('ok', 50e-3, 1e6, 1e6)];
    const r = rankByComparator(items, 'PriorityFCT', 0.1);
    expect(r.map((e) => items[e.index]!.name)).toEqual(['ok', 'cut']);
    expect(r[1]!.reason).toMatch(/partition/);
  });

  it('a tie on every metric keeps the listed order', () => {
    const items = [mk('x', 1e-3, 1e9, 1e9), mk('y', 1e-3, 1e9, 1e9)];
    expect(names(items, 'PriorityFCT')).toEqual(['x', 'y']);
    expect(percentile([3, 1, 2], 50)).toBe(2);
  });
});
