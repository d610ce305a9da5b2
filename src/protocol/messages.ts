/**
 * Codecs of every pathsteer packet (DESIGN §3): the 28-byte common header,
 * negotiation and telemetry packets (header + reflect data) and table updates
 * (header + a batch of 16-byte records ending with an end flag).
 *
 * Shape follows dns-packet: `encode(msg, buf?, off?)`, `decode(buf, off?, len?)`,
 * `encodingLength(msg)`. A packet is exactly `len` bytes (a UDP payload): the
 * data length field must equal it. Only typed ProtocolErrors are thrown.
 */
import {
  BadMagicError,
  BadTypeError,
  BadVersionError,
  BufferTooSmallError,
  InvalidFieldError,
  LengthMismatchError,
  OversizedPacketError,
  ShortPacketError,
} from './errors.js';
import {
  CTL_MASK,
  isMsgType,
  MsgType,
  OFF,
  PS_HEADER_SIZE,
  PS_MAGIC,
  PS_MAX_PACKET_SIZE,
  PS_MAX_REFLECT_SIZE,
  PS_MAX_TABLE_UPDATE_RECORDS,
  PS_MAX_WINDOW_PORTS,
  PS_SUPPORTED_VERSIONS,
  PS_TABLE_UPDATE_RECORD_SIZE,
  PS_VERSION,
  REC_OFF,
  TU_F_END,
  TU_F_ENTRY_MASK,
  TU_F_KNOWN,
} from './constants.js';

/** The common header. Numbers are host values; the codec converts byte order. */
export interface Header {
  type: MsgType;
  version: number;
  /** Negotiation: bitmask of supported modes; telemetry: the current mode (Mode.*). */
  mode: number;
  /** Ctl.* bits. */
  ctl: number;
  flags: number;
  /** The outer UDP source port this packet must carry (vxlan_sport stamps it). */
  txSport: number;
  /** Sequence id (u32). */
  seq: number;
  /** Source VTEP IPv4 as a u32 (`ipv4ToU32('198.18.0.1')`). */
  srcVtep: number;
  /** Responder's backend id: its MAC or a configured 48-bit id (`macToBackendId`). */
  backendId: number;
  /**
   * The 16-bit word at offset 26 (DESIGN §3 "reserved"). Requests with
   * `Flag.REPLY_PORT` carry the outer source port the response must use; on a
   * receiving host, probe_steer stores the ingress TTL of responses here
   * (`ingressTtl`). 0 otherwise. @default 0
   */
  aux: number;
}

export interface NegotiationMessage extends Header {
  type: typeof MsgType.NEGOTIATION_REQUEST | typeof MsgType.NEGOTIATION_RESPONSE;
  /** Opaque to the responder, echoed verbatim. */
  reflect: Uint8Array;
}

export interface TelemetryMessage extends Header {
  type: typeof MsgType.TELEMETRY_REQUEST | typeof MsgType.TELEMETRY_RESPONSE;
  /** Opaque to the responder, echoed verbatim (host agents: HostReflect). */
  reflect: Uint8Array;
}

/** One path-table update: the healthy-port bitmap of one peer. */
export interface TableUpdateRecord {
  /** Peer VTEP IPv4 as a u32. */
  peer: number;
  /** First source port of the window. */
  base: number;
  /** Ports in the window, 1..64. */
  nports: number;
  /** The path entry's PS_F_* flags (bits 0..2). The end flag is framing and never appears here. */
  flags: number;
  /** Bit i = port base+i is available; no bits at or above nports. */
  bitmap: bigint;
}

export interface TableUpdateMessage extends Header {
  type: typeof MsgType.TABLE_UPDATE;
  /** 1..PS_MAX_TABLE_UPDATE_RECORDS records; the encoder sets the end flag on the last. */
  records: TableUpdateRecord[];
}

export type Message = NegotiationMessage | TelemetryMessage | TableUpdateMessage;

export interface DecodeOptions {
  /** Versions to accept. @default PS_SUPPORTED_VERSIONS */
  versions?: readonly number[];
}

// ---------------------------------------------------------------------------
// input checks (never let a RangeError/TypeError out)

