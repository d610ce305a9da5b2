/**
 * A BPF map by file descriptor: lookup/update/delete/iterate, batch
 * update/lookup/delete, per-CPU values, pins. Keys and values are raw Buffers
 * here; src/maps puts typed codecs on top. A missing key is `undefined` (or
 * `false` from delete), never an exception.
 */
import { constants } from 'node:os';
import { BpfError, check } from './errors.js';
import { closeFd, libbpf, possibleCpus } from './libbpf.js';

const ENOENT = constants.errno.ENOENT;
const ENOSPC = constants.errno.ENOSPC;

/** enum bpf_map_type (include/uapi/linux/bpf.h), the ones pathsteer meets. */
export const MapType = {
  HASH: 1,
  ARRAY: 2,
  PROG_ARRAY: 3,
  PERF_EVENT_ARRAY: 4,
  PERCPU_HASH: 5,
  PERCPU_ARRAY: 6,
  LRU_HASH: 9,
  LRU_PERCPU_HASH: 10,
  LPM_TRIE: 11,
  RINGBUF: 27,
} as const;

export function mapTypeName(t: number): string {
  for (const [k, v] of Object.entries(MapType)) if (v === t) return k;
  return `type ${t}`;
}

const PERCPU_TYPES: ReadonlySet<number> = new Set([MapType.PERCPU_HASH, MapType.PERCPU_ARRAY, MapType.LRU_PERCPU_HASH]);

/** Flags of bpf_map_update_elem. */
export const UpdateFlag = { ANY: 0, NOEXIST: 1, EXIST: 2 } as const;

/** BPF_F_NO_PREALLOC, needed by LPM tries. */
export const BPF_F_NO_PREALLOC = 1;

export interface MapInfo {
  type: number;
  id: number;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  flags: number;
  name: string;
}

/** struct bpf_map_info is 88 bytes (uapi, Linux 6.x). */
const MAP_INFO_SIZE = 88;

export function mapInfo(fd: number): MapInfo {
  const info = Buffer.alloc(MAP_INFO_SIZE);
  const len = new Uint32Array([MAP_INFO_SIZE]);
  check(`bpf_obj_get_info_by_fd map fd ${fd}`, libbpf().bpf_obj_get_info_by_fd(fd, info, len) as number);
  const nameEnd = info.indexOf(0, 24);
  return {
    type: info.readUInt32LE(0),
    id: info.readUInt32LE(4),
    keySize: info.readUInt32LE(8),
    valueSize: info.readUInt32LE(12),
    maxEntries: info.readUInt32LE(16),
    flags: info.readUInt32LE(20),
    name: info.toString('utf8', 24, nameEnd < 0 || nameEnd > 40 ? 40 : nameEnd),
  };
}

/** struct bpf_map_batch_opts {size_t sz; __u64 elem_flags; __u64 flags;} */
function batchOpts(elemFlags = 0): Buffer {
  const b = Buffer.alloc(24);
  b.writeBigUInt64LE(24n, 0);
  b.writeBigUInt64LE(BigInt(elemFlags), 8);
  return b;
}

export interface MapSpec {
  type: number;
  name: string;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  flags?: number;
}

export interface BatchRead {
  /** `count` keys, keySize bytes each. */
  keys: Buffer;
  /** `count` values, valueBytes each (per-CPU maps: every CPU's copy). */
  values: Buffer;
  count: number;
}

export class BpfMap {
  readonly type: number;
  readonly keySize: number;
  readonly valueSize: number;
  readonly maxEntries: number;
  readonly name: string;
  /** Bytes a lookup returns: valueSize, or for per-CPU maps roundup(valueSize, 8) x possible CPUs. */
  readonly valueBytes: number;
  /** Possible CPUs for per-CPU maps, 1 otherwise. */
  readonly cpus: number;
  private closed = false;

