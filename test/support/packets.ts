/**
 * Crafting and checking packets for BPF_PROG_TEST_RUN tests: Ethernet + IPv4
 * (optional options, fragment bits) + UDP with a correct (or zero) checksum,
 * VXLAN / Geneve / pathsteer-probe payloads. Everything network order.
 */
import { writeIpv4 } from '../../src/common/net.js';
import { xorshift32 } from './random.js';

export interface Udp4Spec {
  saddr: string;
  daddr: string;
  sport: number;
  dport: number;
  payload: Buffer;
  /**
   * true: a correct UDP checksum; false: 0 (noudpcsum); 'seed': the
   * pseudo-header sum the stack leaves for checksum offload / GSO. @default true
   */
  udpCsum?: boolean | 'seed';
  /** Raw IP options (multiple of 4 bytes). */
  ipOptions?: Buffer;
  /** IPv4 frag_off field (flags + offset). @default 0x4000 (DF) */
  fragOff?: number;
  /** IP protocol. @default 17 */
  proto?: number;
  ttl?: number;
  /** Ethertype. @default 0x0800 */
  ethType?: number;
}

export const ETH_LEN = 14;
export const VXLAN_PORT = 4789;
export const GENEVE_PORT = 6081;

function ip4(a: string): Buffer {
  return writeIpv4(a, Buffer.alloc(4));
}

/** One's-complement sum of 16-bit big-endian words. */
export function csumAdd(buf: Buffer, sum = 0): number {
  let s = sum;
  for (let i = 0; i + 1 < buf.length; i += 2) s += buf.readUInt16BE(i);
  if (buf.length % 2) s += buf[buf.length - 1]! << 8;
  return s;
}

export function csumFold(sum: number): number {
  let s = sum;
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return s;
}

/** The UDP checksum of datagram `udp` (header with check field as stored) between saddr and daddr. */
export function udpChecksum(saddr: Buffer, daddr: Buffer, udp: Buffer): number {
  const pseudo = Buffer.alloc(12);
  saddr.copy(pseudo, 0);
  daddr.copy(pseudo, 4);
  pseudo[9] = 17;
  pseudo.writeUInt16BE(udp.length, 10);
  const zeroed = Buffer.from(udp);
  zeroed.writeUInt16BE(0, 6);
  const c = ~csumFold(csumAdd(zeroed, csumAdd(pseudo))) & 0xffff;
  return c === 0 ? 0xffff : c;
}

/** The pseudo-header sum the kernel leaves in uh->check for checksum offload (a "seed"). */
export function udpPseudoSeed(saddr: Buffer, daddr: Buffer, udpLen: number): number {
  const pseudo = Buffer.alloc(12);
  saddr.copy(pseudo, 0);
  daddr.copy(pseudo, 4);
  pseudo[9] = 17;
  pseudo.writeUInt16BE(udpLen, 10);
  return csumFold(csumAdd(pseudo));
}

export function buildUdp4(s: Udp4Spec): Buffer {
  const opts = s.ipOptions ?? Buffer.alloc(0);
  if (opts.length % 4) throw new Error('IP options must be a multiple of 4 bytes');
  const ihl = 5 + opts.length / 4;
  const udpLen = 8 + s.payload.length;
  const pkt = Buffer.alloc(ETH_LEN + ihl * 4 + udpLen);
  // Ethernet: dst 02:00:00:00:00:02, src 02:00:00:00:00:01
  Buffer.from([2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1]).copy(pkt, 0);
  pkt.writeUInt16BE(s.ethType ?? 0x0800, 12);
  const ip = ETH_LEN;
  pkt[ip] = 0x40 | ihl;
  pkt.writeUInt16BE(ihl * 4 + udpLen, ip + 2);
  pkt.writeUInt16BE(0x1234, ip + 4);
  pkt.writeUInt16BE(s.fragOff ?? 0x4000, ip + 6);
  pkt[ip + 8] = s.ttl ?? 64;
  pkt[ip + 9] = s.proto ?? 17;
  ip4(s.saddr).copy(pkt, ip + 12);
  ip4(s.daddr).copy(pkt, ip + 16);
  opts.copy(pkt, ip + 20);
  pkt.writeUInt16BE(~csumFold(csumAdd(pkt.subarray(ip, ip + ihl * 4))) & 0xffff, ip + 10);
  const u = ip + ihl * 4;
  pkt.writeUInt16BE(s.sport, u);
  pkt.writeUInt16BE(s.dport, u + 2);
  pkt.writeUInt16BE(udpLen, u + 4);
  s.payload.copy(pkt, u + 8);
  const csum = s.udpCsum ?? true;
  if (csum === 'seed') pkt.writeUInt16BE(udpPseudoSeed(ip4(s.saddr), ip4(s.daddr), udpLen), u + 6);
  else if (csum) pkt.writeUInt16BE(udpChecksum(ip4(s.saddr), ip4(s.daddr), pkt.subarray(u, u + udpLen)), u + 6);
  return pkt;
}

