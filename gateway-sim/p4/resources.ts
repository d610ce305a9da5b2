/**
 * Memory and stage model of a Tofino-style pipeline, with Tofino-1's public
 * figures as defaults: 12 match-action stages per pipe; per stage 80 SRAM blocks
 * of 1024 words × 128 bit and 24 TCAM blocks of 512 rows × 44 bit.
 *
 * - Exact-match (hash) tables live in SRAM. An entry holds its key, its action
 *   data, an action selector when the table has more than one action, and 4
 *   bits of valid/version overhead; entries are packed into 128-bit words
 *   (floor(128 / entry bits) per word; wider entries take several words).
 * - Tables with a ternary, lpm or range field live in TCAM: rows of
 *   ceil(key bits / 44) blocks side by side (a range field costs twice its width,
 *   the usual range-to-ternary encoding); action data and selector go to SRAM.
 * - Direct counters cost 64 bits (packets + bytes) per entry; direct registers
 *   one cell per entry; both packed into words next to their table.
 * - A register array's cells (1/8/16/32/64 bit) are packed into words; an
 *   indirect register must sit in one stage.
 * - Placement: objects in pipeline order; one that depends on another (`after`)
 *   starts in a later stage than that one ends; a table may span consecutive
 *   stages. A program that does not fit is refused naming the table.
 *
 * Reported `bits` are packed storage (words × 128 + TCAM rows × blocks × 44), so
 * schemes compare by what they store rather than by block rounding; `blocks`
 * are what the target allocates.
 */
import { ResourceError } from './errors.js';
import type { RegisterArray } from './register.js';
import type { Table } from './table.js';

export interface Target {
  name: string;
  stages: number;
  sramBlocksPerStage: number;
  sramBlockWords: number;
  sramWordBits: number;
  tcamBlocksPerStage: number;
  tcamBlockRows: number;
  tcamBlockBits: number;
  /** Valid/version bits stored with each exact-match entry. */
  entryOverheadBits: number;
  /** Bits of one direct counter (packets + bytes). */
  counterBits: number;
}

export const TOFINO1: Target = {
  name: 'Tofino-1',
  stages: 12,
  sramBlocksPerStage: 80,
  sramBlockWords: 1024,
  sramWordBits: 128,
  tcamBlocksPerStage: 24,
  tcamBlockRows: 512,
  tcamBlockBits: 44,
  entryOverheadBits: 4,
  counterBits: 64,
};

/** A table or register placed in the pipeline; `after`: names it depends on. */
export interface PlacedObject {
  object: Table | RegisterArray;
  after?: readonly string[];
}

export interface Usage {
  name: string;
  kind: 'table' | 'register';
  /** e.g. `exact(peer:32,slot:5)` or `exact(group:5) ternary(bitmap:32)` or `register[32]`. */
  match: string;
  /** Declared entries (cells for a register). */
  size: number;
  /** Bits of one entry as stored (SRAM entry incl. overhead, or TCAM key bits); cell width for a register. */
  entryBits: number;
  /** Entries per 128-bit word (exact tables and registers). */
  entriesPerWord?: number;
  sramWords: number;
  sramBlocks: number;
  sramBits: number;
  tcamWidthBlocks: number;
  tcamBlocks: number;
  tcamBits: number;
  /** sramBits + tcamBits. */
  bits: number;
  /** Direct registers and counters counted in this table's figures. */
  attached?: string[];
  /** First and last stage (after fitting). */
  stages?: [number, number];
}

export interface ResourceReport {
  target: string;
  objects: Usage[];
  sramBlocks: number;
  tcamBlocks: number;
  bits: number;
  stagesUsed: number;
  sramBlocksAvailable: number;
  tcamBlocksAvailable: number;
}

function isTable(o: Table | RegisterArray): o is Table {
  return 'key' in o;
}

const log2ceil = (n: number): number => (n <= 1 ? 0 : Math.ceil(Math.log2(n)));

