/**
 * Codec for `struct ps_path_entry` (bpf/include/pathsteer_types.h), the value of
 * the `ps_path` map: per peer VTEP, the candidate source-port window and which
 * ports are healthy / preferred, plus middlebox group masks.
 */
import { checkSource, target, writeU64, type Codec, type FieldLayout } from './codec.js';

/** Middlebox groups apply: a flow keeps to the group `hash % ngroups`. */
export const PS_F_STATEFUL = 1 << 0;
/** Pin flows: a flow changes port only when its port turns unhealthy. */
export const PS_F_PIN = 1 << 1;
/** Use `preferred & healthy` when non-empty. */
export const PS_F_PREFER = 1 << 2;

export const PS_MAX_PORTS = 64;
export const PS_MAX_GROUPS = 8;

export interface PathEntry {
  /** First source port of the window. */
  basePort: number;
  /** Ports in the window, 1..64: port i is basePort + i, bit i in the bitmaps. */
  nports: number;
  /** PS_F_* bits. */
  flags: number;
  /** Middlebox groups in use (0..8). */
  ngroups: number;
  healthy: bigint;
  preferred: bigint;
  /** Always 8 masks; unused ones are 0n. */
  groupMask: bigint[];
}

const FIELDS: readonly FieldLayout[] = [
  { name: 'basePort', c: 'base_port', offset: 0, size: 2 },
  { name: 'nports', c: 'nports', offset: 2, size: 1 },
  { name: 'flags', c: 'flags', offset: 3, size: 1 },
  { name: 'ngroups', c: 'ngroups', offset: 4, size: 1 },
  { name: 'pad', c: 'pad', offset: 5, size: 3 },
  { name: 'healthy', c: 'healthy', offset: 8, size: 8 },
  { name: 'preferred', c: 'preferred', offset: 16, size: 8 },
  { name: 'groupMask', c: 'group_mask', offset: 24, size: 64 },
];

export const PathEntryCodec: Codec<PathEntry> = {
  cName: 'ps_path_entry',
  size: 88,
  fields: FIELDS,
  encode(v, buf, off = 0) {
    const b = target(88, buf, off);
    b.writeUInt16LE(v.basePort, off);
    b.writeUInt8(v.nports, off + 2);
    b.writeUInt8(v.flags, off + 3);
    b.writeUInt8(v.ngroups, off + 4);
    b.fill(0, off + 5, off + 8);
    writeU64(b, v.healthy, off + 8);
    writeU64(b, v.preferred, off + 16);
    for (let g = 0; g < PS_MAX_GROUPS; g++) writeU64(b, v.groupMask[g] ?? 0n, off + 24 + 8 * g);
    return b;
  },
  encodeMany(vs, buf, off = 0, stride = 88) {
    if (off < 0 || stride < 88 || off + (vs.length - 1) * stride + 88 > buf.length) {
      throw new RangeError(`ps_path_entry: ${vs.length} entries do not fit at offset ${off}, stride ${stride}`);
    }
    // one DataView for the whole table: its setBigUint64 is several times faster than Buffer's
    const dv = new DataView(buf.buffer, buf.byteOffset, buf.length);
    const u64 = (v: bigint, o: number): void => dv.setBigUint64(o, v === 0n ? 0n : BigInt.asUintN(64, v), true);
    for (let i = 0; i < vs.length; i++) {
      const v = vs[i]!;
      const o = off + i * stride;
      dv.setUint16(o, v.basePort, true);
      dv.setUint8(o + 2, v.nports);
      dv.setUint8(o + 3, v.flags);
      dv.setUint8(o + 4, v.ngroups);
      dv.setUint8(o + 5, 0);
      dv.setUint16(o + 6, 0, true);
      u64(v.healthy, o + 8);
      u64(v.preferred, o + 16);
      for (let g = 0; g < PS_MAX_GROUPS; g++) u64(v.groupMask[g] ?? 0n, o + 24 + 8 * g);
    }
  },
  decode(buf, off = 0) {
    checkSource('ps_path_entry', 88, buf, off);
    const groupMask: bigint[] = [];
    for (let g = 0; g < PS_MAX_GROUPS; g++) groupMask.push(buf.readBigUInt64LE(off + 24 + 8 * g));
    return {
      basePort: buf.readUInt16LE(off),
      nports: buf.readUInt8(off + 2),
      flags: buf.readUInt8(off + 3),
      ngroups: buf.readUInt8(off + 4),
      healthy: buf.readBigUInt64LE(off + 8),
      preferred: buf.readBigUInt64LE(off + 16),
      groupMask,
    };
  },
};

/** Text form of PS_F_* flags, e.g. `pin,prefer` (`-` for none). */
export function flagNames(flags: number): string {
  const f: string[] = [];
  if (flags & PS_F_STATEFUL) f.push('stateful');
  if (flags & PS_F_PIN) f.push('pin');
  if (flags & PS_F_PREFER) f.push('prefer');
  return f.join(',') || '-';
}

/** A path entry with every optional part defaulted (no groups, no preference). */
export function pathEntry(p: Partial<PathEntry> & Pick<PathEntry, 'basePort' | 'nports' | 'healthy'>): PathEntry {
  const groupMask = [...(p.groupMask ?? [])];
  while (groupMask.length < PS_MAX_GROUPS) groupMask.push(0n);
  return { flags: 0, ngroups: 0, preferred: 0n, ...p, groupMask };
}
