/**
 * BMP message codecs (RFC 7854 §4): the per-peer header, Initiation,
 * Termination, Peer Up (with both OPEN messages), Peer Down, Route Monitoring
 * (a BGP UPDATE, decoded with the AS size the per-peer header's A flag says),
 * Statistics Report. Route Mirroring and unknown types decode to a stub the
 * collector counts and skips. `decode` takes one whole message as the framer
 * cut it; `encode`/`encodingLength` build messages (tests, the benchmark).
 */
import { formatIpv4, formatIpv6, ipv4Value, parseIpv4, parseIpv6 } from '../../common/net.js';
import { decodeOpen, encodeOpen, openEncodingLength, type BgpOpen, type OpenInput } from '../bgp/open.js';
import { checkHeader } from '../bgp/update.js';
import { decodeUpdate, encodeUpdate, updateEncodingLength, type BgpUpdate, type UpdateInput } from '../bgp/update.js';
import { BgpMessageType } from '../bgp/constants.js';
import {
  BMP_COMMON_HEADER_SIZE,
  BMP_MAX_MESSAGE_SIZE,
  BMP_PEER_UP_FIXED_SIZE,
  BMP_PER_PEER_HEADER_SIZE,
  BMP_STATS_COUNT_SIZE,
  BMP_TLV_HEADER_SIZE,
  BMP_VERSION,
  BmpType,
  InfoTlvType,
  PeerDownReason,
  PeerFlag,
  STAT_GAUGE_TYPES,
  TermTlvType,
} from './constants.js';
import { BmpError, bmpShort } from './errors.js';

export interface PerPeerHeader {
  /** RFC 7854 §4.2 peer type (0 global instance, 1 RD instance, 2 local instance, 3 Loc-RIB). */
  peerType: number;
  /** V, L, A, O flags (PeerFlag). */
  flags: number;
  /** Peer distinguisher, 16 hex digits. */
  distinguisher: string;
  /** Peer address (IPv4 when the V flag is clear). */
  address: string;
  asn: number;
  bgpId: string;
  timestampSec: number;
  timestampUsec: number;
}

export interface Tlv {
  type: number;
  value: Buffer;
}

export interface StatEntry {
  type: number;
  /** 32-bit counters and 64-bit gauges (as a number: exact below 2^53). */
  value: number;
}

export type BmpMessage =
  | { type: 'initiation'; tlvs: Tlv[]; sysName?: string; sysDescr?: string }
  | { type: 'termination'; tlvs: Tlv[]; reason?: number }
  | {
      type: 'peer-up';
      peer: PerPeerHeader;
      localAddress: string;
      localPort: number;
      remotePort: number;
      sentOpen: BgpOpen;
      receivedOpen: BgpOpen;
      information: Tlv[];
    }
  | { type: 'peer-down'; peer: PerPeerHeader; reason: number; data: Buffer }
  | { type: 'route-monitoring'; peer: PerPeerHeader; update: BgpUpdate }
  | { type: 'stats-report'; peer: PerPeerHeader; stats: StatEntry[] }
  | { type: 'route-mirroring'; peer: PerPeerHeader }
  | { type: 'unknown'; code: number };

export type BmpMessageType = BmpMessage['type'];

export interface BmpDecodeOptions {
  /** Keep BGP communities on routes. @default false */
  keepCommunities?: boolean;
  /**
   * Reuse the decoded per-peer header of the previous message when its bytes
   * (all but the timestamps) are the same: consecutive messages of a table
   * dump come from one peer, and the header's strings cost more than the
   * compare. The decoder keeps its state here; pass the same object per
   * session.
   */
  peerCache?: { bytes?: Buffer; header?: PerPeerHeader };
}

/** Bytes of the per-peer header before the timestamps (what identifies the peer). */
const PEER_ID_BYTES = 34;