function packed(size: number, bits: number, t: Target): { perWord: number; words: number } {
  if (bits <= 0) return { perWord: 0, words: 0 };
  if (bits <= t.sramWordBits) {
    const perWord = Math.floor(t.sramWordBits / bits);
    return { perWord, words: Math.ceil(size / perWord) };
  }
  return { perWord: 0, words: size * Math.ceil(bits / t.sramWordBits) };
}

/** Resource use of one table or register, before placement. */
export function usageOf(o: Table | RegisterArray, t: Target = TOFINO1): Usage {
  const blocks = (words: number): number => Math.ceil(words / t.sramBlockWords);
  if (!isTable(o)) {
    const { perWord, words } = packed(o.size, o.width, t);
    return {
      name: o.name,
      kind: 'register',
      match: `register[${o.width}]`,
      size: o.size,
      entryBits: o.width,
      entriesPerWord: perWord,
      sramWords: words,
      sramBlocks: blocks(words),
      sramBits: words * t.sramWordBits,
      tcamWidthBlocks: 0,
      tcamBlocks: 0,
      tcamBits: 0,
      bits: words * t.sramWordBits,
    };
  }
  const def = o.def;
  const dataBits = Math.max(0, ...def.actions.map((a) => (a.params ?? []).reduce((s, p) => s + p.bits, 0)));
  const selector = log2ceil(def.actions.length);
  const match = Object.entries(
    def.key.reduce<Record<string, string[]>>((acc, k) => {
      (acc[k.match] ??= []).push(`${k.name}:${k.bits}`);
      return acc;
    }, {}),
  )
    .map(([kind, fs]) => `${kind}(${fs.join(',')})`)
    .join(' ');
  const exactOnly = def.key.every((k) => k.match === 'exact');
  let sramWords = 0;
  let sramBlocks = 0;
  let entryBits: number;
  let entriesPerWord: number | undefined;
  let tcamWidthBlocks = 0;
  let tcamBlocks = 0;
  let tcamBits = 0;
  const add = (words: number): void => {
    sramWords += words;
    sramBlocks += blocks(words);
  };
  if (exactOnly) {
    entryBits = def.key.reduce((s, k) => s + k.bits, 0) + dataBits + selector + t.entryOverheadBits;
    const p = packed(def.size, entryBits, t);
    entriesPerWord = p.perWord;
    add(p.words);
  } else {
    entryBits = def.key.reduce((s, k) => s + (k.match === 'range' ? 2 * k.bits : k.bits), 0);
    tcamWidthBlocks = Math.ceil(entryBits / t.tcamBlockBits);
    tcamBlocks = tcamWidthBlocks * Math.ceil(def.size / t.tcamBlockRows);
    tcamBits = def.size * tcamWidthBlocks * t.tcamBlockBits;
    add(packed(def.size, dataBits + selector, t).words);
  }
  const attached: string[] = [];
  if (def.counters) {
    add(packed(def.size, t.counterBits, t).words);
    attached.push('counters');
  }
  for (const r of o.directRegisters) {
    add(packed(def.size, r.width, t).words);
    attached.push(r.name);
  }
  const sramBits = sramWords * t.sramWordBits;
  return {
    name: o.name,
    kind: 'table',
    match,
    size: def.size,
    entryBits,
    ...(entriesPerWord !== undefined ? { entriesPerWord } : {}),
    sramWords,
    sramBlocks,
    sramBits,
    tcamWidthBlocks,
    tcamBlocks,
    tcamBits,
    bits: sramBits + tcamBits,
    ...(attached.length ? { attached } : {}),
  };
}

/** Usage of every object and the sum, without placing anything (works for programs that do not fit). */
export function estimate(objects: readonly PlacedObject[], t: Target = TOFINO1): { objects: Usage[]; bits: number; sramBlocks: number; tcamBlocks: number } {
  const us = objects.map((o) => usageOf(o.object, t));
  return {
    objects: us,
    bits: us.reduce((s, u) => s + u.bits, 0),
    sramBlocks: us.reduce((s, u) => s + u.sramBlocks, 0),
    tcamBlocks: us.reduce((s, u) => s + u.tcamBlocks, 0),
  };
}