/** Offsets and fields of an Ethernet/IPv4/UDP packet. */
export function parseUdp4(pkt: Buffer): { l4: number; sport: number; dport: number; check: number; saddr: Buffer; daddr: Buffer; udp: Buffer } {
  const ihl = (pkt[ETH_LEN]! & 0xf) * 4;
  const l4 = ETH_LEN + ihl;
  const len = pkt.readUInt16BE(l4 + 4);
  return {
    l4,
    sport: pkt.readUInt16BE(l4),
    dport: pkt.readUInt16BE(l4 + 2),
    check: pkt.readUInt16BE(l4 + 6),
    saddr: pkt.subarray(ETH_LEN + 12, ETH_LEN + 16),
    daddr: pkt.subarray(ETH_LEN + 16, ETH_LEN + 20),
    udp: pkt.subarray(l4, l4 + len),
  };
}

/** True when the UDP checksum is 0 (absent) or correct. */
export function udpChecksumOk(pkt: Buffer): boolean {
  const p = parseUdp4(pkt);
  if (p.check === 0) return true;
  return udpChecksum(p.saddr, p.daddr, p.udp) === p.check;
}

/** A VXLAN header (VNI) followed by an inner frame. */
export function vxlanPayload(vni: number, inner: Buffer): Buffer {
  const h = Buffer.alloc(8);
  h[0] = 0x08;
  h.writeUIntBE(vni, 4, 3);
  return Buffer.concat([h, inner]);
}

/** A Geneve header (no options, protocol Ethernet) followed by an inner frame. */
export function genevePayload(vni: number, inner: Buffer): Buffer {
  const h = Buffer.alloc(8);
  h.writeUInt16BE(0x6558, 2);
  h.writeUIntBE(vni, 4, 3);
  return Buffer.concat([h, inner]);
}

/** A pathsteer wire header (DESIGN §3, 28 bytes) asking for outer sport txSport, plus reflect data. */
export function probePayload(txSport: number, o: { type?: number; seq?: number; reflect?: Buffer; truncateTo?: number } = {}): Buffer {
  const h = Buffer.alloc(28);
  h[0] = 0xff;
  h[1] = 0xee;
  h[2] = 0xdd;
  h[3] = o.type ?? 0x7e;
  h[4] = 1;
  const reflect = o.reflect ?? Buffer.alloc(16);
  h.writeUInt16BE(28 + reflect.length, 8);
  h.writeUInt16BE(txSport, 10);
  h.writeUInt32BE(o.seq ?? 1, 12);
  const full = Buffer.concat([h, reflect]);
  return o.truncateTo !== undefined ? full.subarray(0, o.truncateTo) : full;
}

/**
 * An inner Ethernet/IPv4/TCP-ish frame of `len` bytes (content opaque to the
 * program) to a unicast MAC; `broadcast` makes the destination ff:ff:ff:ff:ff:ff
 * (a flooded frame, not counted as activity).
 */
export function innerFrame(len: number, seed = 1, broadcast = false): Buffer {
  const b = Buffer.alloc(Math.max(len, 14));
  const r = xorshift32(seed);
  for (let i = 0; i < b.length; i++) b[i] = r.u32() & 0xff;
  b[0] = b[0]! & 0xfe;
  if (broadcast) b.fill(0xff, 0, 6);
  b.writeUInt16BE(0x0800, 12);
  return b;
}