function asBuffer(buf: unknown): Buffer {
  if (Buffer.isBuffer(buf)) return buf;
  if (buf instanceof Uint8Array) return Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  throw new InvalidFieldError('buffer', 'expected a Buffer or Uint8Array');
}

/** The [off, off+len) view a decoder works on, checked. */
function view(buf: unknown, off: number, len: number | undefined): { b: Buffer; off: number; len: number } {
  const b = asBuffer(buf);
  if (!Number.isInteger(off) || off < 0 || off > b.length) {
    throw new InvalidFieldError('offset', `${off} is not an offset into a buffer of ${b.length} bytes`);
  }
  const n = len ?? b.length - off;
  if (!Number.isInteger(n) || n < 0) throw new InvalidFieldError('length', `${n} is not a length`);
  if (off + n > b.length) throw new ShortPacketError(n, b.length - off, 'buffer');
  return { b, off, len: n };
}

function checkUint(field: string, v: unknown, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > max) {
    throw new InvalidFieldError(field, `${String(v)} is not an integer in 0..${max}`);
  }
  return v;
}

const U48_MAX = 2 ** 48 - 1;

function versionsOf(opts: DecodeOptions | undefined): readonly number[] {
  const v = opts?.versions;
  if (v === undefined) return PS_SUPPORTED_VERSIONS;
  if (!Array.isArray(v)) throw new InvalidFieldError('versions', 'expected an array of version numbers');
  return v;
}

/** WINDOW_MAX[n]: the largest bitmap of an n-port window (2^n - 1). */
const WINDOW_MAX: readonly bigint[] = Array.from({ length: PS_MAX_WINDOW_PORTS + 1 }, (_, n) => (1n << BigInt(n)) - 1n);

// ---------------------------------------------------------------------------
// header

/**
 * Check the header of the packet in buf[off, off+len) and return its type and
 * data length. Order of checks: short, magic, version, type, oversized, length.
 */
export function checkHeader(
  buf: Uint8Array,
  off = 0,
  len?: number,
  opts: DecodeOptions = {},
): { type: MsgType; dataLength: number } {
  const w = view(buf, off, len);
  return checkHeaderAt(w.b, w.off, w.len, versionsOf(opts));
}

function checkHeaderAt(b: Buffer, off: number, len: number, versions: readonly number[]): { type: MsgType; dataLength: number } {
  if (len < PS_HEADER_SIZE) {
    // a short buffer that is not even ours says so first
    if (len >= 3) {
      const magic = b.readUIntBE(off, 3);
      if (magic !== PS_MAGIC) throw new BadMagicError(magic);
    }
    throw new ShortPacketError(PS_HEADER_SIZE, len);
  }
  const magic = b.readUIntBE(off + OFF.magic, 3);
  if (magic !== PS_MAGIC) throw new BadMagicError(magic);
  const type = b[off + OFF.type]!;
  const version = b[off + OFF.version]!;
  if (!versions.includes(version)) throw new BadVersionError(version, versions, type);
  if (!isMsgType(type)) throw new BadTypeError(type);
  if (len > PS_MAX_PACKET_SIZE) throw new OversizedPacketError(len, PS_MAX_PACKET_SIZE);
  const dataLength = b.readUInt16BE(off + OFF.dataLength);
  if (dataLength > PS_MAX_PACKET_SIZE) throw new OversizedPacketError(dataLength, PS_MAX_PACKET_SIZE, 'data length');
  if (dataLength < PS_HEADER_SIZE) {
    throw new LengthMismatchError(`data length ${dataLength} is shorter than the ${PS_HEADER_SIZE}-byte header`);
  }
  if (dataLength > len) throw new ShortPacketError(dataLength, len);
  if (dataLength < len) throw new LengthMismatchError(`data length ${dataLength} but the packet has ${len} bytes`);
  const ctl = b[off + OFF.ctl]!;
  if (ctl & ~CTL_MASK) throw new InvalidFieldError('ctl', `unknown CTL bits 0x${ctl.toString(16)}`);
  return { type, dataLength };
}

