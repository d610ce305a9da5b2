/**
 * Where the compiled BPF objects are: build/bpf/ of the pathsteer package
 * (found from this file, whether run from src/ or dist/src/), or
 * $PATHSTEER_BPF_DIR.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PathsteerError } from '../common/errors.js';
import { BpfObjects } from './names.generated.js';

export type ObjectKey = keyof typeof BpfObjects;

let root: string | undefined;

function packageRoot(): string {
  if (root) return root;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg)) {
      try {
        if ((JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'pathsteer') {
          root = dir;
          return dir;
        }
      } catch {
        // keep looking
      }
    }
    dir = dirname(dir);
  }
  throw new PathsteerError('cannot find the pathsteer package root (build/bpf); set PATHSTEER_BPF_DIR');
}

export function bpfDir(): string {
  return process.env.PATHSTEER_BPF_DIR ?? join(packageRoot(), 'build', 'bpf');
}

/** Absolute path of a compiled object; a clear error when it has not been built. */
export function objectPath(key: ObjectKey): string {
  const p = join(bpfDir(), BpfObjects[key].file);
  if (!existsSync(p)) throw new PathsteerError(`${p} is missing: build the BPF objects with npm run build`);
  return p;
}
