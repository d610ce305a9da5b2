/**
 * The AltPath sampler CLI as an operator runs it, inside a test namespace:
 * `pathsteer altpath sampler ...` started with nsenter (logs at info, JSON on
 * stderr), ready once it printed its progress line; SIGHUP and SIGTERM by
 * pid; nftables counting of the DSCP each UDP flow arrives with.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { run } from '../../src/common/exec.js';
import { nsenterArgv } from '../../src/testbed/netns.js';
import { CLI } from './cli.js';

export interface RunningSampler {
  child: ChildProcess;
  /** stderr lines so far (progress line, pino JSON logs). */
  stderr: string[];
  /** stdout lines so far (samples with --out -). */
  stdout: string[];
  /** Resolves with the exit code. */
  exited: Promise<number | null>;
}

function lines(stream: NodeJS.ReadableStream, into: string[]): void {
  let buf = '';
  stream.on('data', (d: Buffer) => {
    buf += d.toString();
    const parts = buf.split('\n');
    buf = parts.pop()!;
    into.push(...parts.filter(Boolean));
  });
}

/** Wait until a line matching `re` appeared in `from` (after index `after`); its index. */
export async function waitLine(from: string[], re: RegExp, timeoutMs = 15_000, after = 0): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const i = from.findIndex((l, k) => k >= after && re.test(l));
    if (i >= 0) return i;
    if (Date.now() > deadline) throw new Error(`no line matching ${re} within ${timeoutMs} ms; got:\n${from.slice(-15).join('\n')}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Start `pathsteer altpath sampler ...args` in ns (added to `children`); resolves once it runs. */
export async function startSampler(ns: string, args: readonly string[], children: ChildProcess[]): Promise<RunningSampler> {
  const argv = nsenterArgv(ns, ['node', CLI, 'altpath', 'sampler', ...args]);
  const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, PATHSTEER_LOG_LEVEL: 'info' } });
  children.push(child);
  const s: RunningSampler = {
    child,
    stderr: [],
    stdout: [],
    exited: new Promise((resolve) => child.on('exit', (code) => resolve(code))),
  };
  lines(child.stdout!, s.stdout);
  lines(child.stderr!, s.stderr);
  const ready = waitLine(s.stderr, /pathsteer altpath sampler: running on/, 20_000);
  const died = s.exited.then((code) => {
    throw new Error(`sampler exited (${code}) before it ran:\n${s.stderr.join('\n')}`);
  });
  await Promise.race([ready, died]);
  return s;
}

/** SIGTERM the sampler (by its pid) and wait for it to exit; its exit code. */
export async function stopSampler(s: RunningSampler, timeoutMs = 15_000): Promise<number | null> {
  if (s.child.exitCode === null && s.child.pid) process.kill(s.child.pid, 'SIGTERM');
  return Promise.race([
    s.exited,
    new Promise<null>((_, reject) => setTimeout(() => reject(new Error(`sampler did not stop:\n${s.stderr.slice(-10).join('\n')}`)), timeoutMs)),
  ]);
}

/** DSCP values the nftables counter in a namespace tells apart (anything else is counted as "other"). */
export const COUNTED_DSCPS = [0, 12, 24, 46] as const;

/**
 * nftables in `ns`: every UDP packet arriving on `ifname` is dropped after
 * its flow (destination address, source port, destination port) is added to
 * the set of the DSCP it carries (per family), so each flow's DSCP can be
 * read back, and a flow seen with two DSCPs shows up twice.
 */
export async function installDscpCounter(ns: string, ifname: string): Promise<void> {
  const sets: string[] = [];
  const rules: string[] = [];
  for (const [fam, addr, key] of [
    ['v4', 'ipv4_addr', 'ip'],
    ['v6', 'ipv6_addr', 'ip6'],
  ] as const) {
    for (const d of COUNTED_DSCPS) {
      sets.push(`set ${fam}_${d} { type ${addr} . inet_service . inet_service; flags dynamic; size 262144; }`);
      rules.push(`iifname "${ifname}" meta l4proto udp ${key} dscp ${d} add @${fam}_${d} { ${key} daddr . udp sport . udp dport } drop`);
    }
    rules.push(`iifname "${ifname}" meta l4proto udp meta nfproto ${fam === 'v4' ? 'ipv4' : 'ipv6'} counter name other_${fam} drop`);
  }
  const text = `table inet apcount {\n  counter other_v4 {}\n  counter other_v6 {}\n  ${sets.join('\n  ')}\n  chain pre {\n    type filter hook prerouting priority raw; policy accept;\n    ${rules.join('\n    ')}\n  }\n}\n`;
  await run(['ip', 'netns', 'exec', ns, 'nft', '-f', '-'], { input: text });
}

/** Flows seen per DSCP and family: `v4_12` -> ['198.18.61.2|30000|20000', ...]; `other_v4` -> packet count. */
export async function readDscpCounter(ns: string): Promise<Record<string, string[]> & { other: { v4: number; v6: number } }> {
  const r = await run(['ip', 'netns', 'exec', ns, 'nft', '-j', 'list', 'table', 'inet', 'apcount']);
  const items = (JSON.parse(r.stdout) as { nftables: Array<Record<string, unknown>> }).nftables;
  const out: Record<string, string[]> = {};
  const other = { v4: 0, v6: 0 };
  for (const it of items) {
    const set = it.set as { name: string; elem?: unknown[] } | undefined;
    if (set) {
      out[set.name] = (set.elem ?? []).map((e) => {
        const v = (e as { elem?: { val: unknown } }).elem?.val ?? e;
        return ((v as { concat: Array<string | number> }).concat ?? []).join('|');
      });
    }
    const counter = it.counter as { name: string; packets: number } | undefined;
    if (counter?.name === 'other_v4') other.v4 = counter.packets;
    if (counter?.name === 'other_v6') other.v6 = counter.packets;
  }
  return Object.assign(out, { other });
}

/** Empty every set and counter of the DSCP counter. */
export async function resetDscpCounter(ns: string): Promise<void> {
  const cmds: string[] = [];
  for (const fam of ['v4', 'v6']) {
    for (const d of COUNTED_DSCPS) cmds.push(`flush set inet apcount ${fam}_${d}`);
    cmds.push(`reset counter inet apcount other_${fam}`);
  }
  await run(['ip', 'netns', 'exec', ns, 'nft', '-f', '-'], { input: `${cmds.join('\n')}\n` });
}

/** Kernel counters of a namespace that tell where packets went missing (nstat, absolute values). */
export async function dropCounters(ns: string): Promise<Record<string, number>> {
  const r = await run(['ip', 'netns', 'exec', ns, 'nstat', '-az', '--json'], { allowFail: true });
  try {
    const all = (JSON.parse(r.stdout) as { kernel: Record<string, number> }).kernel;
    return Object.fromEntries(Object.entries(all).filter(([k, v]) => v > 0 && /Err|Drop|Discard|Csum|Retrans|Timeout|Overflow|Prune/i.test(k)));
  } catch {
    return { unreadable: 1 };
  }
}
