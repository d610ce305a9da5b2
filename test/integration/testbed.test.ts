/**
 * The namespace testbed for real: clos-2x2 brought up once, links broken and
 * healed, tenant traffic measured, and torn down. Root only.
 */
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../../src/common/exec.js';
import { parseExperiment, runExperiment } from '../../src/testbed/experiment.js';
import { cleanupPrefix, listNetns, nsenterArgv, runPrefix } from '../../src/testbed/netns.js';
import { alive } from '../../src/testbed/processes.js';
import { loadSpec } from '../../src/testbed/spec.js';
import { Testbed } from '../../src/testbed/testbed.js';
import { runCli } from '../support/cli.js';
import { canLoadBpf } from '../support/privileged.js';

const cli = (args: string[]) => runCli(['testbed', ...args], { timeout: 120_000 });

/** ping -U (user-to-user time: a delay inside netfilter is not hidden by the kernel rx timestamp). */
async function pingRtts(tb: Testbed, node: string, dst: string, count: number): Promise<number[]> {
  const r = await tb.exec(node, ['ping', '-U', '-n', '-c', String(count), '-i', '0.02', '-W', '2', dst], { allowFail: true });
  return [...r.stdout.matchAll(/time=([\d.]+) ms/g)].map((m) => Number(m[1]));
}

async function iptablesRaw(tb: Testbed, node: string): Promise<string> {
  return (await tb.exec(node, ['iptables', '-w', '5', '-t', 'raw', '-S', 'PREROUTING'])).stdout;
}

