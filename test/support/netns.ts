/**
 * What the namespace suites share: commands and the built CLI inside a
 * namespace, long-running net-helper.mjs processes, a namespace's UDP
 * checksum error counter, and removing the pins and records pathsteer kept
 * for a test's namespaces.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { rmdirSync, rmSync } from 'node:fs';
import { expect } from 'vitest';
import { run, type RunResult } from '../../src/common/exec.js';
import { PIN_ROOT, STATE_ROOT } from '../../src/maps/dataplane.js';
import { addNetns, addVeth, nsenterArgv, nsRun } from '../../src/testbed/netns.js';
import { CLI } from './cli.js';

/** The test traffic helper (UDP/TCP senders and servers, probe agents). */
export const HELPER = new URL('./net-helper.mjs', import.meta.url).pathname;

/** Run argv in namespace ns with nsenter (keeps the host's bpffs visible); a non-zero exit is returned, not thrown. */
export function nsenter(ns: string, argv: readonly string[], timeoutMs = 60_000): Promise<RunResult> {
  return run(nsenterArgv(ns, argv), { allowFail: true, timeoutMs });
}

/** Run `pathsteer ...args` inside namespace ns; a non-zero exit is returned, not thrown. */
export function runCliIn(ns: string, args: readonly string[]): Promise<RunResult> {
  return nsenter(ns, ['node', CLI, ...args]);
}

/** Run `pathsteer ...args` inside namespace ns, expect exit 0 (the message names the command and its stderr); its stdout. */
export async function cliOkIn(ns: string, args: readonly string[]): Promise<string> {
  const r = await runCliIn(ns, args);
  expect(r.code, `pathsteer ${args.join(' ')} in ${ns}: ${r.stderr}`).toBe(0);
  return r.stdout;
}

/**
 * Start a net-helper.mjs mode (or another helper `script`'s) in ns (added to
 * `children`); resolves once it printed 'ready', with the lines it prints
 * (before and after that, except 'ready').
 */
export function startHelper(
  ns: string,
  mode: string,
  args: unknown,
  children: ChildProcess[],
  script: string = HELPER,
): Promise<{ child: ChildProcess; lines: string[] }> {
  const argv = nsenterArgv(ns, ['node', script, mode, JSON.stringify(args)]);
  const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  const lines: string[] = [];
  let buf = '';
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`${mode} in ${ns} did not start`)), 10_000);
    child.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      const parts = buf.split('\n');
      buf = parts.pop()!;
      for (const l of parts) {
        if (l === 'ready') {
          clearTimeout(t);
          resolve({ child, lines });
        } else lines.push(l);
      }
    });
    child.on('exit', (code) => reject(new Error(`${mode} in ${ns} exited ${code}`)));
  });
}

/** SIGTERM a child this test started, if it still runs (by its pid). */
export function stopChild(child: ChildProcess): void {
  if (child.exitCode === null && child.pid) process.kill(child.pid, 'SIGTERM');
}

/** UdpInCsumErrors of namespace ns (/proc/net/snmp is per namespace). */
export async function udpInCsumErrors(ns: string): Promise<number> {
  const snmp = (await nsRun(ns, ['cat', '/proc/net/snmp'])).stdout.split('\n').filter((l) => l.startsWith('Udp:'));
  return Number(snmp[1]!.split(/\s+/)[snmp[0]!.split(/\s+/).indexOf('InCsumErrors')]);
}

/**
 * Remove the pins and records pathsteer keeps for these namespaces
 * (PIN_ROOT/ns/NAME, STATE_ROOT/ns/NAME), then the shared `ns` directories
 * when nothing else is left in them (another run's stay).
 */
export function removePathsteerState(namespaces: readonly string[]): void {
  for (const ns of namespaces) {
    rmSync(`${PIN_ROOT}/ns/${ns}`, { recursive: true, force: true });
    rmSync(`${STATE_ROOT}/ns/${ns}`, { recursive: true, force: true });
  }
  for (const d of [`${PIN_ROOT}/ns`, `${STATE_ROOT}/ns`]) {
    try {
      rmdirSync(d);
    } catch {
      // not empty, or gone: someone else's
    }
  }
}

/**
 * Two new namespaces joined by a veth pair, `s0` in ns.s and `c0` in ns.c,
 * each with its addresses (`a.b.c.d/len`, IPv6 without duplicate address
 * detection, so they are usable at once).
 */
export async function addServerClientPair(ns: { s: string; c: string }, addrs: { s: readonly string[]; c: readonly string[] }): Promise<void> {
  await addNetns(ns.s);
  await addNetns(ns.c);
  await addVeth({ ns: ns.s, ifname: 's0' }, { ns: ns.c, ifname: 'c0' });
  for (const [n, dev, list] of [
    [ns.s, 's0', addrs.s],
    [ns.c, 'c0', addrs.c],
  ] as const) {
    for (const a of list) await run(['ip', '-n', n, 'addr', 'add', a, 'dev', dev, ...(a.includes(':') ? ['nodad'] : [])]);
  }
}

/**
 * Keep this process's thread on one CPU (per-CPU BPF state, e.g. flow caches,
 * must see every test run of a file); returns a function restoring the affinity.
 */
export async function pinToOneCpu(): Promise<() => Promise<void>> {
  const affinity = /: (\S+)\s*$/.exec((await run(['taskset', '-pc', String(process.pid)])).stdout)![1]!;
  await run(['taskset', '-pc', affinity.split(/[,-]/)[0]!, String(process.pid)]);
  return async () => {
    await run(['taskset', '-pc', affinity, String(process.pid)]);
  };
}
