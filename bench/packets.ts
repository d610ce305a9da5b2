/**
 * Packets the BPF_PROG_TEST_RUN benchmarks feed the programs: Ethernet + IPv4
 * (DF, no options) + UDP with a correct checksum, network order.
 */
import { ipv4Bytes } from '../src/maps/scalar.js';

/**
 * An Ethernet + IPv4 frame (no options, DF, TTL `ttl`, header checksum set)
 * with room for `l4Len` bytes of protocol `proto` after the header at offset 34.
 */
export function ethIpv4Frame(saddr: string, daddr: string, proto: number, l4Len: number, ttl = 64): Buffer {
  const p = Buffer.alloc(14 + 20 + l4Len);
  Buffer.from([2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1]).copy(p, 0);
  p.writeUInt16BE(0x0800, 12);
  p[14] = 0x45;
  p.writeUInt16BE(20 + l4Len, 16);
  p.writeUInt16BE(0x4000, 20);
  p[22] = ttl;
  p[23] = proto;
  ipv4Bytes(saddr, p, 26);
  ipv4Bytes(daddr, p, 30);
  let s = 0;
  for (let i = 14; i < 34; i += 2) s += p.readUInt16BE(i);
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  p.writeUInt16BE(~s & 0xffff, 24);
  return p;
}

/** Ethernet/IPv4/UDP from saddr:sport to daddr:dport carrying `payload`, TTL `ttl`. */
export function udp4Frame(saddr: string, daddr: string, sport: number, dport: number, payload: Buffer, ttl = 64): Buffer {
  const udpLen = 8 + payload.length;
  const p = ethIpv4Frame(saddr, daddr, 17, udpLen, ttl);
  p.writeUInt16BE(sport, 34);
  p.writeUInt16BE(dport, 36);
  p.writeUInt16BE(udpLen, 38);
  payload.copy(p, 42);
  // UDP checksum over the pseudo-header and the datagram
  let c = 17 + udpLen;
  for (let i = 26; i < 34; i += 2) c += p.readUInt16BE(i);
  for (let i = 34; i < p.length; i += 2) c += i + 1 < p.length ? p.readUInt16BE(i) : p[i]! << 8;
  while (c > 0xffff) c = (c & 0xffff) + (c >>> 16);
  p.writeUInt16BE(~c & 0xffff || 0xffff, 40);
  return p;
}
