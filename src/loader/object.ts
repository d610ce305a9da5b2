/**
 * A BPF object file through libbpf's phases: open (parse the ELF), configure
 * (const volatile globals, map sizes, pins, which programs load), load (create
 * or reuse maps, verify programs), then hand out maps and programs. close()
 * frees everything libbpf holds and is safe to call twice; pins outlive it on
 * purpose (fail-static).
 */
import { existsSync } from 'node:fs';
import { makeDirs } from '../common/fs.js';
import { basename } from 'node:path';
import koffi from 'koffi';
import { logger } from '../common/logger.js';
import { Btf } from './btf.js';
import { BpfError, check, PinMismatchError } from './errors.js';
import { checkPtr, libbpf, logMark, logSince, type Ptr } from './libbpf.js';
import { BpfLink } from './link.js';
import { BpfMap, mapInfo, mapTypeName, type MapInfo } from './map.js';

const log = logger.child({ module: 'loader/object' });

export type ObjectState = 'opened' | 'loaded' | 'closed';

/** What the object file says about a map (before load) and, after load, its fd. */
export interface MapDef {
  name: string;
  type: number;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  flags: number;
}

export interface PinPlan {
  name: string;
  path: string;
  /** The pin existed (checked compatible) and load reuses it. */
  reused: boolean;
}

export class BpfProgram {
  constructor(
    readonly name: string,
    readonly fd: number,
  ) {}
}

/** Compare a pinned map with the object's definition; every difference as text. */
export function pinDifferences(def: MapDef, pinned: MapInfo): string[] {
  const d: string[] = [];
  const cmp = (what: string, p: number | string, o: number | string): void => {
    if (p !== o) d.push(`${def.name} ${what} ${p} != ${o}`);
  };
  cmp('type', mapTypeName(pinned.type), mapTypeName(def.type));
  cmp('key_size', pinned.keySize, def.keySize);
  cmp('value_size', pinned.valueSize, def.valueSize);
  cmp('max_entries', pinned.maxEntries, def.maxEntries);
  cmp('map_flags', pinned.flags, def.flags);
  return d;
}

export class BpfObject {
  private obj: Ptr | null;
  private phase: ObjectState = 'opened';
  private readonly pins: PinPlan[] = [];
  private readonly mapCache = new Map<string, BpfMap>();
  private btfCache: Btf | undefined;

  private constructor(
    readonly path: string,
    obj: Ptr,
  ) {
    this.obj = obj;
  }

  /** Phase 1: parse the object file. Nothing reaches the kernel yet. */
  static open(path: string): BpfObject {
    if (!existsSync(path)) throw new BpfError(`bpf_object__open_file ${path}`, 2);
    const obj = checkPtr(`bpf_object__open_file ${path}`, libbpf().bpf_object__open_file(path, null));
    return new BpfObject(path, obj);
  }

  get state(): ObjectState {
    return this.phase;
  }

  get fileName(): string {
    return basename(this.path);
  }

  private handle(): Ptr {
    if (this.phase === 'closed' || !this.obj) throw new BpfError(`${this.fileName}: object is closed`, 9);
    return this.obj;
  }

  private requirePhase(want: ObjectState, what: string): void {
    if (this.phase !== want) throw new BpfError(`${what} ${this.fileName}: object is ${this.phase}, must be ${want}`, 22);
  }

  private mapPtr(name: string): Ptr {
    return checkPtr(`bpf_object__find_map_by_name ${name}`, libbpf().bpf_object__find_map_by_name(this.handle(), name));
  }

  private progPtr(name: string): Ptr {
    return checkPtr(
      `bpf_object__find_program_by_name ${name}`,
      libbpf().bpf_object__find_program_by_name(this.handle(), name),
    );
  }

  /** BTF of the object file (struct layouts, global variable offsets). */
  btf(): Btf {
    this.btfCache ??= Btf.fromObject(this.path);
    return this.btfCache;
  }

