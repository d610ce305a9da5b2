/**
 * A two-spine namespace fabric built the way an operator would, with iproute2
 * commands only (no pathsteer testbed code): two VXLAN hosts (underlay `eth0`
 * with an IPv4 address, a vxlan device on it bridged to a tenant namespace),
 * two leaves with ECMP over two spines (L4 hash), and a way to run the built
 * CLI under plain `ip netns exec`, as users do.
 *
 *   t1 - [h1: br0 vx0 eth0] - l1 =< s1, s2 >= l2 - [h2: eth0 vx0 br0] - t2
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { run, type RunResult } from '../../src/common/exec.js';
import { CLI } from './cli.js';

export interface HandFabric {
  prefix: string;
  ns: { h1: string; h2: string; l1: string; l2: string; s1: string; s2: string; t1: string; t2: string };
  vtep: { h1: string; h2: string };
  tenant: { t1: string; t2: string };
}

const sh = async (argv: string[]): Promise<void> => {
  await run(argv);
};

/** The fabric's names and addresses (nothing created yet). */
export function handFabric(prefix: string): HandFabric {
  const n = (s: string): string => `${prefix}${s}`;
  const ns = { h1: n('h1'), h2: n('h2'), l1: n('l1'), l2: n('l2'), s1: n('s1'), s2: n('s2'), t1: n('t1'), t2: n('t2') };
  return { prefix, ns, vtep: { h1: '198.18.1.2', h2: '198.18.2.2' }, tenant: { t1: '192.0.2.1', t2: '192.0.2.2' } };
}

