/**
 * A small built-in example for `pathsteer gateway inspect`: ZooRoute's Fig. 11
 * (PBM, Np = 4, ports 10001-10004) and Fig. 12 (HI, Np = 32, M = 4) as gateways,
 * plus a stateful vIP, with one update delivered as a table-update packet.
 */
import { ipv4ToU32 } from '../src/protocol/index.js';
import { PacketChannel, PcieChannel } from './channels.js';
import { Gateway } from './gateway.js';
import { PS_F_STATEFUL } from './path/stateful.js';

/** Bitmap from ZooRoute's notation: first character = first port of the window. */
export function fromBitString(s: string): bigint {
  let b = 0n;
  for (let i = 0; i < s.length; i++) if (s[i] === '1') b |= 1n << BigInt(i);
  return b;
}

export interface Example {
  pbm: Gateway;
  hi: Gateway;
  peers: Record<string, number>;
  /** What happened to build it, in order. */
  steps: string[];
}

export function buildExample(): Example {
  const steps: string[] = [];
  const pcie = new PcieChannel();
  const peers = {
    dstIP_1: ipv4ToU32('198.18.0.1'),
    dstIP_2: ipv4ToU32('198.18.0.2'),
    dstIP_3: ipv4ToU32('198.18.0.3'),
    vIP_1: ipv4ToU32('198.18.0.100'),
    dstIP_i: ipv4ToU32('198.18.1.1'),
  };
  // Fig. 11: PBM with Np = 4, ports 10001-10004
  const pbm = new Gateway({ scheme: 'pbm', np: 4, basePort: 10001, peers: 8, vips: 2 });
  pcie.sendSync(pbm, [
    { peer: peers.dstIP_1, base: 10001, nports: 4, flags: 0, bitmap: fromBitString('1111') },
    { peer: peers.dstIP_2, base: 10001, nports: 4, flags: 0, bitmap: fromBitString('1011') },
    { peer: peers.dstIP_3, base: 10001, nports: 4, flags: 0, bitmap: fromBitString('0110') },
    // a middlebox vIP behind 2 instances: ports 10001/10002 reach one, 10003/10004 the other
    { peer: peers.vIP_1, base: 10001, nports: 4, flags: PS_F_STATEFUL, bitmap: fromBitString('1111'), ngroups: 2, groupMask: [fromBitString('1100'), fromBitString('0011')] },
  ]);
  steps.push('PBM gateway (Np=4, ports 10001-10004): dstIP_1 1111, dstIP_2 1011, dstIP_3 0110, vIP_1 stateful with 2 groups, over PCIe');
  // port 10003 of dstIP_2 fails: the bitmap becomes 1001, delivered in a table-update packet
  const rep = new PacketChannel(pbm).send([{ peer: peers.dstIP_2, base: 10001, nports: 4, flags: 0, bitmap: fromBitString('1001') }]);
  steps.push(`dstIP_2 port 10003 fails: bitmap 1001 in ${rep.packets} table-update packet, ${rep.passes} pass`);
  // Fig. 12: HI with Np = 32, M = 4 (8 groups at stride 8: ports 1, 9, 17, 25 together)
  const hi = new Gateway({ scheme: 'hi', np: 32, m: 4, basePort: 1, peers: 8, vips: 1 });
  let bm = (1n << 32n) - 1n;
  bm &= ~(1n << 9n); // port 10 (group 1: ports 2, 10, 18, 26) unavailable
  for (const port of [3, 11, 19, 27]) bm &= ~(1n << BigInt(port - 1)); // group 2 entirely unavailable
  pcie.sendSync(hi, [{ peer: peers.dstIP_i, base: 1, nports: 32, flags: 0, bitmap: bm }]);
  steps.push('HI gateway (Np=32, M=4, ports 1-32): dstIP_i with port 10 and ports 3/11/19/27 unavailable');
  return { pbm, hi, peers, steps };
}
