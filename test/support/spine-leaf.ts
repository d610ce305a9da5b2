/**
 * The two-spine fixture of the data-plane proof (test/integration only, not a
 * general testbed): hosts h1, h2, leaves leaf1, leaf2, spines spine1, spine2 as
 * namespaces joined by veth, kernel ECMP at the leaves with L4 hashing
 * (fib_multipath_hash_policy=1), VXLAN between h1 and h2 (vxc: udpcsum,
 * vxn: noudpcsum), and iptables counters in each spine for the tunnel packets
 * h1 sends to h2, per outer source port.
 *
 *   h1 up0 .1.2 -- .1.1 dn0 leaf1 s1 .2.1 -- .2.2 l1 spine1 l2 .4.2 -- .4.1 s1 leaf2 dn0 .6.1 -- .6.2 up0 h2
 *                           leaf1 s2 .3.1 -- .3.2 l1 spine2 l2 .5.2 -- .5.1 s2 leaf2          (198.18.x.y/30)
 */
import type { ChildProcess } from 'node:child_process';
import type { RunResult } from '../../src/common/exec.js';
import { addNetns, addVeth, cleanupPrefix, nsName, nsRun, sysctl } from '../../src/testbed/netns.js';
import { HELPER, nsenter, removePathsteerState, runCliIn, startHelper, stopChild, udpInCsumErrors } from './netns.js';

export const H1 = '198.18.1.2';
export const H2 = '198.18.6.2';
export const TENANT = { csum: { h1: '192.0.2.1', h2: '192.0.2.2' }, nocsum: { h1: '192.0.2.65', h2: '192.0.2.66' } } as const;

export interface SpineCount {
  /** Tunnel packets h1 -> h2 forwarded by this spine. */
  total: number;
  /** Per outer source port in the watched window. */
  perPort: Map<number, number>;
  /** Packets whose source port is in the kernel's range (32768-60999). */
  kernelRange: number;
}

export class SpineLeaf {
  private readonly children: ChildProcess[] = [];
  constructor(
    readonly prefix: string,
    /** Outer source ports to count individually. */
    readonly watchPorts: readonly number[],
  ) {}

  ns(node: 'h1' | 'h2' | 'leaf1' | 'leaf2' | 'spine1' | 'spine2'): string {
    return nsName(this.prefix, node);
  }

