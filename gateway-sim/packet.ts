/**
 * Just enough IPv4/UDP/VXLAN to build and parse the packets a gateway sees:
 * headers, the IPv4 header checksum, the UDP checksum (RFC 768) and its
 * incremental update (RFC 1624), and the CRC32 the pipeline hashes inner flows
 * with (Tofino's hash units offer CRC32).
 */

export const IPPROTO_TCP = 6;
export const IPPROTO_UDP = 17;
export const VXLAN_PORT = 4789;
export const VXLAN_HEADER_SIZE = 8;
export const ETH_HEADER_SIZE = 14;
export const IPV4_HEADER_SIZE = 20;
export const UDP_HEADER_SIZE = 8;

/** One's-complement sum of 16-bit words of buf[off, off+len). */
function sum16(buf: Uint8Array, off: number, len: number, acc = 0): number {
  let s = acc;
  let i = off;
  for (; i + 1 < off + len; i += 2) s += (buf[i]! << 8) | buf[i + 1]!;
  if (i < off + len) s += buf[i]! << 8;
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return s;
}

export function ipv4HeaderChecksum(buf: Buffer, off: number): number {
  const ihl = (buf[off]! & 0x0f) * 4;
  const save = buf.readUInt16BE(off + 10);
  buf.writeUInt16BE(0, off + 10);
  const c = ~sum16(buf, off, ihl) & 0xffff;
  buf.writeUInt16BE(save, off + 10);
  return c;
}

/** The UDP checksum of the datagram at `udpOff` inside the IPv4 packet at `ipOff` (0 is sent as 0xffff). */
export function udpChecksum(buf: Buffer, ipOff: number, udpOff: number): number {
  const len = buf.readUInt16BE(udpOff + 4);
  let s = sum16(buf, ipOff + 12, 8); // saddr, daddr
  s = sum16(Buffer.from([0, IPPROTO_UDP, len >>> 8, len & 0xff]), 0, 4, s);
  const save = buf.readUInt16BE(udpOff + 6);
  buf.writeUInt16BE(0, udpOff + 6);
  s = sum16(buf, udpOff, len, s);
  buf.writeUInt16BE(save, udpOff + 6);
  const c = ~s & 0xffff;
  return c === 0 ? 0xffff : c;
}