function readHeader(b: Buffer, off: number): Header {
  return {
    type: b[off + OFF.type]! as MsgType,
    version: b[off + OFF.version]!,
    mode: b[off + OFF.mode]!,
    ctl: b[off + OFF.ctl]!,
    flags: b[off + OFF.flags]!,
    txSport: b.readUInt16BE(off + OFF.txSport),
    seq: b.readUInt32BE(off + OFF.seq),
    srcVtep: b.readUInt32BE(off + OFF.srcVtep),
    backendId: b.readUIntBE(off + OFF.backendId, 6),
    aux: b.readUInt16BE(off + OFF.reserved),
  };
}

/** Decode only the header (after checking the whole packet's framing). */
export function decodeHeader(buf: Uint8Array, off = 0, len?: number, opts: DecodeOptions = {}): Header {
  const w = view(buf, off, len);
  checkHeaderAt(w.b, w.off, w.len, versionsOf(opts));
  return readHeader(w.b, w.off);
}

function validateHeaderFields(h: Header): void {
  if (typeof h !== 'object' || h === null) throw new InvalidFieldError('message', 'expected an object');
  if (!isMsgType(h.type as number)) throw new BadTypeError(typeof h.type === 'number' ? h.type : -1);
  checkUint('version', h.version, 0xff);
  checkUint('mode', h.mode, 0xff);
  checkUint('ctl', h.ctl, 0xff);
  if (h.ctl & ~CTL_MASK) throw new InvalidFieldError('ctl', `unknown CTL bits 0x${h.ctl.toString(16)}`);
  checkUint('flags', h.flags, 0xff);
  checkUint('txSport', h.txSport, 0xffff);
  checkUint('seq', h.seq, 0xffff_ffff);
  checkUint('srcVtep', h.srcVtep, 0xffff_ffff);
  checkUint('backendId', h.backendId, U48_MAX);
  if (h.aux !== undefined) checkUint('aux', h.aux, 0xffff);
}

function writeHeader(h: Header, b: Buffer, off: number, dataLength: number): void {
  b.writeUIntBE(PS_MAGIC, off + OFF.magic, 3);
  b[off + OFF.type] = h.type;
  b[off + OFF.version] = h.version;
  b[off + OFF.mode] = h.mode;
  b[off + OFF.ctl] = h.ctl;
  b[off + OFF.flags] = h.flags;
  b.writeUInt16BE(dataLength, off + OFF.dataLength);
  b.writeUInt16BE(h.txSport, off + OFF.txSport);
  b.writeUInt32BE(h.seq, off + OFF.seq);
  b.writeUInt32BE(h.srcVtep, off + OFF.srcVtep);
  b.writeUIntBE(h.backendId, off + OFF.backendId, 6);
  b.writeUInt16BE(h.aux ?? 0, off + OFF.reserved);
}

/** The buffer to encode into: a new one, or `buf` checked for room at `off`. */
function target(need: number, buf: Uint8Array | undefined, off: number): Buffer {
  if (buf === undefined) {
    if (off !== 0) throw new InvalidFieldError('offset', 'an offset needs a target buffer');
    return Buffer.alloc(need);
  }
  const b = asBuffer(buf);
  if (!Number.isInteger(off) || off < 0 || off + need > b.length) throw new BufferTooSmallError(need, off, b.length);
  return b;
}

// ---------------------------------------------------------------------------
// negotiation and telemetry: header + reflect data

function reflectOf(m: NegotiationMessage | TelemetryMessage): Uint8Array {
  const r = m.reflect ?? new Uint8Array(0);
  if (!(r instanceof Uint8Array)) throw new InvalidFieldError('reflect', 'expected a Buffer or Uint8Array');
  if (r.length > PS_MAX_REFLECT_SIZE) {
    throw new OversizedPacketError(PS_HEADER_SIZE + r.length, PS_MAX_PACKET_SIZE);
  }
  return r;
}

function encodeReflecting(m: NegotiationMessage | TelemetryMessage, buf: Uint8Array | undefined, off: number): Buffer {
  validateHeaderFields(m);
  const r = reflectOf(m);
  const n = PS_HEADER_SIZE + r.length;
  const b = target(n, buf, off);
  writeHeader(m, b, off, n);
  b.set(r, off + PS_HEADER_SIZE);
  return b;
}

// ---------------------------------------------------------------------------
// table update records