  /**
   * @param fd map file descriptor
   * @param owned close the fd in close(); false when a BpfObject owns it
   */
  constructor(
    readonly fd: number,
    info: MapInfo,
    private readonly owned: boolean,
  ) {
    this.type = info.type;
    this.keySize = info.keySize;
    this.valueSize = info.valueSize;
    this.maxEntries = info.maxEntries;
    this.name = info.name;
    this.cpus = PERCPU_TYPES.has(info.type) ? possibleCpus() : 1;
    this.valueBytes = PERCPU_TYPES.has(info.type) ? Math.ceil(info.valueSize / 8) * 8 * this.cpus : info.valueSize;
  }

  /** A map for an fd this process just opened: owns it, closes it if the map cannot be described. */
  private static owning(fd: number): BpfMap {
    try {
      return new BpfMap(fd, mapInfo(fd), true);
    } catch (e) {
      closeFd(fd);
      throw e;
    }
  }

  /** Open a pinned map (bpf_obj_get); the returned map owns its fd. */
  static fromPin(path: string): BpfMap {
    return BpfMap.owning(check(`bpf_obj_get ${path}`, libbpf().bpf_obj_get(path) as number));
  }

  /** Open a map by its kernel id (bpf_map_get_fd_by_id; needs CAP_SYS_ADMIN); owns its fd. */
  static fromId(id: number): BpfMap {
    return BpfMap.owning(check(`bpf_map_get_fd_by_id ${id}`, libbpf().bpf_map_get_fd_by_id(id) as number));
  }

  /** Create a map outside any object (tests, benchmarks); owns its fd. */
  static create(spec: MapSpec): BpfMap {
    let opts: Buffer | null = null;
    if (spec.flags) {
      // struct bpf_map_create_opts: sz, btf_fd, btf_key_type_id, btf_value_type_id,
      // btf_vmlinux_value_type_id, inner_map_fd, map_flags (offset 28), ...
      opts = Buffer.alloc(48);
      opts.writeBigUInt64LE(48n, 0);
      opts.writeUInt32LE(spec.flags, 28);
    }
    const fd = check(
      `bpf_map_create ${spec.name}`,
      libbpf().bpf_map_create(spec.type, spec.name, spec.keySize, spec.valueSize, spec.maxEntries, opts) as number,
    );
    return new BpfMap(fd, mapInfo(fd), true);
  }

  get percpu(): boolean {
    return PERCPU_TYPES.has(this.type);
  }

  /** Split a per-CPU lookup result into one Buffer per CPU. */
  perCpu(value: Buffer): Buffer[] {
    const stride = Math.ceil(this.valueSize / 8) * 8;
    const out: Buffer[] = [];
    for (let c = 0; c < this.cpus; c++) out.push(value.subarray(c * stride, c * stride + this.valueSize));
    return out;
  }

  private checkKey(key: Buffer): void {
    if (key.length !== this.keySize) throw new RangeError(`${this.name}: key is ${key.length} bytes, map wants ${this.keySize}`);
  }

  private checkValue(value: Buffer): void {
    if (value.length !== this.valueBytes) {
      throw new RangeError(`${this.name}: value is ${value.length} bytes, map wants ${this.valueBytes}`);
    }
  }

  private live(): void {
    if (this.closed) throw new BpfError(`${this.name}: map is closed`, constants.errno.EBADF);
  }

  /** The value stored under key, or undefined. */
  lookup(key: Buffer): Buffer | undefined {
    this.live();
    this.checkKey(key);
    const value = Buffer.alloc(this.valueBytes);
    const r = libbpf().bpf_map_lookup_elem(this.fd, key, value) as number;
    if (r === -ENOENT) return undefined;
    check(`bpf_map_lookup_elem ${this.name}`, r);
    return value;
  }

  update(key: Buffer, value: Buffer, flags: number = UpdateFlag.ANY): void {
    this.live();
    this.checkKey(key);
    this.checkValue(value);
    check(`bpf_map_update_elem ${this.name}`, libbpf().bpf_map_update_elem(this.fd, key, value, flags) as number);
  }

  /** True when the key existed. */
  delete(key: Buffer): boolean {
    this.live();
    this.checkKey(key);
    const r = libbpf().bpf_map_delete_elem(this.fd, key) as number;
    if (r === -ENOENT) return false;
    check(`bpf_map_delete_elem ${this.name}`, r);
    return true;
  }

