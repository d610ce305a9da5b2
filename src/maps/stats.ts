/**
 * Per-CPU u64 counter arrays: ps_stats (one counter per data-plane branch,
 * enum ps_stat) and ps_altpath_stats (enum ps_altpath_stat), both mirrored in
 * names.generated.ts. Reading sums every CPU.
 */
import type { BpfMap } from '../loader/index.js';
import { PS_STAT_MAX, PsStat, type PsStatName } from './names.generated.js';
import { U32Codec, U64Codec } from './scalar.js';
import { TypedMap } from './typed-map.js';

export type StatCounts = Record<PsStatName, bigint>;

export function statsMap(map: BpfMap): TypedMap<number, bigint> {
  return new TypedMap(map, U32Codec, U64Codec);
}

/** Every counter of `ids` (name -> id) summed over CPUs. */
export function readCounters<N extends string>(map: BpfMap, ids: Readonly<Record<N, number>>): Record<N, bigint> {
  const m = statsMap(map);
  const out = {} as Record<N, bigint>;
  for (const [name, id] of Object.entries(ids) as Array<[N, number]>) {
    out[name] = (m.getPerCpu(id) ?? []).reduce((a, b) => a + b, 0n);
  }
  return out;
}

/** Zero the first `n` counters. */
export function resetCounters(map: BpfMap, n: number): void {
  const m = statsMap(map);
  for (let id = 0; id < n; id++) m.set(id, 0n);
}

/** Every ps_stats counter summed over CPUs. */
export function readStats(map: BpfMap): StatCounts {
  return readCounters(map, PsStat);
}

/** Zero every ps_stats counter (tests, `maps reset`). */
export function resetStats(map: BpfMap): void {
  resetCounters(map, PS_STAT_MAX);
}

/** after - before, per counter. */
export function diffStats<N extends string>(after: Record<N, bigint>, before: Record<N, bigint>): Record<N, bigint> {
  const out = {} as Record<N, bigint>;
  for (const k of Object.keys(after) as N[]) out[k] = after[k] - ((before[k] as bigint | undefined) ?? 0n);
  return out;
}
