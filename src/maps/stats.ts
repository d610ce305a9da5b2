/**
 * ps_stats: one per-CPU u64 counter per data-plane branch (enum ps_stat,
 * mirrored in names.generated.ts). Reading sums every CPU.
 */
import type { BpfMap } from '../loader/index.js';
import { PS_STAT_MAX, PsStat, type PsStatName } from './names.generated.js';
import { U32Codec, U64Codec } from './scalar.js';
import { TypedMap } from './typed-map.js';

export type StatCounts = Record<PsStatName, bigint>;

export function statsMap(map: BpfMap): TypedMap<number, bigint> {
  return new TypedMap(map, U32Codec, U64Codec);
}

/** Every counter summed over CPUs. */
export function readStats(map: BpfMap): StatCounts {
  const m = statsMap(map);
  const out = {} as StatCounts;
  for (const [name, id] of Object.entries(PsStat) as Array<[PsStatName, number]>) {
    out[name] = (m.getPerCpu(id) ?? []).reduce((a, b) => a + b, 0n);
  }
  return out;
}

/** Zero every counter (tests, `maps reset`). */
export function resetStats(map: BpfMap): void {
  const m = statsMap(map);
  for (let id = 0; id < PS_STAT_MAX; id++) m.set(id, 0n);
}

/** after - before, per counter. */
export function diffStats(after: StatCounts, before: StatCounts): StatCounts {
  const out = {} as StatCounts;
  for (const k of Object.keys(after) as PsStatName[]) out[k] = after[k] - (before[k] ?? 0n);
  return out;
}
