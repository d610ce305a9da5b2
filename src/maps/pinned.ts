/**
 * What a fail-static data plane needs around its pins and TC filters, in one
 * place: a JSON attach record written atomically, pinned maps opened and
 * checked against a program's definitions, pins of disposable maps (counters,
 * caches) replaced when their definition changed, pins removed with their
 * emptied directories, a recorded filter removed only if it still runs our
 * program. dataplane.ts (ZooRoute) and altpath-dataplane.ts use them.
 */
import { existsSync, renameSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { makeDirs } from '../common/fs.js';
import type { Logger } from '../common/logger.js';
import { BpfMap, BpfObject, mapInfo, pinDifferences, PinMismatchError, tcDetach, tcQuery, type TcFilter } from '../loader/index.js';

/** Write `value` as pretty JSON to `file` atomically (temp file + rename), creating its directory. */
export function writeJsonAtomic(file: string, value: unknown): void {
  makeDirs(dirname(file), 0o755);
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(value, null, 2)}\n`, { mode: 0o644 });
  renameSync(tmp, file);
}

/** Remove dir and then its parents up to (not including) root, while they are empty. */
export function removeEmptyDirs(dir: string, root: string): void {
  let d = dir;
  while (d.startsWith(`${root}/`)) {
    try {
      rmdirSync(d);
    } catch {
      return; // not empty (or gone)
    }
    d = dirname(d);
  }
}

/** Remove the pins `names` under pinDir that exist, then the emptied directories up to pinRoot; the names removed. */
export function removePins(pinDir: string, names: readonly string[], pinRoot: string): string[] {
  const removed: string[] = [];
  for (const name of names) {
    const p = join(pinDir, name);
    if (existsSync(p)) {
      rmSync(p);
      removed.push(name);
    }
  }
  removeEmptyDirs(pinDir, pinRoot);
  return removed;
}

/**
 * Remove the pins of `disposable` maps under pinDir whose definition no
 * longer matches the object's (their contents, counters or a cache, may be
 * dropped); the names removed. Other mismatches are left for pinMaps to refuse.
 */
export function dropChangedPins(obj: BpfObject, pinDir: string, disposable: readonly string[], log: Logger): string[] {
  const dropped: string[] = [];
  for (const name of disposable) {
    const path = join(pinDir, name);
    if (!existsSync(path)) continue;
    const m = BpfMap.fromPin(path);
    let diff: string[];
    try {
      diff = pinDifferences(obj.mapDef(name), mapInfo(m.fd));
    } finally {
      m.close();
    }
    if (diff.length === 0) continue;
    log.info({ pin: path, differences: diff }, 'pinned map from another pathsteer version replaced (its contents restart)');
    rmSync(path);
    dropped.push(name);
  }
  return dropped;
}

/** Open the pins `names` under dir, each checked against `obj`'s definition (PinMismatchError lists every difference). */
export function openCheckedPins(obj: BpfObject, dir: string, names: readonly string[]): Map<string, BpfMap> {
  const maps = new Map<string, BpfMap>();
  try {
    const differences: string[] = [];
    for (const name of names) {
      const m = BpfMap.fromPin(join(dir, name));
      maps.set(name, m);
      differences.push(...pinDifferences(obj.mapDef(name), mapInfo(m.fd)));
    }
    if (differences.length > 0) throw new PinMismatchError(dir, differences);
    return maps;
  } catch (e) {
    for (const m of maps.values()) m.close();
    throw e;
  }
}

export type FilterOutcome = 'removed' | 'gone' | 'replaced-by-other';

/** Remove a filter we recorded if it still runs our program (another program there is left alone, with a warning). */
export function removeFilterIfOurs(f: TcFilter, log: Logger): FilterOutcome {
  const progId = tcQuery(f.ifindex, f.point, f.handle, f.priority);
  if (progId === undefined) return 'gone';
  if (progId !== f.progId) {
    log.warn({ ifindex: f.ifindex, point: f.point, expected: f.progId, found: progId }, 'the filter now runs another program; left alone');
    return 'replaced-by-other';
  }
  return tcDetach(f) ? 'removed' : 'gone';
}
