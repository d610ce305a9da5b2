/**
 * Network-namespace primitives every testbed and privileged test builds on:
 * per-run name prefixes, create/delete, veth pairs, running argv inside a
 * namespace, and removal of everything carrying a prefix (also after a crash).
 *
 * Names: a namespace is `${prefix}-${node}`; a prefix is 1-8 chars [a-z0-9],
 * starting with a letter, so interface names derived from it fit IFNAMSIZ.
 *
 * Processes that need the host's bpffs (/sys/fs/bpf: pinned maps) must enter a
 * namespace with `nsenter --net=/run/netns/NAME` (see nsenterArgv), not
 * `ip netns exec`, which remounts /sys and hides bpffs.
 */
import { randomBytes } from 'node:crypto';
import { UsageError } from '../common/errors.js';
import { run, runSync, type RunOptions, type RunResult } from '../common/exec.js';

export const PREFIX_RE = /^[a-z][a-z0-9]{0,7}$/;

/** A fresh per-run prefix: `base` plus random base-36 characters, 8 chars at most. */
export function runPrefix(base = 'ps'): string {
  const need = Math.max(1, 8 - base.length);
  let r = '';
  while (r.length < need) r += BigInt(`0x${randomBytes(8).toString('hex')}`).toString(36);
  const p = `${base}${r.slice(0, need)}`;
  return checkPrefix(p);
}

export function checkPrefix(p: string): string {
  if (!PREFIX_RE.test(p)) {
    throw new UsageError(`invalid prefix "${p}": 1-8 characters [a-z0-9], starting with a letter`);
  }
  return p;
}

export function nsName(prefix: string, node: string): string {
  return `${prefix}-${node}`;
}

/** Names of all network namespaces on this host. */
export async function listNetns(): Promise<string[]> {
  const r = await run(['ip', '-json', 'netns', 'list'], { allowFail: true });
  return parseNetnsList(r.stdout);
}

export function listNetnsSync(): string[] {
  return parseNetnsList(runSync(['ip', '-json', 'netns', 'list'], { allowFail: true }).stdout);
}

function parseNetnsList(out: string): string[] {
  if (!out.trim()) return [];
  try {
    return (JSON.parse(out) as Array<{ name: string }>).map((n) => n.name);
  } catch {
    return out.split('\n').map((l) => l.split(' ')[0]!).filter(Boolean);
  }
}

/** Create a namespace with loopback up. */
export async function addNetns(name: string): Promise<void> {
  await run(['ip', 'netns', 'add', name]);
  await run(['ip', 'link', 'set', 'lo', 'up'], { netns: name });
}

export async function delNetns(name: string): Promise<void> {
  await run(['ip', 'netns', 'del', name], { allowFail: true });
}

/** Delete every namespace named `${prefix}-*`. Returns the names removed. */
export async function cleanupPrefix(prefix: string): Promise<string[]> {
  checkPrefix(prefix);
  const mine = (await listNetns()).filter((n) => n.startsWith(`${prefix}-`));
  await Promise.all(mine.map((n) => delNetns(n)));
  return mine;
}

/** Synchronous cleanup for process exit handlers. */
export function cleanupPrefixSync(prefix: string): string[] {
  checkPrefix(prefix);
  const mine = listNetnsSync().filter((n) => n.startsWith(`${prefix}-`));
  for (const n of mine) runSync(['ip', 'netns', 'del', n], { allowFail: true });
  return mine;
}

/**
 * Create a veth pair with one end in each namespace (undefined = host
 * namespace), both ends up.
 */
export async function addVeth(a: { ns?: string; ifname: string }, b: { ns?: string; ifname: string }): Promise<void> {
  // `name` and `dev` keep iproute2 from reading an ifname like "a" as a keyword ("address").
  const argv = ['ip', 'link', 'add', 'name', a.ifname];
  if (a.ns) argv.push('netns', a.ns);
  argv.push('type', 'veth', 'peer', 'name', b.ifname);
  if (b.ns) argv.push('netns', b.ns);
  await run(argv);
  await run(['ip', 'link', 'set', 'dev', a.ifname, 'up'], { netns: a.ns });
  await run(['ip', 'link', 'set', 'dev', b.ifname, 'up'], { netns: b.ns });
}

/** Run argv inside a namespace (`ip netns exec`). */
export function nsRun(ns: string, argv: readonly string[], opts: Omit<RunOptions, 'netns'> = {}): Promise<RunResult> {
  return run(argv, { ...opts, netns: ns });
}

/** argv that runs a program inside a namespace while keeping the host's /sys/fs/bpf. */
export function nsenterArgv(ns: string, argv: readonly string[]): string[] {
  return ['nsenter', `--net=/run/netns/${ns}`, '--', ...argv];
}

/** Set sysctls inside a namespace. */
export async function sysctl(ns: string, settings: Record<string, string | number>): Promise<void> {
  const argv = ['sysctl', '-q', '-w', ...Object.entries(settings).map(([k, v]) => `${k}=${v}`)];
  await run(argv, { netns: ns });
}