function cachedPeerHeader(buf: Buffer, off: number, end: number, cache: NonNullable<BmpDecodeOptions['peerCache']>): PerPeerHeader {
  if (end - off >= BMP_PER_PEER_HEADER_SIZE && cache.bytes && cache.header && buf.compare(cache.bytes, 0, PEER_ID_BYTES, off, off + PEER_ID_BYTES) === 0) {
    const h = cache.header;
    h.timestampSec = buf.readUInt32BE(off + 34);
    h.timestampUsec = buf.readUInt32BE(off + 38);
    return h;
  }
  const h = decodePerPeerHeader(buf, off, end);
  cache.bytes = Buffer.from(buf.subarray(off, off + PEER_ID_BYTES));
  cache.header = h;
  return { ...h };
}

export const isPostPolicy = (p: PerPeerHeader): boolean => (p.flags & PeerFlag.L) !== 0;
export const isAdjRibOut = (p: PerPeerHeader): boolean => (p.flags & PeerFlag.O) !== 0;

/** The identity of a monitored peer within one BMP session: distinguisher and address (RFC 7854 §4.2). */
export function peerKey(p: Pick<PerPeerHeader, 'distinguisher' | 'address'>): string {
  return p.distinguisher === '0000000000000000' ? p.address : `${p.distinguisher}|${p.address}`;
}

// ---------------------------------------------------------------- decoding

/** 16-byte address field: IPv4 in the last 4 bytes unless `v6` (RFC 7854 §4.2). */
function readAddress(buf: Buffer, off: number, v6: boolean): string {
  return v6 ? formatIpv6(buf, off) : formatIpv4(buf.readUInt32BE(off + 12));
}

export function decodePerPeerHeader(buf: Buffer, off: number, end: number): PerPeerHeader {
  if (end - off < BMP_PER_PEER_HEADER_SIZE) throw bmpShort('BMP per-peer header', BMP_PER_PEER_HEADER_SIZE, end - off);
  const flags = buf[off + 1]!;
  return {
    peerType: buf[off]!,
    flags,
    distinguisher: buf.toString('hex', off + 2, off + 10),
    address: readAddress(buf, off + 10, (flags & PeerFlag.V) !== 0),
    asn: buf.readUInt32BE(off + 26),
    bgpId: formatIpv4(buf.readUInt32BE(off + 30)),
    timestampSec: buf.readUInt32BE(off + 34),
    timestampUsec: buf.readUInt32BE(off + 38),
  };
}

function decodeTlvs(buf: Buffer, off: number, end: number, what: string): Tlv[] {
  const out: Tlv[] = [];
  while (off < end) {
    if (end - off < BMP_TLV_HEADER_SIZE) throw bmpShort(`${what} TLV header`, BMP_TLV_HEADER_SIZE, end - off);
    const type = buf.readUInt16BE(off);
    const len = buf.readUInt16BE(off + 2);
    off += BMP_TLV_HEADER_SIZE;
    if (off + len > end) throw bmpShort(`${what} TLV ${type}`, len, end - off);
    out.push({ type, value: Buffer.from(buf.subarray(off, off + len)) });
    off += len;
  }
  return out;
}

/** Length of the BGP message at off (its header checked); throws BgpError. */
function bgpLength(buf: Buffer, off: number, end: number, type: number, what: string): number {
  const len = checkHeader(buf.subarray(0, end), off, type, what);
  return len;
}

/**
 * Decode one whole BMP message: buf[off, off + length). Throws BmpError (or
 * BgpError for a broken BGP PDU inside); the caller skips the message.
 */
