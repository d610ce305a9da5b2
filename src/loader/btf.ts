/**
 * A small reader of BTF (the kernel's BPF Type Format, Documentation/bpf/btf.rst)
 * from a compiled .bpf.o (its .BTF ELF section) or raw BTF such as
 * /sys/kernel/btf/vmlinux. Answers what pathsteer asks: struct layouts (the
 * codec layout test), enum values, DATASEC variables (const volatile globals
 * set before load) and whether a function exists (kernel kfuncs).
 */
import { readFileSync } from 'node:fs';

export const BtfKind = {
  INT: 1,
  PTR: 2,
  ARRAY: 3,
  STRUCT: 4,
  UNION: 5,
  ENUM: 6,
  FWD: 7,
  TYPEDEF: 8,
  VOLATILE: 9,
  CONST: 10,
  RESTRICT: 11,
  FUNC: 12,
  FUNC_PROTO: 13,
  VAR: 14,
  DATASEC: 15,
  FLOAT: 16,
  DECL_TAG: 17,
  TYPE_TAG: 18,
  ENUM64: 19,
} as const;

const BTF_MAGIC = 0xeb9f;

export interface BtfMember {
  name: string;
  /** Byte offset (bit offset / 8 for bitfields). */
  offset: number;
  /** Size in bytes (whole array for arrays); for bitfields, bits / 8 rounded up. */
  size: number;
  /** Bitfield width, when the member is a bitfield. */
  bits?: number;
  typeId: number;
}

export interface BtfStruct {
  name: string;
  size: number;
  members: BtfMember[];
}

export interface BtfVar {
  name: string;
  offset: number;
  size: number;
  typeId: number;
}

export interface BtfMapDef {
  type?: number;
  keySize?: number;
  valueSize?: number;
  maxEntries?: number;
  flags?: number;
}

interface RawType {
  nameOff: number;
  kind: number;
  vlen: number;
  kindFlag: boolean;
  /** size or type, depending on kind */
  sizeOrType: number;
  /** offset of the kind-specific data after the 12-byte header */
  extra: number;
}

/** Read the section named `name` of a 64-bit little-endian ELF file. */
export function elfSection(elf: Buffer, name: string): Buffer | undefined {
  if (elf.length < 64 || elf.readUInt32BE(0) !== 0x7f454c46) throw new Error('not an ELF file');
  if (elf[4] !== 2 || elf[5] !== 1) throw new Error('only 64-bit little-endian ELF is supported');
  const shoff = Number(elf.readBigUInt64LE(0x28));
  const shentsize = elf.readUInt16LE(0x3a);
  const shnum = elf.readUInt16LE(0x3c);
  const shstrndx = elf.readUInt16LE(0x3e);
  const sh = (i: number): { name: number; offset: number; size: number } => {
    const o = shoff + i * shentsize;
    return { name: elf.readUInt32LE(o), offset: Number(elf.readBigUInt64LE(o + 0x18)), size: Number(elf.readBigUInt64LE(o + 0x20)) };
  };
  const strtab = sh(shstrndx);
  for (let i = 0; i < shnum; i++) {
    const s = sh(i);
    const start = strtab.offset + s.name;
    const end = elf.indexOf(0, start);
    if (elf.toString('latin1', start, end) === name) return elf.subarray(s.offset, s.offset + s.size);
  }
  return undefined;
}

export class Btf {
  private readonly types: RawType[] = [];
  private readonly strOff: number;
  private readonly strEnd: number;

  constructor(private readonly raw: Buffer) {
    if (raw.length < 24 || raw.readUInt16LE(0) !== BTF_MAGIC) throw new Error('not BTF (bad magic)');
    const hdrLen = raw.readUInt32LE(4);
    const typeOff = raw.readUInt32LE(8);
    const typeLen = raw.readUInt32LE(12);
    this.strOff = hdrLen + raw.readUInt32LE(16);
    this.strEnd = this.strOff + raw.readUInt32LE(20);
    let p = hdrLen + typeOff;
    const end = p + typeLen;
    this.types.push({ nameOff: 0, kind: 0, vlen: 0, kindFlag: false, sizeOrType: 0, extra: 0 }); // id 0 = void
    while (p < end) {
      const info = raw.readUInt32LE(p + 4);
      const t: RawType = {
        nameOff: raw.readUInt32LE(p),
        vlen: info & 0xffff,
        kind: (info >>> 24) & 0x1f,
        kindFlag: info >>> 31 === 1,
        sizeOrType: raw.readUInt32LE(p + 8),
        extra: p + 12,
      };
      this.types.push(t);
      p += 12 + Btf.extraSize(t);
    }
  }

