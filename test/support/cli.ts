/** The built CLI as a user runs it (`node dist/src/cli/main.js ...`; `npm run build` first). */
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { expect } from 'vitest';

/** Absolute path of the built entry point (works from any cwd and inside nsenter). */
export const CLI = new URL('../../dist/src/cli/main.js', import.meta.url).pathname;

/** Run `pathsteer ...args` to completion: exit status, stdout and stderr as text. */
export function runCli(args: readonly string[], o: { timeout?: number } = {}): SpawnSyncReturns<string> {
  return spawnSync('node', [CLI, ...args], { encoding: 'utf8', ...o });
}

/** Run `pathsteer ...args`, expect exit 0 (the message is its stderr), and parse stdout as JSON. */
export function runCliJson(args: readonly string[]): unknown {
  const r = runCli(args);
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.stdout);
}
