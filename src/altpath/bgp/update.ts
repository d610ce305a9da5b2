/**
 * BGP UPDATE messages (RFC 4271 §4.3) with the path attributes AltPath ranks
 * routes by: ORIGIN, AS_PATH (2- or 4-byte ASNs, RFC 6793, with AS4_PATH
 * merged when the peer speaks 2-byte ASNs), NEXT_HOP, MED, LOCAL_PREF,
 * ATOMIC_AGGREGATE, AGGREGATOR, COMMUNITIES (kept or skipped), and
 * MP_REACH_NLRI / MP_UNREACH_NLRI for IPv6 unicast (RFC 4760). End-of-RIB
 * markers (RFC 4724 §2) are recognised.
 *
 * Errors follow RFC 7606's spirit for a collector: a message whose outer
 * lengths do not add up, or whose MP_REACH/MP_UNREACH is malformed, throws
 * BgpError (the caller skips the message); a malformed attribute that makes
 * the route unusable (ORIGIN, AS_PATH, NEXT_HOP, MED, LOCAL_PREF, COMMUNITIES)
 * turns the update into "treat-as-withdraw" (§2: the announced prefixes are
 * withdrawn); an unknown, duplicate or harmlessly malformed attribute is
 * skipped and listed in `skipped`.
 */
import { formatIpv4, formatIpv6, parseIpv4, parseIpv6 } from '../../common/net.js';
import {
  Afi,
  AS_TRANS,
  AsSegmentType,
  AttrFlag,
  AttrType,
  BGP_HEADER_SIZE,
  BGP_MARKER_SIZE,
  BGP_MAX_EXTENDED_MESSAGE_SIZE,
  BGP_UPDATE_FIXED_SIZE,
  BgpMessageType,
  SAFI_UNICAST,
  type OriginValue,
} from './constants.js';
import { BgpError, bgpShort } from './errors.js';
import { decodeNlriList, encodeNlri, nlriEncodingLength, type Nlri } from './nlri.js';

export interface AsPathSegment {
  /** AsSegmentType: 1 AS_SET, 2 AS_SEQUENCE, 3/4 confederation (RFC 5065). */
  type: number;
  asns: number[];
}

export interface PathAttributes {
  /** ORIGIN; absent only in a treat-as-withdraw update. */
  origin: OriginValue;
  /** AS_PATH with 4-byte ASNs (AS4_PATH already merged for 2-byte peers). */
  asPath: AsPathSegment[];
  /** IPv4 NEXT_HOP (dotted quad). */
  nextHop?: string;
  /** MP_REACH_NLRI next hop (IPv6 global address, text). */
  mpNextHop?: string;
  med?: number;
  localPref?: number;
  atomicAggregate?: boolean;
  aggregator?: { asn: number; address: string };
  /** RFC 1997 communities as u32 values (kept only with `keepCommunities`). */
  communities?: number[];
}

export interface SkippedAttribute {
  type: number;
  reason: 'unknown' | 'duplicate' | 'malformed' | 'not kept' | 'unsupported family';
}

export interface BgpUpdate {
  /** Withdrawn prefixes: IPv4 withdrawn routes and MP_UNREACH_NLRI. */
  withdrawn: Nlri[];
  /** Announced prefixes: IPv4 NLRI and MP_REACH_NLRI. */
  nlri: Nlri[];
  /** Path attributes of the announced prefixes (absent in a withdraw-only update). */
  attrs?: PathAttributes;
  /** RFC 4724 End-of-RIB marker for this AFI/SAFI. */
  endOfRib?: { afi: number; safi: number };
  /**
   * RFC 7606 treat-as-withdraw: an attribute the route depends on was
   * malformed; `nlri` must be withdrawn, not announced. `reason` says which.
   */
  treatAsWithdraw?: string;
  /** Attributes skipped and why (for counters and debug logs). */
  skipped: SkippedAttribute[];
}

export interface UpdateCodecOptions {
  /** ASNs in AS_PATH/AGGREGATOR are 4 bytes (RFC 6793 NEW speaker). @default true */
  asn4?: boolean;
  /** Keep COMMUNITIES; otherwise they are skipped (less memory per route). @default false */
  keepCommunities?: boolean;
}