describe.runIf(canLoadBpf)('testbed: clos-2x2 in namespaces', () => {
  const prefix = runPrefix('tb');
  let tb: Testbed;

  beforeAll(async () => {
    tb = await Testbed.up(loadSpec('examples/testbed/clos-2x2.json'), { prefix });
  });
  afterAll(async () => {
    await Testbed.down(prefix).catch(() => undefined);
    await cleanupPrefix(prefix);
  });

  it('status --json gives what agents and the data plane need', () => {
    const r = cli(['status', '--prefix', prefix, '--json']);
    expect(r.status, r.stderr).toBe(0);
    const s = JSON.parse(r.stdout);
    expect(s).toMatchObject({ schema: 'pathsteer.testbed.status/v1', prefix, up: true, tunnel: { type: 'vxlan', port: 4789, vni: 100 } });
    expect(s.hosts[1]).toMatchObject({
      name: 'host2',
      netns: `${prefix}-host2`,
      vtep_ip: '198.18.2.1',
      underlay: [{ ifname: 'eth0', ip: '198.18.2.1', prefix_len: 31, peer_ip: '198.18.2.0', leaf: 'leaf2', link: 'leaf2-host2' }],
      tunnel: { ifname: 'vxlan0', vni: 100, port: 4789, devices: [{ ifname: 'vxlan0', peer_vtep: null }] },
      vms: [{ name: 'vm2', netns: `${prefix}-vm2`, ip: '192.0.2.2' }],
    });
    expect(s.links.find((l: { name: string }) => l.name === 'spine1-leaf2')).toMatchObject({
      a: { netns: `${prefix}-spine1`, ifname: 'leaf2' },
      b: { netns: `${prefix}-leaf2`, ifname: 'spine1' },
      failure: null,
    });
  });

  it('tenant packets of the full 1500-byte MTU cross the tunnel unfragmented', async () => {
    const r = await tb.exec('vm1', ['ping', '-n', '-c', '2', '-i', '0.2', '-W', '2', '-M', 'do', '-s', '1472', '192.0.2.2'], { allowFail: true });
    expect(r.stdout).toContain('2 received');
    const dev = await tb.exec('host1', ['ip', '-d', 'link', 'show', 'dev', 'vxlan0']);
    expect(dev.stdout).toMatch(/mtu 1500 .*vxlan id 100 local 198\.18\.1\.1 dev eth0 .*dstport 4789/s);
  });

  it('bringing the same prefix up twice is an error that names it', async () => {
    await expect(Testbed.up(loadSpec('examples/testbed/clos-2x2.json'), { prefix })).rejects.toThrow(new RegExp(`testbed "${prefix}" is already up`));
    expect((await tb.status()).up).toBe(true);
  });

  it('acceptance: spine1-leaf2 blackholed both ways: about half of 32 UDP flows lose everything during the failure, the rest nothing', async () => {
    const exp = parseExperiment({
      name: 'acceptance',
      traffic: { from: 'vm1', to: 'vm2', flows: 32, rate: 200, duration: 6, protocol: 'udp' },
      steps: [
        { at: 1.5, do: 'fail', link: 'spine1-leaf2', blackhole: true, direction: 'both' },
        { at: 4.5, do: 'heal', link: 'spine1-leaf2' },
      ],
    });
    const r = await runExperiment(tb, exp);
    const [fail, heal] = r.timeline;
    expect(r.flows).toBe(32);
    expect(r.affected_flows).toBeGreaterThanOrEqual(4); // binomial(32, 1/2): outside 4..28 with p < 1e-5
    expect(r.affected_flows).toBeLessThanOrEqual(28);
    const T = r.interval_ms;
    // The failure took effect some time inside the fail step and ended inside the heal step.
    const shortest = heal!.started_ms - fail!.finished_ms - 2 * T;
    const longest = heal!.finished_ms - fail!.started_ms + 2 * T;
    for (const f of r.per_flow) {
      if (!f.affected) {
        expect(f.lost, `flow ${f.flow}`).toBe(0);
        continue;
      }
      expect(f.outages, `flow ${f.flow}: one outage`).toBe(1);
      expect(f.outage_ms, `flow ${f.flow}`).toBeGreaterThanOrEqual(shortest);
      expect(f.outage_ms, `flow ${f.flow}`).toBeLessThanOrEqual(longest);
      expect(Math.abs(f.lost - f.outage_ms / T), `flow ${f.flow}: lost ~ outage x rate`).toBeLessThanOrEqual(3);
    }
    expect(r.healed_after).toEqual([]);
    expect(tb.failures()).toEqual({});
    expect(await iptablesRaw(tb, 'leaf2')).not.toContain('pathsteer');
  });

  it('a one-way blackhole hits only the direction it names', async () => {
    await tb.fail('leaf2-spine1', { blackhole: true, direction: 'a-b' }); // leaf2 -> spine1 only
    expect(tb.failures()['spine1-leaf2']).toMatchObject({ direction: 'b-a', kind: 'blackhole' });
    const fwd = tb.startTraffic({ from: 'vm1', to: 'vm2', flows: 16, ratePps: 300, durationS: 1.5, port: 47000 });
    const rev = tb.startTraffic({ from: 'vm2', to: 'vm1', flows: 16, ratePps: 300, durationS: 1.5, port: 48000 });
    const [f, b] = await Promise.all([fwd.result, rev.result]);
    await tb.heal('spine1-leaf2');
    expect(f.affected_flows).toBe(0);
    expect(b.affected_flows).toBeGreaterThan(0);
    expect(b.affected_flows).toBeLessThan(16);
    for (const x of b.per_flow.filter((p) => p.affected)) expect(x.delivered).toBe(0);
  });

  it('delay: ps-delayq adds 50 ms one way (ping -U), jitter spreads it, heal removes it', async () => {
    await tb.fail('leaf1-host1', { delayMs: 50, direction: 'a-b' }); // replies towards host1
    const rtt = await pingRtts(tb, 'host1', '198.18.2.1', 20);
    expect(rtt).toHaveLength(20);
    expect(Math.min(...rtt)).toBeGreaterThanOrEqual(50);
    expect(rtt.sort((a, b) => a - b)[10]).toBeLessThan(60); // 50 ms, not 100: one direction only
    await tb.fail('leaf1-host1', { delayMs: 20, jitterMs: 5, direction: 'a-b' });
    const jit = await pingRtts(tb, 'host1', '198.18.2.1', 40);
    expect(Math.min(...jit)).toBeGreaterThanOrEqual(15);
    expect(Math.max(...jit) - Math.min(...jit)).toBeGreaterThan(3);
    const helper = tb.failures()['leaf1-host1']!.helpers[0]!;
    await tb.heal('leaf1-host1');
    expect(Math.max(...(await pingRtts(tb, 'host1', '198.18.2.1', 5)))).toBeLessThan(20);
    expect(alive(helper.pid)).toBe(false);
    expect(await iptablesRaw(tb, 'host1')).not.toContain('pathsteer');
  });

  it('random loss drops about the requested share of packets', async () => {
    await tb.fail('leaf2-host2', { lossPct: 30, direction: 'a-b' });
    const r = await tb.traffic({ from: 'vm1', to: 'vm2', flows: 4, ratePps: 1000, durationS: 1 });
    await tb.heal('leaf2-host2');
    const share = r.lost_packets / r.sent_packets;
    expect(share).toBeGreaterThan(0.24);
    expect(share).toBeLessThan(0.36);
    expect(r.affected_flows).toBe(4);
  });

  it('link down: the fabric routes around it; heal restores both next hops', async () => {
    await tb.fail('spine1-leaf2', { down: true });
    const leaf1 = (await tb.exec('leaf1', ['ip', 'route', 'show', '198.18.2.0/24'])).stdout;
    expect(leaf1).toContain('via 198.19.2.2 dev spine2');
    expect(leaf1).not.toContain('spine1');
    const r = await tb.traffic({ from: 'vm1', to: 'vm2', flows: 16, ratePps: 300, durationS: 1 });
    expect(r.affected_flows).toBe(0);
    await tb.heal('spine1-leaf2');
    const healed = (await tb.exec('leaf1', ['ip', 'route', 'show', '198.18.2.0/24'])).stdout;
    expect(healed).toMatch(/nexthop via 198\.19\.1\.2 dev spine1 weight 1 \n/);
    expect(healed).toMatch(/nexthop via 198\.19\.2\.2 dev spine2 weight 1/);
    expect((await tb.exec('spine1', ['ip', 'route', 'show', '198.18.2.0/24'])).stdout).toContain('via 198.19.1.5 dev leaf2');
  });

  it('fail and heal from the CLI, with bad flags rejected before anything changes', () => {
    const bad = cli(['fail', 'spine1-leaf2', '--loss', '150', '--prefix', prefix]);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/--loss/);
    expect(cli(['fail', 'spine9-leaf2', '--blackhole', '--prefix', prefix]).stderr).toMatch(/no link named "spine9-leaf2"/);
    const f = cli(['fail', 'spine2-leaf1', '--blackhole', '--direction', 'a-b', '--prefix', prefix, '--json']);
    expect(f.status, f.stderr).toBe(0);
    expect(JSON.parse(f.stdout)).toMatchObject({ link: 'spine2-leaf1', kind: 'blackhole', direction: 'a-b', rules: 1 });
    const h = cli(['heal', '--all', '--prefix', prefix, '--json']);
    expect(JSON.parse(h.stdout)).toEqual({ healed: ['spine2-leaf1'] });
    expect(tb.refresh().failures()).toEqual({});
  });

  it('the meter reads a 500 ms outage injected on one flow as 500 +- 10 ms', async () => {
    const port = 49000;
    const run1 = tb.startTraffic({ from: 'vm1', to: 'vm2', flows: 4, ratePps: 1000, durationS: 2.5, port });
    const t0 = await run1.started;
    // Drop flow 0 (destination port 49000) for exactly 500 ms from t0 + 800 ms, timed by ps-delayq.
    const window = await tb.dropWindow({ node: 'vm2', ifname: 'eth0', match: ['-p', 'udp', '--dport', String(port)], atNs: t0 + 800_000_000n, durationMs: 500 });
    const r = await run1.result;
    const truth = await window.stop();
    expect(truth.dropped).toBeGreaterThan(400);
    const f0 = r.per_flow.find((f) => f.dst_port === port)!;
    expect(f0.outages).toBe(1);
    expect(Math.abs(f0.outage_ms - 500)).toBeLessThanOrEqual(10);
    expect(f0.lost).toBe(truth.dropped);
    for (const f of r.per_flow.filter((x) => x.dst_port !== port)) expect(f).toMatchObject({ lost: 0, affected: false });
    expect(r.affected_flows).toBe(1);
  });

  it('down via the CLI removes every namespace of the prefix', () => {
    const r = cli(['down', '--prefix', prefix, '--json']);
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).namespaces_removed).toHaveLength(8);
    const left = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout.split('\n').filter((l) => l.startsWith(`${prefix}-`));
    expect(left).toEqual([]);
  });
});

