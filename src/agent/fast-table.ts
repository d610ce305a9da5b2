/**
 * ZooRoute's PathTable_fast: the data plane's ps_path map, kept equal to what
 * the analyzer wants. Only changed entries are written; many changes at once
 * (a restart, a fabric-wide failure) go out as one batch update. Every write is
 * timed and counted; every change is logged by the caller.
 */
import type { PathEntry } from '../maps/path-entry.js';

/** Where entries go: the pinned ps_path map, or memory in unit tests. */
export interface PathStore {
  /** Every entry present now (used once at start to adopt fail-static state). */
  readAll(): Map<string, PathEntry>;
  write(peer: string, e: PathEntry): void;
  writeMany(entries: ReadonlyArray<readonly [string, PathEntry]>): void;
  remove(peer: string): void;
}

export class MemoryPathStore implements PathStore {
  readonly entries = new Map<string, PathEntry>();
  writes = 0;
  batches = 0;

  readAll(): Map<string, PathEntry> {
    return new Map(this.entries);
  }
  write(peer: string, e: PathEntry): void {
    this.writes++;
    this.entries.set(peer, e);
  }
  writeMany(entries: ReadonlyArray<readonly [string, PathEntry]>): void {
    this.batches++;
    for (const [p, e] of entries) this.entries.set(p, e);
  }
  remove(peer: string): void {
    this.entries.delete(peer);
  }
}

export function sameEntry(a: PathEntry | undefined, b: PathEntry | undefined): boolean {
  if (!a || !b) return a === b;
  if (a.basePort !== b.basePort || a.nports !== b.nports || a.flags !== b.flags || a.ngroups !== b.ngroups) return false;
  if (a.healthy !== b.healthy || a.preferred !== b.preferred) return false;
  for (let g = 0; g < 8; g++) if ((a.groupMask[g] ?? 0n) !== (b.groupMask[g] ?? 0n)) return false;
  return true;
}

export interface SyncResult {
  written: string[];
  removed: string[];
  batched: boolean;
  /** Wall time of the map writes (ms). */
  ms: number;
}

export interface FastTableOptions {
  /** At least this many changed entries go out as one batch update. @default 16 */
  batchThreshold: number;
}

export class FastTable {
  /** What the map holds, as far as this process wrote or adopted it. */
  private readonly current = new Map<string, PathEntry>();
  writes = 0;
  batches = 0;
  removals = 0;
  /** Last write latencies (ms), newest last, for the metrics summary. */
  readonly latencies: number[] = [];

  constructor(
    private readonly store: PathStore,
    private readonly opts: FastTableOptions = { batchThreshold: 16 },
  ) {}

  /** Entries already in the data plane (fail-static state left by an earlier agent). */
  adopt(): Map<string, PathEntry> {
    const all = this.store.readAll();
    for (const [p, e] of all) this.current.set(p, e);
    return all;
  }

  get(peer: string): PathEntry | undefined {
    return this.current.get(peer);
  }

  get size(): number {
    return this.current.size;
  }

  /** Make the map hold `desired` for these peers; peers in `remove` are deleted. */
  sync(desired: ReadonlyMap<string, PathEntry>, remove: Iterable<string> = []): SyncResult {
    const changed: Array<[string, PathEntry]> = [];
    for (const [peer, e] of desired) if (!sameEntry(this.current.get(peer), e)) changed.push([peer, e]);
    const removed: string[] = [];
    const t0 = performance.now();
    let batched = false;
    if (changed.length >= this.opts.batchThreshold) {
      this.store.writeMany(changed);
      this.batches++;
      batched = true;
    } else {
      for (const [p, e] of changed) this.store.write(p, e);
    }
    for (const [p, e] of changed) this.current.set(p, e);
    this.writes += changed.length;
    for (const peer of remove) {
      if (!this.current.has(peer)) continue;
      this.store.remove(peer);
      this.current.delete(peer);
      removed.push(peer);
      this.removals++;
    }
    const ms = performance.now() - t0;
    if (changed.length + removed.length > 0) {
      this.latencies.push(ms);
      if (this.latencies.length > 256) this.latencies.shift();
    }
    return { written: changed.map(([p]) => p), removed, batched, ms };
  }
}