// ---------------------------------------------------------------- decoding

/** Count of ASes in a path for best-path selection (RFC 4271 §9.1.2.2 a: a set counts 1, confederation segments 0). */
export function asPathLength(segs: readonly AsPathSegment[]): number {
  let n = 0;
  for (const s of segs) {
    if (s.type === AsSegmentType.AS_SEQUENCE) n += s.asns.length;
    else if (s.type === AsSegmentType.AS_SET) n += 1;
  }
  return n;
}

/** "65001 65002 {65003,65004}" (confederation segments in parentheses). */
export function formatAsPath(segs: readonly AsPathSegment[]): string {
  return segs
    .map((s) => {
      const a = s.asns.join(s.type === AsSegmentType.AS_SEQUENCE || s.type === AsSegmentType.AS_CONFED_SEQUENCE ? ' ' : ',');
      if (s.type === AsSegmentType.AS_SET) return `{${a}}`;
      if (s.type === AsSegmentType.AS_CONFED_SEQUENCE) return `(${a})`;
      if (s.type === AsSegmentType.AS_CONFED_SET) return `[${a}]`;
      return a;
    })
    .filter((x) => x !== '')
    .join(' ');
}

/** Decode AS_PATH / AS4_PATH segments of `asSize`-byte ASNs; undefined when malformed (RFC 7606 §7.2). */
function decodeAsPath(buf: Buffer, off: number, end: number, asSize: 2 | 4): AsPathSegment[] | undefined {
  const segs: AsPathSegment[] = [];
  while (off < end) {
    if (off + 2 > end) return undefined;
    const type = buf[off]!;
    const count = buf[off + 1]!;
    off += 2;
    if (type < 1 || type > 4 || count === 0) return undefined;
    if (off + count * asSize > end) return undefined;
    const asns = new Array<number>(count);
    for (let i = 0; i < count; i++, off += asSize) asns[i] = asSize === 4 ? buf.readUInt32BE(off) : buf.readUInt16BE(off);
    segs.push({ type, asns });
  }
  return segs;
}

/**
 * RFC 6793 §4.2.3: rebuild the path of a 2-byte peer from AS_PATH and
 * AS4_PATH. When AS_PATH has fewer ASes than AS4_PATH, AS4_PATH is ignored;
 * otherwise the leading ASes of AS_PATH that AS4_PATH lacks are kept and
 * AS4_PATH follows them. (Confederation segments of AS4_PATH are not
 * expected from a 2-byte peer; they are dropped as the RFC says.)
 */
export function mergeAs4Path(asPath: AsPathSegment[], as4Path: AsPathSegment[]): AsPathSegment[] {
  const as4 = as4Path.filter((s) => s.type === AsSegmentType.AS_SEQUENCE || s.type === AsSegmentType.AS_SET);
  const n = asPathLength(asPath);
  const m = asPathLength(as4);
  if (n < m) return asPath;
  let keep = n - m;
  const out: AsPathSegment[] = [];
  for (const s of asPath) {
    if (keep <= 0) {
      if (s.type === AsSegmentType.AS_CONFED_SEQUENCE || s.type === AsSegmentType.AS_CONFED_SET) out.push(s);
      continue;
    }
    if (s.type === AsSegmentType.AS_SEQUENCE) {
      const take = Math.min(keep, s.asns.length);
      out.push({ type: s.type, asns: s.asns.slice(0, take) });
      keep -= take;
    } else if (s.type === AsSegmentType.AS_SET) {
      out.push(s);
      keep -= 1;
    } else {
      out.push(s);
    }
  }
  // join a kept AS_SEQUENCE with a leading AS4 AS_SEQUENCE so the path reads as one sequence
  const last = out[out.length - 1];
  const first = as4[0];
  if (last && first && last.type === AsSegmentType.AS_SEQUENCE && first.type === AsSegmentType.AS_SEQUENCE && last.asns.length + first.asns.length <= 255) {
    out[out.length - 1] = { type: last.type, asns: [...last.asns, ...first.asns] };
    return [...out, ...as4.slice(1)];
  }
  return [...out, ...as4];
}

