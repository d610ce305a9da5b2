/**
 * Frequency control and latency preference on a two-region namespace fabric
 * (examples/testbed/two-region-latency.json: host1 and host2 in region main,
 * host3 in region west behind two WAN links of 5 ms and 20 ms one way, delayed
 * by the ps-delayq NFQUEUE helper), real agents, real BPF (ZooRoute §4.2, §8).
 * What a user cares about:
 *  - backpressure (Alg. 1): a responder that answers at most 60 probes/s per
 *    source sends CTL=BP, and the prober's rate towards it drops below that;
 *    once the responder has room again (restarted fail-static with its default
 *    limits, sessions kept), the window grows back one per round to full rate;
 *  - CPU backoff: with the host CPU busy (> 80% in > 7 of 10 samples) and the
 *    probe rate above the (configurable) floor, probing slows exponentially,
 *    the inter-region peer at half the exponent; all 10 samples under 70%
 *    restore the default rate;
 *  - latency preference: tenant flows to the other region take the low-delay
 *    WAN link (tenant RTT with and without it), and when that link's RTT keeps
 *    rising, the preferred ports move to the other link.
 */
import { renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { agentStatus, startAgent, stopAgent, waitConverged, type AgentPeerStatus, type AgentProcess } from '../../src/testbed/agents.js';
import { runPrefix } from '../../src/testbed/netns.js';
import { stopHelper, type SpawnedHelper } from '../../src/testbed/processes.js';
import { measureTenantRtt, startRequestServer, type TenantRtt } from '../../src/testbed/requests.js';
import { logDir } from '../../src/testbed/state.js';
import { Testbed } from '../../src/testbed/testbed.js';
import { canLoadBpf } from '../support/privileged.js';

const bits = (hex: string): number[] => {
  const out: number[] = [];
  const v = BigInt(hex);
  for (let i = 0; i < 64; i++) if ((v >> BigInt(i)) & 1n) out.push(i);
  return out;
};

describe.runIf(canLoadBpf)('frequency control and latency preference (two regions)', () => {
  const prefix = runPrefix('fl');
  let tb: Testbed;
  let agents: AgentProcess[] = [];
  let server: SpawnedHelper | undefined;
  let h2 = '';
  let h3 = '';
  let vm3 = '';
  const rtts: Record<string, TenantRtt> = {};
  /** Measured figures, printed at the end for the record. */
  const figures: Record<string, unknown> = {};

  const peer = async (host: string, p: string): Promise<AgentPeerStatus> => (await agentStatus(tb, host)).peers.find((x) => x.peer === p)!;
  /** Probes per second host1 sends to each of `peers` over `ms`. */
  const ratesOver = async (peers: string[], ms: number): Promise<number[]> => {
    const a = await Promise.all(peers.map((p) => peer('host1', p)));
    const t0 = performance.now();
    await sleep(ms);
    const b = await Promise.all(peers.map((p) => peer('host1', p)));
    const dt = (performance.now() - t0) / 1000;
    return peers.map((_, i) => (b[i]!.probes_sent! - a[i]!.probes_sent!) / dt);
  };
  const stopAll = async (): Promise<void> => {
    for (const a of agents) await stopAgent(a).catch(() => undefined);
    agents = [];
  };

  beforeAll(async () => {
    tb = await Testbed.up('examples/testbed/two-region-latency.json', { prefix });
    h2 = tb.host('host2').vtep_ip;
    h3 = tb.host('host3').vtep_ip;
    vm3 = tb.plan.vms.find((v) => v.name === 'vm3')!.ip;
    server = await startRequestServer(tb.netns('vm3'), 8080, join(logDir(prefix), 'rtt-server.log'));
  }, 120_000);

  afterEach(stopAll, 60_000);

  afterAll(async () => {
    process.stdout.write(`${JSON.stringify({ ...figures, tenant_rtt: rtts })}\n`);
    await stopAll();
    if (server) await stopHelper(server).catch(() => undefined);
    await Testbed.down(prefix);
  }, 60_000);

  it('a responder with no room sends BP: the rate towards it drops per Alg. 1, and recovers when it has room', async () => {
    const limited = await startAgent(tb, 'host2', { hosts: ['host1', 'host2'], keepPins: true, extraArgs: ['--responder-rate', '60', '--responder-burst', '30'] });
    agents.push(limited);
    agents.push(await startAgent(tb, 'host1', { hosts: ['host1', 'host2'], probeIntervalMs: 100 }));
    await waitConverged(tb, agents);
    await sleep(2000);
    const [loaded] = await ratesOver([h2], 3000);
    const p1 = await peer('host1', h2);
    expect(p1.bp_responses!).toBeGreaterThan(0);
    expect(p1.window!).toBeLessThan(32);
    // 32 ports every 100 ms would be 320/s; the responder allows 60/s
    expect(loaded!).toBeLessThan(150);

    // room again: the responder restarts with its default limits (fail-static: the kernel
    // keeps answering and the sessions survive), so BP stops and W grows by one per round
    await stopAgent(limited);
    agents = agents.filter((a) => a !== limited);
    agents.push(await startAgent(tb, 'host2', { hosts: ['host1', 'host2'] }));
    const deadline = Date.now() + 15_000;
    while ((await peer('host1', h2)).window! < 32 && Date.now() < deadline) await sleep(500);
    expect((await peer('host1', h2)).window).toBe(32);
    const [free] = await ratesOver([h2], 2000);
    figures.backpressure = { probes_per_s_limited: Math.round(loaded!), window_limited: p1.window, bp_responses: p1.bp_responses, probes_per_s_after: Math.round(free!) };
    expect(free!).toBeGreaterThan(250);
    expect(free!).toBeGreaterThan(2 * loaded!);
  }, 120_000);

  it('CPU backoff: a busy host probes exponentially slower, the inter-region peer at half the exponent; quiet restores', async () => {
    const stat = `/run/pathsteer/${prefix}-stat`;
    let busy = 0;
    let idle = 0;
    let busyPct = 95;
    const write = (): void => {
      busy += busyPct;
      idle += 100 - busyPct;
      writeFileSync(`${stat}.tmp`, `cpu  ${busy} 0 0 ${idle} 0 0 0 0 0 0\n`);
      renameSync(`${stat}.tmp`, stat);
    };
    write();
    const writer = setInterval(write, 100);
    try {
      agents.push(await startAgent(tb, 'host2', { hosts: ['host1', 'host2'] }));
      agents.push(await startAgent(tb, 'host3', { hosts: ['host1', 'host3'] }));
      agents.push(
        await startAgent(tb, 'host1', {
          hosts: ['host1', 'host2', 'host3'],
          probeIntervalMs: 100,
          rttThresholdMs: 200,
          extraArgs: ['--inter-region-hops', '4', '--cpu-stat', stat, '--cpu-backoff-min-pps', '100'],
        }),
      );
      await waitConverged(tb, agents.filter((a) => a.host === 'host1'));
      expect((await peer('host1', h3)).inter_region).toBe(true);
      expect((await peer('host1', h2)).inter_region).toBe(false);
      // > 7 of 10 samples above 80% at >= 100 probes/s: level 1 after 8 s, level 2 after 16 s
      const deadline = Date.now() + 30_000;
      while (((await agentStatus(tb, 'host1')).backoff_level ?? 0) < 2 && Date.now() < deadline) await sleep(500);
      expect((await agentStatus(tb, 'host1')).backoff_level).toBe(2);
      const [intra, inter] = await ratesOver([h2, h3], 3000);
      // default: 32 ports every 100 ms = 320/s each; level 2: intra x1/4 (80/s), inter x1/2 (160/s)
      expect(intra!).toBeLessThan(120);
      expect(inter!).toBeGreaterThan(110);
      expect(inter!).toBeLessThan(220);
      expect(inter!).toBeGreaterThan(1.5 * intra!);
      // quiet: all of the next 10 samples under 70% restore the default rate
      busyPct = 10;
      const back = Date.now() + 20_000;
      while (((await agentStatus(tb, 'host1')).backoff_level ?? 0) > 0 && Date.now() < back) await sleep(500);
      expect((await agentStatus(tb, 'host1')).backoff_level).toBe(0);
      await sleep(1000);
      const [intra2, inter2] = await ratesOver([h2, h3], 2000);
      figures.cpu_backoff = { level2: { intra_pps: Math.round(intra!), inter_pps: Math.round(inter!) }, restored: { intra_pps: Math.round(intra2!), inter_pps: Math.round(inter2!) } };
      expect(intra2!).toBeGreaterThan(250);
      expect(inter2!).toBeGreaterThan(250);
    } finally {
      clearInterval(writer);
      rmSync(stat, { force: true });
    }
  }, 120_000);

  const latencyAgents = async (extra: string[]): Promise<void> => {
    const args = ['--inter-region-hops', '4', ...extra];
    for (const h of ['host1', 'host3']) agents.push(await startAgent(tb, h, { hosts: ['host1', 'host3'], probeIntervalMs: 200, rttThresholdMs: 200, extraArgs: args }));
    await waitConverged(tb, agents);
    await sleep(3000); // preferred sets settle (both sides answer on their low-RTT ports)
  };

  it('inter-region tenant flows take the low-delay WAN link: tenant RTT with and without latency preference', async () => {
    // partial mode is for intra-region peers: the inter-region one is probed in full regardless
    await latencyAgents(['--probe-mode', 'partial']);
    const p = await peer('host1', h3);
    expect(p.inter_region).toBe(true);
    expect(p.mode).toBe('full');
    const preferred = bits(p.in_table!.preferred);
    expect(preferred.length).toBeGreaterThan(0);
    // the preferred ports are the 5 ms link's (round trip 10 ms plus the stack), not the 20 ms one's
    for (const i of preferred) expect(p.port_rtt_ms![i]!).toBeLessThan(25);
    rtts.with_preference = await measureTenantRtt(tb.netns('vm1'), vm3, 8080, 40, join(logDir(prefix), 'rtt-with.log'));
    await stopAll();

    await latencyAgents(['--no-latency-preference']);
    rtts.without_preference = await measureTenantRtt(tb.netns('vm1'), vm3, 8080, 40, join(logDir(prefix), 'rtt-without.log'));
    const w = rtts.with_preference;
    const wo = rtts.without_preference;
    expect(w.failed + wo.failed).toBe(0);
    expect(w.handshake_ms.p50).toBeLessThan(20);
    expect(w.handshake_ms.mean).toBeLessThan(wo.handshake_ms.mean - 8);
  }, 120_000);

  it('a preferred link whose RTT keeps rising (rtt-rise 3 s) is dropped: new flows move to the other link', async () => {
    await latencyAgents(['--rtt-rise', '3000']);
    const before = bits((await peer('host1', h3)).in_table!.preferred);
    // the 5 ms link gets slower and slower: 10, 15, 20, 25, 30 ms one way
    for (const d of [10, 15, 20, 25, 30]) {
      await tb.fail('spine1-wspine1', { delayMs: d });
      await sleep(1500);
    }
    await sleep(3000);
    const p = await peer('host1', h3);
    const after = bits(p.in_table!.preferred);
    rtts.after_rise = await measureTenantRtt(tb.netns('vm1'), vm3, 8080, 30, join(logDir(prefix), 'rtt-rise.log'));
    await tb.heal('spine1-wspine1');
    // the old members rose for longer than rtt-rise and left; the new ones are faster than they are now
    expect(after.filter((i) => before.includes(i))).toEqual([]);
    const oldNow = Math.min(...before.map((i) => p.port_rtt_ms![i] ?? Infinity));
    for (const i of after) expect(p.port_rtt_ms![i]!).toBeLessThan(oldNow);
    // new tenant connections: the 20 ms link (40 ms round trip), not the now 30 ms one (60 ms)
    expect(rtts.after_rise.handshake_ms.p50).toBeLessThan(55);
  }, 120_000);
});
