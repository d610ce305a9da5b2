import { describe, expect, it } from 'vitest';
import { CTL_BP } from '../../src/agent/rate-control.js';
import { ProbeScheduler, type DueProbe } from '../../src/agent/scheduler.js';

function run(s: ProbeScheduler, from: number, to: number, step = 1): Array<DueProbe & { t: number }> {
  const out: Array<DueProbe & { t: number }> = [];
  for (let t = from; t < to; t += step) for (const d of s.due(t)) out.push({ ...d, t });
  return out;
}

describe('ProbeScheduler', () => {
  it('full mode probes every port once per interval, spread over the interval', () => {
    const s = new ProbeScheduler({ intervalMs: 1000, mode: 'full', fullHoldMs: 60_000 });
    s.upsert('198.18.0.2', 0, 8);
    const sent = run(s, 0, 3000);
    expect(sent.length).toBe(24);
    const first = sent.filter((d) => d.t < 1000);
    expect(first.map((d) => d.idx).sort()).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(first.map((d) => d.t)).toEqual([0, 125, 250, 375, 500, 625, 750, 875]);
  });

  it('partial mode probes only ports in use, and everything after an anomaly', () => {
    const s = new ProbeScheduler({ intervalMs: 1000, mode: 'partial', fullHoldMs: 5000 });
    s.upsert('p', 0, 8);
    s.setInUse('p', 0b1001n);
    run(s, 0, 1000);
    expect(run(s, 1000, 2000).map((d) => d.idx).sort()).toEqual([0, 3]);
    s.anomaly('p', 2000);
    expect(run(s, 2000, 3000).length).toBe(8);
    expect(run(s, 7000, 8000).map((d) => d.idx).sort()).toEqual([0, 3]);
  });

  it('says what a task does: full, partial, or full for a while after an anomaly', () => {
    const s = new ProbeScheduler({ intervalMs: 1000, mode: 'partial', fullHoldMs: 5000 });
    s.upsert('p', 0, 8);
    // no port in use yet (the traffic is not steered onto the window): nothing to probe
    expect(s.modeOf('p', 0)).toBe('partial');
    expect(run(s, 0, 500)).toEqual([]);
    // the first entry steered it: its port is probed at once, not a round later
    s.setInUse('p', 0b10n, 500);
    expect(run(s, 500, 501).map((d) => d.idx)).toEqual([1]);
    expect(s.modeOf('p', 510)).toBe('partial');
    s.anomaly('p', 100);
    expect(s.modeOf('p', 200)).toBe('full-after-anomaly');
    expect(s.modeOf('p', 5200)).toBe('partial');
    expect(s.modeOf('nobody', 0)).toBeUndefined();
  });

  it('no burst while the peer pushes back (its window is below its port count)', () => {
    const s = new ProbeScheduler({ intervalMs: 1000, mode: 'full', fullHoldMs: 0 });
    s.upsert('p', 0, 8);
    run(s, 0, 999);
    const w = s.window('p')!;
    w.onResponse(CTL_BP);
    run(s, 999, 1999); // the round closes with W = 7
    expect(s.burst('p', 5000, 0)).toBe('backpressure');
  });

  it('re-probes go out at once', () => {
    const s = new ProbeScheduler();
    s.upsert('p', 0, 4);
    run(s, 0, 1000);
    s.reprobe('p', 2);
    expect(s.due(1000.5)[0]).toEqual({ peer: 'p', idx: 2, reprobe: true });
  });

  it('backpressure shrinks the ports probed per round; skipped ports come first next round', () => {
    const s = new ProbeScheduler({ intervalMs: 1000, mode: 'full', fullHoldMs: 0 });
    s.upsert('p', 0, 8);
    run(s, 0, 999);
    const w = s.window('p')!;
    w.w = 5;
    for (let i = 0; i < 2; i++) w.onResponse(CTL_BP);
    const r2 = run(s, 999, 1999).map((d) => d.idx);
    expect(r2).toEqual([0, 1, 2]);
    const r3 = run(s, 1999, 2999).map((d) => d.idx);
    expect(r3[0]).toBe(3);
  });

  it('CPU backoff stretches the interval', () => {
    const s = new ProbeScheduler({ intervalMs: 1000, mode: 'full', fullHoldMs: 0 });
    s.upsert('p', 0, 4);
    run(s, 0, 1000);
    s.setMultiplier('p', 4);
    // the current round stretches to 4 s; its 4 ports go out 1 s apart
    const sent = run(s, 1000, 9000, 5);
    expect(sent.map((d) => d.t)).toEqual([4000, 5000, 6000, 7000, 8000]);
  });

  it('a long stall does not replay a backlog of rounds', () => {
    const s = new ProbeScheduler({ intervalMs: 100, mode: 'full', fullHoldMs: 0 });
    s.upsert('p', 0, 4);
    expect(s.due(10_000).length).toBeLessThanOrEqual(8);
  });

  it('a burst probes every other port of the peer at once, at most once per interval', () => {
    const s = new ProbeScheduler({ intervalMs: 1000, mode: 'full', fullHoldMs: 0 });
    s.upsert('p', 0, 8);
    run(s, 0, 500);
    expect(s.burst('p', 500, 3)).toBe('fired');
    // the burst first (the round's own probe of port 4 is also due at 500)
    expect(s.due(500.5).map((d) => d.idx).slice(0, 7)).toEqual([0, 1, 2, 4, 5, 6, 7]);
    expect(s.burst('p', 900, 1)).toBe('recent');
    expect(s.burst('p', 1600, 1)).toBe('fired');
  });

  it('bursts share a global budget of one base probe rate', () => {
    const s = new ProbeScheduler({ intervalMs: 1000, mode: 'full', fullHoldMs: 0 });
    for (let i = 0; i < 10; i++) s.upsert(`p${i}`, 0, 32);
    // base rate 320 probes/s: a full second of budget covers 10 bursts of 31
    const results = Array.from({ length: 10 }, (_, i) => s.burst(`p${i}`, 100, 0));
    expect(results.filter((r) => r === 'fired').length).toBe(10);
    for (let i = 0; i < 10; i++) s.upsert(`q${i}`, 100, 32);
    // the budget is spent: more peers failing at once do not burst until it refills
    expect(s.burst('q0', 101, 0)).toBe('budget');
    expect(s.burst('q0', 300, 0)).toBe('fired');
  });
});
