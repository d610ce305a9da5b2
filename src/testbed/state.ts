/**
 * The on-disk record of a running testbed, `<stateDir>/<prefix>.json`, so that
 * separate CLI invocations (up, fail, heal, status, down) and other modules
 * (agents, benchmarks) see one testbed. It holds the spec (the plan is derived
 * from spec + prefix deterministically), installed failures and static link
 * shaping with the exact rules and helper PIDs to remove. `down` does not need
 * it: everything lives in namespaces named `<prefix>-*`.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { UsageError } from '../common/errors.js';
import { checkPrefix } from './netns.js';
import { stateDir } from './paths.js';
import type { TestbedSpec } from './spec.js';

export type Direction = 'both' | 'a-b' | 'b-a';

/** An iptables rule the testbed added: deleted with `-D` and the same spec. */
export interface InstalledRule {
  netns: string;
  table: 'raw';
  chain: 'PREROUTING';
  /** Rule spec after the chain name, e.g. ["-i","leaf2","-j","DROP"]. */
  spec: string[];
}

export interface InstalledHelper {
  netns: string;
  pid: number;
  program: string;
  queue: number;
  log: string;
}

/** One failure on one link (canonical name), with everything needed to undo it. */
export interface InstalledFailure {
  link: string;
  /** Directions by the canonical link name: a-b is traffic from the first-named node to the second. */
  direction: Direction;
  kind: 'blackhole' | 'loss' | 'delay' | 'loss+delay' | 'down';
  loss_pct?: number;
  delay_ms?: number;
  jitter_ms?: number;
  installed_at: string;
  rules: InstalledRule[];
  helpers: InstalledHelper[];
  /** Interfaces set administratively down (both ends for --down). */
  down: Array<{ netns: string; ifname: string }>;
}

/** Static link properties from the spec (delay helpers, tbf), present while the testbed is up. */
export interface InstalledShaping {
  link: string;
  rules: InstalledRule[];
  helpers: InstalledHelper[];
  qdiscs: Array<{ netns: string; ifname: string }>;
}

export interface TestbedState {
  schema: 'pathsteer.testbed.state/v1';
  prefix: string;
  spec: TestbedSpec;
  localTenant: boolean;
  created_at: string;
  phase: 'creating' | 'up';
  /** By canonical link name. */
  failures: Record<string, InstalledFailure>;
  shaping: InstalledShaping[];
  /** Next free NFQUEUE number per namespace. */
  queues: Record<string, number>;
}

export function statePath(prefix: string): string {
  return join(stateDir(), `${checkPrefix(prefix)}.json`);
}

/** Directory for the testbed's helper logs. */
export function logDir(prefix: string): string {
  const d = join(stateDir(), checkPrefix(prefix));
  mkdirSync(d, { recursive: true });
  return d;
}

export function readState(prefix: string): TestbedState | undefined {
  const p = statePath(prefix);
  if (!existsSync(p)) return undefined;
  let s: TestbedState;
  try {
    s = JSON.parse(readFileSync(p, 'utf8')) as TestbedState;
  } catch (e) {
    throw new UsageError(`testbed state ${p} is unreadable (${(e as Error).message}); run \`pathsteer testbed down --prefix ${prefix}\``);
  }
  if (s.schema !== 'pathsteer.testbed.state/v1') {
    throw new UsageError(`testbed state ${p} has unknown schema ${String(s.schema)}; run \`pathsteer testbed down --prefix ${prefix}\``);
  }
  return s;
}

/** Write atomically (tmp + rename) so a crash never leaves half a file. */
export function writeState(s: TestbedState): void {
  mkdirSync(stateDir(), { recursive: true });
  const p = statePath(s.prefix);
  const tmp = `${p}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(s, null, 2)}\n`);
  renameSync(tmp, p);
}

export function removeState(prefix: string): void {
  rmSync(statePath(prefix), { force: true });
  rmSync(join(stateDir(), checkPrefix(prefix)), { recursive: true, force: true });
}