/** Place every object in the target's stages, or throw ResourceError naming the first that does not fit. */
export function fit(objects: readonly PlacedObject[], t: Target = TOFINO1): ResourceReport {
  const sramFree = new Array<number>(t.stages).fill(t.sramBlocksPerStage);
  const tcamFree = new Array<number>(t.stages).fill(t.tcamBlocksPerStage);
  const lastStage = new Map<string, number>();
  const placed: Usage[] = [];
  const describe = (u: Usage): string =>
    `needs ${u.sramBlocks} SRAM block(s) (${u.sramWords} words of ${t.sramWordBits} bit) and ${u.tcamBlocks} TCAM block(s)`;
  for (const o of objects) {
    const u = usageOf(o.object, t);
    let start = 0;
    for (const dep of o.after ?? []) {
      const s = lastStage.get(dep);
      if (s === undefined) throw new ResourceError(u.name, `${u.kind} ${u.name} depends on ${dep}, which is not placed before it`);
      start = Math.max(start, s + 1);
    }
    const budget = `${t.name} has ${t.stages} stages × ${t.sramBlocksPerStage} SRAM blocks of ${t.sramBlockWords}×${t.sramWordBits} bit and ${t.tcamBlocksPerStage} TCAM blocks of ${t.tcamBlockRows}×${t.tcamBlockBits} bit`;
    if (start >= t.stages) {
      throw new ResourceError(u.name, `${u.kind} ${u.name} does not fit ${t.name}: its dependencies leave no stage after stage ${start - 1} (${budget})`);
    }
    if (u.kind === 'register') {
      // a register array lives in one stage
      let s = start;
      while (s < t.stages && sramFree[s]! < u.sramBlocks) s++;
      if (s >= t.stages) {
        throw new ResourceError(
          u.name,
          `register ${u.name} does not fit ${t.name}: ${describe(u)} in one stage, no stage from ${start} has that many free (${budget})`,
        );
      }
      sramFree[s]! -= u.sramBlocks;
      u.stages = [s, s];
    } else {
      let needS = u.sramBlocks;
      let needT = u.tcamBlocks;
      let first = -1;
      let s = start;
      for (; s < t.stages && (needS > 0 || needT > 0); s++) {
        const takeS = Math.min(needS, sramFree[s]!);
        const takeT = Math.min(needT, tcamFree[s]!);
        if (takeS > 0 || takeT > 0) {
          if (first < 0) first = s;
          sramFree[s]! -= takeS;
          tcamFree[s]! -= takeT;
          needS -= takeS;
          needT -= takeT;
        }
      }
      if (needS > 0 || needT > 0) {
        const freeS = sramFree.reduce((a, b) => a + b, 0) + (u.sramBlocks - needS);
        const freeT = tcamFree.reduce((a, b) => a + b, 0) + (u.tcamBlocks - needT);
        throw new ResourceError(
          u.name,
          `table ${u.name} does not fit ${t.name}: ${describe(u)}, but only ${freeS} SRAM and ${freeT} TCAM block(s) are free from stage ${start} on (${budget})`,
        );
      }
      u.stages = [first < 0 ? start : first, Math.max(first < 0 ? start : first, s - 1)];
    }
    lastStage.set(u.name, u.stages[1]);
    placed.push(u);
  }
  return {
    target: t.name,
    objects: placed,
    sramBlocks: placed.reduce((a, u) => a + u.sramBlocks, 0),
    tcamBlocks: placed.reduce((a, u) => a + u.tcamBlocks, 0),
    bits: placed.reduce((a, u) => a + u.bits, 0),
    stagesUsed: Math.max(0, ...placed.map((u) => u.stages![1] + 1)),
    sramBlocksAvailable: t.stages * t.sramBlocksPerStage,
    tcamBlocksAvailable: t.stages * t.tcamBlocksPerStage,
  };
}