interface MpReach {
  afi: number;
  safi: number;
  nextHop?: string;
  nlri: Nlri[];
}

function familyOf(afi: number, safi: number): 4 | 6 | undefined {
  if (safi !== SAFI_UNICAST) return undefined;
  return afi === Afi.IPV4 ? 4 : afi === Afi.IPV6 ? 6 : undefined;
}

/** RFC 4760 §3. Throws BgpError when malformed (a session reset in BGP; here the message is skipped). */
function decodeMpReach(buf: Buffer, off: number, end: number): MpReach {
  if (end - off < 5) throw bgpShort('MP_REACH_NLRI', 5, end - off);
  const afi = buf.readUInt16BE(off);
  const safi = buf[off + 2]!;
  const nhLen = buf[off + 3]!;
  off += 4;
  if (off + nhLen + 1 > end) throw bgpShort('MP_REACH_NLRI next hop', nhLen + 1, end - off);
  const fam = familyOf(afi, safi);
  let nextHop: string | undefined;
  if (fam === 6) {
    // 16 (global) or 32 (global + link-local) bytes, RFC 2545 §3
    if (nhLen !== 16 && nhLen !== 32) throw new BgpError('BAD_FIELD', `MP_REACH_NLRI IPv6 next hop length ${nhLen} is not 16 or 32`);
    nextHop = formatIpv6(buf, off);
  } else if (fam === 4) {
    if (nhLen !== 4 && nhLen !== 16 && nhLen !== 32) throw new BgpError('BAD_FIELD', `MP_REACH_NLRI IPv4 next hop length ${nhLen}`);
    nextHop = nhLen === 4 ? formatIpv4(buf.readUInt32BE(off)) : formatIpv6(buf, off);
  }
  off += nhLen + 1; // next hop, reserved byte
  return { afi, safi, nextHop, nlri: fam ? decodeNlriList(buf, off, end, fam) : [] };
}

function decodeMpUnreach(buf: Buffer, off: number, end: number): { afi: number; safi: number; withdrawn: Nlri[] } {
  if (end - off < 3) throw bgpShort('MP_UNREACH_NLRI', 3, end - off);
  const afi = buf.readUInt16BE(off);
  const safi = buf[off + 2]!;
  const fam = familyOf(afi, safi);
  return { afi, safi, withdrawn: fam ? decodeNlriList(buf, off + 3, end, fam) : [] };
}

/**
 * Decode a whole BGP UPDATE message (with its 19-byte header) at buf[off,
 * off + its length). Throws BgpError for a message it cannot delimit.
 */
export function decodeUpdate(buf: Buffer, off = 0, opts: UpdateCodecOptions = {}): BgpUpdate {
  const len = checkHeader(buf, off, BgpMessageType.UPDATE, 'UPDATE');
  const end = off + len;
  let p = off + BGP_HEADER_SIZE;
  if (end - p < BGP_UPDATE_FIXED_SIZE) throw bgpShort('UPDATE', BGP_HEADER_SIZE + BGP_UPDATE_FIXED_SIZE, len);
  const wLen = buf.readUInt16BE(p);
  p += 2;
  if (p + wLen + 2 > end) throw new BgpError('BAD_LENGTH', `UPDATE withdrawn routes length ${wLen} exceeds the message`);
  const withdrawn = decodeNlriList(buf, p, p + wLen, 4);
  p += wLen;
  const aLen = buf.readUInt16BE(p);
  p += 2;
  if (p + aLen > end) throw new BgpError('BAD_LENGTH', `UPDATE total path attribute length ${aLen} exceeds the message`);
  const attrEnd = p + aLen;
  const nlri = decodeNlriList(buf, attrEnd, end, 4);
  const update: BgpUpdate = { withdrawn, nlri, skipped: [] };
  if (aLen === 0) {
    if (withdrawn.length === 0 && nlri.length === 0) update.endOfRib = { afi: Afi.IPV4, safi: SAFI_UNICAST };
    else if (nlri.length > 0) update.treatAsWithdraw = 'no path attributes';
    return update;
  }
  decodeAttributes(buf, p, attrEnd, update, opts);
  return update;
}

