import { describe, expect, it } from 'vitest';
import { PortHealth } from '../../src/agent/port-health.js';

describe('PortHealth', () => {
  it('becomes good on its first success', () => {
    const p = new PortHealth(0);
    expect(p.healthy).toBe(false);
    expect(p.record(1, false, 0.2)).toMatchObject({ changed: true, state: 'good', reason: 'first-success' });
    expect(p.healthy).toBe(true);
  });

  it('one failure asks for a re-probe and stays healthy; a failed re-probe makes it bad', () => {
    const p = new PortHealth(0);
    p.record(0, false);
    const v1 = p.record(1000, true);
    expect(v1).toMatchObject({ reprobe: true, changed: false, state: 'suspect' });
    expect(p.healthy).toBe(true);
    const v2 = p.record(1050, true, undefined, true);
    expect(v2).toMatchObject({ reprobe: false, changed: true, state: 'bad', reason: 'reprobe-failed' });
    expect(p.healthy).toBe(false);
  });

  it('a successful re-probe filters a single loss', () => {
    const p = new PortHealth(0);
    p.record(0, false);
    p.record(1000, true);
    expect(p.record(1050, false, 0.3, true)).toMatchObject({ changed: false, state: 'good', reason: 'reprobe-ok' });
  });

  it('3 of the last 5 probes failed makes a port bad even when re-probes pass', () => {
    const p = new PortHealth(0);
    p.record(0, false);
    // fail, re-probe ok, fail, re-probe ok, fail -> 3 of last 5 failed
    p.record(1, true);
    p.record(2, false, 1, true);
    p.record(3, true);
    p.record(4, false, 1, true);
    const v = p.record(5, true);
    expect(v).toMatchObject({ state: 'bad', reason: 'k-of-n', changed: true });
  });

  it('a bad port is good again only after K consecutive successes', () => {
    const p = new PortHealth(0, { historySize: 5, failThreshold: 3, recoverAfter: 3 });
    p.record(0, false);
    p.record(1, true);
    p.record(2, true, undefined, true);
    expect(p.state).toBe('bad');
    p.record(3, false);
    p.record(4, false);
    p.record(5, true); // streak broken
    p.record(6, false);
    p.record(7, false);
    expect(p.state).toBe('bad');
    expect(p.record(8, false)).toMatchObject({ state: 'good', reason: 'recovered', changed: true });
  });

  it('failures restart the failure-free clock; ranking reset restarts it too', () => {
    const p = new PortHealth(0);
    p.record(0, false);
    p.record(500, true);
    expect(p.stableSince).toBe(500);
    p.resetRanking(2000);
    expect(p.stableSince).toBe(2000);
  });

  it('keeps a smoothed RTT from successful probes only', () => {
    const p = new PortHealth(0);
    p.record(0, false, 8);
    p.record(1, false, 16);
    expect(p.srttMs).toBe(9);
    p.record(2, true, 500);
    expect(p.srttMs).toBe(9);
  });
});