  /** Every map the object defines, including libbpf's internal .rodata/.bss maps. */
  mapDefs(): MapDef[] {
    const l = libbpf();
    const defs: MapDef[] = [];
    for (let m = l.bpf_object__next_map(this.handle(), null); m; m = l.bpf_object__next_map(this.handle(), m)) {
      defs.push({
        name: l.bpf_map__name(m) as string,
        type: l.bpf_map__type(m) as number,
        keySize: l.bpf_map__key_size(m) as number,
        valueSize: l.bpf_map__value_size(m) as number,
        maxEntries: l.bpf_map__max_entries(m) as number,
        flags: l.bpf_map__map_flags(m) as number,
      });
    }
    return defs;
  }

  mapDef(name: string): MapDef {
    const d = this.mapDefs().find((m) => m.name === name);
    if (!d) throw new BpfError(`bpf_object__find_map_by_name ${name}`, 2);
    return d;
  }

  programNames(): string[] {
    const l = libbpf();
    const names: string[] = [];
    for (let p = l.bpf_object__next_program(this.handle(), null); p; p = l.bpf_object__next_program(this.handle(), p)) {
      names.push(l.bpf_program__name(p) as string);
    }
    return names;
  }

  /**
   * Phase 2: set a global variable's initial value (a `const volatile` tunable
   * in .rodata, or .data/.bss). Numbers are written little-endian in the
   * variable's size.
   */
  setGlobal(name: string, value: Buffer | number | bigint | boolean): this {
    this.requirePhase('opened', `set ${name}`);
    const btf = this.btf();
    for (const sec of btf.datasecNames()) {
      const v = btf.datasec(sec)?.find((x) => x.name === name);
      if (!v) continue;
      const bytes = encodeScalar(name, value, v.size);
      const l = libbpf();
      // libbpf names internal maps "<object prefix>.rodata"
      let map: Ptr | null = null;
      for (let m = l.bpf_object__next_map(this.handle(), null); m; m = l.bpf_object__next_map(this.handle(), m)) {
        if ((l.bpf_map__name(m) as string).endsWith(sec)) map = m;
      }
      if (!map) throw new BpfError(`set ${name}: no internal map for ${sec}`, 2);
      const size = [0];
      const ptr = checkPtr(`bpf_map__initial_value ${sec}`, l.bpf_map__initial_value(map, size));
      const current = Buffer.from(koffi.view(ptr, size[0]!));
      bytes.copy(current, v.offset);
      check(`bpf_map__set_initial_value ${sec}`, l.bpf_map__set_initial_value(map, current, current.length) as number);
      return this;
    }
    throw new BpfError(`set ${name}: no such global in ${this.fileName}`, 2);
  }

  /** Phase 2: resize a map before it is created. */
  setMaxEntries(mapName: string, n: number): this {
    this.requirePhase('opened', `resize ${mapName}`);
    check(`bpf_map__set_max_entries ${mapName}`, libbpf().bpf_map__set_max_entries(this.mapPtr(mapName), n) as number);
    return this;
  }

  /** Phase 2: load (true) or skip (false) a program. */
  setAutoload(progName: string, load: boolean): this {
    this.requirePhase('opened', `autoload ${progName}`);
    check(`bpf_program__set_autoload ${progName}`, libbpf().bpf_program__set_autoload(this.progPtr(progName), load) as number);
    return this;
  }

  /**
   * Phase 2: pin these maps under `dir` (created if missing). A map already
   * pinned there is checked against the object's definition (type, key and
   * value size, max entries, flags) and reused by load(); any mismatch throws
   * PinMismatchError listing every difference, before anything is created.
   */
  pinMaps(dir: string, names: readonly string[]): PinPlan[] {
    this.requirePhase('opened', 'pin maps');
    const differences: string[] = [];
    const plans: PinPlan[] = [];
    for (const name of names) {
      const def = this.mapDef(name);
      const path = `${dir}/${name}`;
      let reused = false;
      if (existsSync(path)) {
        const pinned = BpfMap.fromPin(path);
        try {
          differences.push(...pinDifferences(def, mapInfo(pinned.fd)));
        } finally {
          pinned.close();
        }
        reused = true;
      }
      plans.push({ name, path, reused });
    }
    if (differences.length > 0) throw new PinMismatchError(dir, differences);
    makeDirs(dir, 0o700);
    for (const p of plans) {
      check(`bpf_map__set_pin_path ${p.path}`, libbpf().bpf_map__set_pin_path(this.mapPtr(p.name), p.path) as number);
    }
    this.pins.push(...plans);
    return plans;
  }