export function decode(buf: Buffer, off = 0, opts: BmpDecodeOptions = {}): BmpMessage {
  if (buf.length - off < BMP_COMMON_HEADER_SIZE) throw bmpShort('BMP common header', BMP_COMMON_HEADER_SIZE, buf.length - off);
  const version = buf[off]!;
  if (version !== BMP_VERSION) throw new BmpError('BAD_VERSION', `BMP version ${version} is not ${BMP_VERSION}`);
  const len = buf.readUInt32BE(off + 1);
  if (len < BMP_COMMON_HEADER_SIZE) throw new BmpError('BAD_LENGTH', `BMP message length ${len} is below the ${BMP_COMMON_HEADER_SIZE}-byte header`);
  if (len > BMP_MAX_MESSAGE_SIZE) throw new BmpError('OVERSIZED', `BMP message length ${len} exceeds ${BMP_MAX_MESSAGE_SIZE}`);
  if (off + len > buf.length) throw bmpShort('BMP message', len, buf.length - off);
  const type = buf[off + 5]!;
  const end = off + len;
  let p = off + BMP_COMMON_HEADER_SIZE;
  switch (type) {
    case BmpType.INITIATION: {
      const tlvs = decodeTlvs(buf, p, end, 'Initiation');
      const text = (t: number): string | undefined => {
        const v = tlvs.find((x) => x.type === t);
        return v ? v.value.toString('utf8') : undefined;
      };
      return { type: 'initiation', tlvs, sysName: text(InfoTlvType.SYS_NAME), sysDescr: text(InfoTlvType.SYS_DESCR) };
    }
    case BmpType.TERMINATION: {
      const tlvs = decodeTlvs(buf, p, end, 'Termination');
      const r = tlvs.find((x) => x.type === TermTlvType.REASON && x.value.length === 2);
      return { type: 'termination', tlvs, reason: r ? r.value.readUInt16BE(0) : undefined };
    }
  }
  if (type > BmpType.ROUTE_MIRRORING) return { type: 'unknown', code: type };
  const peer = type === BmpType.ROUTE_MONITORING && opts.peerCache ? cachedPeerHeader(buf, p, end, opts.peerCache) : decodePerPeerHeader(buf, p, end);
  p += BMP_PER_PEER_HEADER_SIZE;
  switch (type) {
    case BmpType.ROUTE_MONITORING: {
      const n = bgpLength(buf, p, end, BgpMessageType.UPDATE, 'UPDATE in Route Monitoring');
      if (p + n !== end) throw new BmpError('BAD_LENGTH', `Route Monitoring: BGP UPDATE of ${n} bytes in ${end - p} bytes`);
      const update = decodeUpdate(buf.subarray(0, end), p, { asn4: (peer.flags & PeerFlag.A) === 0, keepCommunities: opts.keepCommunities });
      return { type: 'route-monitoring', peer, update };
    }
    case BmpType.STATISTICS_REPORT: {
      if (end - p < BMP_STATS_COUNT_SIZE) throw bmpShort('Statistics Report count', BMP_STATS_COUNT_SIZE, end - p);
      const count = buf.readUInt32BE(p);
      const tlvs = decodeTlvs(buf, p + BMP_STATS_COUNT_SIZE, end, 'Statistics Report');
      if (tlvs.length !== count) throw new BmpError('BAD_FIELD', `Statistics Report says ${count} entries, has ${tlvs.length}`);
      const stats: StatEntry[] = [];
      for (const t of tlvs) {
        if (t.value.length === 4) stats.push({ type: t.type, value: t.value.readUInt32BE(0) });
        else if (t.value.length === 8) stats.push({ type: t.type, value: Number(t.value.readBigUInt64BE(0)) });
        // other sizes (e.g. RFC 8671 per-AFI gauges of 11 bytes): kept out, not an error
      }
      return { type: 'stats-report', peer, stats };
    }
    case BmpType.PEER_DOWN: {
      if (end - p < 1) throw bmpShort('Peer Down reason', 1, 0);
      return { type: 'peer-down', peer, reason: buf[p]!, data: Buffer.from(buf.subarray(p + 1, end)) };
    }
    case BmpType.PEER_UP: {
      if (end - p < BMP_PEER_UP_FIXED_SIZE) throw bmpShort('Peer Up', BMP_PEER_UP_FIXED_SIZE, end - p);
      const localAddress = readAddress(buf, p, (peer.flags & PeerFlag.V) !== 0);
      const localPort = buf.readUInt16BE(p + 16);
      const remotePort = buf.readUInt16BE(p + 18);
      p += BMP_PEER_UP_FIXED_SIZE;
      const s = bgpLength(buf, p, end, BgpMessageType.OPEN, 'sent OPEN in Peer Up');
      const sentOpen = decodeOpen(buf.subarray(0, p + s), p);
      p += s;
      const r = bgpLength(buf, p, end, BgpMessageType.OPEN, 'received OPEN in Peer Up');
      const receivedOpen = decodeOpen(buf.subarray(0, p + r), p);
      p += r;
      const information = decodeTlvs(buf, p, end, 'Peer Up information');
      return { type: 'peer-up', peer, localAddress, localPort, remotePort, sentOpen, receivedOpen, information };
    }
    default:
      return { type: 'route-mirroring', peer };
  }
}

