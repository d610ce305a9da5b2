/**
 * `pathsteer bench maps`: writing and reading a full ps_path table of N peers
 * (the agent's fast-table sync), one bpf_map_update_elem per peer versus one
 * bpf_map_update_batch, and reading it back with bpf_map_lookup_batch. Uses
 * the real ps_path map of vxlan_sport (loaded, not attached). Times include
 * encoding with the codecs, as the agent pays them. Each figure is the best of
 * the rounds: on a shared machine that is the one least disturbed by others.
 */
import { performance } from 'node:perf_hooks';
import { BpfObject } from '../src/loader/index.js';
import { MapName } from '../src/maps/names.generated.js';
import { objectPath } from '../src/maps/objects.js';
import { pathEntry, PathEntryCodec, PS_F_PIN, type PathEntry } from '../src/maps/path-entry.js';
import { PeerCodec } from '../src/maps/scalar.js';
import { TypedMap } from '../src/maps/typed-map.js';

export interface MapsBenchOptions {
  /** Peers in the table. @default 50_000 */
  peers?: number;
  /** Rounds; the best (least disturbed by other load) is reported. @default 3 */
  rounds?: number;
  progress?: (line: string) => void;
}

export interface MapsBenchResult {
  peers: number;
  /** One update syscall per peer. */
  single_write_ms: number;
  /** One batch update of every peer (target <= 50 ms for 50k). */
  batch_write_ms: number;
  /** Batch lookup of the whole table, decoded. */
  batch_read_ms: number;
  rounds: number;
}

/** Peer i as an address in 198.18.0.0/15 (test range), up to 131072 peers. */
export function peerAddress(i: number): string {
  return `198.${18 + (i >> 16)}.${(i >> 8) & 0xff}.${i & 0xff}`;
}

const best = (xs: number[]): number => Math.min(...xs);
const ms = (t0: number): number => Math.round((performance.now() - t0) * 100) / 100;

export function benchMaps(o: MapsBenchOptions = {}): MapsBenchResult {
  const peers = o.peers ?? 50_000;
  const rounds = o.rounds ?? 3;
  if (peers > 131072) throw new RangeError('at most 131072 peers (198.18.0.0/15)');
  const obj = BpfObject.open(objectPath('vxlanSport'));
  try {
    for (const p of obj.programNames()) obj.setAutoload(p, false);
    if (peers > 65536) obj.setMaxEntries(MapName.path, peers);
    obj.load();
    const path = new TypedMap(obj.map(MapName.path), PeerCodec, PathEntryCodec);
    const entries: Array<[string, PathEntry]> = [];
    for (let i = 0; i < peers; i++) {
      entries.push([peerAddress(i), pathEntry({ basePort: 40000, nports: 64, healthy: BigInt(i) * 0x9e3779b97f4a7c15n & 0xffff_ffff_ffff_ffffn, flags: PS_F_PIN })]);
    }
    const single: number[] = [];
    const batch: number[] = [];
    const read: number[] = [];
    const keys = entries.map(([k]) => k);
    for (let r = 0; r < rounds; r++) {
      let t0 = performance.now();
      const n = path.setMany(entries);
      batch.push(ms(t0));
      if (n !== peers) throw new Error(`batch wrote ${n} of ${peers}`);

      t0 = performance.now();
      const all = path.getAll();
      read.push(ms(t0));
      if (all.length !== peers) throw new Error(`batch read ${all.length} of ${peers}`);
      path.deleteMany(keys);

      t0 = performance.now();
      for (const [k, v] of entries) path.set(k, v);
      single.push(ms(t0));
      path.deleteMany(keys);
      o.progress?.(`round ${r + 1}/${rounds}: batch write ${batch[r]} ms, batch read ${read[r]} ms, single ${single[r]} ms`);
    }
    return { peers, single_write_ms: best(single), batch_write_ms: best(batch), batch_read_ms: best(read), rounds };
  } finally {
    obj.close();
  }
}