  /**
   * Phase 2: use an existing map (another object's, or one opened from a pin)
   * instead of creating this one. The definitions must match (checked here,
   * every difference listed); libbpf dups the fd, so the caller keeps its own.
   */
  reuseMap(name: string, map: BpfMap): this {
    this.requirePhase('opened', `reuse ${name}`);
    const differences = pinDifferences(this.mapDef(name), mapInfo(map.fd));
    if (differences.length > 0) throw new BpfError(`reuse ${name} (${differences.join('; ')})`, 22);
    check(`bpf_map__reuse_fd ${name}`, libbpf().bpf_map__reuse_fd(this.mapPtr(name), map.fd) as number);
    return this;
  }

  /** The pin plan of the last pinMaps() calls. */
  pinPlan(): readonly PinPlan[] {
    return this.pins;
  }

  /** Phase 3: create (or reuse pinned) maps and load the programs into the kernel. */
  load(): this {
    this.requirePhase('opened', 'bpf_object__load');
    const mark = logMark();
    const r = libbpf().bpf_object__load(this.handle()) as number;
    if (r < 0) {
      const lines = logSince(mark);
      log.error({ object: this.fileName, libbpf: lines.slice(-20) }, 'load failed');
      throw new BpfError(`bpf_object__load ${this.fileName}`, -r, lines);
    }
    this.phase = 'loaded';
    return this;
  }

  /** A loaded map; its fd belongs to the object (closed by close()). */
  map(name: string): BpfMap {
    this.requirePhase('loaded', `map ${name}`);
    let m = this.mapCache.get(name);
    if (!m) {
      const fd = check(`bpf_map__fd ${name}`, libbpf().bpf_map__fd(this.mapPtr(name)) as number);
      m = new BpfMap(fd, mapInfo(fd), false);
      this.mapCache.set(name, m);
    }
    return m;
  }

  /** A loaded program; its fd belongs to the object. */
  program(name: string): BpfProgram {
    this.requirePhase('loaded', `program ${name}`);
    const fd = check(`bpf_program__fd ${name}`, libbpf().bpf_program__fd(this.progPtr(name)) as number);
    return new BpfProgram(name, fd);
  }

  /**
   * Phase 4 for tracing programs: attach a loaded program where its SEC()
   * name says (`tracepoint/CATEGORY/NAME`, `kprobe/FN`, ...) through
   * bpf_program__attach. The link keeps the attachment, also after close();
   * destroy it to detach.
   */
  attach(progName: string): BpfLink {
    this.requirePhase('loaded', `attach ${progName}`);
    return new BpfLink(progName, checkPtr(`bpf_program__attach ${progName}`, libbpf().bpf_program__attach(this.progPtr(progName))));
  }

  /** Free the object, its program and map fds. Pins stay. Safe to call twice. */
  close(): void {
    if (this.phase === 'closed') return;
    this.phase = 'closed';
    for (const m of this.mapCache.values()) m.close();
    this.mapCache.clear();
    const obj = this.obj;
    this.obj = null;
    if (obj) libbpf().bpf_object__close(obj);
  }
}

function encodeScalar(name: string, value: Buffer | number | bigint | boolean, size: number): Buffer {
  if (Buffer.isBuffer(value)) {
    if (value.length !== size) throw new RangeError(`${name} is ${size} bytes, got ${value.length}`);
    return value;
  }
  const b = Buffer.alloc(size);
  const v = typeof value === 'boolean' ? (value ? 1n : 0n) : BigInt(value);
  if (size > 8) throw new RangeError(`${name} is ${size} bytes; pass a Buffer`);
  let x = BigInt.asUintN(size * 8, v);
  for (let i = 0; i < size; i++) {
    b[i] = Number(x & 0xffn);
    x >>= 8n;
  }
  return b;
}
