/**
 * A match-action table in P4Runtime's vocabulary: exact, ternary, lpm and range
 * key fields; entries identified by (match, priority); priorities where a
 * ternary or range field needs them (a larger value wins, as in P4Runtime); a
 * default action on a miss; optional direct per-entry counters; a declared size
 * that is also what the resource model allocates.
 *
 * Semantics (P4Runtime spec §9.1):
 * - exact-only tables: at most one entry per key; priority must be 0.
 * - a table with a ternary or range field: every entry has priority > 0; the
 *   matching entry with the highest priority wins; among equal priorities the
 *   one inserted first wins (P4Runtime leaves that case to the target).
 * - lpm (exact + one lpm field): priority 0; the longest matching prefix wins.
 * - ternary value bits outside the mask, lpm value bits beyond the prefix,
 *   range low > high, values wider than the field: INVALID_ARGUMENT.
 */
import { DuplicateEntryError, EntryNotFoundError, GatewaySimError, InvalidEntryError, TableFullError } from './errors.js';
import { ExactIndex32 } from './exact-index.js';
import type { RegisterArray } from './register.js';

export type MatchKind = 'exact' | 'ternary' | 'lpm' | 'range';
export type Value = number | bigint;

export interface KeyField {
  name: string;
  bits: number;
  match: MatchKind;
}

export interface ActionParam {
  name: string;
  bits: number;
}

export interface ActionDef {
  name: string;
  params?: readonly ActionParam[];
}

export interface TableDef {
  name: string;
  key: readonly KeyField[];
  /** Actions entries may use. `NoAction` is always available. */
  actions: readonly ActionDef[];
  /** Maximum entries; the resource model allocates memory for this many. */
  size: number;
  /** Action on a miss. @default NoAction */
  defaultAction?: { action: string; params?: Record<string, Value> };
  /** Direct per-entry counters (packets and bytes). @default false */
  counters?: boolean;
}

export type FieldMatch =
  | { exact: Value }
  | { ternary: { value: Value; mask: Value } }
  | { lpm: { value: Value; prefixLen: number } }
  | { range: { low: Value; high: Value } };

/** A table entry as the control plane writes it. Omitted non-exact fields are "don't care". */
export interface TableEntry {
  match: Record<string, FieldMatch>;
  priority?: number;
  action: string;
  params?: Record<string, Value>;
}

/** The result of a lookup: an installed entry or the default action. */
export interface ActionRef {
  readonly hit: boolean;
  /** Entry handle (index of its direct registers/counters); -1 for the default action. */
  readonly handle: number;
  readonly action: string;
  /** Action parameters in declaration order. */
  readonly params: readonly Value[];
}

export interface Counter {
  packets: number;
  bytes: number;
}

interface NormField {
  kind: MatchKind;
  value: bigint;
  mask: bigint;
  high: bigint;
  prefixLen: number;
}

class Installed implements ActionRef {
  readonly hit = true;
  packets = 0;
  bytes = 0;
  constructor(
    readonly handle: number,
    readonly id: string,
    readonly fields: NormField[],
    readonly priority: number,
    readonly seq: number,
    public action: string,
    public params: Value[],
  ) {}
}

const NO_ACTION: ActionDef = { name: 'NoAction', params: [] };

function fieldMax(bits: number): bigint {
  return (1n << BigInt(bits)) - 1n;
}

export class Table {
  readonly name: string;
  readonly def: TableDef;
  readonly key: readonly KeyField[];
  readonly size: number;
  readonly needsPriority: boolean;
  private readonly actions = new Map<string, ActionDef>();
  private readonly exactOnly: boolean;
  /** Exact fields' bits all fit a JS number: keys are numbers, not strings. */
  private readonly numericKey: boolean;
  /** One exact field of at most 32 bits: keys are int32, looked up in index32 (the Map keeps insertion order for dump). */
  private readonly int32Key: boolean;
  private readonly exactIdx: number[];
  private readonly otherIdx: number[];
  private readonly lpmOnly: boolean;
  /** exact-only: key -> entry; otherwise: exact part -> candidate list in match order. */
  private readonly exact = new Map<number | string, Installed>();
  /** int32Key tables: the data plane's index (key -> handle) and the entries by handle. */
  private readonly index32: ExactIndex32 | undefined;
  private readonly byHandle: Array<Installed | undefined> = [];
  /** def.counters, read on every apply. */
  private readonly counters: boolean;
  private readonly buckets = new Map<number | string, Installed[]>();
  private readonly byId = new Map<string, Installed>();
  private readonly free: number[] = [];
  private nextHandle = 0;
  private seq = 0;
  private defaultRef: ActionRef;
  private readonly defaultCounter: Counter = { packets: 0, bytes: 0 };
  private readonly direct: RegisterArray[] = [];