describe.runIf(canLoadBpf)('testbed: other topologies, tunnels and crash recovery', () => {
  const prefix = runPrefix('tb');
  afterAll(async () => {
    await Testbed.down(prefix).catch(() => undefined);
    await cleanupPrefix(prefix);
  });

  it('clos-4x4: every VM reaches every other VM over 4 spines', async () => {
    const tb = await Testbed.up(loadSpec('examples/testbed/clos-4x4.json'), { prefix });
    const vms = tb.plan.vms;
    for (const a of vms) {
      const dsts = vms.filter((b) => b !== a);
      const r = await Promise.all(dsts.map((b) => tb.exec(a.name, ['ping', '-n', '-c', '1', '-W', '2', b.ip], { allowFail: true })));
      r.forEach((x, i) => expect(x.stdout, `${a.name} -> ${dsts[i]!.name}`).toContain('1 received'));
    }
    const routes = (await tb.exec('leaf1', ['ip', 'route', 'show', '198.18.2.0/24'])).stdout;
    expect(routes.match(/nexthop via/g)).toHaveLength(4);
    await Testbed.down(prefix);
  });

  it('two regions: WAN links carry the spec delay and rate, which heal leaves alone; the gateway prefix is routed', async () => {
    const tb = await Testbed.up(loadSpec('examples/testbed/two-region.json'), { prefix });
    await pingRtts(tb, 'vm1', '192.0.2.3', 2); // ARP across the WAN
    const wan = await pingRtts(tb, 'vm1', '192.0.2.3', 10);
    expect(Math.min(...wan)).toBeGreaterThanOrEqual(20); // 10 ms each way
    expect((await tb.exec('spine1', ['tc', 'qdisc', 'show', 'dev', 'wspine1'])).stdout).toMatch(/tbf .*rate 100Mbit/);
    expect((await pingRtts(tb, 'host3', '203.0.113.7', 3)).length).toBe(3);
    await tb.fail('spine1-wspine1', { blackhole: true });
    expect(await tb.heal()).toEqual(['spine1-wspine1']);
    expect(Math.min(...(await pingRtts(tb, 'vm1', '192.0.2.3', 5)))).toBeGreaterThanOrEqual(20);
    await Testbed.down(prefix);
  });

  it('down works from namespace names alone after a crash, ending processes left inside', async () => {
    await Testbed.up(loadSpec('examples/testbed/clos-2x2.json'), { prefix });
    const sleeper = spawnSync('sh', ['-c', `${nsenterArgv(`${prefix}-vm1`, ['sleep', '300']).join(' ')} >/dev/null 2>&1 & echo $!`], { encoding: 'utf8' });
    const pid = Number(sleeper.stdout.trim());
    expect(pid).toBeGreaterThan(0);
    await run(['rm', '-f', `/run/pathsteer/testbed/${prefix}.json`]); // the crash lost the state
    const st = cli(['status', '--prefix', prefix]);
    expect(st.status).toBe(2);
    expect(st.stderr).toMatch(/no state for testbed .* namespaces exist/);
    const d = cli(['down', '--prefix', prefix, '--json']);
    expect(d.status, d.stderr).toBe(0);
    expect(JSON.parse(d.stdout)).toMatchObject({ processes_ended: 1 });
    expect((await listNetns()).filter((n) => n.startsWith(`${prefix}-`))).toEqual([]);
    expect(alive(pid)).toBe(false);
  });

  it('flannel-style VXLAN uses port 8472 on flannel.1', async () => {
    const spec = loadSpec('examples/testbed/clos-2x2.json');
    const tb = await Testbed.up({ ...spec, tunnel: { type: 'flannel', port: 8472, vni: 1, device: 'flannel.1' } }, { prefix });
    expect((await tb.exec('host1', ['ip', '-d', 'link', 'show', 'dev', 'flannel.1'])).stdout).toMatch(/vxlan id 1 .*dstport 8472/s);
    const r = await tb.traffic({ from: 'vm1', to: 'vm2', flows: 2, ratePps: 200, durationS: 0.5 });
    expect(r.lost_packets).toBe(0);
    await Testbed.down(prefix);
  });

  it('geneve: a clear error naming the missing kernel feature when the kernel lacks it', async () => {
    const spec = { ...loadSpec('examples/testbed/clos-2x2.json'), tunnel: { type: 'geneve' as const, port: 6081, vni: 100, device: 'geneve0' } };
    const { kernelHas } = await import('../../src/common/kernel-features.js');
    if (kernelHas('GENEVE')) {
      const tb = await Testbed.up(spec, { prefix });
      const r = await tb.traffic({ from: 'vm1', to: 'vm2', flows: 2, ratePps: 200, durationS: 0.5 });
      expect(r.lost_packets).toBe(0);
      await Testbed.down(prefix);
    } else {
      await expect(Testbed.up(spec, { prefix })).rejects.toThrow(/tunnel type geneve needs the kernel feature CONFIG_GENEVE/);
      expect((await listNetns()).filter((n) => n.startsWith(`${prefix}-`))).toEqual([]);
    }
  });
});
