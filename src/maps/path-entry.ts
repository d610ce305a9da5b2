/**
 * Codec for `struct ps_path_entry` (bpf/include/pathsteer_types.h), the value of
 * the `ps_path` map: per peer VTEP, the candidate source-port window and which
 * ports are healthy / preferred, plus middlebox group masks.
 */
import { checkSource, target, type Codec, type FieldLayout } from './codec.js';

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
    b.writeBigUInt64LE(BigInt.asUintN(64, v.healthy), off + 8);
    b.writeBigUInt64LE(BigInt.asUintN(64, v.preferred), off + 16);
    for (let g = 0; g < PS_MAX_GROUPS; g++) {
      b.writeBigUInt64LE(BigInt.asUintN(64, v.groupMask[g] ?? 0n), off + 24 + 8 * g);
    }
    return b;
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