function decodeAttributes(buf: Buffer, p: number, attrEnd: number, update: BgpUpdate, opts: UpdateCodecOptions): void {
  const asn4 = opts.asn4 ?? true;
  // attribute types seen: a bitmask for 0..31 (every type this codec reads), a Set beyond
  let seenLow = 0;
  let seenHigh: Set<number> | undefined;
  let seenCount = 0;
  let origin: OriginValue | undefined;
  let asPath: AsPathSegment[] | undefined;
  let as4Path: AsPathSegment[] | undefined;
  const attrs: Omit<PathAttributes, 'origin' | 'asPath'> = {
    nextHop: undefined,
    mpNextHop: undefined,
    med: undefined,
    localPref: undefined,
    atomicAggregate: undefined,
    aggregator: undefined,
    communities: undefined,
  };
  let twReason: string | undefined;
  const skip = (type: number, reason: SkippedAttribute['reason']): void => {
    update.skipped.push({ type, reason });
  };
  let sawMpReach = false;
  let sawMpUnreach = false;
  while (p < attrEnd) {
    if (attrEnd - p < 3) {
      twReason ??= 'attribute header truncated';
      break;
    }
    const flags = buf[p]!;
    const type = buf[p + 1]!;
    const ext = (flags & AttrFlag.EXTENDED_LENGTH) !== 0;
    if (ext && attrEnd - p < 4) {
      twReason ??= 'attribute header truncated';
      break;
    }
    const alen = ext ? buf.readUInt16BE(p + 2) : buf[p + 2]!;
    const v = p + (ext ? 4 : 3);
    const vend = v + alen;
    if (vend > attrEnd) {
      // RFC 7606 §4: the attribute section cannot be parsed further
      twReason ??= `attribute ${type} length ${alen} exceeds the path attributes`;
      break;
    }
    p = vend;
    const dup = type < 32 ? (seenLow & (1 << type)) !== 0 : (seenHigh?.has(type) ?? false);
    if (dup) {
      if (type === AttrType.MP_REACH_NLRI || type === AttrType.MP_UNREACH_NLRI) {
        throw new BgpError('BAD_FIELD', `UPDATE carries attribute ${type} twice`);
      }
      skip(type, 'duplicate');
      continue;
    }
    if (type < 32) seenLow |= 1 << type;
    else (seenHigh ??= new Set()).add(type);
    seenCount++;
    switch (type) {
      case AttrType.ORIGIN:
        if (alen !== 1 || buf[v]! > 2) twReason ??= 'malformed ORIGIN';
        else origin = buf[v] as OriginValue;
        break;
      case AttrType.AS_PATH: {
        const segs = decodeAsPath(buf, v, vend, asn4 ? 4 : 2);
        if (!segs) twReason ??= 'malformed AS_PATH';
        else asPath = segs;
        break;
      }
      case AttrType.AS4_PATH: {
        if (asn4) {
          skip(type, 'unsupported family'); // RFC 6793 §4.1: a NEW speaker ignores AS4_PATH from a NEW speaker
          break;
        }
        const segs = decodeAsPath(buf, v, vend, 4);
        if (!segs) skip(type, 'malformed'); // RFC 7606 §7.9: discard AS4_PATH, keep the route
        else as4Path = segs;
        break;
      }
      case AttrType.NEXT_HOP:
        if (alen !== 4) twReason ??= 'malformed NEXT_HOP';
        else attrs.nextHop = formatIpv4(buf.readUInt32BE(v));
        break;
      case AttrType.MULTI_EXIT_DISC:
        if (alen !== 4) twReason ??= 'malformed MULTI_EXIT_DISC';
        else attrs.med = buf.readUInt32BE(v);
        break;
      case AttrType.LOCAL_PREF:
        if (alen !== 4) twReason ??= 'malformed LOCAL_PREF';
        else attrs.localPref = buf.readUInt32BE(v);
        break;
      case AttrType.ATOMIC_AGGREGATE:
        if (alen !== 0) skip(type, 'malformed');
        else attrs.atomicAggregate = true;
        break;
      case AttrType.AGGREGATOR: {
        const asSize = asn4 ? 4 : 2;
        if (alen !== asSize + 4) skip(type, 'malformed');
        else attrs.aggregator = { asn: asSize === 4 ? buf.readUInt32BE(v) : buf.readUInt16BE(v), address: formatIpv4(buf.readUInt32BE(v + asSize)) };
        break;
      }
      case AttrType.AS4_AGGREGATOR:
        if (!asn4 && alen === 8 && attrs.aggregator?.asn === AS_TRANS) {
          attrs.aggregator = { asn: buf.readUInt32BE(v), address: formatIpv4(buf.readUInt32BE(v + 4)) };
        } else if (alen !== 8) skip(type, 'malformed');
        break;
      case AttrType.COMMUNITIES:
        if (alen % 4 !== 0) twReason ??= 'malformed COMMUNITIES';
        else if (opts.keepCommunities) {
          const c = new Array<number>(alen / 4);
          for (let i = 0; i < c.length; i++) c[i] = buf.readUInt32BE(v + 4 * i);
          attrs.communities = c;
        } else skip(type, 'not kept');
        break;
      case AttrType.MP_REACH_NLRI: {
        sawMpReach = true;
        const r = decodeMpReach(buf, v, vend);
        if (!familyOf(r.afi, r.safi)) skip(type, 'unsupported family');
        else {
          for (const n of r.nlri) update.nlri.push(n);
          if (r.afi === Afi.IPV6) attrs.mpNextHop = r.nextHop;
          else if (r.nextHop && attrs.nextHop === undefined) attrs.mpNextHop = r.nextHop;
        }
        break;
      }
      case AttrType.MP_UNREACH_NLRI: {
        sawMpUnreach = true;
        const u = decodeMpUnreach(buf, v, vend);
        if (!familyOf(u.afi, u.safi)) skip(type, 'unsupported family');
        else {
          for (const n of u.withdrawn) update.withdrawn.push(n);
          // RFC 4724 §2: an UPDATE with only an empty MP_UNREACH_NLRI is End-of-RIB for that family
          if (u.withdrawn.length === 0 && seenCount === 1 && p === attrEnd && update.nlri.length === 0 && update.withdrawn.length === 0) {
            update.endOfRib = { afi: u.afi, safi: u.safi };
          }
        }
        break;
      }
      default:
        skip(type, 'unknown');
    }
  }
  const announces = update.nlri.length > 0;
  if (!announces) {
    // withdraw-only (or End-of-RIB): attributes are irrelevant (RFC 4760 §4 lets MP_UNREACH come alone)
    if (twReason && !sawMpUnreach && !sawMpReach) update.skipped.push({ type: 0, reason: 'malformed' });
    return;
  }
  if (!twReason) {
    if (origin === undefined) twReason = 'missing ORIGIN';
    else if (asPath === undefined) twReason = 'missing AS_PATH';
    else if (attrs.nextHop === undefined && attrs.mpNextHop === undefined) twReason = 'missing NEXT_HOP';
  }
  if (twReason) {
    update.treatAsWithdraw = twReason;
    return;
  }
  const path = as4Path && !asn4 ? mergeAs4Path(asPath!, as4Path) : asPath!;
  update.attrs = {
    origin: origin!,
    asPath: path,
    nextHop: attrs.nextHop,
    mpNextHop: attrs.mpNextHop,
    med: attrs.med,
    localPref: attrs.localPref,
    atomicAggregate: attrs.atomicAggregate,
    aggregator: attrs.aggregator,
    communities: attrs.communities,
  };
}

