import { describe, expect, it } from 'vitest';
import { parseIpv4 } from '../../src/common/net.js';
import { fabricCommands, routeLines, tunnelDevices } from '../../src/testbed/fabric.js';
import { canonicalDirection, directedEnds, dropRule, failureKind, queueRule } from '../../src/testbed/failures.js';
import { loadSpec, parseSpec } from '../../src/testbed/spec.js';
import { planTopology, resolveEndpoint, resolveLink } from '../../src/testbed/topology.js';

const ipInt = parseIpv4;
const inRange = (ip: string, base: string, len: number): boolean => Math.floor(ipInt(ip) / 2 ** (32 - len)) === Math.floor(ipInt(base) / 2 ** (32 - len));

describe('testbed topology plan', () => {
  const plan = planTopology(loadSpec('examples/testbed/clos-2x2.json'), 'ps');

  it('names links by their ends and interfaces by the peer', () => {
    expect(plan.links.map((l) => l.name)).toEqual(['spine1-leaf1', 'spine1-leaf2', 'spine2-leaf1', 'spine2-leaf2', 'leaf1-host1', 'leaf2-host2']);
    const l = plan.links.find((x) => x.name === 'spine1-leaf2')!;
    expect(l.a).toMatchObject({ node: 'spine1', netns: 'ps-spine1', ifname: 'leaf2' });
    expect(l.b).toMatchObject({ node: 'leaf2', netns: 'ps-leaf2', ifname: 'spine1' });
    expect(plan.namespaces).toHaveLength(8);
  });

  it('uses only the documented address ranges, each address once', () => {
    const underlay = [...plan.links.flatMap((l) => [l.a.ip, l.b.ip]), ...plan.routers.map((r) => r.loopback)];
    for (const ip of underlay) expect(inRange(ip, '198.18.0.0', 15), ip).toBe(true);
    for (const v of plan.vms) expect(inRange(v.ip, '192.0.2.0', 24)).toBe(true);
    for (const h of plan.hosts) expect(inRange(h.tenantIp, '192.0.2.0', 24)).toBe(true);
    const all = [...underlay, ...plan.vms.map((v) => v.ip), ...plan.hosts.map((h) => h.tenantIp)];
    expect(new Set(all).size).toBe(all.length);
  });

  it('routes both directions over every spine (ECMP)', () => {
    const leaf1 = plan.routers.find((r) => r.name === 'leaf1')!;
    const leaf2 = plan.routers.find((r) => r.name === 'leaf2')!;
    const toHost2 = leaf1.routes.find((r) => r.dst === '198.18.2.0/24')!;
    const toHost1 = leaf2.routes.find((r) => r.dst === '198.18.1.0/24')!;
    expect(toHost2.nexthops.map((n) => n.dev).sort()).toEqual(['spine1', 'spine2']);
    expect(toHost1.nexthops.map((n) => n.dev).sort()).toEqual(['spine1', 'spine2']);
    const spine1 = plan.routers.find((r) => r.name === 'spine1')!;
    expect(spine1.routes.find((r) => r.dst === '198.18.2.0/24')!.nexthops).toEqual([{ via: '198.19.1.5', dev: 'leaf2' }]);
    expect(routeLines(plan, 'ps-leaf1')).toContain('route replace 198.18.2.0/24 nexthop via 198.19.1.2 dev spine1 nexthop via 198.19.2.2 dev spine2');
    expect(routeLines(plan, 'ps-host1')).toEqual(['route replace default via 198.18.1.0 dev eth0']);
  });

  it('ECMP-routes 4 spines in clos-4x4 and keeps interface names within IFNAMSIZ', () => {
    const p4 = planTopology(loadSpec('examples/testbed/clos-4x4.json'), 'ps');
    const leaf1 = p4.routers.find((r) => r.name === 'leaf1')!;
    expect(leaf1.routes.find((r) => r.dst === '198.18.2.0/24')!.nexthops).toHaveLength(4);
    for (const l of p4.links) for (const e of [l.a, l.b]) expect(e.ifname.length).toBeLessThanOrEqual(15);
    expect(p4.hosts.map((h) => h.vtep)).toEqual(['198.18.1.1', '198.18.1.3', '198.18.2.1', '198.18.2.3']);
  });

  it('routes across WAN links between regions and to gateway prefixes', () => {
    const spec = parseSpec({
      name: 'two-regions',
      spines: ['spine1', 'spine2', { name: 'wspine1', region: 'west' }],
      leaves: ['leaf1', { name: 'wleaf1', region: 'west' }],
      hosts: [
        { name: 'host1', leaf: 'leaf1', vms: ['vm1'] },
        { name: 'host2', leaf: 'wleaf1', vms: ['vm2'] },
      ],
      gateways: [{ name: 'gw1', leaf: 'leaf1' }],
      wan: [
        { a: 'spine1', b: 'wspine1', delayMs: 20 },
        { a: 'spine2', b: 'wspine1', delayMs: 30 },
      ],
    });
    const p = planTopology(spec, 'ps');
    const wleaf = p.routers.find((r) => r.name === 'wleaf1')!;
    expect(wleaf.routes.find((r) => r.dst === '198.18.1.0/24')!.nexthops.map((n) => n.dev)).toEqual(['wspine1']);
    const wspine = p.routers.find((r) => r.name === 'wspine1')!;
    expect(wspine.routes.find((r) => r.dst === '198.18.1.0/24')!.nexthops.map((n) => n.dev).sort()).toEqual(['spine1', 'spine2']);
    expect(wleaf.routes.find((r) => r.dst === '203.0.113.0/24')).toBeDefined();
    expect(p.links.find((l) => l.name === 'spine1-wspine1')!.props.delayMs).toBe(20);
    expect(p.links.find((l) => l.name === 'leaf1-gw1')!.kind).toBe('gateway');
  });

  it('resolves links written either way round and tenant endpoints', () => {
    expect(resolveLink(plan, 'leaf2-spine1')).toMatchObject({ reversed: true, link: { name: 'spine1-leaf2' } });
    expect(() => resolveLink(plan, 'spine9-leaf1')).toThrow(/no link named "spine9-leaf1"; links: spine1-leaf1/);
    expect(resolveEndpoint(plan, 'vm2', false)).toEqual({ name: 'vm2', netns: 'ps-vm2', ip: '192.0.2.2', kind: 'vm' });
    expect(() => resolveEndpoint(plan, 'host1', false)).toThrow(/--local-tenant/);
    expect(resolveEndpoint(plan, 'host1', true).ip).toBe('192.0.2.254');
  });
});