/** Why the record at `at` (raw flags, END included) is malformed; thrown as InvalidFieldError. */
function badRecord(b: Buffer, at: number, i: number, last: boolean): InvalidFieldError {
  const nports = b[at + REC_OFF.nports]!;
  if (nports < 1 || nports > PS_MAX_WINDOW_PORTS) {
    return new InvalidFieldError(`records[${i}].nports`, `${nports} is not in 1..${PS_MAX_WINDOW_PORTS}`);
  }
  const flags = b[at + REC_OFF.flags]!;
  if (flags & ~TU_F_KNOWN) return new InvalidFieldError(`records[${i}].flags`, `unknown flag bits 0x${flags.toString(16)}`);
  const end = (flags & TU_F_END) !== 0;
  if (end && !last) return new InvalidFieldError(`records[${i}].flags`, 'end flag before the last record');
  if (!end && last) return new InvalidFieldError(`records[${i}].flags`, 'last record lacks the end flag');
  return new InvalidFieldError(`records[${i}].bitmap`, `bits set at or above nports ${nports}`);
}

// Record layout as plain numbers for the per-record loops (equal to REC_OFF / TU_F_* / PS_MAX_WINDOW_PORTS).
// (V8 shares hidden classes between object literals with the same keys, so REC_OFF.peer can end up a double
// when any {peer, base, ...} object held a peer above 2^31; offsets computed from it would be doubles too.)
const R_PEER = 0;
const R_BASE = 4;
const R_NPORTS = 6;
const R_FLAGS = 7;
const R_BITMAP = 8;
const F_END = 0x80;
const F_UNKNOWN = 0x78; // ~TU_F_KNOWN & 0xff
const MAX_PORTS = 64;
if (R_PEER !== REC_OFF.peer || R_BASE !== REC_OFF.base || R_NPORTS !== REC_OFF.nports || R_FLAGS !== REC_OFF.flags || R_BITMAP !== REC_OFF.bitmap || F_END !== TU_F_END || F_UNKNOWN !== (~TU_F_KNOWN & 0xff) || MAX_PORTS !== PS_MAX_WINDOW_PORTS) {
  throw new Error('protocol: record layout constants disagree');
}

/**
 * True when the record at `at` is well formed: nports in 1..64, known flag bits
 * only, the end flag exactly on the last record, no bitmap bit at or above
 * nports (the two 32-bit halves compared: no BigInt on this per-record path).
 */
