import { describe, expect, it } from 'vitest';
import { PeerPaths } from '../../src/agent/peer-paths.js';
import { selectPort } from '../../src/agent/select-port.js';
import { PS_F_PIN, PS_F_PREFER, PS_F_STATEFUL } from '../../src/maps/path-entry.js';

function allGood(pp: PeerPaths, now: number, rtt = (i: number) => 0.2 + i / 1000): void {
  for (let i = 0; i < pp.nports; i++) pp.record(now, i, { failed: false, rttMs: rtt(i) });
}

function failTwice(pp: PeerPaths, now: number, idx: number): void {
  pp.record(now, idx, { failed: true });
  pp.record(now + 50, idx, { failed: true, reprobe: true });
}

describe('PeerPaths', () => {
  it('the entry lists exactly the ports proven healthy', () => {
    const pp = new PeerPaths('198.18.0.2', 0, { windowPorts: 8 });
    expect(pp.entry(0).healthy).toBe(0n);
    allGood(pp, 10);
    failTwice(pp, 1000, 3);
    const e = pp.entry(2000);
    expect(e).toMatchObject({ basePort: 10000, nports: 8, healthy: 0xf7n });
    expect(e.flags & PS_F_PIN).toBe(PS_F_PIN);
  });

  it('a flow on a port that fails moves once, to a proven port, and stays there', () => {
    const pp = new PeerPaths('198.18.0.2', 0, { windowPorts: 16 });
    allGood(pp, 0);
    const hash = 5;
    const before = selectPort(pp.entry(1), hash)!;
    failTwice(pp, 1000, before.idx);
    const after = selectPort(pp.entry(1100), hash, before.idx)!;
    expect(after.idx).not.toBe(before.idx);
    expect(pp.ports[after.idx]!.healthy).toBe(true);
    // the old port recovers: the pinned flow does not move back
    for (let k = 0; k < 3; k++) pp.record(2000 + k, before.idx, { failed: false, rttMs: 0.2 });
    expect(selectPort(pp.entry(3000), hash, after.idx)!.idx).toBe(after.idx);
  });

  it('prefers long-stable ports over recently recovered ones', () => {
    const pp = new PeerPaths('198.18.0.2', 0, { windowPorts: 8 });
    allGood(pp, 0);
    failTwice(pp, 10_000, 2);
    for (let k = 0; k < 3; k++) pp.record(10_100 + k, 2, { failed: false, rttMs: 0.2 });
    const e = pp.entry(20_000);
    expect(e.healthy).toBe(0xffn);
    expect((e.preferred >> 2n) & 1n).toBe(0n);
    expect(e.flags & PS_F_PREFER).toBe(PS_F_PREFER);
    // after the 30-minute ranking reset every healthy port ranks equal again
    pp.maybeResetRanking(30 * 60_000 + 1);
    expect(pp.entry(30 * 60_000 + 2).preferred).toBe(0xffn);
  });

  it('opens a second window when more than half of the first is bad', () => {
    const pp = new PeerPaths('198.18.0.2', 0, { windowPorts: 8 });
    allGood(pp, 0);
    for (const i of [0, 1, 2, 3]) failTwice(pp, 1000, i);
    expect(pp.nports).toBe(8);
    pp.record(2000, 4, { failed: true });
    const r = pp.record(2050, 4, { failed: true, reprobe: true });
    expect(r.windowAdded).toBe(true);
    expect(pp.nports).toBe(16);
    expect(pp.entry(2100).nports).toBe(16);
    // new ports are unknown until probed
    expect(pp.entry(2100).healthy).toBe(0xe0n);
  });

  it('inter-region peers prefer the lowest-RTT 10% and drop a port whose RTT rose for 2 minutes', () => {
    const pp = new PeerPaths('198.18.0.2', 0, { windowPorts: 20, interRegion: true });
    allGood(pp, 0, (i) => (i === 7 ? 20 : i === 11 ? 21 : 30 + i));
    expect(pp.entry(1).preferred).toBe((1n << 7n) | (1n << 11n));
    // port 7's RTT rises and stays up
    for (let t = 1000; t <= 60_000; t += 1000) pp.record(t, 7, { failed: false, rttMs: 40 });
    expect(pp.entry(61_000).preferred & (1n << 7n)).toBe(1n << 7n);
    for (let t = 61_000; t <= 200_000; t += 1000) pp.record(t, 7, { failed: false, rttMs: 40 });

    const e = pp.entry(200_001);
    expect((e.preferred >> 7n) & 1n).toBe(0n);
    expect((e.preferred >> 11n) & 1n).toBe(1n);
  });

  it('groups ports by backend id and marks the peer stateful', () => {
    const pp = new PeerPaths('198.18.0.9', 0, { windowPorts: 8 });
    for (let i = 0; i < 8; i++) pp.record(0, i, { failed: false, rttMs: 1, backendId: i % 2 ? 'bb' : 'aa' });
    const e = pp.entry(1);
    expect(e.flags & PS_F_STATEFUL).toBe(PS_F_STATEFUL);
    expect(e.ngroups).toBe(2);
    expect(e.groupMask.slice(0, 2)).toEqual([0x55n, 0xaan]);
    // a flow keeps to its group when its port fails
    const hash = 2; // group 0, start idx 2
    const first = selectPort(e, hash)!;
    expect(first.idx % 2).toBe(0);
    failTwice(pp, 100, first.idx);
    const moved = selectPort(pp.entry(200), hash, first.idx)!;
    expect(moved.idx % 2).toBe(0);
    expect(moved.idx).not.toBe(first.idx);
  });

  it('adopts the data plane state after a restart instead of starting unknown', () => {
    const a = new PeerPaths('198.18.0.2', 0, { windowPorts: 8 });
    allGood(a, 0);
    failTwice(a, 100, 6);
    const b = new PeerPaths('198.18.0.2', 5000, { windowPorts: 8 });
    b.adopt(5000, a.entry(200));
    expect(b.entry(5001).healthy).toBe(0xbfn);
  });

  it('a backend keeps its group index when another backend appears; a whole group down leaves the flow to another group', () => {
    const pp = new PeerPaths('198.18.0.9', 0, { windowPorts: 6 });
    // ports 0-3 answer from backend aa and bb first; cc shows up later on ports 4-5
    for (let i = 0; i < 4; i++) pp.record(0, i, { failed: false, rttMs: 1, backendId: i < 2 ? 'bb' : 'aa' });
    expect(pp.groups()).toEqual(['bb', 'aa']);
    for (let i = 4; i < 6; i++) pp.record(10, i, { failed: false, rttMs: 1, backendId: 'cc' });
    const e = pp.entry(20);
    expect(pp.groups()).toEqual(['bb', 'aa', 'cc']);
    expect(e.groupMask.slice(0, 3)).toEqual([0b000011n, 0b001100n, 0b110000n]);
    // every port of group aa fails: a flow of that group moves to another group
    const hash = 1 + 3 * 7; // h % 3 = 1: group aa; start index h % 6 = 4
    const first = selectPort(e, hash)!;
    expect([2, 3]).toContain(first.idx);
    failTwice(pp, 100, 2);
    failTwice(pp, 100, 3);
    const moved = selectPort(pp.entry(200), hash, first.idx)!;
    expect([0, 1, 4, 5]).toContain(moved.idx);
  });

  it('without latency preference an inter-region peer ranks ports by stability, as intra-region', () => {
    const pp = new PeerPaths('198.18.0.2', 0, { windowPorts: 20, interRegion: true, latencyPreference: false });
    allGood(pp, 0, (i) => (i === 7 ? 20 : 30 + i));
    const preferred = pp.entry(1).preferred;
    // all good ports are equally stable: every one of them is preferred, not the lowest-RTT 10%
    expect(preferred).toBe((1n << 20n) - 1n);
  });
});
