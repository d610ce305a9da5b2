import { describe, expect, it } from 'vitest';
import { parseProcStat, CpuSampler } from '../../src/agent/cpu.js';
import { CTL_BP, CTL_DEFAULT, CpuBackoff, ResponderBuckets, SendWindow } from '../../src/agent/rate-control.js';

describe('CpuBackoff', () => {
  it('backs off only when >7 of 10 samples exceed 80% AND the rate is >= 30 kpps', () => {
    const b = new CpuBackoff();
    for (let i = 0; i < 10; i++) b.sample(95, 10_000);
    expect(b.level).toBe(0); // busy, but probing is not the cause
    const c = new CpuBackoff();
    for (let i = 0; i < 7; i++) c.sample(95, 40_000);
    for (let i = 0; i < 2; i++) c.sample(10, 40_000);
    expect(c.level).toBe(0); // 7 of 9: not more than 7
    c.sample(95, 40_000);
    expect(c.level).toBe(1);
    expect(c.multiplier(false)).toBe(2);
    for (let i = 0; i < 8; i++) c.sample(95, 40_000);
    expect(c.level).toBe(2);
    expect(c.multiplier(false)).toBe(4);
    expect(c.multiplier(true)).toBe(2); // inter-AZ keeps priority
  });

  it('restores the default rate once all 10 samples are under 70%', () => {
    const b = new CpuBackoff();
    for (let i = 0; i < 8; i++) b.sample(95, 40_000);
    expect(b.level).toBe(1);
    for (let i = 0; i < 9; i++) b.sample(60, 40_000);
    expect(b.level).toBe(1);
    b.sample(60, 40_000);
    expect(b.level).toBe(0);
  });
});

describe('SendWindow (ZooRoute Alg. 1)', () => {
  it('grows additively on default CTL and shrinks by BP responses plus losses', () => {
    const w = new SendWindow({ max: 32 });
    w.w = 10;
    w.onResponse(CTL_DEFAULT);
    expect(w.endRound()).toBe(11);
    w.onResponse(CTL_BP);
    w.onResponse(CTL_BP);
    w.onLoss();
    expect(w.endRound()).toBe(8);
  });

  it('with W <= 0 probes once every 2^(1-W) rounds', () => {
    const w = new SendWindow({ max: 32 });
    w.w = 1;
    w.onResponse(CTL_BP);
    w.onResponse(CTL_BP);
    expect(w.w).toBe(1);
    const sends: number[] = [w.endRound()]; // W = -1 -> every 4 rounds
    for (let i = 0; i < 7; i++) sends.push(w.endRound());
    expect(w.w).toBe(-1);
    expect(sends).toEqual([0, 0, 0, 1, 0, 0, 0, 1]);
  });
});

describe('SendWindow bounds', () => {
  it('starts at the peer\'s port count, never exceeds it and follows a second window', () => {
    const w = new SendWindow({ max: 32 });
    expect(w.w).toBe(32);
    w.onResponse(CTL_DEFAULT);
    expect(w.endRound()).toBe(32);
    expect(w.reduced).toBe(false);
    w.setMax(64);
    expect(w.w).toBe(64);
    w.onResponse(CTL_BP);
    w.endRound();
    expect(w.reduced).toBe(true);
  });

  it('one round of heavy backpressure bottoms out at W = -4 (a probe every 32 rounds), then grows back by one per answered round', () => {
    const w = new SendWindow({ max: 32 });
    for (let i = 0; i < 200; i++) w.onResponse(CTL_BP);
    const sends: number[] = [w.endRound()];
    expect(w.w).toBe(-4);
    for (let i = 0; i < 63; i++) sends.push(w.endRound());
    expect(sends.filter((x) => x > 0)).toEqual([1, 1]);
    w.onResponse(CTL_DEFAULT);
    w.endRound();
    expect(w.w).toBe(-3);
    expect(w.bpTotal).toBe(200);
  });
});

describe('CpuBackoff floor', () => {
  it('the probe-rate floor is configurable (a Node agent never reaches 30 kpps)', () => {
    const b = new CpuBackoff({ minRatePps: 100 });
    for (let i = 0; i < 8; i++) b.sample(95, 640);
    expect(b.level).toBe(1);
    const paper = new CpuBackoff();
    for (let i = 0; i < 8; i++) paper.sample(95, 640);
    expect(paper.level).toBe(0);
  });
});

describe('ResponderBuckets', () => {
  it('CPU shrinks the bucket size, not the rate; limits() is what the in-kernel reflector gets', () => {
    const b = new ResponderBuckets({ ratePerSec: 2000, maxTokens: 4000 });
    expect(b.limits()).toEqual({ ratePerSec: 2000, burst: 4000 });
    b.setCpu(75);
    expect(b.limits()).toEqual({ ratePerSec: 2000, burst: 2200 });
    b.setCpu(100);
    expect(b.limits()).toEqual({ ratePerSec: 2000, burst: 400 });
  });

  it('answers with BP once a source has used its tokens, and refills over time', () => {
    const b = new ResponderBuckets({ ratePerSec: 10, maxTokens: 3 });
    expect([b.take('a', 0), b.take('a', 0), b.take('a', 0), b.take('a', 0)]).toEqual([0, 0, 0, CTL_BP]);
    expect(b.take('b', 0)).toBe(CTL_DEFAULT); // per source
    expect(b.take('a', 200)).toBe(CTL_DEFAULT); // 2 tokens refilled
  });

  it('shrinks buckets when the CPU is busy', () => {
    const b = new ResponderBuckets({ ratePerSec: 0, maxTokens: 100 });
    b.setCpu(100);
    let ok = 0;
    for (let i = 0; i < 100; i++) if (b.take('a', 0) === CTL_DEFAULT) ok++;
    expect(ok).toBe(10);
  });
});

describe('cpu', () => {
  it('computes busy share between samples', () => {
    const stats = ['cpu  100 0 100 800 0 0 0 0 0 0\n', 'cpu  200 0 200 900 0 0 0 0 0 0\n'];
    let i = 0;
    const s = new CpuSampler(() => stats[Math.min(i++, 1)]!);
    expect(s.sample()).toBeCloseTo(66.67, 1);
    expect(parseProcStat(stats[0]!)).toEqual({ busy: 200, total: 1000 });
  });
});

describe('socket drops', () => {
  it('reads the drops and receive queue of the agent socket from /proc/net/udp', async () => {
    const { parseUdpSocket } = await import('../../src/agent/socket-drops.js');
    const text = [
      '   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops',
      '  112: 00000000:39C5 00000000:0000 07 00000000:00000C00 00:00000000 00000000     0        0 41 2 0000000000000000 1234',
      '  113: 00000000:0035 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 42 2 0000000000000000 7',
    ].join('\n');
    expect(parseUdpSocket(text, 14789)).toEqual({ drops: 1234, rxQueueBytes: 0xc00 }); // port 0x39C5
    expect(parseUdpSocket(text, 53)).toEqual({ drops: 7, rxQueueBytes: 0 });
    expect(parseUdpSocket(text, 9)).toBeUndefined();
  });
});
