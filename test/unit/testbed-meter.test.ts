import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  analyzeTcpFlow,
  analyzeUdpFlow,
  buildTrafficResult,
  percentile,
  summarizeOutages,
  type FlowResult,
  type SenderFlowReport,
  type TcpFlowObservation,
} from '../../src/testbed/meter.js';

const MS = 1e6;

/** A flow sending every `T` ns from t=1 s; `lost(seq)` says which packets never arrived. */
function udpFlow(n: number, T: number, lost: (seq: number) => boolean, jitter = (_s: number) => 0) {
  const tx = (s: number) => 1e9 + s * T + jitter(s);
  const seen = new Float64Array(n).fill(NaN);
  for (let s = 0; s < n; s++) if (!lost(s)) seen[s] = tx(s);
  const sender: SenderFlowReport = { flow: 0, src_port: 40000, dst_port: 47000, sent: n, first_tx_ns: tx(0), last_tx_ns: tx(n - 1) };
  return { sender, seen };
}

describe('outage meter: UDP', () => {
  it('reports no outage and no loss for a clean flow', () => {
    const { sender, seen } = udpFlow(1000, MS, () => false);
    expect(analyzeUdpFlow(sender, seen, MS)).toMatchObject({ lost: 0, delivered: 1000, outage_ms: 0, outages: 0, affected: false });
  });

  it('measures a 500-packet hole at 1 kpps as 500 ms', () => {
    const { sender, seen } = udpFlow(3000, MS, (s) => s >= 1000 && s < 1500);
    const r = analyzeUdpFlow(sender, seen, MS);
    expect(r).toMatchObject({ lost: 500, outages: 1, affected: true });
    expect(r.outage_ms).toBeCloseTo(500, 6);
  });

  it('reports the longest of several outages, and counts them', () => {
    const { sender, seen } = udpFlow(3000, MS, (s) => (s >= 100 && s < 130) || (s >= 2000 && s < 2250));
    const r = analyzeUdpFlow(sender, seen, MS);
    expect(r.outages).toBe(2);
    expect(r.outage_ms).toBeCloseTo(250, 6);
    expect(r.lost).toBe(280);
  });

  it('counts a hole at the start from the first send and one at the end until the last send', () => {
    const lead = udpFlow(1000, MS, (s) => s < 200);
    expect(analyzeUdpFlow(lead.sender, lead.seen, MS).outage_ms).toBeCloseTo(200, 6);
    const trail = udpFlow(1000, MS, (s) => s >= 700);
    expect(analyzeUdpFlow(trail.sender, trail.seen, MS).outage_ms).toBeCloseTo(300, 6);
    const none = udpFlow(1000, MS, () => true);
    expect(analyzeUdpFlow(none.sender, none.seen, MS)).toMatchObject({ delivered: 0, lost: 1000, outage_ms: 1000 });
  });

  it('ignores sequence numbers beyond what the sender reports', () => {
    const { sender, seen } = udpFlow(100, MS, () => false);
    const more = new Float64Array(200).fill(NaN);
    more.set(seen);
    more[150] = 5e9;
    expect(analyzeUdpFlow(sender, more, MS)).toMatchObject({ delivered: 100, lost: 0 });
  });

  it('property: an injected hole of k packets reads k intervals, within one interval under sender jitter', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 400 }), fc.integer({ min: 1, max: 500 }), fc.integer({ min: 0, max: 300 }), (start, k, jitterUs) => {
        const n = start + k + 50;
        const { sender, seen } = udpFlow(n, MS, (s) => s >= start && s < start + k, (s) => ((s * 7919) % (2 * jitterUs + 1)) * 1e3 - jitterUs * 1e3);
        const r = analyzeUdpFlow(sender, seen, MS);
        expect(r.lost).toBe(k);
        expect(Math.abs(r.outage_ms - k)).toBeLessThanOrEqual(2 * (jitterUs / 1000) + 1e-6);
      }),
    );
  });
});

describe('outage meter: TCP', () => {
  const sender: SenderFlowReport = { flow: 3, src_port: 41000, dst_port: 47000, sent: 1000, first_tx_ns: 1e9, last_tx_ns: 1e9 + 999 * MS };
  const obs = (o: Partial<TcpFlowObservation>): TcpFlowObservation => ({
    delivered: 1000,
    min_delay_ns: 0.1 * MS,
    max_delay_ns: 0.3 * MS,
    last_tx_ns: sender.last_tx_ns,
    stalls: 0,
    end_ns: 2.5e9,
    ...o,
  });

  it('a record held up longer than stall_ms is an outage; shorter delays are noise', () => {
    const stalled = analyzeTcpFlow(sender, obs({ max_delay_ns: 1200.1 * MS, stalls: 1 }), MS, 50);
    expect(stalled).toMatchObject({ lost: 0, affected: true, outages: 1 });
    expect(stalled.outage_ms).toBeCloseTo(1200, 6);
    expect(analyzeTcpFlow(sender, obs({ max_delay_ns: 30 * MS }), MS, 50)).toMatchObject({ affected: false, outage_ms: 0, outages: 0 });
  });

  it('records never delivered count as lost; the outage runs from the first of them to the end', () => {
    const r = analyzeTcpFlow(sender, obs({ delivered: 400, last_tx_ns: 1e9 + 399 * MS }), MS, 50);
    expect(r).toMatchObject({ lost: 600, delivered: 400, affected: true });
    // first undelivered record sent at 1.4 s, observation ended at 2.5 s, base latency 0.1 ms
    expect(r.outage_ms).toBeCloseTo(1099.9, 6);
    const none = analyzeTcpFlow(sender, obs({ delivered: 0, min_delay_ns: 0, max_delay_ns: 0, last_tx_ns: 0 }), MS, 50);
    expect(none).toMatchObject({ lost: 1000, outage_ms: 1500, outages: 1 });
  });
});

describe('outage meter: summary', () => {
  it('nearest-rank percentiles', () => {
    expect(percentile([], 50)).toBe(0);
    expect(percentile([5], 99)).toBe(5);
    expect(percentile([1, 2, 3, 4], 50)).toBe(2);
    expect(percentile(Array.from({ length: 100 }, (_, i) => i + 1), 99)).toBe(99);
  });

  it('summarizes over affected flows only and totals the counters', () => {
    const f = (flow: number, lost: number, outage: number): FlowResult => ({
      flow,
      src_port: 1,
      dst_port: 2,
      sent: 100,
      delivered: 100 - lost,
      lost,
      outage_ms: outage,
      outages: lost ? 1 : 0,
      affected: lost > 0,
    });
    const flows = [f(0, 0, 0), f(1, 10, 100), f(2, 0, 0), f(3, 30, 300)];
    expect(summarizeOutages(flows)).toEqual({ p50: 100, p99: 300, max: 300 });
    const r = buildTrafficResult(
      { protocol: 'udp', from: { name: 'vm1', ip: '192.0.2.1' }, to: { name: 'vm2', ip: '192.0.2.2' }, rate_pps: 100, duration_s: 1, interval_ms: 10, stall_ms: 50, t0_ns: '1' },
      flows,
    );
    expect(r).toMatchObject({ schema: 'pathsteer.testbed.traffic/v1', flows: 4, affected_flows: 2, lost_packets: 40, sent_packets: 400, delivered_packets: 360 });
    expect(summarizeOutages([f(0, 0, 0)])).toEqual({ p50: 0, p99: 0, max: 0 });
  });
});