/** Check the 19-byte header at off (marker, length, type); returns the message length. */
export function checkHeader(buf: Buffer, off: number, type: number | undefined, what: string): number {
  if (buf.length - off < BGP_HEADER_SIZE) throw bgpShort(`BGP ${what} header`, BGP_HEADER_SIZE, Math.max(0, buf.length - off));
  for (let i = 0; i < BGP_MARKER_SIZE; i++) {
    if (buf[off + i] !== 0xff) throw new BgpError('BAD_MARKER', `BGP ${what}: marker byte ${i} is 0x${buf[off + i]!.toString(16)}, not 0xff`);
  }
  const len = buf.readUInt16BE(off + BGP_MARKER_SIZE);
  const t = buf[off + BGP_MARKER_SIZE + 2]!;
  if (len < BGP_HEADER_SIZE || len > BGP_MAX_EXTENDED_MESSAGE_SIZE) throw new BgpError('BAD_LENGTH', `BGP ${what}: length ${len} is not in ${BGP_HEADER_SIZE}..${BGP_MAX_EXTENDED_MESSAGE_SIZE}`);
  if (off + len > buf.length) throw bgpShort(`BGP ${what}`, len, buf.length - off);
  if (type !== undefined && t !== type) throw new BgpError('BAD_TYPE', `expected BGP ${what} (type ${type}), got type ${t}`);
  return len;
}