function recordOk(b: Buffer, at: number, last: boolean): boolean {
  const nports = b[at + R_NPORTS]!;
  const flags = b[at + R_FLAGS]!;
  if (nports < 1 || nports > MAX_PORTS || (flags & F_UNKNOWN) !== 0 || ((flags & F_END) !== 0) !== last) return false;
  if (nports === MAX_PORTS) return true;
  const o = at + R_BITMAP;
  const hi = (b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!;
  if (nports >= 32) return hi >>> (nports - 32) === 0;
  const lo = (b[o + 4]! << 24) | (b[o + 5]! << 16) | (b[o + 6]! << 8) | b[o + 7]!;
  return hi === 0 && lo >>> nports === 0;
}

/**
 * Validate a whole table-update packet without allocating and return its record
 * count. The gateway checks a packet with this before applying any record, so a
 * malformed packet changes nothing.
 */
export function validateTableUpdate(buf: Uint8Array, off = 0, len?: number, opts: DecodeOptions = {}): number {
  const w = view(buf, off, len);
  const { type, dataLength } = checkHeaderAt(w.b, w.off, w.len, versionsOf(opts));
  if (type !== MsgType.TABLE_UPDATE) throw new BadTypeError(type);
  return checkRecords(w.b, w.off, dataLength);
}

function checkRecords(b: Buffer, off: number, dataLength: number): number {
  const body = dataLength - PS_HEADER_SIZE;
  if (body % PS_TABLE_UPDATE_RECORD_SIZE !== 0) {
    throw new LengthMismatchError(`table update body of ${body} bytes is not a whole number of ${PS_TABLE_UPDATE_RECORD_SIZE}-byte records`);
  }
  const n = body / PS_TABLE_UPDATE_RECORD_SIZE;
  if (n === 0) throw new InvalidFieldError('records', 'a table update carries at least one record');
  if (n > PS_MAX_TABLE_UPDATE_RECORDS) throw new OversizedPacketError(n, PS_MAX_TABLE_UPDATE_RECORDS, 'record batch');
  for (let i = 0, at = off + PS_HEADER_SIZE; i < n; i++, at += PS_TABLE_UPDATE_RECORD_SIZE) {
    if (!recordOk(b, at, i === n - 1)) throw badRecord(b, at, i, i === n - 1);
  }
  return n;
}

/** A record as it is on the wire, END flag included (the gateway's per-pass parse). */
export interface RawTableUpdateRecord extends TableUpdateRecord {
  end: boolean;
}

/**
 * Read the record at `at` without checks beyond bounds: for a caller that has
 * validated the packet (validateTableUpdate) and walks it one record per pass.
 */
export function readTableUpdateRecord(buf: Uint8Array, at: number): RawTableUpdateRecord {
  const b = asBuffer(buf);
  if (!Number.isInteger(at) || at < 0 || at + PS_TABLE_UPDATE_RECORD_SIZE > b.length) {
    throw new ShortPacketError(PS_TABLE_UPDATE_RECORD_SIZE, Math.max(0, b.length - (at | 0)), 'table update record');
  }
  const flags = b[at + REC_OFF.flags]!;
  return {
    peer: b.readUInt32BE(at + REC_OFF.peer),
    base: b.readUInt16BE(at + REC_OFF.base),
    nports: b[at + REC_OFF.nports]!,
    flags: flags & TU_F_ENTRY_MASK,
    bitmap: b.readBigUInt64BE(at + REC_OFF.bitmap),
    end: (flags & TU_F_END) !== 0,
  };
}

/** Fast integer range checks for the per-record path (`>>> 0` and masks keep to integers). */
const isU32 = (v: unknown): boolean => typeof v === 'number' && v >>> 0 === v;
const isUpTo = (v: unknown, mask: number): boolean => typeof v === 'number' && (v & mask) === v;

/** Check a record to encode; field names are only formatted on failure (this runs per record). */
function validateRecord(r: TableUpdateRecord, i: number): void {
  if (typeof r !== 'object' || r === null) throw new InvalidFieldError(`records[${i}]`, 'expected an object');
  if (!isU32(r.peer)) checkUint(`records[${i}].peer`, r.peer, 0xffff_ffff);
  if (!isUpTo(r.base, 0xffff)) checkUint(`records[${i}].base`, r.base, 0xffff);
  const nports = r.nports;
  if (!isUpTo(nports, 0x7f) || nports < 1 || nports > PS_MAX_WINDOW_PORTS) {
    throw new InvalidFieldError(`records[${i}].nports`, `${String(nports)} is not in 1..${PS_MAX_WINDOW_PORTS}`);
  }
  if (!isUpTo(r.flags, TU_F_ENTRY_MASK)) checkUint(`records[${i}].flags`, r.flags, TU_F_ENTRY_MASK);
  const bm = r.bitmap;
  if (typeof bm !== 'bigint' || bm < 0n) throw new InvalidFieldError(`records[${i}].bitmap`, 'expected a bigint in 0..2^64-1');
  // within the window <=> at most 2^nports - 1 (a comparison: no BigInt allocation)
  if (bm > WINDOW_MAX[nports]!) throw new InvalidFieldError(`records[${i}].bitmap`, `bits set at or above nports ${nports}`);
}

function recordsOf(m: TableUpdateMessage): TableUpdateRecord[] {
  const recs = m.records;
  if (!Array.isArray(recs)) throw new InvalidFieldError('records', 'expected an array');
  if (recs.length === 0) throw new InvalidFieldError('records', 'a table update carries at least one record');
  if (recs.length > PS_MAX_TABLE_UPDATE_RECORDS) {
    throw new OversizedPacketError(recs.length, PS_MAX_TABLE_UPDATE_RECORDS, 'record batch');
  }
  return recs;
}

function encodeTableUpdateInto(m: TableUpdateMessage, buf: Uint8Array | undefined, off: number): Buffer {
  validateHeaderFields(m);
  const recs = recordsOf(m);
  return encodeRecordsInto(m, recs, 0, recs.length, buf, off, true);
}

/**
 * Header `h` and records[start, start + count) as one table-update message at
 * buf[off..] (an error names records[start + i]). With `checkFirst` every
 * record is checked before anything is written; without, each as it is
 * written (one pass over the records; a bad one leaves a partial message).
 */
function encodeRecordsInto(h: Header, recs: readonly TableUpdateRecord[], start: number, count: number, buf: Uint8Array | undefined, off: number, checkFirst: boolean): Buffer {
  const end = start + count;
  if (checkFirst) for (let k = start; k < end; k++) validateRecord(recs[k]!, k);
  const n = PS_HEADER_SIZE + count * PS_TABLE_UPDATE_RECORD_SIZE;
  const b = target(n, buf, off);
  writeHeader(h, b, off, n);
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  let at = off + PS_HEADER_SIZE;
  for (let k = start; k < end; k++, at += PS_TABLE_UPDATE_RECORD_SIZE) {
    const r = recs[k]!;
    if (!checkFirst) validateRecord(r, k);
    // byte stores (a Uint8Array store keeps the low 8 bits): faster than DataView calls for these fields
    const peer = r.peer;
    b[at + R_PEER] = peer >>> 24;
    b[at + R_PEER + 1] = peer >>> 16;
    b[at + R_PEER + 2] = peer >>> 8;
    b[at + R_PEER + 3] = peer;
    b[at + R_BASE] = r.base >>> 8;
    b[at + R_BASE + 1] = r.base;
    b[at + R_NPORTS] = r.nports;
    b[at + R_FLAGS] = r.flags;
    dv.setBigUint64(at + R_BITMAP, r.bitmap);
  }
  b[at - PS_TABLE_UPDATE_RECORD_SIZE + R_FLAGS]! |= F_END;
  return b;
}

/** Header fields of a table-update message (everything but type and records). */
export type TableUpdateHeader = Omit<TableUpdateMessage, 'type' | 'records'>;

/**
 * records[start, start + count) as one table-update message with header `h`
 * (defaults as in tableUpdate(); the end flag on the last record) at
 * buf[off..]; returns the bytes written,
 * PS_HEADER_SIZE + 16 x count. The same bytes and checks as
 * `encode(tableUpdate(records.slice(start, start + count), h))`, without
 * building message objects or slicing: the bulk path of a sender with many
 * records (gateway-sim's PacketChannel): one pass over the records, so a bad
 * record throws with the message partly written.
 */
export function encodeTableUpdateRecords(
  h: Partial<TableUpdateHeader>,
  records: readonly TableUpdateRecord[],
  start: number,
  count: number,
  buf: Uint8Array,
  off = 0,
): number {
  if (typeof h !== 'object' || h === null) throw new InvalidFieldError('message', 'expected an object');
  // one object shape for every call (a spread of the defaults makes a new shape each time, slow to read)
  const d = HEADER_DEFAULTS;
  const m: Header = {
    type: MsgType.TABLE_UPDATE,
    version: h.version ?? d.version,
    mode: h.mode ?? d.mode,
    ctl: h.ctl ?? d.ctl,
    flags: h.flags ?? d.flags,
    txSport: h.txSport ?? d.txSport,
    seq: h.seq ?? d.seq,
    srcVtep: h.srcVtep ?? d.srcVtep,
    backendId: h.backendId ?? d.backendId,
    aux: h.aux ?? d.aux,
  };
  validateHeaderFields(m);
  if (!Array.isArray(records)) throw new InvalidFieldError('records', 'expected an array');
  if (!Number.isInteger(start) || !Number.isInteger(count) || start < 0 || start + count > records.length) {
    throw new InvalidFieldError('records', `range [${start}, ${start + count}) outside the ${records.length} records`);
  }
  if (count === 0) throw new InvalidFieldError('records', 'a table update carries at least one record');
  if (count > PS_MAX_TABLE_UPDATE_RECORDS) throw new OversizedPacketError(count, PS_MAX_TABLE_UPDATE_RECORDS, 'record batch');
  if (!(buf instanceof Uint8Array)) throw new InvalidFieldError('buffer', 'expected a Buffer or Uint8Array to encode into');
  encodeRecordsInto(m, records, start, count, buf, off, false);
  return PS_HEADER_SIZE + count * PS_TABLE_UPDATE_RECORD_SIZE;
}

// ---------------------------------------------------------------------------
// the generic codec

/** Bytes `encode(msg)` writes. */
export function encodingLength(m: Message): number {
  if (typeof m !== 'object' || m === null) throw new InvalidFieldError('message', 'expected an object');
  switch (m.type) {
    case MsgType.NEGOTIATION_REQUEST:
    case MsgType.NEGOTIATION_RESPONSE:
    case MsgType.TELEMETRY_REQUEST:
    case MsgType.TELEMETRY_RESPONSE:
      return PS_HEADER_SIZE + reflectOf(m).length;
    case MsgType.TABLE_UPDATE:
      return PS_HEADER_SIZE + recordsOf(m).length * PS_TABLE_UPDATE_RECORD_SIZE;
    default:
      throw new BadTypeError(typeof (m as Header).type === 'number' ? (m as Header).type : -1);
  }
}

/** Encode `m` into `buf` at `off` (returns `buf`), or into a new Buffer. */
export function encode(m: Message, buf?: Uint8Array, off = 0): Buffer {
  if (typeof m !== 'object' || m === null) throw new InvalidFieldError('message', 'expected an object');
  switch (m.type) {
    case MsgType.NEGOTIATION_REQUEST:
    case MsgType.NEGOTIATION_RESPONSE:
    case MsgType.TELEMETRY_REQUEST:
    case MsgType.TELEMETRY_RESPONSE:
      return encodeReflecting(m, buf, off);
    case MsgType.TABLE_UPDATE:
      return encodeTableUpdateInto(m, buf, off);
    default:
      throw new BadTypeError(typeof (m as Header).type === 'number' ? (m as Header).type : -1);
  }
}

/** Decode the packet in buf[off, off+len) (len defaults to the rest of the buffer). */
export function decode(buf: Uint8Array, off = 0, len?: number, opts: DecodeOptions = {}): Message {
  const w = view(buf, off, len);
  const { type, dataLength } = checkHeaderAt(w.b, w.off, w.len, versionsOf(opts));
  const h = readHeader(w.b, w.off);
  if (type === MsgType.TABLE_UPDATE) {
    const n = checkRecords(w.b, w.off, dataLength);
    const records: TableUpdateRecord[] = new Array(n);
    for (let i = 0; i < n; i++) {
      const { end: _end, ...r } = readTableUpdateRecord(w.b, w.off + PS_HEADER_SIZE + i * PS_TABLE_UPDATE_RECORD_SIZE);
      records[i] = r;
    }
    return { ...h, type, records };
  }
  const reflect = Buffer.from(w.b.subarray(w.off + PS_HEADER_SIZE, w.off + dataLength));
  return { ...h, type, reflect } as NegotiationMessage | TelemetryMessage;
}

/** True when buf[off, off+len) starts with the pathsteer magic (a cheap pre-filter; never throws). */
export function hasMagic(buf: Uint8Array, off = 0, len?: number): boolean {
  if (!(buf instanceof Uint8Array) || !Number.isInteger(off) || off < 0) return false;
  const n = len ?? buf.length - off;
  return n >= 3 && off + 3 <= buf.length && buf[off] === 0xff && buf[off + 1] === 0xee && buf[off + 2] === 0xdd;
}

// ---------------------------------------------------------------------------
// builders

type HeaderDefaults = Omit<Header, 'type'>;
const HEADER_DEFAULTS: HeaderDefaults = {
  version: PS_VERSION,
  mode: 0,
  ctl: 0,
  flags: 0,
  txSport: 0,
  seq: 0,
  srcVtep: 0,
  backendId: 0,
  aux: 0,
};

export function negotiationRequest(p: Partial<Omit<NegotiationMessage, 'type'>> = {}): NegotiationMessage {
  return { ...HEADER_DEFAULTS, reflect: new Uint8Array(0), ...p, type: MsgType.NEGOTIATION_REQUEST };
}

export function telemetryRequest(p: Partial<Omit<TelemetryMessage, 'type'>> = {}): TelemetryMessage {
  return { ...HEADER_DEFAULTS, reflect: new Uint8Array(0), ...p, type: MsgType.TELEMETRY_REQUEST };
}

export function tableUpdate(records: TableUpdateRecord[], p: Partial<Omit<TableUpdateMessage, 'type' | 'records'>> = {}): TableUpdateMessage {
  return { ...HEADER_DEFAULTS, ...p, records, type: MsgType.TABLE_UPDATE };
}

/** What a responder fills in its answer; everything else comes from the request. */
export interface ResponseFields {
  /** The sport the response must carry (the responder's choice for the requester). */
  txSport: number;
  /** The responder's VTEP address. */
  srcVtep: number;
  /** The responder's backend id (MAC or configured id). @default 0 */
  backendId?: number;
  /** Ctl.* for the requester. @default Ctl.DEFAULT */
  ctl?: number;
  /** Negotiation: the responder's supported modes; telemetry: its current mode. @default the request's */
  mode?: number;
  /** @default the request's version */
  version?: number;
}

/** The answer to a request: type 0x18 / 0x7F, same seq, reflect data echoed verbatim. */
export function responseTo(req: NegotiationMessage | TelemetryMessage, f: ResponseFields): NegotiationMessage | TelemetryMessage {
  if (typeof req !== 'object' || req === null) throw new InvalidFieldError('request', 'expected a decoded request');
  if (typeof f !== 'object' || f === null) throw new InvalidFieldError('fields', 'expected the response fields');
  const type =
    req.type === MsgType.NEGOTIATION_REQUEST
      ? MsgType.NEGOTIATION_RESPONSE
      : req.type === MsgType.TELEMETRY_REQUEST
        ? MsgType.TELEMETRY_RESPONSE
        : undefined;
  if (type === undefined) throw new BadTypeError(req.type);
  return {
    type,
    version: f.version ?? req.version,
    mode: f.mode ?? req.mode,
    ctl: f.ctl ?? 0,
    flags: req.flags,
    txSport: f.txSport,
    seq: req.seq,
    srcVtep: f.srcVtep,
    backendId: f.backendId ?? 0,
    aux: 0,
    reflect: req.reflect,
  } as NegotiationMessage | TelemetryMessage;
}

/**
 * Split records into table-update messages of at most `perPacket` records each
 * (sequence ids `seq`, `seq+1`, ...).
 */
export function batchTableUpdates(
  records: readonly TableUpdateRecord[],
  p: Partial<Omit<TableUpdateMessage, 'type' | 'records'>> = {},
  perPacket = PS_MAX_TABLE_UPDATE_RECORDS,
): TableUpdateMessage[] {
  if (!Number.isInteger(perPacket) || perPacket < 1 || perPacket > PS_MAX_TABLE_UPDATE_RECORDS) {
    throw new InvalidFieldError('perPacket', `${perPacket} is not in 1..${PS_MAX_TABLE_UPDATE_RECORDS}`);
  }
  if (!Array.isArray(records)) throw new InvalidFieldError('records', 'expected an array');
  const h = { ...HEADER_DEFAULTS, ...p };
  const out: TableUpdateMessage[] = [];
  for (let i = 0; i < records.length; i += perPacket) {
    out.push({
      type: MsgType.TABLE_UPDATE,
      version: h.version,
      mode: h.mode,
      ctl: h.ctl,
      flags: h.flags,
      txSport: h.txSport,
      aux: h.aux,
      seq: (h.seq + out.length) >>> 0,
      srcVtep: h.srcVtep,
      backendId: h.backendId,
      records: records.slice(i, i + perPacket),
    });
  }
  return out;
}

/**
 * The TTL a response arrived with, when probe_steer recorded it on this host
 * (aux = TTL << 8 | 0x01); undefined for packets it did not mark.
 */
export function ingressTtl(h: Pick<Header, 'aux'>): number | undefined {
  const aux = typeof h === 'object' && h !== null ? h.aux : undefined;
  if (typeof aux !== 'number' || !Number.isInteger(aux) || aux < 0 || aux > 0xffff) return undefined;
  return (aux & 0xff) === 0x01 ? aux >> 8 : undefined;
}