// ---------------------------------------------------------------- encoding

/** What encode takes: the decoded shapes, with OPEN/UPDATE inputs instead of decoded PDUs. */
export type BmpInput =
  | { type: 'initiation'; sysName?: string; sysDescr?: string; tlvs?: Tlv[] }
  | { type: 'termination'; reason?: number; tlvs?: Tlv[] }
  | {
      type: 'peer-up';
      peer: PeerInput;
      localAddress: string;
      localPort: number;
      remotePort: number;
      sentOpen: OpenInput;
      receivedOpen: OpenInput;
      information?: Tlv[];
    }
  | { type: 'peer-down'; peer: PeerInput; reason?: number; data?: Buffer }
  | { type: 'route-monitoring'; peer: PeerInput; update: UpdateInput }
  | { type: 'stats-report'; peer: PeerInput; stats: StatEntry[] }
  | { type: 'raw'; code: number; body: Buffer };

/** A per-peer header to encode; omitted fields are 0 (flags V set by itself for an IPv6 address). */
export interface PeerInput {
  address: string;
  asn: number;
  bgpId?: string;
  peerType?: number;
  flags?: number;
  distinguisher?: string;
  timestampSec?: number;
  timestampUsec?: number;
}

function infoTlvs(m: Extract<BmpInput, { type: 'initiation' }>): Tlv[] {
  const t: Tlv[] = [...(m.tlvs ?? [])];
  if (m.sysDescr !== undefined) t.push({ type: InfoTlvType.SYS_DESCR, value: Buffer.from(m.sysDescr) });
  if (m.sysName !== undefined) t.push({ type: InfoTlvType.SYS_NAME, value: Buffer.from(m.sysName) });
  return t;
}

function termTlvs(m: Extract<BmpInput, { type: 'termination' }>): Tlv[] {
  const t: Tlv[] = [...(m.tlvs ?? [])];
  if (m.reason !== undefined) {
    const v = Buffer.alloc(2);
    v.writeUInt16BE(m.reason, 0);
    t.push({ type: TermTlvType.REASON, value: v });
  }
  return t;
}

const tlvsLength = (t: readonly Tlv[]): number => t.reduce((s, x) => s + BMP_TLV_HEADER_SIZE + x.value.length, 0);

function peerFlags(p: PeerInput): number {
  return (p.flags ?? 0) | (ipv4Value(p.address) < 0 ? PeerFlag.V : 0);
}

/** Bytes `encode(m)` writes. */
export function encodingLength(m: BmpInput, asn4?: boolean): number {
  const H = BMP_COMMON_HEADER_SIZE;
  switch (m.type) {
    case 'initiation':
      return H + tlvsLength(infoTlvs(m));
    case 'termination':
      return H + tlvsLength(termTlvs(m));
    case 'peer-up':
      return H + BMP_PER_PEER_HEADER_SIZE + BMP_PEER_UP_FIXED_SIZE + openEncodingLength(m.sentOpen) + openEncodingLength(m.receivedOpen) + tlvsLength(m.information ?? []);
    case 'peer-down':
      return H + BMP_PER_PEER_HEADER_SIZE + 1 + (m.data?.length ?? 0);
    case 'route-monitoring':
      return H + BMP_PER_PEER_HEADER_SIZE + updateEncodingLength(m.update, { asn4: asn4 ?? (peerFlags(m.peer) & PeerFlag.A) === 0 });
    case 'stats-report':
      return H + BMP_PER_PEER_HEADER_SIZE + BMP_STATS_COUNT_SIZE + m.stats.reduce((s, x) => s + BMP_TLV_HEADER_SIZE + (STAT_GAUGE_TYPES.has(x.type) ? 8 : 4), 0);
    case 'raw':
      return H + m.body.length;
  }
}