/** RFC 1624 eqn. 3: checksum after one 16-bit word changes from `old` to `now`. */
export function checksumReplace16(check: number, old: number, now: number): number {
  let s = (~check & 0xffff) + (~old & 0xffff) + now;
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return ~s & 0xffff;
}

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** CRC-32 (IEEE 802.3) of buf[off, off+len). */
export function crc32(buf: Uint8Array, off = 0, len = buf.length - off): number {
  let c = 0xffffffff;
  for (let i = off; i < off + len; i++) c = CRC_TABLE[(c ^ buf[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

export interface UdpPacketSpec {
  src: number;
  dst: number;
  sport: number;
  dport: number;
  payload: Uint8Array;
  /** @default 64 */
  ttl?: number;
  /** Compute the UDP checksum (else send 0, allowed over IPv4). @default true */
  checksum?: boolean;
}

/** Write IPv4 + UDP headers for `payloadLen` bytes at buf[0..28). */
export function writeIpv4UdpHeaders(buf: Buffer, s: Omit<UdpPacketSpec, 'payload'>, payloadLen: number): void {
  const total = IPV4_HEADER_SIZE + UDP_HEADER_SIZE + payloadLen;
  buf[0] = 0x45;
  buf[1] = 0;
  buf.writeUInt16BE(total, 2);
  buf.writeUInt16BE(0, 4); // id
  buf.writeUInt16BE(0x4000, 6); // DF
  buf[8] = s.ttl ?? 64;
  buf[9] = IPPROTO_UDP;
  buf.writeUInt16BE(0, 10);
  buf.writeUInt32BE(s.src >>> 0, 12);
  buf.writeUInt32BE(s.dst >>> 0, 16);
  buf.writeUInt16BE(ipv4HeaderChecksum(buf, 0), 10);
  buf.writeUInt16BE(s.sport, 20);
  buf.writeUInt16BE(s.dport, 22);
  buf.writeUInt16BE(UDP_HEADER_SIZE + payloadLen, 24);
  buf.writeUInt16BE(0, 26);
}

export function buildUdpPacket(s: UdpPacketSpec): Buffer {
  const b = Buffer.alloc(IPV4_HEADER_SIZE + UDP_HEADER_SIZE + s.payload.length);
  writeIpv4UdpHeaders(b, s, s.payload.length);
  b.set(s.payload, IPV4_HEADER_SIZE + UDP_HEADER_SIZE);
  if (s.checksum !== false) b.writeUInt16BE(udpChecksum(b, 0, IPV4_HEADER_SIZE), 26);
  return b;
}

export interface InnerFlow {
  src: number;
  dst: number;
  /** IPPROTO_TCP or IPPROTO_UDP. */
  proto: number;
  sport: number;
  dport: number;
  /** @default 16 zero bytes */
  payload?: Uint8Array;
}

/** A VXLAN packet: outer IPv4/UDP (dport 4789) + VXLAN + inner Ethernet/IPv4/(TCP|UDP). */
export function buildVxlanPacket(o: {
  outerSrc: number;
  outerDst: number;
  outerSport: number;
  vni?: number;
  inner: InnerFlow;
  checksum?: boolean;
  vxlanPort?: number;
}): Buffer {
  const pl = o.inner.payload ?? new Uint8Array(16);
  const l4 = o.inner.proto === IPPROTO_TCP ? 20 : UDP_HEADER_SIZE;
  const inner = Buffer.alloc(ETH_HEADER_SIZE + IPV4_HEADER_SIZE + l4 + pl.length);
  // inner Ethernet: locally administered MACs, IPv4
  inner.set([0x02, 0, 0, 0, 0, 2, 0x02, 0, 0, 0, 0, 1], 0);
  inner.writeUInt16BE(0x0800, 12);
  const ip = ETH_HEADER_SIZE;
  inner[ip] = 0x45;
  inner.writeUInt16BE(IPV4_HEADER_SIZE + l4 + pl.length, ip + 2);
  inner[ip + 8] = 64;
  inner[ip + 9] = o.inner.proto;
  inner.writeUInt32BE(o.inner.src >>> 0, ip + 12);
  inner.writeUInt32BE(o.inner.dst >>> 0, ip + 16);
  inner.writeUInt16BE(ipv4HeaderChecksum(inner, ip), ip + 10);
  const t = ip + IPV4_HEADER_SIZE;
  inner.writeUInt16BE(o.inner.sport, t);
  inner.writeUInt16BE(o.inner.dport, t + 2);
  if (o.inner.proto === IPPROTO_TCP) inner[t + 12] = 0x50;
  else inner.writeUInt16BE(UDP_HEADER_SIZE + pl.length, t + 4);
  inner.set(pl, t + l4);
  const vx = Buffer.alloc(VXLAN_HEADER_SIZE);
  vx[0] = 0x08; // I flag: VNI valid
  vx.writeUIntBE(o.vni ?? 1, 4, 3);
  return buildUdpPacket({
    src: o.outerSrc,
    dst: o.outerDst,
    sport: o.outerSport,
    dport: o.vxlanPort ?? VXLAN_PORT,
    payload: Buffer.concat([vx, inner]),
    checksum: o.checksum ?? true,
  });
}

/**
 * Hash of the inner flow of the VXLAN payload at buf[off, end): CRC32 over
 * (saddr, daddr, proto, sport, dport) when the inner frame is IPv4 TCP/UDP (not a
 * fragment), else over the inner Ethernet header.
 */
export function innerFlowHash(buf: Buffer, off: number, end: number): number {
  const eth = off + VXLAN_HEADER_SIZE;
  if (end - eth < ETH_HEADER_SIZE) return crc32(buf, off, end - off);
  const ip = eth + ETH_HEADER_SIZE;
  if (buf.readUInt16BE(eth + 12) !== 0x0800 || end - ip < IPV4_HEADER_SIZE || buf[ip]! >> 4 !== 4) {
    return crc32(buf, eth, ETH_HEADER_SIZE);
  }
  const ihl = (buf[ip]! & 0x0f) * 4;
  const proto = buf[ip + 9]!;
  const frag = buf.readUInt16BE(ip + 6) & 0x3fff;
  const tuple = Buffer.alloc(13);
  buf.copy(tuple, 0, ip + 12, ip + 20);
  tuple[8] = proto;
  if ((proto === IPPROTO_TCP || proto === IPPROTO_UDP) && frag === 0 && ihl >= 20 && end - (ip + ihl) >= 4) {
    buf.copy(tuple, 9, ip + ihl, ip + ihl + 4);
  }
  return crc32(tuple);
}

// Raw big-endian accessors for the per-pass hot path (no argument checks: callers stay in bounds).
// The index is taken as an int32 (`| 0`) so compiled callers index with integer arithmetic.
export function u16(b: Uint8Array, i: number): number {
  const j = i | 0;
  return (b[j]! << 8) | b[j + 1]!;
}
export function u32(b: Uint8Array, i: number): number {
  const j = i | 0;
  return ((b[j]! << 24) | (b[j + 1]! << 16) | (b[j + 2]! << 8) | b[j + 3]!) >>> 0;
}
/** Big-endian 32 bits as a signed int32 (stays an integer in compiled code; keys of exact tables take int32). */
export function i32(b: Uint8Array, i: number): number {
  const j = i | 0;
  return (b[j]! << 24) | (b[j + 1]! << 16) | (b[j + 2]! << 8) | b[j + 3]!;
}
export function w16(b: Uint8Array, i: number, v: number): void {
  const j = i | 0;
  b[j] = v >>> 8;
  b[j + 1] = v;
}
