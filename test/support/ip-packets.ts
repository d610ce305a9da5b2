/**
 * Ethernet + IPv4/IPv6 + TCP/UDP packets with a chosen DSCP/ECN, for the
 * altpath_dscp tests and benchmark, and what they need to check the output:
 * the DSCP and ECN bits, the IPv4 header checksum. Everything network order.
 */
import { parseIpv6, writeIpv4 } from '../../src/common/net.js';
import { csumAdd, csumFold, ETH_LEN } from './packets.js';

export interface IpSpec {
  family: 4 | 6;
  saddr: string;
  daddr: string;
  /** 6 TCP, 17 UDP, or anything else. */
  proto: number;
  sport: number;
  dport: number;
  /** DSCP 0..63. @default 0 */
  dscp?: number;
  /** ECN 0..3. @default 0 */
  ecn?: number;
  /** L4 payload bytes after the TCP (20) or UDP (8) header. @default 32 */
  payloadLen?: number;
  /** IPv4 frag_off (flags + offset). @default 0x4000 (DF) */
  fragOff?: number;
  /** IPv4 options (multiple of 4 bytes). */
  ipOptions?: Buffer;
  /** IPv6: put this extension header (e.g. 0 hop-by-hop, 44 fragment) before the L4 header. */
  ipv6ExtHeader?: number;
  /** IPv6 flow label. @default 0x12345 */
  flowLabel?: number;
}

function l4Header(s: IpSpec): Buffer {
  const len = s.proto === 6 ? 20 : 8;
  const pay = s.payloadLen ?? 32;
  const b = Buffer.alloc(len + pay);
  b.writeUInt16BE(s.sport, 0);
  b.writeUInt16BE(s.dport, 2);
  if (s.proto === 6) {
    b.writeUInt32BE(0x01020304, 4); // seq
    b[12] = 5 << 4; // data offset
    b[13] = 0x18; // PSH ACK
    b.writeUInt16BE(65535, 14);
  } else {
    b.writeUInt16BE(len + pay, 4);
  }
  for (let i = 0; i < pay; i++) b[len + i] = (i * 7 + 1) & 0xff;
  // the L4 checksum is not looked at by altpath_dscp; leave a fixed value
  b.writeUInt16BE(0xabcd, s.proto === 6 ? 16 : 6);
  return b;
}

/** An Ethernet frame carrying the spec's packet (IPv4 header checksum correct). */
export function buildIp(s: IpSpec): Buffer {
  const l4 = l4Header(s);
  const tos = (((s.dscp ?? 0) & 0x3f) << 2) | ((s.ecn ?? 0) & 3);
  const eth = Buffer.from([2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0, 0]);
  if (s.family === 4) {
    eth.writeUInt16BE(0x0800, 12);
    const opts = s.ipOptions ?? Buffer.alloc(0);
    const ihl = 5 + opts.length / 4;
    const ip = Buffer.alloc(ihl * 4);
    ip[0] = 0x40 | ihl;
    ip[1] = tos;
    ip.writeUInt16BE(ihl * 4 + l4.length, 2);
    ip.writeUInt16BE(0x4321, 4);
    ip.writeUInt16BE(s.fragOff ?? 0x4000, 6);
    ip[8] = 64;
    ip[9] = s.proto;
    writeIpv4(s.saddr, ip, 12);
    writeIpv4(s.daddr, ip, 16);
    opts.copy(ip, 20);
    ip.writeUInt16BE(~csumFold(csumAdd(ip)) & 0xffff, 10);
    return Buffer.concat([eth, ip, l4]);
  }
  eth.writeUInt16BE(0x86dd, 12);
  const ext = s.ipv6ExtHeader;
  const extHdr = ext === undefined ? Buffer.alloc(0) : Buffer.alloc(8);
  if (ext !== undefined) extHdr[0] = s.proto; // next header after the extension
  const ip = Buffer.alloc(40);
  ip.writeUInt32BE(((6 << 28) | (tos << 20) | ((s.flowLabel ?? 0x12345) & 0xfffff)) >>> 0, 0);
  ip.writeUInt16BE(extHdr.length + l4.length, 4);
  ip[6] = ext ?? s.proto;
  ip[7] = 64;
  parseIpv6(s.saddr, ip, 8);
  parseIpv6(s.daddr, ip, 24);
  return Buffer.concat([eth, ip, extHdr, l4]);
}

/** DSCP and ECN of an Ethernet/IP frame. */
export function ipTos(pkt: Buffer): { dscp: number; ecn: number } {
  if (pkt.readUInt16BE(12) === 0x0800) {
    const tos = pkt[ETH_LEN + 1]!;
    return { dscp: tos >> 2, ecn: tos & 3 };
  }
  const tc = (pkt.readUInt32BE(ETH_LEN) >>> 20) & 0xff;
  return { dscp: tc >> 2, ecn: tc & 3 };
}

/** Is the IPv4 header checksum of an Ethernet/IPv4 frame correct? */
export function ipv4HeaderChecksumOk(pkt: Buffer): boolean {
  const ihl = (pkt[ETH_LEN]! & 0xf) * 4;
  return csumFold(csumAdd(pkt.subarray(ETH_LEN, ETH_LEN + ihl))) === 0xffff;
}

/**
 * The frame with its DSCP bits (and, for IPv4, the header checksum) zeroed:
 * what must be equal before and after altpath_dscp (which may change nothing else).
 */
export function withoutDscp(pkt: Buffer): Buffer {
  const b = Buffer.from(pkt);
  if (b.readUInt16BE(12) === 0x0800) {
    b[ETH_LEN + 1]! &= 3;
    b.writeUInt16BE(0, ETH_LEN + 10);
  } else {
    b[ETH_LEN]! &= 0xf0;
    b[ETH_LEN + 1]! &= 0x3f;
  }
  return b;
}