// ---------------------------------------------------------------- encoding

/** What encodeUpdate writes: IPv4 prefixes go in the classic fields, IPv6 in MP_REACH/MP_UNREACH. */
export interface UpdateInput {
  withdrawn?: readonly Nlri[];
  nlri?: readonly Nlri[];
  attrs?: PathAttributes;
  /** Write an End-of-RIB marker for this family instead (RFC 4724). */
  endOfRib?: 4 | 6;
}

function needsAs4(segs: readonly AsPathSegment[]): boolean {
  return segs.some((s) => s.asns.some((a) => a > 0xffff));
}

function asPathBytes(segs: readonly AsPathSegment[], asSize: 2 | 4, trans: boolean): number {
  let n = 0;
  for (const s of segs) {
    if (trans && (s.type === AsSegmentType.AS_CONFED_SEQUENCE || s.type === AsSegmentType.AS_CONFED_SET)) continue;
    n += 2 + s.asns.length * asSize;
  }
  return n;
}

function attrHeaderSize(len: number): number {
  return len > 255 ? 4 : 3;
}

function attrsLength(u: UpdateInput, asn4: boolean): number {
  const a = u.attrs;
  let n = 0;
  const v4n = (u.nlri ?? []).filter((x) => x.family === 4);
  const v6n = (u.nlri ?? []).filter((x) => x.family === 6);
  const v6w = (u.withdrawn ?? []).filter((x) => x.family === 6);
  if (u.endOfRib === 6) return 3 + 3;
  if (a && (v4n.length > 0 || v6n.length > 0)) {
    n += 4; // ORIGIN
    const ap = asPathBytes(a.asPath, asn4 ? 4 : 2, false);
    n += attrHeaderSize(ap) + ap;
    if (!asn4 && needsAs4(a.asPath)) {
      const a4 = asPathBytes(a.asPath, 4, true);
      n += attrHeaderSize(a4) + a4;
    }
    if (a.nextHop !== undefined && v4n.length > 0) n += 7;
    if (a.med !== undefined) n += 7;
    if (a.localPref !== undefined) n += 7;
    if (a.atomicAggregate) n += 3;
    if (a.aggregator) n += 3 + (asn4 ? 8 : 6) + (!asn4 && a.aggregator.asn > 0xffff ? 11 : 0);
    if (a.communities?.length) n += attrHeaderSize(4 * a.communities.length) + 4 * a.communities.length;
    if (v6n.length > 0) {
      const m = 5 + 16 + v6n.reduce((s, x) => s + nlriEncodingLength(x), 0);
      n += attrHeaderSize(m) + m;
    }
  }
  if (v6w.length > 0) {
    const m = 3 + v6w.reduce((s, x) => s + nlriEncodingLength(x), 0);
    n += attrHeaderSize(m) + m;
  }
  return n;
}

/** Bytes encodeUpdate writes for u (with the 19-byte header). */
export function updateEncodingLength(u: UpdateInput, opts: UpdateCodecOptions = {}): number {
  const asn4 = opts.asn4 ?? true;
  const w4 = (u.withdrawn ?? []).filter((x) => x.family === 4).reduce((s, x) => s + nlriEncodingLength(x), 0);
  const n4 = u.attrs ? (u.nlri ?? []).filter((x) => x.family === 4).reduce((s, x) => s + nlriEncodingLength(x), 0) : 0;
  return BGP_HEADER_SIZE + BGP_UPDATE_FIXED_SIZE + (u.endOfRib ? 0 : w4 + n4) + attrsLength(u, asn4);
}

