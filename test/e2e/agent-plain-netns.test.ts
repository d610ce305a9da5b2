/**
 * The agent the way most people start it: on a namespace fabric made by hand
 * with iproute2, under plain `ip netns exec` (a fresh /sys without bpffs), with
 * `attach`, `maps dump` and `agent status` each run as their own
 * `ip netns exec` process. A spine blackhole must move every affected tenant
 * flow exactly once, while it lasts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../../src/common/exec.js';
import { runPrefix } from '../../src/testbed/netns.js';
import { startTrafficBetween } from '../../src/testbed/traffic.js';
import { buildHandFabric, cliInNetns, handFabric, killIfRunning, removeHandFabric, spawnInNetns, type HandFabric, type NetnsProcess } from '../support/hand-fabric.js';
import { removePathsteerState } from '../support/netns.js';
import { canLoadBpf } from '../support/privileged.js';

const json = async <T>(ns: string, args: string[]): Promise<T> => {
  const r = await cliInNetns(ns, [...args, '--json']);
  expect(r.code, `pathsteer ${args.join(' ')} in ${ns}: ${r.stderr}`).toBe(0);
  return JSON.parse(r.stdout) as T;
};

type Status = { peers: Array<{ peer: string; state: string; in_table: { healthy: string } | null; unknown_ports: number }> };
type Stats = Record<string, number>;

describe.runIf(canLoadBpf)('agent under plain ip netns exec on a fabric made with iproute2', () => {
  const f: HandFabric = handFabric(runPrefix('hf'));
  let a1: NetnsProcess | undefined;
  let a2: NetnsProcess | undefined;

  beforeAll(async () => {
    await buildHandFabric(f);
  });

  afterAll(async () => {
    killIfRunning(a1);
    killIfRunning(a2);
    await removeHandFabric(f);
    removePathsteerState([f.ns.h1, f.ns.h2]);
  });

  it('attach, agents, maps dump and agent status work there; a spine blackhole moves each affected flow once', async () => {
    // h2: attach by hand first (its bpffs, mounted by attach, dies with that process), then the agent adopts it
    const att = await cliInNetns(f.ns.h2, ['attach', '--iface', 'eth0', '--json']);
    expect(att.code, att.stderr).toBe(0);
    expect((await run(['tc', '-n', f.ns.h2, 'filter', 'show', 'dev', 'eth0', 'egress'])).stdout).toMatch(/vxlan_sport/);

    a1 = spawnInNetns(f.ns.h1, ['agent', '--iface', 'eth0', '--peer', f.vtep.h2]);
    a2 = spawnInNetns(f.ns.h2, ['agent', '--iface', 'eth0', '--peer', f.vtep.h1]);
    for (const a of [a1, a2]) {
      // one line at start, at the default level, naming interface, programs, pin dir and peers
      const line = await a.waitFor(/agent started on eth0/);
      expect(line).toMatch(/vxlan_sport.* on egress, probe_steer.* on ingress, maps in \/sys\/fs\/bpf\/pathsteer\/ns\/.*\/eth0 \(bpffs mounted here\), peers 198\.18\./);
    }
    expect(await a2.waitFor(/adopted the maps of the attached programs/)).toBeTruthy();

    // both agents have a full entry for their peer (status and maps dump from other ip netns exec processes)
    const deadline = Date.now() + 20_000;
    for (;;) {
      const s1 = await json<Status>(f.ns.h1, ['agent', 'status', '--iface', 'eth0']);
      const s2 = await json<Status>(f.ns.h2, ['agent', 'status', '--iface', 'eth0']);
      if ([s1, s2].every((s) => s.peers[0]?.in_table && s.peers[0].unknown_ports === 0)) break;
      expect(Date.now(), 'agents did not write their first entries').toBeLessThan(deadline);
      await new Promise((r) => setTimeout(r, 500));
    }
    const paths = await json<Array<{ peer: string; healthy: string; nports: number }>>(f.ns.h1, ['maps', 'dump', 'path']);
    expect(paths).toEqual([expect.objectContaining({ peer: f.vtep.h2, healthy: '0xffffffff', nports: 32 })]);
    const before = await json<Stats>(f.ns.h1, ['maps', 'dump', 'stats']);

    // 32 tenant UDP flows t1 -> t2; spine s1 blackholed (both directions) from t=2 s to t=7 s
    const traffic = startTrafficBetween({ name: 't1', netns: f.ns.t1, ip: f.tenant.t1 }, { name: 't2', netns: f.ns.t2, ip: f.tenant.t2 }, {
      from: 't1',
      to: 't2',
      flows: 32,
      ratePps: 200,
      durationS: 10,
    });
    await traffic.started;
    await new Promise((r) => setTimeout(r, 2000));
    await run(['iptables', '-I', 'FORWARD', '-j', 'DROP'], { netns: f.ns.s1 });
    await new Promise((r) => setTimeout(r, 5000));
    const during = await json<Stats>(f.ns.h1, ['maps', 'dump', 'stats']);
    await run(['iptables', '-D', 'FORWARD', '-j', 'DROP'], { netns: f.ns.s1 });
    const res = await traffic.result;
    const after = await json<Stats>(f.ns.h1, ['maps', 'dump', 'stats']);

    const affected = res.per_flow.filter((x) => x.affected);
    expect(affected.length, 'some flows crossed s1').toBeGreaterThan(0);
    expect(affected.length).toBeLessThan(32);
    for (const x of affected) {
      // recovered while the blackhole lasted (5 s), in one outage
      expect(x.outages, `flow ${x.flow}`).toBe(1);
      expect(x.outage_ms, `flow ${x.flow}`).toBeLessThan(2000);
    }
    // the data plane moved each affected flow exactly once, and none after the heal
    expect(during.pin_moved! - before.pin_moved!).toBe(affected.length);
    expect(after.pin_moved).toBe(during.pin_moved);
    process.stderr.write(`plain ip netns exec: ${affected.length}/32 flows affected, outage p50 ${res.outage_ms.p50} ms, max ${res.outage_ms.max} ms\n`);

    // SIGTERM: both agents stop within 2 s, exit 0 and detach (h2's agent also removes what `attach` made)
    for (const a of [a1, a2]) {
      const t0 = performance.now();
      a.child.kill('SIGTERM');
      const e = await a.exited;
      expect(e.code).toBe(0);
      expect(e.at - t0).toBeLessThan(2000);
    }
    for (const h of [f.ns.h1, f.ns.h2]) {
      expect((await run(['tc', '-n', h, 'filter', 'show', 'dev', 'eth0', 'egress'])).stdout).toBe('');
      expect((await run(['tc', '-n', h, 'filter', 'show', 'dev', 'eth0', 'ingress'])).stdout).toBe('');
      const st = await cliInNetns(h, ['maps', 'dump', 'path']);
      expect(st.code).toBe(2);
      expect(st.stderr).toMatch(/pathsteer is not attached/);
    }
  });
});