describe('testbed fabric commands', () => {
  const plan = planTopology(loadSpec('examples/testbed/clos-2x2.json'), 'ps');
  const cmds = fabricCommands(plan, { localTenant: true, clearHashObj: '/x/clear_hash.bpf.o' });
  const ns = (n: string) => cmds.perNs.find((c) => c.netns === n)!;

  it('sets L4 ECMP hashing and turns off rp_filter on routers', () => {
    expect(ns('ps-spine1').sysctl).toMatchObject({
      'net.ipv4.ip_forward': 1,
      'net.ipv4.fib_multipath_hash_policy': 1,
      'net.ipv4.conf.all.rp_filter': 0,
    });
  });

  it('creates veths straight inside their namespaces with the underlay MTU', () => {
    expect(cmds.veth).toContain('link add name leaf2 mtu 1600 netns ps-spine1 type veth peer name spine1 mtu 1600 netns ps-leaf2');
    expect(cmds.veth).toContain('link add name vm1 mtu 1500 netns ps-host1 type veth peer name eth0 address 02:00:c0:00:02:01 mtu 1500 netns ps-vm1');
  });

  it('builds the host bridge, the VXLAN device and FDB entries to every peer', () => {
    const h1 = ns('ps-host1');
    expect(h1.ip).toContain('link add name vxlan0 mtu 1500 type vxlan id 100 local 198.18.1.1 dstport 4789 dev eth0 nolearning ttl 64');
    expect(h1.ip).toContain('addr add 192.0.2.254/24 dev br0');
    expect(h1.bridge).toContain('fdb append 00:00:00:00:00:00 dev vxlan0 dst 198.18.2.1 self permanent');
    expect(h1.bridge).toContain('fdb replace 02:00:c0:00:02:02 dev vxlan0 dst 198.18.2.1 self permanent');
    expect(h1.tc).toContain('filter add dev vm1 ingress bpf direct-action obj /x/clear_hash.bpf.o sec tc');
  });

  it('uses port 8472 for flannel and per-peer isolated devices for geneve', () => {
    const f = planTopology(parseSpec({ ...plan.spec, tunnel: { type: 'flannel' }, spines: ['spine1'], leaves: ['leaf1'], hosts: [{ name: 'host1', leaf: 'leaf1' }, { name: 'host2', leaf: 'leaf1' }] }), 'ps');
    expect(tunnelDevices(f, f.hosts[0]!)[0]!.line).toBe('link add name flannel.1 mtu 1500 type vxlan id 1 local 198.18.1.1 dstport 8472 dev eth0 nolearning ttl 64');
    const g = planTopology(parseSpec({ ...plan.spec, tunnel: { type: 'geneve' }, spines: ['spine1'], leaves: ['leaf1'], hosts: [{ name: 'host1', leaf: 'leaf1' }, { name: 'host2', leaf: 'leaf1' }, { name: 'host3', leaf: 'leaf1' }] }), 'ps');
    const d = tunnelDevices(g, g.hosts[0]!);
    expect(d.map((x) => x.peer)).toEqual(['198.18.1.3', '198.18.1.5']);
    expect(d[0]!.line).toBe('link add name gnv2 mtu 1500 type geneve id 100 remote 198.18.1.3 dstport 6081 ttl 64');
    expect(fabricCommands(g, { localTenant: false }).perNs.find((c) => c.netns === 'ps-host1')!.bridge).toEqual(['link set dev gnv2 isolated on', 'link set dev gnv3 isolated on']);
  });
});

