/**
 * Codec for `struct ps_conn_event` (bpf/include/pathsteer_types.h): one sampled
 * TCP connection at close, as conn_stats writes it to the ps_conn_events ring
 * buffer (DESIGN §2.4).
 */
import { ipv6String } from './altpath.js';
import { checkSource, target, type Codec, type FieldLayout } from './codec.js';

export const AF_INET = 2;
export const AF_INET6 = 10;

export interface ConnEvent {
  tsNs: bigint;
  bytesAcked: bigint;
  bytesReceived: bigint;
  durationUs: bigint;
  /** 2 (AF_INET) or 10 (AF_INET6). */
  family: number;
  /** Addresses as raw 16 bytes (IPv4: first 4). See connEventAddrs() for text. */
  saddr: Buffer;
  daddr: Buffer;
  srttUs: number;
  rttvarUs: number;
  rtoUs: number;
  totalRetrans: number;
  segsOut: number;
  segsIn: number;
  sport: number;
  dport: number;
  dscp: number;
}

const FIELDS: readonly FieldLayout[] = [
  { name: 'tsNs', c: 'ts_ns', offset: 0, size: 8 },
  { name: 'bytesAcked', c: 'bytes_acked', offset: 8, size: 8 },
  { name: 'bytesReceived', c: 'bytes_received', offset: 16, size: 8 },
  { name: 'durationUs', c: 'duration_us', offset: 24, size: 8 },
  { name: 'saddr', c: 'saddr', offset: 32, size: 16 },
  { name: 'daddr', c: 'daddr', offset: 48, size: 16 },
  { name: 'srttUs', c: 'srtt_us', offset: 64, size: 4 },
  { name: 'rttvarUs', c: 'rttvar_us', offset: 68, size: 4 },
  { name: 'rtoUs', c: 'rto_us', offset: 72, size: 4 },
  { name: 'totalRetrans', c: 'total_retrans', offset: 76, size: 4 },
  { name: 'segsOut', c: 'segs_out', offset: 80, size: 4 },
  { name: 'segsIn', c: 'segs_in', offset: 84, size: 4 },
  { name: 'sport', c: 'sport', offset: 88, size: 2 },
  { name: 'dport', c: 'dport', offset: 90, size: 2 },
  { name: 'family', c: 'family', offset: 92, size: 2 },
  { name: 'dscp', c: 'dscp', offset: 94, size: 1 },
  { name: 'pad', c: 'pad', offset: 95, size: 1 },
];

function addr16(b: Buffer | undefined): Buffer {
  const out = Buffer.alloc(16);
  if (b) b.copy(out, 0, 0, Math.min(16, b.length));
  return out;
}

export const ConnEventCodec: Codec<ConnEvent> = {
  cName: 'ps_conn_event',
  size: 96,
  fields: FIELDS,
  encode(v, buf, off = 0) {
    const b = target(96, buf, off);
    b.writeBigUInt64LE(BigInt.asUintN(64, v.tsNs), off);
    b.writeBigUInt64LE(BigInt.asUintN(64, v.bytesAcked), off + 8);
    b.writeBigUInt64LE(BigInt.asUintN(64, v.bytesReceived), off + 16);
    b.writeBigUInt64LE(BigInt.asUintN(64, v.durationUs), off + 24);
    addr16(v.saddr).copy(b, off + 32);
    addr16(v.daddr).copy(b, off + 48);
    b.writeUInt32LE(v.srttUs >>> 0, off + 64);
    b.writeUInt32LE(v.rttvarUs >>> 0, off + 68);
    b.writeUInt32LE(v.rtoUs >>> 0, off + 72);
    b.writeUInt32LE(v.totalRetrans >>> 0, off + 76);
    b.writeUInt32LE(v.segsOut >>> 0, off + 80);
    b.writeUInt32LE(v.segsIn >>> 0, off + 84);
    b.writeUInt16LE(v.sport, off + 88);
    b.writeUInt16LE(v.dport, off + 90);
    b.writeUInt16LE(v.family, off + 92);
    b.writeUInt8(v.dscp, off + 94);
    b.writeUInt8(0, off + 95);
    return b;
  },
  decode(buf, off = 0) {
    checkSource('ps_conn_event', 96, buf, off);
    return {
      tsNs: buf.readBigUInt64LE(off),
      bytesAcked: buf.readBigUInt64LE(off + 8),
      bytesReceived: buf.readBigUInt64LE(off + 16),
      durationUs: buf.readBigUInt64LE(off + 24),
      saddr: Buffer.from(buf.subarray(off + 32, off + 48)),
      daddr: Buffer.from(buf.subarray(off + 48, off + 64)),
      srttUs: buf.readUInt32LE(off + 64),
      rttvarUs: buf.readUInt32LE(off + 68),
      rtoUs: buf.readUInt32LE(off + 72),
      totalRetrans: buf.readUInt32LE(off + 76),
      segsOut: buf.readUInt32LE(off + 80),
      segsIn: buf.readUInt32LE(off + 84),
      sport: buf.readUInt16LE(off + 88),
      dport: buf.readUInt16LE(off + 90),
      family: buf.readUInt16LE(off + 92),
      dscp: buf.readUInt8(off + 94),
    };
  },
};

/** Addresses of an event as text (IPv4 dotted quad or IPv6). */
export function connEventAddrs(e: Pick<ConnEvent, 'family' | 'saddr' | 'daddr'>): { saddr: string; daddr: string } {
  const fmt = (b: Buffer): string => (e.family === AF_INET ? `${b[0]}.${b[1]}.${b[2]}.${b[3]}` : ipv6String(b));
  return { saddr: fmt(e.saddr), daddr: fmt(e.daddr) };
}