  constructor(def: TableDef) {
    this.def = def;
    this.name = def.name;
    this.key = def.key;
    this.size = def.size;
    if (!Number.isInteger(def.size) || def.size < 1) throw new InvalidEntryError(def.name, `size ${def.size} must be a positive integer`);
    if (def.key.length === 0) throw new InvalidEntryError(def.name, 'a table needs at least one key field (use a default action for keyless logic)');
    for (const k of def.key) {
      if (!Number.isInteger(k.bits) || k.bits < 1 || k.bits > 128) throw new InvalidEntryError(def.name, `field ${k.name}: width ${k.bits} not in 1..128`);
    }
    if (def.key.filter((k) => k.match === 'lpm').length > 1) throw new InvalidEntryError(def.name, 'at most one lpm field per table');
    this.actions.set(NO_ACTION.name, NO_ACTION);
    for (const a of def.actions) this.actions.set(a.name, a);
    this.exactIdx = def.key.map((k, i) => (k.match === 'exact' ? i : -1)).filter((i) => i >= 0);
    this.otherIdx = def.key.map((k, i) => (k.match !== 'exact' ? i : -1)).filter((i) => i >= 0);
    this.exactOnly = this.otherIdx.length === 0;
    this.numericKey = this.exactIdx.reduce((s, i) => s + def.key[i]!.bits, 0) <= 52;
    this.int32Key = def.key.length === 1 && def.key[0]!.match === 'exact' && def.key[0]!.bits <= 32;
    this.index32 = this.int32Key ? new ExactIndex32() : undefined;
    this.counters = def.counters ?? false;
    this.needsPriority = def.key.some((k) => k.match === 'ternary' || k.match === 'range');
    this.lpmOnly = !this.exactOnly && !this.needsPriority;
    const d = def.defaultAction ?? { action: 'NoAction' };
    this.defaultRef = { hit: false, handle: -1, action: d.action, params: this.normParams(d.action, d.params) };
  }

  /** Entries installed. */
  get count(): number {
    return this.byId.size;
  }

  /** Actions this table declares (NoAction included). */
  get actionDefs(): readonly ActionDef[] {
    return [...this.actions.values()];
  }

  /** Register arrays indexed by this table's entry handles (TNA DirectRegister); reset on insert. */
  attach(reg: RegisterArray): void {
    if (reg.size !== this.size) throw new InvalidEntryError(this.name, `direct register ${reg.name} has ${reg.size} cells, table has ${this.size} entries`);
    this.direct.push(reg);
  }

  get directRegisters(): readonly RegisterArray[] {
    return this.direct;
  }

  // -------------------------------------------------------------------------
  // control plane