describe('testbed failure requests', () => {
  it('accepts exactly one kind, loss and delay together', () => {
    expect(failureKind({ blackhole: true })).toBe('blackhole');
    expect(failureKind({ lossPct: 10, delayMs: 5 })).toBe('loss+delay');
    expect(failureKind({ down: true })).toBe('down');
    expect(() => failureKind({})).toThrow(/exactly one/);
    expect(() => failureKind({ blackhole: true, down: true })).toThrow(/exactly one/);
    expect(() => failureKind({ lossPct: 0 })).toThrow(/--loss/);
    expect(() => failureKind({ lossPct: 101 })).toThrow(/--loss/);
    expect(() => failureKind({ jitterMs: 3, lossPct: 1 })).toThrow(/--jitter needs --delay/);
    expect(() => failureKind({ down: true, direction: 'a-b' })).toThrow(/both directions/);
  });

  it('applies a direction at the receiving end, relative to the name as written', () => {
    const plan = planTopology(loadSpec('examples/testbed/clos-2x2.json'), 'ps');
    const { link, reversed } = resolveLink(plan, 'leaf2-spine1');
    const ends = directedEnds(link, reversed, 'a-b'); // leaf2 -> spine1
    expect(ends).toHaveLength(1);
    expect(ends[0]!.to).toMatchObject({ netns: 'ps-spine1', ifname: 'leaf2' });
    expect(canonicalDirection('a-b', true)).toBe('b-a');
    expect(directedEnds(link, false, 'both').map((e) => e.to.netns)).toEqual(['ps-leaf2', 'ps-spine1']);
  });

  it('builds iptables rule specs', () => {
    expect(dropRule('leaf2', 'pathsteer:x')).toEqual(['-i', 'leaf2', '-m', 'comment', '--comment', 'pathsteer:x', '-j', 'DROP']);
    expect(dropRule('leaf2', 't', 25)).toEqual(['-i', 'leaf2', '-m', 'statistic', '--mode', 'random', '--probability', '0.250000', '-m', 'comment', '--comment', 't', '-j', 'DROP']);
    expect(queueRule('eth0', 't', 7)).toEqual(['-i', 'eth0', '-m', 'comment', '--comment', 't', '-j', 'NFQUEUE', '--queue-num', '7', '--queue-bypass']);
  });
});
