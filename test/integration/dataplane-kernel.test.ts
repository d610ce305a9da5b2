/**
 * Proof in the kernel (issue 2): vxlan_sport attached by the real CLI on h1's
 * uplink steers VXLAN tunnel flows across a two-spine ECMP fabric. Packets are
 * counted in the spines.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BpfObjects, ProgName } from '../../src/maps/names.generated.js';
import { runPrefix } from '../../src/testbed/netns.js';
import { nsRun } from '../../src/testbed/netns.js';
import { cliOkIn } from '../support/netns.js';
import { canLoadBpf, canUseNetns } from '../support/privileged.js';
import { H2, SpineLeaf, TENANT } from '../support/spine-leaf.js';

const BASE = 20000; // below the kernel's source-port range (32768-60999), so a steered port is unmistakable
const NPORTS = 16;
const PORTS = Array.from({ length: NPORTS }, (_, i) => BASE + i);
const ALL = (1n << BigInt(NPORTS)) - 1n;
const hex = (b: bigint): string => `0x${b.toString(16)}`;

describe.runIf(canLoadBpf && canUseNetns)('vxlan_sport steers tunnel flows across spines (real kernel, real CLI)', () => {
  const net = new SpineLeaf(runPrefix('dp'), PORTS);
  /** Which spine each window port crosses, learned from probes. */
  const spineOf = new Map<number, 'spine1' | 'spine2'>();

  const cli = (...args: string[]): Promise<string> => cliOkIn(net.ns('h1'), args);
  const setHealthy = (healthy: bigint, ...extra: string[]): Promise<string> =>
    cli('path', 'set', H2, '--base', String(BASE), '--nports', String(NPORTS), '--healthy', hex(healthy), ...extra);
  const stats = async (): Promise<Record<string, number>> => JSON.parse(await cli('maps', 'dump', 'stats', '--json')) as Record<string, number>;
  const udpFlows = (tenant: { h1: string; h2: string }, sports: number[], packets: number): Promise<unknown> =>
    net.helper('h1', 'udp', { src: tenant.h1, dst: tenant.h2, dport: 9, sports, packets }).then((r) => {
      expect(r.code, r.stderr).toBe(0);
    });
  /** Packets of flow sent per window port (both spines). */
  const perPort = async (): Promise<Map<number, number>> => {
    const c = await net.counts();
    return new Map(PORTS.map((p) => [p, (c.spine1.perPort.get(p) ?? 0) + (c.spine2.perPort.get(p) ?? 0)]));
  };

  beforeAll(async () => {
    await net.up();
    await cli('attach', '--iface', 'up0');
    await setHealthy(ALL);
  });
  afterAll(async () => {
    await net.cli('detach', '--iface', 'up0');
    await net.down();
  });

  it('probes leave with the port their header asks for; each port crosses exactly one spine', async () => {
    await net.resetCounters();
    const r = await net.helper('h1', 'probe', { dst: H2, dport: 4789, ports: PORTS, count: 3 });
    expect(r.code, r.stderr).toBe(0);
    const c = await net.counts();
    for (const p of PORTS) {
      const s1 = c.spine1.perPort.get(p) ?? 0;
      const s2 = c.spine2.perPort.get(p) ?? 0;
      expect([s1, s2].sort(), `port ${p}`).toEqual([0, 3]);
      spineOf.set(p, s1 ? 'spine1' : 'spine2');
    }
    // 16 ports on 2 spines: both are used (fails only with probability 2^-15)
    expect(new Set(spineOf.values()).size).toBe(2);
    expect((await stats()).probe_stamped).toBeGreaterThanOrEqual(PORTS.length * 3);
  });

  it('with all ports healthy, tenant flows spread over both spines', async () => {
    await net.resetCounters();
    const sports = Array.from({ length: 48 }, (_, i) => 31000 + i);
    await udpFlows(TENANT.csum, sports, 4);
    const c = await net.counts();
    expect(c.spine1.total + c.spine2.total).toBe(48 * 4);
    expect(c.spine1.total).toBeGreaterThan(0);
    expect(c.spine2.total).toBeGreaterThan(0);
    // every tunnel packet left on a window port, and the fabric routed it by that port
    expect(c.spine1.kernelRange + c.spine2.kernelRange).toBe(0);
    for (const p of PORTS) {
      const other = spineOf.get(p) === 'spine1' ? c.spine2 : c.spine1;
      expect(other.perPort.get(p) ?? 0, `port ${p} must only cross ${spineOf.get(p)}`).toBe(0);
    }
    const activity = JSON.parse(await cli('maps', 'dump', 'activity', '--json')) as Array<{ peer: string; packets: number; portsInUse: string }>;
    const peer = activity.find((a) => a.peer === H2);
    expect(peer?.packets).toBeGreaterThanOrEqual(48 * 4);
    const inUse = BigInt(peer!.portsInUse);
    expect(inUse & ~ALL).toBe(0n);
    expect(inUse.toString(2).replace(/0/g, '').length).toBeGreaterThan(2);
  });

  it('after every port that crossed spine1 is marked unhealthy, 100% of tenant packets cross spine2 and TCP completes (udpcsum and noudpcsum, TX checksum offload on and off)', async () => {
    let healthy = 0n;
    for (const [p, s] of spineOf) if (s === 'spine2') healthy |= 1n << BigInt(p - BASE);
    await setHealthy(healthy);
    await net.tcpServer(TENANT.csum.h2, 5001);
    await net.tcpServer(TENANT.nocsum.h2, 5001);
    const csumErrors = await net.h2UdpCsumErrors();
    const before = await stats();
    for (const offload of ['on', 'off']) {
      await nsRun(net.ns('h1'), ['ethtool', '-K', 'up0', 'tx', offload]);
      await net.resetCounters();
      const sports = Array.from({ length: 48 }, (_, i) => 31000 + i); // the same flows: pinned ones move
      await udpFlows(TENANT.csum, sports, 3);
      await udpFlows(TENANT.nocsum, sports, 3);
      for (const tenant of [TENANT.csum, TENANT.nocsum]) {
        const r = await net.helper('h1', 'tcp-client', { addr: tenant.h2, port: 5001, bytes: 1 << 20, timeoutMs: 20_000 });
        expect(r.code, `TCP to ${tenant.h2} with tx offload ${offload}: ${r.stdout} ${r.stderr}`).toBe(0);
      }
      const c = await net.counts();
      expect(c.spine1.total, `spine1 with tx offload ${offload}: ${JSON.stringify([...c.spine1.perPort])}`).toBe(0);
      expect(c.spine2.total).toBeGreaterThan(48 * 3 * 2);
    }
    expect(await net.h2UdpCsumErrors()).toBe(csumErrors);
    const after = await stats();
    expect(after.csum_fixed).toBeGreaterThan(before.csum_fixed!); // full outer checksums were updated
    expect(after.csum_zero).toBeGreaterThan(before.csum_zero!); // noudpcsum stayed without one
    expect(after.pin_moved).toBeGreaterThan(before.pin_moved!);
    expect(after.no_healthy).toBe(before.no_healthy);
  });

  it('the compat build (kernels without bpf_cast_to_kern_ctx) keeps TCP across the tunnel working too', async () => {
    const swapped = JSON.parse(await cli('attach', '--iface', 'up0', '--variant', 'compat', '--json')) as { egress: { program: string }; replaced: boolean };
    expect(swapped).toMatchObject({ egress: { program: ProgName.vxlanSportCompat }, replaced: true });
    const csumErrors = await net.h2UdpCsumErrors();
    for (const offload of ['on', 'off']) {
      await nsRun(net.ns('h1'), ['ethtool', '-K', 'up0', 'tx', offload]);
      await net.resetCounters();
      for (const tenant of [TENANT.csum, TENANT.nocsum]) {
        const r = await net.helper('h1', 'tcp-client', { addr: tenant.h2, port: 5001, bytes: 1 << 20, timeoutMs: 20_000 });
        expect(r.code, `compat, TCP to ${tenant.h2} with tx offload ${offload}: ${r.stdout} ${r.stderr}`).toBe(0);
      }
      expect((await net.counts()).spine1.total).toBe(0);
    }
    expect(await net.h2UdpCsumErrors()).toBe(csumErrors);
    await cli('attach', '--iface', 'up0');
  });

  /** Send flow F (one inner 5-tuple) and return the window port it used. */
  const sendF = async (): Promise<number> => {
    await net.resetCounters();
    await udpFlows(TENANT.csum, [32000], 6);
    const used = [...(await perPort())].filter(([, n]) => n > 0);
    expect(used, 'flow F must use one port').toHaveLength(1);
    expect(used[0]![1]).toBe(6);
    return used[0]![0];
  };

  it('a pinned flow keeps its port when another port recovers; without pinning it moves back', async () => {
    await setHealthy(ALL);
    const s = await sendF(); // F's own first choice
    const bit = 1n << BigInt(s - BASE);
    await setHealthy(ALL & ~bit);
    const p = await sendF();
    expect(p).not.toBe(s);
    await setHealthy(ALL); // s recovers
    expect(await sendF()).toBe(p); // F stays where it is
    // the same sequence without pinning: F returns to s
    await setHealthy(ALL & ~bit, '--no-pin');
    expect(await sendF()).not.toBe(s);
    await setHealthy(ALL, '--no-pin');
    expect(await sendF()).toBe(s);
  });

  it('a peer with no entry is untouched, and the activity map still shows the peer', async () => {
    await cli('path', 'del', H2);
    const before = await stats();
    const act0 = (JSON.parse(await cli('maps', 'dump', 'activity', '--json')) as Array<{ peer: string; packets: number }>).find((a) => a.peer === H2)!;
    await net.resetCounters();
    await udpFlows(TENANT.csum, Array.from({ length: 16 }, (_, i) => 33000 + i), 3);
    const c = await net.counts();
    expect(c.spine1.total + c.spine2.total).toBe(48);
    expect(c.spine1.kernelRange + c.spine2.kernelRange).toBe(48); // the kernel's own ports
    expect([...(await perPort()).values()].reduce((a, b) => a + b, 0)).toBe(0);
    const after = await stats();
    expect(after.no_entry! - before.no_entry!).toBe(48);
    expect(after.rewritten).toBe(before.rewritten);
    const act1 = (JSON.parse(await cli('maps', 'dump', 'activity', '--json')) as Array<{ peer: string; packets: number }>).find((a) => a.peer === H2)!;
    expect(act1.packets - act0.packets).toBe(48);
  });

  it('detach (another process) removes the filter, the clsact it created and its pins', async () => {
    const out = JSON.parse(await cli('detach', '--iface', 'up0', '--json')) as { filterRemoved: boolean; hookDestroyed: boolean; unpinned: string[] };
    expect(out.filterRemoved).toBe(true);
    expect(out.hookDestroyed).toBe(true);
    expect(out.unpinned.sort()).toEqual([...BpfObjects.vxlanSport.maps].sort());
    const qd = await nsRun(net.ns('h1'), ['tc', 'qdisc', 'show', 'dev', 'up0']);
    expect(qd.stdout).not.toContain('clsact');
    // traffic flows on untouched
    await net.resetCounters();
    await udpFlows(TENANT.csum, [34000], 2);
    const c = await net.counts();
    expect(c.spine1.kernelRange + c.spine2.kernelRange).toBe(2);
  });
});
