/**
 * Processes the testbed starts inside its namespaces (delay helpers, traffic
 * workers): spawn detached with a log file, wait for the helper's JSON "ready"
 * line, and stop them by PID only after checking the PID still is that program
 * in that namespace (a recycled PID is never signalled).
 */
import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, statSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { PathsteerError } from '../common/errors.js';
import { run } from '../common/exec.js';
import { nsenterArgv } from './netns.js';

export interface SpawnedHelper {
  pid: number;
  netns: string;
  /** Basename of the program, checked against /proc/PID/cmdline before signalling. */
  program: string;
  log: string;
  ready: Record<string, unknown>;
}

/** Lines of a log file that parse as JSON objects. */
export function jsonLines(text: string): Array<Record<string, unknown>> {
  const out: Array<Record<string, unknown>> = [];
  for (const line of text.split('\n')) {
    const t = line.trim();
    if (!t.startsWith('{')) continue;
    try {
      out.push(JSON.parse(t) as Record<string, unknown>);
    } catch {
      // partial line or not ours
    }
  }
  return out;
}

/**
 * Start argv inside `netns` (nsenter --net, so the host's bpffs stays visible),
 * detached from this process so it outlives a CLI invocation, stdout and stderr
 * to `log`. Resolves once the program printed a JSON line with `"ready":true`.
 */
export async function spawnHelper(netns: string, argv: string[], log: string, readyTimeoutMs = 5000): Promise<SpawnedHelper> {
  const fd = openSync(log, 'w');
  const full = nsenterArgv(netns, argv);
  const child = spawn(full[0]!, full.slice(1), { detached: true, stdio: ['ignore', fd, fd] });
  closeSync(fd);
  let exited: number | null | undefined;
  child.on('exit', (code) => (exited = code));
  child.on('error', () => (exited = -1));
  child.unref();
  const deadline = Date.now() + readyTimeoutMs;
  for (;;) {
    const text = existsSync(log) ? readFileSync(log, 'utf8') : '';
    const ready = jsonLines(text).find((j) => j.ready === true);
    if (ready && child.pid) {
      return { pid: child.pid, netns, program: argv[0]!.split('/').pop()!, log, ready };
    }
    if (exited !== undefined || Date.now() > deadline) {
      if (exited === undefined && child.pid) process.kill(child.pid, 'SIGKILL');
      throw new PathsteerError(
        `${argv.join(' ')} in ${netns} ${exited !== undefined ? `exited (${exited})` : 'did not become ready'}: ${text.trim() || '(no output)'}`,
      );
    }
    await sleep(10);
  }
}

function procState(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  } catch {
    return undefined;
  }
}

/** True while pid is a live (non-zombie) process. */
export function alive(pid: number): boolean {
  const s = procState(pid);
  return s !== undefined && s !== 'Z' && s !== 'X';
}

/** True when pid runs `program` inside network namespace `netns` (/run/netns/NAME). */
export function isOurs(pid: number, netns: string, program?: string): boolean {
  try {
    if (program) {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      if (!cmd.some((a) => a === program || a.endsWith(`/${program}`))) return false;
    }
    const a = statSync(`/proc/${pid}/ns/net`);
    const b = statSync(`/run/netns/${netns}`);
    return a.ino === b.ino && a.dev === b.dev;
  } catch {
    return false;
  }
}

/**
 * Stop a helper we started: SIGTERM, wait, SIGKILL after `graceMs`. Does nothing
 * when the PID is gone or is no longer that program in that namespace.
 * Returns the helper's last JSON line from its log (its final counters), if any.
 */
export async function stopHelper(
  h: Pick<SpawnedHelper, 'pid' | 'netns' | 'program'> & { log?: string },
  graceMs = 2000,
): Promise<Record<string, unknown> | undefined> {
  if (alive(h.pid) && isOurs(h.pid, h.netns, h.program)) {
    try {
      process.kill(h.pid, 'SIGTERM');
    } catch {
      // already gone
    }
    const deadline = Date.now() + graceMs;
    while (alive(h.pid) && Date.now() < deadline) await sleep(5);
    if (alive(h.pid)) {
      try {
        process.kill(h.pid, 'SIGKILL');
      } catch {
        // gone meanwhile
      }
    }
  }
  if (!h.log || !existsSync(h.log)) return undefined;
  const lines = jsonLines(readFileSync(h.log, 'utf8'));
  return lines.length > 1 ? lines[lines.length - 1] : undefined;
}

/** PIDs of every process inside a named network namespace. */
export async function netnsPids(netns: string): Promise<number[]> {
  const r = await run(['ip', 'netns', 'pids', netns], { allowFail: true });
  return r.stdout
    .split('\n')
    .map((s) => Number(s.trim()))
    .filter((n) => Number.isInteger(n) && n > 0);
}

/**
 * End every process inside our namespace (they can only be ones the testbed or
 * its users started there): SIGTERM, then SIGKILL after `graceMs`.
 */
export async function killNetnsProcesses(netns: string, graceMs = 1500): Promise<number[]> {
  const pids = (await netnsPids(netns)).filter((p) => p !== process.pid && isOurs(p, netns));
  for (const p of pids) {
    try {
      process.kill(p, 'SIGTERM');
    } catch {
      // gone
    }
  }
  const deadline = Date.now() + graceMs;
  while (pids.some(alive) && Date.now() < deadline) await sleep(10);
  for (const p of pids.filter(alive)) {
    try {
      process.kill(p, 'SIGKILL');
    } catch {
      // gone
    }
  }
  return pids;
}