  /** Every key (bpf_map_get_next_key). */
  *keys(): Generator<Buffer> {
    this.live();
    let prev: Buffer | null = null;
    for (;;) {
      const next = Buffer.alloc(this.keySize);
      const r = libbpf().bpf_map_get_next_key(this.fd, prev, next) as number;
      if (r === -ENOENT) return;
      check(`bpf_map_get_next_key ${this.name}`, r);
      yield next;
      prev = next;
    }
  }

  /** Every [key, value]; entries deleted while iterating are skipped. */
  *entries(): Generator<[Buffer, Buffer]> {
    for (const k of this.keys()) {
      const v = this.lookup(k);
      if (v) yield [k, v];
    }
  }

  /**
   * Write `count` entries in one syscall (keys and values concatenated).
   * Returns the number written; on failure the BpfError says how far it got in `op`.
   */
  updateBatch(keys: Buffer, values: Buffer, flags: number = UpdateFlag.ANY): number {
    this.live();
    const count = keys.length / this.keySize;
    if (!Number.isInteger(count) || values.length !== count * this.valueBytes) {
      throw new RangeError(`${this.name}: batch of ${keys.length} key bytes and ${values.length} value bytes is not whole entries`);
    }
    if (count === 0) return 0;
    const n = new Uint32Array([count]);
    const r = libbpf().bpf_map_update_batch(this.fd, keys, values, n, batchOpts(flags)) as number;
    if (r < 0) throw new BpfError(`bpf_map_update_batch ${this.name} (${n[0]} of ${count} written)`, -r);
    return n[0]!;
  }

  /** Delete `count` keys in one syscall; returns how many were deleted. Missing keys fail with ENOENT. */
  deleteBatch(keys: Buffer): number {
    this.live();
    const count = keys.length / this.keySize;
    if (!Number.isInteger(count)) throw new RangeError(`${this.name}: ${keys.length} key bytes is not whole keys`);
    if (count === 0) return 0;
    const n = new Uint32Array([count]);
    const r = libbpf().bpf_map_delete_batch(this.fd, keys, n, batchOpts()) as number;
    if (r < 0) throw new BpfError(`bpf_map_delete_batch ${this.name} (${n[0]} of ${count} deleted)`, -r);
    return n[0]!;
  }

  /** Read every entry with bpf_map_lookup_batch, `chunk` entries per syscall. */
  lookupBatch(chunk = 8192): BatchRead {
    this.live();
    const keyParts: Buffer[] = [];
    const valueParts: Buffer[] = [];
    let total = 0;
    // the batch cursor is opaque; hash maps use a u32 bucket, arrays a key
    const tokenSize = Math.max(this.keySize, 8);
    let inBatch: Buffer | null = null;
    let size = Math.max(1, chunk);
    for (;;) {
      const keys = Buffer.alloc(size * this.keySize);
      const values = Buffer.alloc(size * this.valueBytes);
      const outBatch = Buffer.alloc(tokenSize);
      const n = new Uint32Array([size]);
      const r = libbpf().bpf_map_lookup_batch(this.fd, inBatch, outBatch, keys, values, n, batchOpts()) as number;
      if (r === -ENOSPC && n[0] === 0) {
        size *= 2; // one hash bucket holds more than `size` entries
        continue;
      }
      if (r < 0 && r !== -ENOENT) throw new BpfError(`bpf_map_lookup_batch ${this.name}`, -r);
      const got = n[0]!;
      if (got > 0) {
        keyParts.push(keys.subarray(0, got * this.keySize));
        valueParts.push(values.subarray(0, got * this.valueBytes));
        total += got;
      }
      if (r === -ENOENT) break;
      inBatch = outBatch;
    }
    return { keys: Buffer.concat(keyParts), values: Buffer.concat(valueParts), count: total };
  }

  /** Pin at path (bpffs). */
  pin(path: string): void {
    this.live();
    check(`bpf_obj_pin ${path}`, libbpf().bpf_obj_pin(this.fd, path) as number);
  }

  /** Close the fd if this map owns it. Safe to call twice. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.owned) closeFd(this.fd);
  }
}
