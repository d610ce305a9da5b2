/**
 * Probing at cloud scale on the namespace Clos fabric (clos-4x4: 4 hosts, 2
 * leaves, 4 spines), real agents, real BPF, real tenant traffic (ZooRoute
 * §4.1, DESIGN §2.3). What a user cares about:
 *  - on-demand: an agent probes only the peers its host has tenant traffic
 *    with, and stops (entry removed) once the traffic has been idle;
 *  - partial mode: only the ports tenant flows use are probed, and a failure on
 *    one of them still moves each affected flow exactly once, after which the
 *    peer is probed in full for a while;
 *  - the in-kernel reflector: with the peer's agent process stopped (SIGSTOP),
 *    its kernel keeps answering every probe; without the reflector, nothing does.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../../src/common/exec.js';
import { agentStatus, cliJson, startAgents, stopAgent, waitConverged, type AgentProcess } from '../../src/testbed/agents.js';
import { nsenterArgv, runPrefix } from '../../src/testbed/netns.js';
import { Testbed } from '../../src/testbed/testbed.js';
import { canLoadBpf } from '../support/privileged.js';

interface Pin {
  peer: string;
  flowHash: number;
  idx: number;
}

const BASE = 10000;
const SPINES = ['spine1', 'spine2', 'spine3', 'spine4'];

describe.runIf(canLoadBpf)('on-demand and partial probing, in-kernel reflector (clos-4x4)', () => {
  const prefix = runPrefix('od');
  let tb: Testbed;
  let agents: AgentProcess[] = [];
  let h3 = '';

  const stopAll = async (): Promise<void> => {
    for (const a of agents) await stopAgent(a).catch(() => undefined);
    agents = [];
  };
  const pins = async (host = 'host1'): Promise<Map<number, number>> =>
    new Map((await cliJson<Pin[]>(tb, host, ['maps', 'dump', 'pin', '--iface', 'eth0'])).map((p) => [p.flowHash, p.idx]));
  const stats = (host: string): Promise<Record<string, number>> => cliJson(tb, host, ['maps', 'dump', 'stats', '--iface', 'eth0']);
  const peerOf = async (host: string, peer: string) => (await agentStatus(tb, host)).peers.find((p) => p.peer === peer);

  /**
   * Which spine each outer source port crosses from host1 to host3: count the
   * agent's own probes (they carry the port) at every spine for a while.
   */
  const spineOfPorts = async (ports: number[]): Promise<Map<number, string>> => {
    const tag = `${prefix}-count`;
    const rule = (p: number): string[] => ['-i', 'leaf1', '-p', 'udp', '--dport', '4789', '--sport', String(p), '-m', 'comment', '--comment', tag];
    for (const s of SPINES) for (const p of ports) await run(nsenterArgv(tb.netns(s), ['iptables', '-w', '5', '-t', 'raw', '-I', 'PREROUTING', ...rule(p)]));
    await sleep(2500);
    const out = new Map<number, string>();
    for (const s of SPINES) {
      const r = await run(nsenterArgv(tb.netns(s), ['iptables', '-w', '5', '-t', 'raw', '-L', 'PREROUTING', '-v', '-x', '-n']));
      for (const line of r.stdout.split('\n')) {
        const m = /^\s*(\d+)\s+\d+\s.*spt:(\d+)/.exec(line);
        if (m && line.includes(tag) && Number(m[1]) > 0) out.set(Number(m[2]), s);
      }
      for (const p of ports) await run(nsenterArgv(tb.netns(s), ['iptables', '-w', '5', '-t', 'raw', '-D', 'PREROUTING', ...rule(p)]), { allowFail: true });
    }
    return out;
  };

  beforeAll(async () => {
    tb = await Testbed.up('examples/testbed/clos-4x4.json', { prefix });
    h3 = tb.host('host3').vtep_ip;
  }, 120_000);

  afterEach(stopAll, 60_000);

  afterAll(async () => {
    await stopAll();
    await Testbed.down(prefix);
  }, 60_000);

  it('probes only the peers with tenant traffic, and releases them after the idle timeout', async () => {
    agents = await startAgents(tb, { staticPeers: false, extraArgs: ['--idle-timeout', '3000'] });
    const traffic = tb.startTraffic({ from: 'vm1', to: 'vm3', flows: 4, ratePps: 50, durationS: 4, protocol: 'udp' });
    await traffic.started;
    await sleep(3000);
    const s1 = await agentStatus(tb, 'host1');
    expect(s1.peers.map((p) => p.peer)).toEqual([h3]);
    expect(s1.peers[0]!.probes_sent).toBeGreaterThan(0);
    // hosts without tenant traffic probe nobody
    for (const h of ['host2', 'host4']) {
      const s = await agentStatus(tb, h);
      expect(s.peers, h).toEqual([]);
      expect(s.counters.probes_sent, h).toBe(0);
    }
    const r = await traffic.result;
    expect(r.lost_packets).toBe(0);
    // idle for longer than the timeout: the task is released and its entry removed
    const deadline = Date.now() + 10_000;
    while ((await agentStatus(tb, 'host1')).peers.length > 0 && Date.now() < deadline) await sleep(500);
    expect((await agentStatus(tb, 'host1')).peers).toEqual([]);
    expect(await cliJson<unknown[]>(tb, 'host1', ['maps', 'dump', 'path', '--iface', 'eth0'])).toEqual([]);
  }, 60_000);

  it('partial mode probes only the ports in use; a failure on one still moves each affected flow once, then probes in full', async () => {
    agents = await startAgents(tb, {
      hosts: ['host1', 'host3'],
      staticPeers: false,
      rttThresholdMs: 100,
      extraArgs: ['--probe-mode', 'partial', '--full-hold', '4000', '--idle-timeout', '30000'],
    });
    const traffic = tb.startTraffic({ from: 'vm1', to: 'vm3', flows: 4, ratePps: 100, durationS: 24, protocol: 'udp' });
    await traffic.started;
    // partial mode writes the first entry right after negotiation (ports not probed yet count as
    // usable), the flows get steered and pinned, and only their ports are probed
    let peer = await peerOf('host1', h3);
    let p0 = await pins();
    const deadline = Date.now() + 20_000;
    while ((peer?.mode !== 'partial' || p0.size < 4) && Date.now() < deadline) {
      await sleep(500);
      peer = await peerOf('host1', h3);
      p0 = await pins();
    }
    expect(peer?.mode).toBe('partial');
    // the window was never probed in full
    expect(peer!.unknown_ports).toBeGreaterThan(20);
    const inUse = [...new Set(p0.values())];
    expect(inUse.length).toBeGreaterThan(0);
    expect(inUse.length).toBeLessThanOrEqual(4);
    // probes per second = ports in use (1 s interval), not the window's 32; measured over a
    // window without re-probes or bursts (a probe answered late on this loaded machine sets
    // one off; the failure case below is where they belong)
    let perSecond = Infinity;
    for (let attempt = 0; attempt < 4 && perSecond === Infinity; attempt++) {
      // (a status call spends most of its time starting the CLI; the agent answers at its end)
      const s0 = await agentStatus(tb, 'host1');
      const t0 = performance.now();
      const a = s0.peers.find((x) => x.peer === h3)!;
      await sleep(3000);
      const s1 = await agentStatus(tb, 'host1');
      const dt = (performance.now() - t0) / 1000;
      const b = s1.peers.find((x) => x.peer === h3)!;
      expect(b.mode).toBe('partial');
      const quiet = s1.counters.bursts === s0.counters.bursts && s1.counters.reprobes_sent === s0.counters.reprobes_sent;
      if (quiet) perSecond = (b.probes_sent! - a.probes_sent!) / dt;
    }
    expect(perSecond).toBeLessThanOrEqual(inUse.length + 1);
    expect(perSecond).toBeGreaterThanOrEqual(inUse.length * 0.5);

    // break the spine one of the in-use ports crosses
    const spines = await spineOfPorts(inUse.map((i) => BASE + i));
    const victimPort = inUse.map((i) => BASE + i).find((p) => spines.has(p))!;
    const spine = spines.get(victimPort)!;
    const onSpine = inUse.filter((i) => spines.get(BASE + i) === spine);
    const st0 = await stats('host1');
    const before = await pins();
    await tb.fail(`${spine}-leaf2`, { blackhole: true });
    await sleep(4000);
    const after = await pins();
    const st1 = await stats('host1');
    const mode = (await peerOf('host1', h3))!.mode;
    await tb.heal(`${spine}-leaf2`);
    const r = await traffic.result;

    const moved = [...before].filter(([h, i]) => after.has(h) && after.get(h) !== i);
    // exactly the flows on the broken spine moved, each once, to a port off it
    expect(moved.length).toBeGreaterThan(0);
    expect(moved.every(([, i]) => onSpine.includes(i))).toBe(true);
    expect([...before].filter(([, i]) => onSpine.includes(i)).length).toBe(moved.length);
    expect(st1.pin_moved! - st0.pin_moved!).toBe(moved.length);
    for (const [h] of moved) expect(onSpine).not.toContain(after.get(h));
    // the anomaly switched the peer to full probing
    expect(mode).toBe('full-after-anomaly');
    // the tenant saw one outage per affected flow, over well before the heal
    expect(r.affected_flows).toBe(moved.length);
    for (const f of r.per_flow.filter((x) => x.affected)) {
      expect(f.outages).toBe(1);
      expect(f.outage_ms).toBeLessThan(2000);
    }
  }, 90_000);

  it('the in-kernel reflector answers while the peer agent is stopped; without it nothing answers', async () => {
    const pausedWindow = async (reflector: boolean): Promise<{ sent: number; answered: number; reflected: number }> => {
      agents = await startAgents(tb, { hosts: ['host1', 'host3'], ...(reflector ? {} : { extraArgs: ['--no-reflector'] }) });
      await waitConverged(tb, agents);
      const peerAgent = agents.find((x) => x.host === 'host3')!;
      const r0 = await stats('host3');
      // the whole window lies inside the stop (a status read takes a while on a loaded machine)
      process.kill(peerAgent.pid, 'SIGSTOP');
      let s0: Record<string, number>;
      let s1: Record<string, number>;
      try {
        await sleep(300);
        s0 = (await agentStatus(tb, 'host1')).counters;
        await sleep(3000);
        s1 = (await agentStatus(tb, 'host1')).counters;
      } finally {
        process.kill(peerAgent.pid, 'SIGCONT');
      }
      const r1 = await stats('host3');
      await stopAll();
      return { sent: s1.probes_sent! - s0.probes_sent!, answered: s1.responses! - s0.responses!, reflected: r1.reflect_tx! - r0.reflect_tx! };
    };
    const on = await pausedWindow(true);
    expect(on.sent).toBeGreaterThan(60); // 32 ports at 1 probe/s for 3 s, status reads in between
    expect(on.answered).toBeGreaterThanOrEqual(on.sent - 2); // the ones in flight at the edges
    expect(on.reflected).toBeGreaterThanOrEqual(on.answered);
    const off = await pausedWindow(false);
    expect(off.sent).toBeGreaterThan(0);
    expect(off.reflected).toBe(0);
    expect(off.answered).toBeLessThanOrEqual(2); // at most one answer the agent had sent just before it stopped
  }, 90_000);
});