function writeAddress(buf: Buffer, off: number, addr: string): void {
  buf.fill(0, off, off + 16);
  if (ipv4Value(addr) >= 0) buf.writeUInt32BE(parseIpv4(addr), off + 12);
  else parseIpv6(addr, buf, off);
}

function writePeer(buf: Buffer, off: number, p: PeerInput): number {
  buf[off] = p.peerType ?? 0;
  buf[off + 1] = peerFlags(p);
  buf.fill(0, off + 2, off + 10);
  if (p.distinguisher) buf.write(p.distinguisher.padStart(16, '0'), off + 2, 8, 'hex');
  writeAddress(buf, off + 10, p.address);
  buf.writeUInt32BE(p.asn >>> 0, off + 26);
  buf.writeUInt32BE(parseIpv4(p.bgpId ?? '0.0.0.0'), off + 30);
  buf.writeUInt32BE(p.timestampSec ?? 0, off + 34);
  buf.writeUInt32BE(p.timestampUsec ?? 0, off + 38);
  return off + BMP_PER_PEER_HEADER_SIZE;
}

function writeTlvs(buf: Buffer, off: number, tlvs: readonly Tlv[]): number {
  for (const t of tlvs) {
    buf.writeUInt16BE(t.type, off);
    buf.writeUInt16BE(t.value.length, off + 2);
    t.value.copy(buf, off + 4);
    off += BMP_TLV_HEADER_SIZE + t.value.length;
  }
  return off;
}

/** Encode one BMP message (into buf at off when given). */
export function encode(m: BmpInput, buf?: Buffer, off = 0): Buffer {
  const len = encodingLength(m);
  const out = buf ?? Buffer.alloc(off + len);
  out[off] = BMP_VERSION;
  out.writeUInt32BE(len, off + 1);
  const code =
    m.type === 'raw'
      ? m.code
      : {
          initiation: BmpType.INITIATION,
          termination: BmpType.TERMINATION,
          'peer-up': BmpType.PEER_UP,
          'peer-down': BmpType.PEER_DOWN,
          'route-monitoring': BmpType.ROUTE_MONITORING,
          'stats-report': BmpType.STATISTICS_REPORT,
        }[m.type];
  out[off + 5] = code;
  let p = off + BMP_COMMON_HEADER_SIZE;
  switch (m.type) {
    case 'initiation':
      writeTlvs(out, p, infoTlvs(m));
      break;
    case 'termination':
      writeTlvs(out, p, termTlvs(m));
      break;
    case 'peer-up':
      p = writePeer(out, p, m.peer);
      writeAddress(out, p, m.localAddress);
      out.writeUInt16BE(m.localPort, p + 16);
      out.writeUInt16BE(m.remotePort, p + 18);
      p += BMP_PEER_UP_FIXED_SIZE;
      encodeOpen(m.sentOpen, out, p);
      p += openEncodingLength(m.sentOpen);
      encodeOpen(m.receivedOpen, out, p);
      p += openEncodingLength(m.receivedOpen);
      writeTlvs(out, p, m.information ?? []);
      break;
    case 'peer-down':
      p = writePeer(out, p, m.peer);
      out[p] = m.reason ?? PeerDownReason.REMOTE_NO_NOTIFICATION;
      m.data?.copy(out, p + 1);
      break;
    case 'route-monitoring':
      p = writePeer(out, p, m.peer);
      encodeUpdate(m.update, { asn4: (peerFlags(m.peer) & PeerFlag.A) === 0 }, out, p);
      break;
    case 'stats-report':
      p = writePeer(out, p, m.peer);
      out.writeUInt32BE(m.stats.length, p);
      p += BMP_STATS_COUNT_SIZE;
      for (const s of m.stats) {
        const gauge = STAT_GAUGE_TYPES.has(s.type);
        out.writeUInt16BE(s.type, p);
        out.writeUInt16BE(gauge ? 8 : 4, p + 2);
        if (gauge) out.writeBigUInt64BE(BigInt(s.value), p + 4);
        else out.writeUInt32BE(s.value >>> 0, p + 4);
        p += BMP_TLV_HEADER_SIZE + (gauge ? 8 : 4);
      }
      break;
    case 'raw':
      m.body.copy(out, p);
      break;
  }
  return out;
}
