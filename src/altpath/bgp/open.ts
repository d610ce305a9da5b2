/**
 * BGP OPEN messages (RFC 4271 §4.2) as BMP Peer Up carries them: version, AS,
 * hold time, BGP identifier, and the capabilities AltPath reads (RFC 5492):
 * 4-octet AS (RFC 6793 §9: the real ASN when My AS is AS_TRANS),
 * multiprotocol families (RFC 4760 §8), ADD-PATH (RFC 7911, noted only).
 * RFC 9072 extended optional parameters are understood.
 */
import { formatIpv4, parseIpv4 } from '../../common/net.js';
import {
  AS_TRANS,
  BGP_HEADER_SIZE,
  BGP_OPEN_FIXED_SIZE,
  BgpMessageType,
  CapabilityCode,
  OPT_PARAM_CAPABILITIES,
  OPT_PARAM_EXTENDED,
} from './constants.js';
import { BgpError, bgpShort } from './errors.js';
import { checkHeader, writeHeader } from './update.js';

export interface BgpCapability {
  code: number;
  value: Buffer;
}

export interface BgpOpen {
  version: number;
  /** The speaker's ASN: the 4-octet AS capability when present, else My AS. */
  asn: number;
  holdTime: number;
  /** BGP identifier (dotted quad). */
  bgpId: string;
  capabilities: BgpCapability[];
  /** Advertised the 4-octet AS capability. */
  fourOctetAs: boolean;
  /** Multiprotocol families advertised, "afi/safi". */
  families: string[];
}

/** Decode an OPEN message (header included) at off. Throws BgpError when malformed. */
export function decodeOpen(buf: Buffer, off = 0): BgpOpen {
  const len = checkHeader(buf, off, BgpMessageType.OPEN, 'OPEN');
  const end = off + len;
  let p = off + BGP_HEADER_SIZE;
  if (end - p < BGP_OPEN_FIXED_SIZE) throw bgpShort('BGP OPEN', BGP_HEADER_SIZE + BGP_OPEN_FIXED_SIZE, len);
  const version = buf[p]!;
  const myAs = buf.readUInt16BE(p + 1);
  const holdTime = buf.readUInt16BE(p + 3);
  const bgpId = formatIpv4(buf.readUInt32BE(p + 5));
  let optLen = buf[p + 9]!;
  p += BGP_OPEN_FIXED_SIZE;
  let extended = false;
  if (optLen === OPT_PARAM_EXTENDED && buf[p] === OPT_PARAM_EXTENDED) {
    // RFC 9072 §2: non-extended length 255, type 255, then a 2-byte length
    if (end - p < 3) throw bgpShort('BGP OPEN extended parameters length', 3, end - p);
    optLen = buf.readUInt16BE(p + 1);
    p += 3;
    extended = true;
  }
  if (p + optLen > end) throw new BgpError('BAD_LENGTH', `BGP OPEN optional parameters length ${optLen} exceeds the message`);
  const optEnd = p + optLen;
  const capabilities: BgpCapability[] = [];
  while (p < optEnd) {
    const hdr = extended ? 3 : 2;
    if (optEnd - p < hdr) throw bgpShort('BGP OPEN optional parameter', hdr, optEnd - p);
    const type = buf[p]!;
    const plen = extended ? buf.readUInt16BE(p + 1) : buf[p + 1]!;
    p += hdr;
    if (p + plen > optEnd) throw bgpShort('BGP OPEN optional parameter', plen, optEnd - p);
    if (type === OPT_PARAM_CAPABILITIES) {
      let c = p;
      const cend = p + plen;
      while (c < cend) {
        if (cend - c < 2) throw bgpShort('BGP capability', 2, cend - c);
        const code = buf[c]!;
        const clen = buf[c + 1]!;
        if (c + 2 + clen > cend) throw bgpShort(`BGP capability ${code}`, clen, cend - c - 2);
        capabilities.push({ code, value: Buffer.from(buf.subarray(c + 2, c + 2 + clen)) });
        c += 2 + clen;
      }
    }
    p += plen;
  }
  let asn = myAs;
  let fourOctetAs = false;
  const families: string[] = [];
  for (const c of capabilities) {
    if (c.code === CapabilityCode.FOUR_OCTET_AS && c.value.length === 4) {
      fourOctetAs = true;
      asn = c.value.readUInt32BE(0);
    } else if (c.code === CapabilityCode.MULTIPROTOCOL && c.value.length === 4) {
      families.push(`${c.value.readUInt16BE(0)}/${c.value[3]}`);
    }
  }
  return { version, asn, holdTime, bgpId, capabilities, fourOctetAs, families };
}

/** What encodeOpen needs; capabilities beyond 4-octet AS and multiprotocol may be added raw. */
export interface OpenInput {
  asn: number;
  bgpId: string;
  holdTime?: number;
  /** Advertise the 4-octet AS capability. @default true */
  fourOctetAs?: boolean;
  /** "afi/safi" families to advertise. @default ['1/1'] */
  families?: string[];
  extraCapabilities?: BgpCapability[];
}

function openCaps(o: OpenInput): BgpCapability[] {
  const caps: BgpCapability[] = [];
  for (const f of o.families ?? ['1/1']) {
    const [afi, safi] = f.split('/').map(Number);
    const v = Buffer.alloc(4);
    v.writeUInt16BE(afi!, 0);
    v[3] = safi!;
    caps.push({ code: CapabilityCode.MULTIPROTOCOL, value: v });
  }
  if (o.fourOctetAs ?? true) {
    const v = Buffer.alloc(4);
    v.writeUInt32BE(o.asn >>> 0, 0);
    caps.push({ code: CapabilityCode.FOUR_OCTET_AS, value: v });
  }
  return [...caps, ...(o.extraCapabilities ?? [])];
}

export function openEncodingLength(o: OpenInput): number {
  return BGP_HEADER_SIZE + BGP_OPEN_FIXED_SIZE + openCaps(o).reduce((s, c) => s + 4 + c.value.length, 0);
}

/** Encode an OPEN (one capabilities parameter per capability, as FRR does). */
export function encodeOpen(o: OpenInput, buf?: Buffer, off = 0): Buffer {
  const len = openEncodingLength(o);
  const out = buf ?? Buffer.alloc(off + len);
  let p = writeHeader(out, off, len, BgpMessageType.OPEN);
  out[p] = 4;
  out.writeUInt16BE(o.asn > 0xffff ? AS_TRANS : o.asn, p + 1);
  out.writeUInt16BE(o.holdTime ?? 180, p + 3);
  out.writeUInt32BE(parseIpv4(o.bgpId), p + 5);
  const caps = openCaps(o);
  const optLen = caps.reduce((s, c) => s + 4 + c.value.length, 0);
  if (optLen > 255) throw new BgpError('BAD_LENGTH', `OPEN optional parameters of ${optLen} bytes need RFC 9072 encoding`);
  out[p + 9] = optLen;
  p += BGP_OPEN_FIXED_SIZE;
  for (const c of caps) {
    out[p] = OPT_PARAM_CAPABILITIES;
    out[p + 1] = 2 + c.value.length;
    out[p + 2] = c.code;
    out[p + 3] = c.value.length;
    c.value.copy(out, p + 4);
    p += 4 + c.value.length;
  }
  return out;
}