  insert(e: TableEntry): ActionRef {
    const { id, fields, priority } = this.normMatch(e);
    const params = this.normParams(e.action, e.params);
    if (this.byId.has(id)) throw new DuplicateEntryError(this.name);
    if (this.byId.size >= this.size) throw new TableFullError(this.name, this.size);
    const handle = this.free.length ? this.free.pop()! : this.nextHandle++;
    const ent = new Installed(handle, id, fields, priority, this.seq++, e.action, params);
    this.byId.set(id, ent);
    const ek = this.exactKeyOfFields(fields);
    if (this.exactOnly) {
      this.exact.set(ek, ent);
      if (this.index32) {
        this.index32.set(ek as number, handle);
        this.byHandle[handle] = ent;
      }
    } else {
      let list = this.buckets.get(ek);
      if (!list) this.buckets.set(ek, (list = []));
      // keep candidates in match order: priority desc (or prefix length desc), then insertion
      let lo = 0;
      let hi = list.length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (this.before(list[mid]!, ent)) lo = mid + 1;
        else hi = mid;
      }
      list.splice(lo, 0, ent);
    }
    for (const r of this.direct) r.reset(handle);
    return ent;
  }

  modify(e: TableEntry): ActionRef {
    const { id } = this.normMatch(e);
    const params = this.normParams(e.action, e.params);
    const ent = this.byId.get(id);
    if (!ent) throw new EntryNotFoundError(this.name);
    ent.action = e.action;
    ent.params = params;
    return ent;
  }

  /** Insert, or modify when the entry exists. Returns true when it inserted. */
  upsert(e: TableEntry): boolean {
    const { id } = this.normMatch(e);
    if (this.byId.has(id)) {
      this.modify(e);
      return false;
    }
    this.insert(e);
    return true;
  }

  delete(e: Pick<TableEntry, 'match' | 'priority'>): void {
    const { id, fields } = this.normMatch({ ...e, action: 'NoAction' });
    const ent = this.byId.get(id);
    if (!ent) throw new EntryNotFoundError(this.name);
    this.byId.delete(id);
    const ek = this.exactKeyOfFields(fields);
    if (this.exactOnly) {
      this.exact.delete(ek);
      if (this.index32) {
        this.index32.delete(ek as number);
        this.byHandle[ent.handle] = undefined;
      }
    } else {
      const list = this.buckets.get(ek)!;
      list.splice(list.indexOf(ent), 1);
      if (list.length === 0) this.buckets.delete(ek);
    }
    this.free.push(ent.handle);
  }

  /** The installed entry with this match and priority, if any. */
  get(e: Pick<TableEntry, 'match' | 'priority'>): ActionRef | undefined {
    return this.byId.get(this.normMatch({ ...e, action: 'NoAction' }).id);
  }

  setDefaultAction(action: string, params?: Record<string, Value>): void {
    this.defaultRef = { hit: false, handle: -1, action, params: this.normParams(action, params) };
  }

  get defaultAction(): ActionRef {
    return this.defaultRef;
  }

  /** Direct counter of an entry (the table must declare `counters`). */
  counter(e: Pick<TableEntry, 'match' | 'priority'>): Counter {
    this.needCounters();
    const ent = this.byId.get(this.normMatch({ ...e, action: 'NoAction' }).id);
    if (!ent) throw new EntryNotFoundError(this.name);
    return { packets: ent.packets, bytes: ent.bytes };
  }

  /** Packets that took the default action. */
  get missCounter(): Counter {
    this.needCounters();
    return { ...this.defaultCounter };
  }

  clear(): void {
    this.exact.clear();
    this.index32?.clear();
    this.byHandle.length = 0;
    this.buckets.clear();
    this.byId.clear();
    this.free.length = 0;
    this.nextHandle = 0;
  }

  // -------------------------------------------------------------------------
  // data plane

  /** Match without side effects. Key values in field order. */
  lookup(key: readonly Value[]): ActionRef {
    if (this.exactOnly) {
      if (this.index32 && key.length === 1) return this.lookup1(Number(key[0]));
      return this.exact.get(this.exactKeyOfValues(key)) ?? this.defaultRef;
    }
    const list = this.buckets.get(this.exactKeyOfValues(key));
    if (!list) return this.defaultRef;
    const ks = this.otherIdx.map((i) => BigInt(key[i]!));
    for (const ent of list) {
      let ok = true;
      for (let j = 0; j < ks.length; j++) {
        const f = ent.fields[this.otherIdx[j]!]!;
        const v = ks[j]!;
        if (f.kind === 'range' ? v < f.value || v > f.high : (v & f.mask) !== f.value) {
          ok = false;
          break;
        }
      }
      if (ok) return ent;
    }
    return this.defaultRef;
  }

  /** lookup() of a table keyed by one exact field of at most 32 bits, without building a key array (the hot path). */
  lookup1(v: number): ActionRef {
    if (!this.index32) return this.lookup([v]);
    const h = this.index32.get(v);
    return h < 0 ? this.defaultRef : this.byHandle[h]!;
  }

  /** lookup1() as an entry handle, -1 on a miss: whether a key is installed, without touching the entry. */
  lookupHandle1(v: number): number {
    if (!this.index32) {
      const r = this.lookup([v]);
      return r.hit ? r.handle : -1;
    }
    return this.index32.get(v);
  }

  /**
   * The per-pass form of apply1() for a table keyed by one exact field of at most
   * 32 bits: the hit entry's handle (what its direct registers are indexed by),
   * or -1 on a miss; counts like apply(). No object is returned or allocated.
   */
  applyHandle1(v: number, bytes = 0): number {
    if (!this.index32) {
      const r = this.apply([v], bytes);
      return r.hit ? r.handle : -1;
    }
    const h = this.index32.get(v);
    if (this.counters) {
      if (h >= 0) {
        const e = this.byHandle[h]!;
        e.packets++;
        e.bytes += bytes;
      } else {
        this.defaultCounter.packets++;
        this.defaultCounter.bytes += bytes;
      }
    }
    return h;
  }

  /** P4 `table.apply()`: match, count (packets, `bytes`), return the action to run. */
  apply(key: readonly Value[], bytes = 0): ActionRef {
    return this.hitCount(this.lookup(key), bytes);
  }

  /** apply() of a table keyed by one exact field of at most 32 bits. */
  apply1(v: number, bytes = 0): ActionRef {
    return this.hitCount(this.lookup1(v), bytes);
  }

  private hitCount(r: ActionRef, bytes: number): ActionRef {
    if (this.counters) {
      if (r.hit) {
        (r as Installed).packets++;
        (r as Installed).bytes += bytes;
      } else {
        this.defaultCounter.packets++;
        this.defaultCounter.bytes += bytes;
      }
    }
    return r;
  }

  // -------------------------------------------------------------------------
  // inspection

  /** Every entry in match order, formatted for humans and JSON. */
  dump(): Array<{ match: Record<string, string>; priority?: number; action: string; params: Record<string, string>; counter?: Counter }> {
    const ents = this.exactOnly ? [...this.exact.values()] : [...this.buckets.values()].flat();
    return ents.map((e) => {
      const match: Record<string, string> = {};
      this.key.forEach((k, i) => {
        const f = e.fields[i]!;
        const hex = (v: bigint): string => `0x${v.toString(16)}`;
        if (f.kind === 'exact') match[k.name] = hex(f.value);
        else if (f.kind === 'ternary') {
          if (f.mask !== 0n) match[k.name] = `${hex(f.value)}&&&${hex(f.mask)}`;
        } else if (f.kind === 'lpm') match[k.name] = `${hex(f.value)}/${f.prefixLen}`;
        else if (!(f.value === 0n && f.high === fieldMax(k.bits))) match[k.name] = `${hex(f.value)}..${hex(f.high)}`;
      });
      const def = this.actions.get(e.action)!;
      const params: Record<string, string> = {};
      (def.params ?? []).forEach((p, i) => (params[p.name] = String(e.params[i])));
      return {
        match,
        ...(this.needsPriority ? { priority: e.priority } : {}),
        action: e.action,
        params,
        ...(this.def.counters ? { counter: { packets: e.packets, bytes: e.bytes } } : {}),
      };
    });
  }

  // -------------------------------------------------------------------------
  // helpers

  private needCounters(): void {
    if (!this.def.counters) throw new GatewaySimError(`table ${this.name} has no direct counters (declare counters: true)`);
  }

  private before(a: Installed, b: Installed): boolean {
    if (this.lpmOnly) {
      const pa = this.lpmLen(a);
      const pb = this.lpmLen(b);
      return pa !== pb ? pa > pb : a.seq < b.seq;
    }
    return a.priority !== b.priority ? a.priority > b.priority : a.seq < b.seq;
  }

  private lpmLen(e: Installed): number {
    for (const i of this.otherIdx) if (e.fields[i]!.kind === 'lpm') return e.fields[i]!.prefixLen;
    return 0;
  }

  private toBig(field: string, v: unknown, bits: number): bigint {
    if (typeof v === 'number') {
      if (!Number.isSafeInteger(v) || v < 0) throw new InvalidEntryError(this.name, `${field}: ${v} is not a non-negative integer`);
      v = BigInt(v);
    }
    if (typeof v !== 'bigint' || v < 0n || v > fieldMax(bits)) {
      throw new InvalidEntryError(this.name, `${field}: ${String(v)} does not fit ${bits} bits`);
    }
    return v;
  }

  private normMatch(e: TableEntry): { id: string; fields: NormField[]; priority: number } {
    if (typeof e !== 'object' || e === null || typeof e.match !== 'object' || e.match === null) {
      throw new InvalidEntryError(this.name, 'an entry needs a match object');
    }
    for (const name of Object.keys(e.match)) {
      if (!this.key.some((k) => k.name === name)) throw new InvalidEntryError(this.name, `no key field named ${name}`);
    }
    const fields: NormField[] = this.key.map((k) => {
      const m = e.match[k.name] as Record<string, unknown> | undefined;
      const all = fieldMax(k.bits);
      if (m === undefined) {
        if (k.match === 'exact') throw new InvalidEntryError(this.name, `exact field ${k.name} must be given`);
        // don't care
        return k.match === 'range'
          ? { kind: 'range', value: 0n, mask: 0n, high: all, prefixLen: 0 }
          : { kind: k.match, value: 0n, mask: 0n, high: 0n, prefixLen: 0 };
      }
      if (!(k.match in m)) throw new InvalidEntryError(this.name, `field ${k.name} is a ${k.match} field`);
      switch (k.match) {
        case 'exact':
          return { kind: 'exact', value: this.toBig(k.name, m.exact, k.bits), mask: all, high: 0n, prefixLen: k.bits };
        case 'ternary': {
          const t = m.ternary as { value: unknown; mask: unknown };
          const value = this.toBig(`${k.name}.value`, t?.value, k.bits);
          const mask = this.toBig(`${k.name}.mask`, t?.mask, k.bits);
          if (value & ~mask) throw new InvalidEntryError(this.name, `${k.name}: value has bits outside the mask`);
          return { kind: 'ternary', value, mask, high: 0n, prefixLen: 0 };
        }
        case 'lpm': {
          const l = m.lpm as { value: unknown; prefixLen: unknown };
          const value = this.toBig(`${k.name}.value`, l?.value, k.bits);
          const p = l?.prefixLen;
          if (typeof p !== 'number' || !Number.isInteger(p) || p < 0 || p > k.bits) {
            throw new InvalidEntryError(this.name, `${k.name}: prefix length ${String(p)} not in 0..${k.bits}`);
          }
          const mask = all ^ fieldMax(k.bits - p);
          if (value & ~mask) throw new InvalidEntryError(this.name, `${k.name}: value has bits beyond the /${p} prefix`);
          return { kind: 'lpm', value, mask, high: 0n, prefixLen: p };
        }
        case 'range': {
          const r = m.range as { low: unknown; high: unknown };
          const low = this.toBig(`${k.name}.low`, r?.low, k.bits);
          const high = this.toBig(`${k.name}.high`, r?.high, k.bits);
          if (low > high) throw new InvalidEntryError(this.name, `${k.name}: range low > high`);
          return { kind: 'range', value: low, mask: 0n, high, prefixLen: 0 };
        }
      }
    });
    const priority = e.priority ?? 0;
    if (!Number.isInteger(priority) || priority < 0 || priority > 0x7fff_ffff) {
      throw new InvalidEntryError(this.name, `priority ${priority} is not an integer in 0..2^31-1`);
    }
    if (this.needsPriority && priority === 0) throw new InvalidEntryError(this.name, 'a table with ternary or range fields needs priority > 0');
    if (!this.needsPriority && priority !== 0) throw new InvalidEntryError(this.name, 'priority is only for tables with ternary or range fields');
    const id = `${fields.map((f) => `${f.kind[0]}${f.value.toString(16)}/${f.kind === 'range' ? f.high.toString(16) : f.mask.toString(16)}`).join(',')}#${priority}`;
    return { id, fields, priority };
  }

  private normParams(action: string, params: Record<string, Value> | undefined): Value[] {
    const def = this.actions.get(action);
    if (!def) throw new InvalidEntryError(this.name, `unknown action ${action}`);
    const given = params ?? {};
    const decl = def.params ?? [];
    for (const n of Object.keys(given)) {
      if (!decl.some((p) => p.name === n)) throw new InvalidEntryError(this.name, `action ${action} has no parameter ${n}`);
    }
    return decl.map((p) => {
      const v = given[p.name];
      if (v === undefined) throw new InvalidEntryError(this.name, `action ${action} needs parameter ${p.name}`);
      const big = this.toBig(`${action}.${p.name}`, v, p.bits);
      return p.bits <= 52 ? Number(big) : big;
    });
  }

  private exactKeyOfFields(fields: NormField[]): number | string {
    if (this.int32Key) return Number(fields[0]!.value) | 0;
    if (this.numericKey) {
      let k = 0;
      for (const i of this.exactIdx) k = k * 2 ** this.key[i]!.bits + Number(fields[i]!.value);
      return k;
    }
    return this.exactIdx.map((i) => fields[i]!.value.toString(16)).join(':');
  }

  private exactKeyOfValues(key: readonly Value[]): number | string {
    if (key.length !== this.key.length) throw new InvalidEntryError(this.name, `lookup key has ${key.length} fields, table has ${this.key.length}`);
    if (this.int32Key) return Number(key[0]!) | 0;
    if (this.numericKey) {
      let k = 0;
      for (const i of this.exactIdx) k = k * 2 ** this.key[i]!.bits + Number(key[i]!);
      return k;
    }
    return this.exactIdx.map((i) => BigInt(key[i]!).toString(16)).join(':');
  }
}