function putAttrHeader(buf: Buffer, p: number, flags: number, type: number, len: number): number {
  if (len > 255) {
    buf[p] = flags | AttrFlag.EXTENDED_LENGTH;
    buf[p + 1] = type;
    buf.writeUInt16BE(len, p + 2);
    return p + 4;
  }
  buf[p] = flags;
  buf[p + 1] = type;
  buf[p + 2] = len;
  return p + 3;
}

function putAsPath(buf: Buffer, p: number, segs: readonly AsPathSegment[], asSize: 2 | 4, forAs4: boolean): number {
  for (const s of segs) {
    if (forAs4 && (s.type === AsSegmentType.AS_CONFED_SEQUENCE || s.type === AsSegmentType.AS_CONFED_SET)) continue;
    buf[p++] = s.type;
    buf[p++] = s.asns.length;
    for (const a of s.asns) {
      if (asSize === 4) buf.writeUInt32BE(a >>> 0, p);
      else buf.writeUInt16BE(a > 0xffff ? AS_TRANS : a, p);
      p += asSize;
    }
  }
  return p;
}

/**
 * Encode an UPDATE (header included). With `asn4: false` the AS_PATH carries
 * AS_TRANS for ASNs above 65535 and an AS4_PATH follows (RFC 6793 §4.2.2).
 * Throws BgpError when the message would exceed 65535 bytes.
 */