  /** BTF of a compiled BPF object file. */
  static fromObject(path: string): Btf {
    const sec = elfSection(readFileSync(path), '.BTF');
    if (!sec) throw new Error(`${path} has no .BTF section (build with clang -g)`);
    return new Btf(sec);
  }

  /** Raw BTF, e.g. /sys/kernel/btf/vmlinux. */
  static fromRaw(path: string): Btf {
    return new Btf(readFileSync(path));
  }

  private static extraSize(t: RawType): number {
    switch (t.kind) {
      case BtfKind.INT:
      case BtfKind.VAR:
      case BtfKind.DECL_TAG:
        return 4;
      case BtfKind.ARRAY:
        return 12;
      case BtfKind.STRUCT:
      case BtfKind.UNION:
        return 12 * t.vlen;
      case BtfKind.ENUM:
      case BtfKind.FUNC_PROTO:
        return 8 * t.vlen;
      case BtfKind.DATASEC:
      case BtfKind.ENUM64:
        return 12 * t.vlen;
      default:
        return 0;
    }
  }

  private str(off: number): string {
    const start = this.strOff + off;
    if (start >= this.strEnd) return '';
    return this.raw.toString('latin1', start, this.raw.indexOf(0, start));
  }

  get typeCount(): number {
    return this.types.length - 1;
  }

  /** ids of every type with this kind and name */
  find(kind: number, name: string): number[] {
    const ids: number[] = [];
    for (let id = 1; id < this.types.length; id++) {
      const t = this.types[id]!;
      if (t.kind === kind && this.str(t.nameOff) === name) ids.push(id);
    }
    return ids;
  }

  names(kind: number): string[] {
    const out: string[] = [];
    for (let id = 1; id < this.types.length; id++) {
      const t = this.types[id]!;
      if (t.kind === kind && t.nameOff) out.push(this.str(t.nameOff));
    }
    return out;
  }

  hasFunc(name: string): boolean {
    return this.find(BtfKind.FUNC, name).length > 0;
  }

  /** Size in bytes of a type, following typedefs and qualifiers. */
  sizeOf(id: number): number {
    for (let guard = 0; guard < 64; guard++) {
      const t = this.types[id];
      if (!t) throw new Error(`BTF type ${id} does not exist`);
      switch (t.kind) {
        case BtfKind.INT:
        case BtfKind.STRUCT:
        case BtfKind.UNION:
        case BtfKind.ENUM:
        case BtfKind.ENUM64:
        case BtfKind.DATASEC:
        case BtfKind.FLOAT:
          return t.sizeOrType;
        case BtfKind.PTR:
          return 8;
        case BtfKind.ARRAY: {
          const elem = this.raw.readUInt32LE(t.extra);
          const n = this.raw.readUInt32LE(t.extra + 8);
          return n * this.sizeOf(elem);
        }
        case BtfKind.TYPEDEF:
        case BtfKind.VOLATILE:
        case BtfKind.CONST:
        case BtfKind.RESTRICT:
        case BtfKind.TYPE_TAG:
        case BtfKind.VAR:
          id = t.sizeOrType;
          continue;
        default:
          throw new Error(`BTF type ${id} (kind ${t.kind}) has no size`);
      }
    }
    throw new Error(`BTF type ${id}: typedef chain too long`);
  }

  /** Layout of `struct name`, or undefined when the BTF has no such struct. */
  struct(name: string): BtfStruct | undefined {
    const id = this.find(BtfKind.STRUCT, name).find((i) => this.types[i]!.sizeOrType > 0 || this.types[i]!.vlen > 0);
    if (id === undefined) return undefined;
    const t = this.types[id]!;
    const members: BtfMember[] = [];
    for (let i = 0; i < t.vlen; i++) {
      const o = t.extra + 12 * i;
      const typeId = this.raw.readUInt32LE(o + 4);
      const off = this.raw.readUInt32LE(o + 8);
      const bitOffset = t.kindFlag ? off & 0xffffff : off;
      const bits = t.kindFlag ? off >>> 24 : 0;
      members.push({
        name: this.str(this.raw.readUInt32LE(o)),
        offset: Math.floor(bitOffset / 8),
        size: bits ? Math.ceil(bits / 8) : this.sizeOf(typeId),
        ...(bits ? { bits } : {}),
        typeId,
      });
    }
    return { name, size: t.sizeOrType, members };
  }