/** Build the fabric with `ip` and `sysctl` (inside `ip netns exec`); removeHandFabric undoes a partial build too. */
export async function buildHandFabric(f: HandFabric): Promise<void> {
  const { ns } = f;
  for (const x of Object.values(ns)) {
    await sh(['ip', 'netns', 'add', x]);
    await sh(['ip', '-n', x, 'link', 'set', 'lo', 'up']);
  }
  // the tunnel carries only the tenant's IPv4 flows: no IPv6 neighbour discovery, static ARP below
  for (const x of [ns.h1, ns.h2, ns.t1, ns.t2]) {
    await sh(['ip', 'netns', 'exec', x, 'sysctl', '-q', '-w', 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1']);
  }
  const veth = async (a: string, an: string, b: string, bn: string): Promise<void> => {
    await sh(['ip', 'link', 'add', an, 'netns', a, 'type', 'veth', 'peer', 'name', bn, 'netns', b]);
    await sh(['ip', '-n', a, 'link', 'set', 'dev', an, 'up']);
    await sh(['ip', '-n', b, 'link', 'set', 'dev', bn, 'up']);
  };
  const addr = (x: string, dev: string, a: string): Promise<void> => sh(['ip', '-n', x, 'addr', 'add', a, 'dev', dev]);
  // [namespace, device, address] at each end of a veth
  const links: Array<[[string, string, string], [string, string, string]]> = [
    [[ns.h1, 'eth0', '198.18.1.2/24'], [ns.l1, 'down', '198.18.1.1/24']],
    [[ns.h2, 'eth0', '198.18.2.2/24'], [ns.l2, 'down', '198.18.2.1/24']],
    [[ns.l1, 's1', '198.18.11.1/24'], [ns.s1, 'l1', '198.18.11.2/24']],
    [[ns.l1, 's2', '198.18.12.1/24'], [ns.s2, 'l1', '198.18.12.2/24']],
    [[ns.l2, 's1', '198.18.21.1/24'], [ns.s1, 'l2', '198.18.21.2/24']],
    [[ns.l2, 's2', '198.18.22.1/24'], [ns.s2, 'l2', '198.18.22.2/24']],
  ];
  for (const [[a, an, aa], [b, bn, ba]] of links) {
    await veth(a, an, b, bn);
    await addr(a, an, aa);
    await addr(b, bn, ba);
  }
  for (const r of [ns.l1, ns.l2, ns.s1, ns.s2]) await sh(['ip', 'netns', 'exec', r, 'sysctl', '-q', '-w', 'net.ipv4.ip_forward=1']);
  for (const r of [ns.l1, ns.l2]) await sh(['ip', 'netns', 'exec', r, 'sysctl', '-q', '-w', 'net.ipv4.fib_multipath_hash_policy=1']);
  await sh(['ip', '-n', ns.h1, 'route', 'add', 'default', 'via', '198.18.1.1']);
  await sh(['ip', '-n', ns.h2, 'route', 'add', 'default', 'via', '198.18.2.1']);
  await sh(['ip', '-n', ns.l1, 'route', 'add', '198.18.2.0/24', 'nexthop', 'via', '198.18.11.2', 'nexthop', 'via', '198.18.12.2']);
  await sh(['ip', '-n', ns.l2, 'route', 'add', '198.18.1.0/24', 'nexthop', 'via', '198.18.21.2', 'nexthop', 'via', '198.18.22.2']);
  await sh(['ip', '-n', ns.s1, 'route', 'add', '198.18.1.0/24', 'via', '198.18.11.1']);
  await sh(['ip', '-n', ns.s1, 'route', 'add', '198.18.2.0/24', 'via', '198.18.21.1']);
  await sh(['ip', '-n', ns.s2, 'route', 'add', '198.18.1.0/24', 'via', '198.18.12.1']);
  await sh(['ip', '-n', ns.s2, 'route', 'add', '198.18.2.0/24', 'via', '198.18.22.1']);
  // the overlay: vxlan on eth0, bridged to a tenant namespace
  const overlay = async (h: string, local: string, remote: string, t: string, tenantIp: string): Promise<void> => {
    await sh(['ip', '-n', h, 'link', 'add', 'vx0', 'type', 'vxlan', 'id', '42', 'local', local, 'remote', remote, 'dstport', '4789', 'dev', 'eth0']);
    await sh(['ip', '-n', h, 'link', 'add', 'br0', 'type', 'bridge']);
    await sh(['ip', '-n', h, 'link', 'set', 'vx0', 'master', 'br0']);
    await veth(h, 'vm', t, 'eth0');
    await sh(['ip', '-n', h, 'link', 'set', 'vm', 'master', 'br0']);
    for (const d of ['vx0', 'br0']) await sh(['ip', '-n', h, 'link', 'set', 'dev', d, 'up']);
    await sh(['ip', '-n', t, 'link', 'set', 'dev', 'eth0', 'mtu', '1400']);
    await addr(t, 'eth0', `${tenantIp}/24`);
  };
  await overlay(ns.h1, '198.18.1.2', '198.18.2.2', ns.t1, '192.0.2.1');
  await overlay(ns.h2, '198.18.2.2', '198.18.1.2', ns.t2, '192.0.2.2');
  const mac = async (x: string): Promise<string> => (JSON.parse((await run(['ip', '-j', '-n', x, 'link', 'show', 'dev', 'eth0'])).stdout) as Array<{ address: string }>)[0]!.address;
  await sh(['ip', '-n', ns.t1, 'neigh', 'replace', f.tenant.t2, 'lladdr', await mac(ns.t2), 'dev', 'eth0', 'nud', 'permanent']);
  await sh(['ip', '-n', ns.t2, 'neigh', 'replace', f.tenant.t1, 'lladdr', await mac(ns.t1), 'dev', 'eth0', 'nud', 'permanent']);
}

/** Delete the fabric's namespaces (those that exist). */
export async function removeHandFabric(f: HandFabric): Promise<void> {
  for (const x of Object.values(f.ns)) await run(['ip', 'netns', 'del', x], { allowFail: true });
}

/** `ip netns exec NS node CLI ...args` to completion (non-zero exits returned, not thrown). */
export function cliInNetns(ns: string, args: readonly string[], env: Record<string, string> = {}): Promise<RunResult> {
  return run(['env', ...Object.entries(env).map(([k, v]) => `${k}=${v}`), 'node', CLI, ...args], { netns: ns, allowFail: true, timeoutMs: 60_000 });
}

/** A `pathsteer` process started under `ip netns exec`, its output collected line by line. */
export interface NetnsProcess {
  child: ChildProcess;
  stdout: string[];
  stderr: string[];
  /** Resolves with the first stderr or stdout line matching. */
  waitFor(re: RegExp, timeoutMs?: number): Promise<string>;
  /** Resolves with the exit code (or signal name) and how long after `since` (ms) it came. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;
}

export function spawnInNetns(ns: string, args: readonly string[], env: Record<string, string> = {}): NetnsProcess {
  const child = spawn('ip', ['netns', 'exec', ns, 'node', CLI, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, PATHSTEER_LOG_LEVEL: 'info', ...env },
  });
  const stdout: string[] = [];
  const stderr: string[] = [];
  const watchers: Array<{ re: RegExp; resolve: (l: string) => void }> = [];
  const onLine = (into: string[]) => (l: string) => {
    into.push(l);
    for (const w of [...watchers]) {
      if (w.re.test(l)) {
        watchers.splice(watchers.indexOf(w), 1);
        w.resolve(l);
      }
    }
  };
  createInterface({ input: child.stdout! }).on('line', onLine(stdout));
  createInterface({ input: child.stderr! }).on('line', onLine(stderr));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal, at: performance.now() })),
  );
  return {
    child,
    stdout,
    stderr,
    exited,
    waitFor(re, timeoutMs = 20_000) {
      const seen = [...stderr, ...stdout].find((l) => re.test(l));
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`no line matching ${re} within ${timeoutMs} ms; stderr:\n${stderr.slice(-20).join('\n')}`)), timeoutMs);
        watchers.push({
          re,
          resolve: (l) => {
            clearTimeout(t);
            resolve(l);
          },
        });
        void exited.then(() => {
          clearTimeout(t);
          reject(new Error(`exited before a line matching ${re}; stderr:\n${stderr.slice(-20).join('\n')}`));
        });
      });
    },
  };
}

/** SIGKILL a process this test started, if it still runs. */
export function killIfRunning(p: NetnsProcess | undefined): void {
  if (p && p.child.exitCode === null && p.child.signalCode === null && p.child.pid) p.child.kill('SIGKILL');
}
