/**
 * Where the testbed finds its own files: the repository root (found by walking
 * up to pathsteer's package.json, so it works from src/ under vitest and from
 * dist/), the native helpers built into build/native/, the compiled traffic
 * worker, and the state directory shared by separate CLI invocations.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { UsageError } from '../common/errors.js';

let root: string | undefined;

/** The pathsteer repository (or installed package) root. */
export function repoRoot(): string {
  if (root) return root;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg)) {
      try {
        if ((JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'pathsteer') return (root = dir);
      } catch {
        // not ours; keep walking
      }
    }
    const up = dirname(dir);
    if (up === dir) throw new Error('cannot find the pathsteer package root above ' + fileURLToPath(import.meta.url));
    dir = up;
  }
}

/** Path of a native helper; UsageError naming the build step when it is missing. */
export function nativeBin(name: 'ps-delayq' | 'clear_hash.bpf.o' | 'ps-probegen'): string {
  const p = join(repoRoot(), 'build', 'native', name);
  if (!existsSync(p)) {
    throw new UsageError(`${p} is missing; build it with \`npm run build:native\` (needs libnetfilter-queue-dev: scripts/setup.sh)`);
  }
  return p;
}

/** The compiled traffic worker run inside tenant namespaces. */
export function trafficWorkerPath(): string {
  const p = join(repoRoot(), 'dist', 'src', 'testbed', 'traffic-worker.js');
  if (!existsSync(p)) throw new UsageError(`${p} is missing; build pathsteer first (npm run build)`);
  return p;
}

/** Directory of testbed state files (`<prefix>.json`) and helper logs (`<prefix>/`). */
export function stateDir(): string {
  return process.env.PATHSTEER_TESTBED_DIR ?? '/run/pathsteer/testbed';
}
