/**
 * A BPF map with codecs on its key and value: `get`/`set`/`delete` speak
 * TypeScript values, `setMany`/`getAll` use batch syscalls (falling back to
 * per-entry calls where the kernel has no batch support for the map type).
 * Per-CPU maps return one value per CPU from `getPerCpu`. `onChange` runs
 * after every write or delete (also one that failed part way), once per call:
 * ps_path and ps_pin use it to advance ps_config.path_gen.
 */
import { BpfError, type BpfMap } from '../loader/index.js';
import type { Codec } from './codec.js';

const EINVAL = 22;
const ENOTSUPP = 524; // kernel-internal "operation not supported" for batch ops on some map types

export interface TypedMapOptions {
  /** Called after every set/delete/setMany/deleteMany reached the kernel (even when it threw). */
  onChange?: () => void;
}

export class TypedMap<K, V> {
  private readonly onChange: (() => void) | undefined;

  constructor(
    readonly map: BpfMap,
    readonly key: Codec<K>,
    readonly value: Codec<V>,
    o: TypedMapOptions = {},
  ) {
    this.onChange = o.onChange;
    if (map.keySize !== key.size) throw new RangeError(`${map.name}: key is ${map.keySize} bytes, codec ${key.cName} is ${key.size}`);
    if (map.valueSize !== value.size) {
      throw new RangeError(`${map.name}: value is ${map.valueSize} bytes, codec ${value.cName} is ${value.size}`);
    }
  }

  get name(): string {
    return this.map.name;
  }

  /** The value (the first CPU's copy for per-CPU maps; use getPerCpu there). */
  get(k: K): V | undefined {
    const v = this.map.lookup(this.key.encode(k));
    return v === undefined ? undefined : this.value.decode(v);
  }

  getPerCpu(k: K): V[] | undefined {
    const v = this.map.lookup(this.key.encode(k));
    return v === undefined ? undefined : this.map.perCpu(v).map((b) => this.value.decode(b));
  }

  /** Run fn (a syscall that may change the map), then onChange, even if fn threw. */
  private changing<R>(fn: () => R): R {
    try {
      return fn();
    } finally {
      this.onChange?.();
    }
  }

  /** Write one entry (per-CPU maps: the same value on every CPU). */
  set(k: K, v: V, flags = 0): void {
    const kb = this.key.encode(k);
    const vb = this.encodeValue(v);
    this.changing(() => this.map.update(kb, vb, flags));
  }

  /** Write one entry of a per-CPU map with one value per CPU (values.length = cpus). */
  setPerCpu(k: K, values: readonly V[], flags = 0): void {
    if (!this.map.percpu) throw new RangeError(`${this.map.name} is not a per-CPU map`);
    if (values.length !== this.map.cpus) throw new RangeError(`${this.map.name}: ${values.length} values for ${this.map.cpus} CPUs`);
    const stride = Math.ceil(this.value.size / 8) * 8;
    const vb = Buffer.alloc(this.map.valueBytes);
    values.forEach((v, c) => this.value.encode(v, vb, c * stride));
    const kb = this.key.encode(k);
    this.changing(() => this.map.update(kb, vb, flags));
  }

  delete(k: K): boolean {
    const kb = this.key.encode(k);
    return this.changing(() => this.map.delete(kb));
  }

  private encodeValue(v: V, out?: Buffer, off = 0): Buffer {
    if (!this.map.percpu) return this.value.encode(v, out, off);
    const stride = Math.ceil(this.value.size / 8) * 8;
    const b = out ?? Buffer.alloc(this.map.valueBytes);
    for (let c = 0; c < this.map.cpus; c++) this.value.encode(v, b, off + c * stride);
    return b;
  }

  /** Write many entries with one bpf_map_update_batch (per-entry updates where unsupported). */
  setMany(entries: ReadonlyArray<readonly [K, V]>, flags = 0): number {
    const keys = Buffer.alloc(entries.length * this.map.keySize);
    const values = Buffer.alloc(entries.length * this.map.valueBytes);
    for (let i = 0; i < entries.length; i++) this.key.encode(entries[i]![0], keys, i * this.map.keySize);
    if (this.value.encodeMany && !this.map.percpu) {
      this.value.encodeMany(
        entries.map((e) => e[1]),
        values,
        0,
        this.map.valueBytes,
      );
    } else {
      for (let i = 0; i < entries.length; i++) this.encodeValue(entries[i]![1], values, i * this.map.valueBytes);
    }
    return this.changing(() => {
      try {
        return this.map.updateBatch(keys, values, flags);
      } catch (e) {
        if (!(e instanceof BpfError) || (e.errno !== EINVAL && e.errno !== ENOTSUPP)) throw e;
        entries.forEach(([k, v]) => this.map.update(this.key.encode(k), this.encodeValue(v), flags));
        return entries.length;
      }
    });
  }

  /** Every entry, read with batch lookups (iteration where unsupported). */
  getAll(): Array<[K, V[]]> {
    const out: Array<[K, V[]]> = [];
    const push = (kb: Buffer, vb: Buffer): void => {
      const vals = this.map.percpu ? this.map.perCpu(vb).map((b) => this.value.decode(b)) : [this.value.decode(vb)];
      out.push([this.key.decode(kb), vals]);
    };
    let batch;
    try {
      batch = this.map.lookupBatch();
    } catch (e) {
      if (!(e instanceof BpfError) || (e.errno !== EINVAL && e.errno !== ENOTSUPP)) throw e;
      for (const [kb, vb] of this.map.entries()) push(kb, vb);
      return out;
    }
    for (let i = 0; i < batch.count; i++) {
      push(
        batch.keys.subarray(i * this.map.keySize, (i + 1) * this.map.keySize),
        batch.values.subarray(i * this.map.valueBytes, (i + 1) * this.map.valueBytes),
      );
    }
    return out;
  }

  /** Every key (iteration). */
  *keys(): Generator<K> {
    for (const k of this.map.keys()) yield this.key.decode(k);
  }

  /** Delete many keys with one bpf_map_delete_batch. */
  deleteMany(keys: readonly K[]): number {
    const kb = Buffer.alloc(keys.length * this.map.keySize);
    keys.forEach((k, i) => this.key.encode(k, kb, i * this.map.keySize));
    return this.changing(() => this.map.deleteBatch(kb));
  }
}