  /** Values of `enum name` (ENUM or ENUM64), or undefined. */
  enumValues(name: string): Map<string, bigint> | undefined {
    const id = this.find(BtfKind.ENUM, name)[0] ?? this.find(BtfKind.ENUM64, name)[0];
    if (id === undefined) return undefined;
    const t = this.types[id]!;
    const m = new Map<string, bigint>();
    for (let i = 0; i < t.vlen; i++) {
      if (t.kind === BtfKind.ENUM) {
        const o = t.extra + 8 * i;
        const v = t.kindFlag ? this.raw.readInt32LE(o + 4) : this.raw.readUInt32LE(o + 4);
        m.set(this.str(this.raw.readUInt32LE(o)), BigInt(v));
      } else {
        const o = t.extra + 12 * i;
        const v = (BigInt(this.raw.readUInt32LE(o + 8)) << 32n) | BigInt(this.raw.readUInt32LE(o + 4));
        m.set(this.str(this.raw.readUInt32LE(o)), v);
      }
    }
    return m;
  }

  /** Variables of a data section (`.rodata`, `.data`, `.bss`, `.maps`) with their offsets. */
  datasec(name: string): BtfVar[] | undefined {
    const id = this.find(BtfKind.DATASEC, name)[0];
    if (id === undefined) return undefined;
    const t = this.types[id]!;
    const vars: BtfVar[] = [];
    for (let i = 0; i < t.vlen; i++) {
      const o = t.extra + 12 * i;
      const varId = this.raw.readUInt32LE(o);
      const v = this.types[varId]!;
      vars.push({
        name: this.str(v.nameOff),
        offset: this.raw.readUInt32LE(o + 4),
        size: this.raw.readUInt32LE(o + 8),
        typeId: v.sizeOrType,
      });
    }
    return vars;
  }

  /** Follow typedefs and qualifiers to the type they name. */
  private resolve(id: number): number {
    for (let guard = 0; guard < 64; guard++) {
      const t = this.types[id];
      if (!t) return id;
      if (t.kind === BtfKind.TYPEDEF || t.kind === BtfKind.VOLATILE || t.kind === BtfKind.CONST || t.kind === BtfKind.RESTRICT || t.kind === BtfKind.TYPE_TAG) {
        id = t.sizeOrType;
      } else {
        return id;
      }
    }
    return id;
  }

  /**
   * A BTF-defined map (libbpf `SEC(".maps")` struct): `__uint(name, N)` members
   * are pointers to arrays of N elements, `__type(key, T)` pointers to T.
   */
  mapDef(name: string): BtfMapDef | undefined {
    const v = this.datasec('.maps')?.find((x) => x.name === name);
    if (!v) return undefined;
    const st = this.types[this.resolve(v.typeId)];
    if (!st || st.kind !== BtfKind.STRUCT) return undefined;
    const def: BtfMapDef = {};
    for (let i = 0; i < st.vlen; i++) {
      const o = st.extra + 12 * i;
      const member = this.str(this.raw.readUInt32LE(o));
      const ptr = this.types[this.resolve(this.raw.readUInt32LE(o + 4))];
      if (!ptr || ptr.kind !== BtfKind.PTR) continue;
      const targetId = this.resolve(ptr.sizeOrType);
      const target = this.types[targetId]!;
      if (member === 'key' || member === 'value') {
        def[member === 'key' ? 'keySize' : 'valueSize'] = this.sizeOf(targetId);
      } else if (target.kind === BtfKind.ARRAY) {
        const n = this.raw.readUInt32LE(target.extra + 8);
        if (member === 'type') def.type = n;
        else if (member === 'max_entries') def.maxEntries = n;
        else if (member === 'map_flags') def.flags = n;
        else if (member === 'key_size') def.keySize = n;
        else if (member === 'value_size') def.valueSize = n;
      }
    }
    return def;
  }

  /** Names of the data sections present. */
  datasecNames(): string[] {
    return this.names(BtfKind.DATASEC);
  }
}