  async up(): Promise<void> {
    const nodes = ['h1', 'h2', 'leaf1', 'leaf2', 'spine1', 'spine2'] as const;
    await Promise.all(nodes.map((n) => addNetns(this.ns(n))));
    await Promise.all(
      nodes.map((n) =>
        sysctl(this.ns(n), {
          'net.ipv6.conf.all.disable_ipv6': 1,
          'net.ipv6.conf.default.disable_ipv6': 1,
          'net.ipv4.conf.all.rp_filter': 0,
          'net.ipv4.conf.default.rp_filter': 0,
          ...(n.startsWith('h') ? {} : { 'net.ipv4.ip_forward': 1, 'net.ipv4.fib_multipath_hash_policy': 1 }),
        }),
      ),
    );
    const links: Array<[string, string, string, string, string]> = [
      // [nsA, ifA, nsB, ifB, x]: A gets 198.18.x.1/30, B 198.18.x.2/30
      ['leaf1', 'dn0', 'h1', 'up0', '1'],
      ['leaf1', 's1', 'spine1', 'l1', '2'],
      ['leaf1', 's2', 'spine2', 'l1', '3'],
      ['leaf2', 's1', 'spine1', 'l2', '4'],
      ['leaf2', 's2', 'spine2', 'l2', '5'],
      ['leaf2', 'dn0', 'h2', 'up0', '6'],
    ];
    await Promise.all(
      links.map(async ([a, ia, b, ib, x]) => {
        await addVeth({ ns: this.ns(a as never), ifname: ia }, { ns: this.ns(b as never), ifname: ib });
        await nsRun(this.ns(a as never), ['ip', 'addr', 'add', `198.18.${x}.1/30`, 'dev', ia]);
        await nsRun(this.ns(b as never), ['ip', 'addr', 'add', `198.18.${x}.2/30`, 'dev', ib]);
      }),
    );
    const ip = (n: Parameters<SpineLeaf['ns']>[0], ...argv: string[]): Promise<RunResult> => nsRun(this.ns(n), ['ip', ...argv]);
    await Promise.all([
      ip('h1', 'route', 'add', 'default', 'via', '198.18.1.1'),
      ip('h2', 'route', 'add', 'default', 'via', '198.18.6.1'),
      ip('leaf1', 'route', 'add', '198.18.6.0/30', 'nexthop', 'via', '198.18.2.2', 'dev', 's1', 'nexthop', 'via', '198.18.3.2', 'dev', 's2'),
      ip('leaf2', 'route', 'add', '198.18.1.0/30', 'nexthop', 'via', '198.18.4.2', 'dev', 's1', 'nexthop', 'via', '198.18.5.2', 'dev', 's2'),
      ip('spine1', 'route', 'add', '198.18.1.0/30', 'via', '198.18.2.1'),
      ip('spine1', 'route', 'add', '198.18.6.0/30', 'via', '198.18.4.1'),
      ip('spine2', 'route', 'add', '198.18.1.0/30', 'via', '198.18.3.1'),
      ip('spine2', 'route', 'add', '198.18.6.0/30', 'via', '198.18.5.1'),
    ]);
    // VXLAN between h1 and h2, with and without an outer UDP checksum; static
    // neighbours so no ARP rides the tunnel
    const mac = { h1: { vxc: '02:00:00:00:01:01', vxn: '02:00:00:00:01:02' }, h2: { vxc: '02:00:00:00:02:01', vxn: '02:00:00:00:02:02' } };
    for (const [h, local, remote, other] of [
      ['h1', H1, H2, 'h2'],
      ['h2', H2, H1, 'h1'],
    ] as const) {
      for (const [dev, vni, csum, tenant] of [
        ['vxc', '100', 'udpcsum', TENANT.csum],
        ['vxn', '200', 'noudpcsum', TENANT.nocsum],
      ] as const) {
        await ip(h, 'link', 'add', dev, 'type', 'vxlan', 'id', vni, 'local', local, 'remote', remote, 'dstport', '4789', 'dev', 'up0', csum);
        await ip(h, 'link', 'set', dev, 'address', mac[h][dev]);
        await ip(h, 'addr', 'add', `${tenant[h]}/26`, 'dev', dev);
        await ip(h, 'link', 'set', dev, 'up');
        await ip(h, 'neigh', 'replace', tenant[other], 'lladdr', mac[other][dev], 'dev', dev, 'nud', 'permanent');
      }
    }
    // per-port counters of h1 -> h2 tunnel packets in each spine
    for (const s of ['spine1', 'spine2'] as const) {
      const ipt = (...argv: string[]): Promise<RunResult> => nsRun(this.ns(s), ['iptables', '-w', ...argv]);
      await ipt('-N', 'PSPORT');
      await ipt('-A', 'FORWARD', '-p', 'udp', '-s', H1, '-d', H2, '--dport', '4789', '-j', 'PSPORT');
      for (const p of this.watchPorts) await ipt('-A', 'PSPORT', '-p', 'udp', '--sport', String(p), '-j', 'RETURN');
      await ipt('-A', 'PSPORT', '-p', 'udp', '--sport', '32768:60999', '-j', 'RETURN');
    }
  }

  async resetCounters(): Promise<void> {
    await Promise.all(['spine1', 'spine2'].map((s) => nsRun(this.ns(s as never), ['iptables', '-w', '-Z'])));
  }

  async counts(): Promise<{ spine1: SpineCount; spine2: SpineCount }> {
    const one = async (s: 'spine1' | 'spine2'): Promise<SpineCount> => {
      const out = (await nsRun(this.ns(s), ['iptables-save', '-c', '-t', 'filter'])).stdout;
      const c: SpineCount = { total: 0, perPort: new Map(), kernelRange: 0 };
      for (const line of out.split('\n')) {
        const m = /^\[(\d+):\d+\] -A (\w+) (.*)$/.exec(line);
        if (!m) continue;
        const n = Number(m[1]);
        if (m[2] === 'FORWARD' && m[3]!.includes('-j PSPORT')) c.total += n;
        if (m[2] !== 'PSPORT') continue;
        const r = /--sport (\d+)(?::(\d+))?/.exec(m[3]!);
        if (!r) continue;
        if (r[2]) c.kernelRange += n;
        else c.perPort.set(Number(r[1]), n);
      }
      return c;
    };
    const [spine1, spine2] = await Promise.all([one('spine1'), one('spine2')]);
    return { spine1, spine2 };
  }

  /** The real CLI, in h1. */
  cli(...args: string[]): Promise<RunResult> {
    return runCliIn(this.ns('h1'), args);
  }

  helper(node: 'h1' | 'h2', mode: string, args: unknown): Promise<RunResult> {
    return nsenter(this.ns(node), ['node', HELPER, mode, JSON.stringify(args)]);
  }

  /** Start a TCP digest server in h2; resolves when it listens. */
  async tcpServer(addr: string, port: number): Promise<void> {
    await startHelper(this.ns('h2'), 'tcp-server', { addr, port }, this.children);
  }

  /** UdpInCsumErrors of h2. */
  h2UdpCsumErrors(): Promise<number> {
    return udpInCsumErrors(this.ns('h2'));
  }

  async down(): Promise<void> {
    for (const c of this.children) stopChild(c);
    await cleanupPrefix(this.prefix);
    // pins and records of this run's namespaces only
    removePathsteerState([this.ns('h1'), this.ns('h2')]);
  }
}
