/**
 * Codec for `struct ps_conn_config` (bpf/include/pathsteer_types.h),
 * ps_conn_config[0]: which TCP connections conn_stats samples (DESIGN §2.4).
 */
import { checkSource, target, type Codec, type FieldLayout } from './codec.js';

export interface ConnConfig {
  /** N: sample 1 in N connections; 0 samples none. */
  sampleRate: number;
  /** M: connections AltPath marks are sampled M in N (Edge Fabric used 100). */
  markedMultiplier: number;
  /** Only sockets of the network namespace with this inode (of /proc/self/ns/net); 0 = every namespace. */
  netnsIno: number;
  /** Reserved, 0. */
  flags: number;
}

const FIELDS: readonly FieldLayout[] = [
  { name: 'sampleRate', c: 'sample_rate', offset: 0, size: 4 },
  { name: 'markedMultiplier', c: 'marked_multiplier', offset: 4, size: 4 },
  { name: 'netnsIno', c: 'netns_ino', offset: 8, size: 4 },
  { name: 'flags', c: 'flags', offset: 12, size: 4 },
];

export const ConnConfigCodec: Codec<ConnConfig> = {
  cName: 'ps_conn_config',
  size: 16,
  fields: FIELDS,
  encode(v, buf, off = 0) {
    const b = target(16, buf, off);
    b.writeUInt32LE(v.sampleRate >>> 0, off);
    b.writeUInt32LE(v.markedMultiplier >>> 0, off + 4);
    b.writeUInt32LE(v.netnsIno >>> 0, off + 8);
    b.writeUInt32LE(v.flags >>> 0, off + 12);
    return b;
  },
  decode(buf, off = 0) {
    checkSource('ps_conn_config', 16, buf, off);
    return {
      sampleRate: buf.readUInt32LE(off),
      markedMultiplier: buf.readUInt32LE(off + 4),
      netnsIno: buf.readUInt32LE(off + 8),
      flags: buf.readUInt32LE(off + 12),
    };
  },
};