export function encodeUpdate(u: UpdateInput, opts: UpdateCodecOptions = {}, buf?: Buffer, off = 0): Buffer {
  const asn4 = opts.asn4 ?? true;
  const len = updateEncodingLength(u, opts);
  if (len > BGP_MAX_EXTENDED_MESSAGE_SIZE) throw new BgpError('BAD_LENGTH', `UPDATE of ${len} bytes exceeds ${BGP_MAX_EXTENDED_MESSAGE_SIZE}`);
  const out = buf ?? Buffer.alloc(off + len);
  let p = writeHeader(out, off, len, BgpMessageType.UPDATE);
  const w4 = u.endOfRib ? [] : (u.withdrawn ?? []).filter((x) => x.family === 4);
  const wStart = p + 2;
  p = wStart;
  for (const x of w4) p = encodeNlri(x, out, p);
  out.writeUInt16BE(p - wStart, wStart - 2);
  const aStart = p + 2;
  p = aStart;
  const a = u.attrs;
  const v4n = u.endOfRib || !a ? [] : (u.nlri ?? []).filter((x) => x.family === 4);
  const v6n = u.endOfRib || !a ? [] : (u.nlri ?? []).filter((x) => x.family === 6);
  const v6w = u.endOfRib ? [] : (u.withdrawn ?? []).filter((x) => x.family === 6);
  if (u.endOfRib === 6) {
    p = putAttrHeader(out, p, AttrFlag.OPTIONAL, AttrType.MP_UNREACH_NLRI, 3);
    out.writeUInt16BE(Afi.IPV6, p);
    out[p + 2] = SAFI_UNICAST;
    p += 3;
  }
  if (a && (v4n.length > 0 || v6n.length > 0)) {
    p = putAttrHeader(out, p, AttrFlag.TRANSITIVE, AttrType.ORIGIN, 1);
    out[p++] = a.origin;
    const asSize = asn4 ? 4 : 2;
    p = putAttrHeader(out, p, AttrFlag.TRANSITIVE, AttrType.AS_PATH, asPathBytes(a.asPath, asSize, false));
    p = putAsPath(out, p, a.asPath, asSize, false);
    if (!asn4 && needsAs4(a.asPath)) {
      p = putAttrHeader(out, p, AttrFlag.OPTIONAL | AttrFlag.TRANSITIVE, AttrType.AS4_PATH, asPathBytes(a.asPath, 4, true));
      p = putAsPath(out, p, a.asPath, 4, true);
    }
    if (a.nextHop !== undefined && v4n.length > 0) {
      p = putAttrHeader(out, p, AttrFlag.TRANSITIVE, AttrType.NEXT_HOP, 4);
      out.writeUInt32BE(parseIpv4(a.nextHop), p);
      p += 4;
    }
    if (a.med !== undefined) {
      p = putAttrHeader(out, p, AttrFlag.OPTIONAL, AttrType.MULTI_EXIT_DISC, 4);
      out.writeUInt32BE(a.med >>> 0, p);
      p += 4;
    }
    if (a.localPref !== undefined) {
      p = putAttrHeader(out, p, AttrFlag.TRANSITIVE, AttrType.LOCAL_PREF, 4);
      out.writeUInt32BE(a.localPref >>> 0, p);
      p += 4;
    }
    if (a.atomicAggregate) p = putAttrHeader(out, p, AttrFlag.TRANSITIVE, AttrType.ATOMIC_AGGREGATE, 0);
    if (a.aggregator) {
      p = putAttrHeader(out, p, AttrFlag.OPTIONAL | AttrFlag.TRANSITIVE, AttrType.AGGREGATOR, asn4 ? 8 : 6);
      if (asn4) out.writeUInt32BE(a.aggregator.asn >>> 0, p);
      else out.writeUInt16BE(a.aggregator.asn > 0xffff ? AS_TRANS : a.aggregator.asn, p);
      p += asn4 ? 4 : 2;
      out.writeUInt32BE(parseIpv4(a.aggregator.address), p);
      p += 4;
      if (!asn4 && a.aggregator.asn > 0xffff) {
        p = putAttrHeader(out, p, AttrFlag.OPTIONAL | AttrFlag.TRANSITIVE, AttrType.AS4_AGGREGATOR, 8);
        out.writeUInt32BE(a.aggregator.asn >>> 0, p);
        out.writeUInt32BE(parseIpv4(a.aggregator.address), p + 4);
        p += 8;
      }
    }
    if (a.communities?.length) {
      p = putAttrHeader(out, p, AttrFlag.OPTIONAL | AttrFlag.TRANSITIVE, AttrType.COMMUNITIES, 4 * a.communities.length);
      for (const c of a.communities) {
        out.writeUInt32BE(c >>> 0, p);
        p += 4;
      }
    }
    if (v6n.length > 0) {
      const m = 5 + 16 + v6n.reduce((s, x) => s + nlriEncodingLength(x), 0);
      p = putAttrHeader(out, p, AttrFlag.OPTIONAL, AttrType.MP_REACH_NLRI, m);
      out.writeUInt16BE(Afi.IPV6, p);
      out[p + 2] = SAFI_UNICAST;
      out[p + 3] = 16;
      parseIpv6(a.mpNextHop ?? '::', out, p + 4);
      out[p + 20] = 0;
      p += 21;
      for (const x of v6n) p = encodeNlri(x, out, p);
    }
  }
  if (v6w.length > 0) {
    const m = 3 + v6w.reduce((s, x) => s + nlriEncodingLength(x), 0);
    p = putAttrHeader(out, p, AttrFlag.OPTIONAL, AttrType.MP_UNREACH_NLRI, m);
    out.writeUInt16BE(Afi.IPV6, p);
    out[p + 2] = SAFI_UNICAST;
    p += 3;
    for (const x of v6w) p = encodeNlri(x, out, p);
  }
  out.writeUInt16BE(p - aStart, aStart - 2);
  for (const x of v4n) p = encodeNlri(x, out, p);
  if (p !== off + len) throw new BgpError('BAD_LENGTH', `internal: UPDATE encoded ${p - off} bytes, expected ${len}`);
  return out;
}

/** Write the 19-byte BGP header; returns the offset after it. */
export function writeHeader(buf: Buffer, off: number, len: number, type: number): number {
  buf.fill(0xff, off, off + BGP_MARKER_SIZE);
  buf.writeUInt16BE(len, off + BGP_MARKER_SIZE);
  buf[off + BGP_MARKER_SIZE + 2] = type;
  return off + BGP_HEADER_SIZE;
}
