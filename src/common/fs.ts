/**
 * Directory creation that cannot loop. Node's `mkdirSync(p, {recursive: true})`
 * retries forever when mkdir says ENOENT for a directory whose parent exists
 * (what sysfs answers under /sys/fs/bpf when no bpffs is mounted there, e.g.
 * inside `ip netns exec`): `makeDirs` makes each missing component once and
 * reports the first failure with its errno.
 */
import { mkdirSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { PathsteerError } from './errors.js';

/** A directory could not be created; `code` is the errno name (EPERM, ENOENT, ...). */
export class MakeDirError extends PathsteerError {
  constructor(
    readonly path: string,
    readonly code: string,
    detail: string,
  ) {
    super(`cannot create directory ${path}: ${code}${detail ? ` (${detail})` : ''}`);
  }
}

/** Create `dir` and its missing parents, one mkdir each (mode applies to the ones created). */
export function makeDirs(dir: string, mode = 0o755): void {
  const missing: string[] = [];
  let d = resolve(dir);
  // walk up to the first component that exists: at most one step per path component
  for (;;) {
    let st;
    try {
      st = statSync(d);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code ?? 'EIO';
      if (code !== 'ENOENT') throw new MakeDirError(d, code, 'stat failed');
      missing.push(d);
      const up = dirname(d);
      if (up === d) throw new MakeDirError(d, 'ENOENT', 'no root');
      d = up;
      continue;
    }
    if (!st.isDirectory()) throw new MakeDirError(d, 'ENOTDIR', 'exists and is not a directory');
    break;
  }
  for (const p of missing.reverse()) {
    try {
      mkdirSync(p, { mode });
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code ?? 'EIO';
      if (code === 'EEXIST' && statSync(p, { throwIfNoEntry: false })?.isDirectory()) continue; // made by someone else meanwhile
      throw new MakeDirError(p, code, code === 'ENOENT' ? `the filesystem of ${dirname(p)} does not allow new directories there` : '');
    }
  }
}
