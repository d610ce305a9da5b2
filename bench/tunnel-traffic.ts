/**
 * Tunnel traffic to many peers for `pathsteer bench probing`: run inside the
 * agent's namespace as `node dist/bench/tunnel-traffic.js
 * '{"addrs": [...], "flows": 2, "intervalMs": 1000, "tunnelPort": 4789, "rampPerSec": 250}'`.
 * Every peer gets `flows` flows (one socket each, so one outer source port
 * each, as the vxlan driver would give `flows` tenant flows), each sending a
 * VXLAN-framed packet to a unicast inner MAC every `intervalMs`. vxlan_sport
 * steers them and records them in ps_activity, so the agent finds its peers
 * and their ports in use exactly as with tenant traffic. With `rampPerSec`
 * the peers join that many per second (a host does not get thousands of new
 * peers in one instant). Prints
 * {"ready":true} once the sockets are bound and {"sent":N} on SIGTERM.
 */
import { createSocket, type Socket } from 'node:dgram';

interface Args {
  addrs: string[];
  flows: number;
  intervalMs: number;
  tunnelPort: number;
  rampPerSec?: number;
}

/** VXLAN header (VNI 100) + an inner Ethernet frame to a unicast MAC (not flooded: counted as activity). */
function frame(): Buffer {
  const b = Buffer.alloc(8 + 64);
  b[0] = 0x08;
  b.writeUIntBE(100, 4, 3);
  Buffer.from([0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01]).copy(b, 8);
  b.writeUInt16BE(0x0800, 20);
  return b;
}

async function main(): Promise<void> {
  const a = JSON.parse(process.argv[2] ?? '{}') as Args;
  const socks: Socket[] = [];
  for (let f = 0; f < a.flows; f++) {
    const s = createSocket('udp4');
    await new Promise<void>((resolve) => s.bind(0, resolve));
    s.on('error', () => undefined); // ICMP unreachable from peers without a tunnel device
    socks.push(s);
  }
  const pkt = frame();
  let sent = 0;
  process.stdout.write(`${JSON.stringify({ ready: true, peers: a.addrs.length, flows: a.flows })}\n`);
  // spread the peers over the interval so the load is even
  const step = a.intervalMs / Math.max(1, a.addrs.length);
  let i = 0;
  const due = Math.max(1, Math.ceil(10 / step)); // peers per 10 ms tick
  const t0 = performance.now();
  const tick = (): void => {
    const live = a.rampPerSec ? Math.min(a.addrs.length, Math.max(1, Math.floor(((performance.now() - t0) / 1000) * a.rampPerSec))) : a.addrs.length;
    for (let k = 0; k < due; k++) {
      const addr = a.addrs[i % live]!;
      for (const s of socks) {
        s.send(pkt, a.tunnelPort, addr);
        sent++;
      }
      i++;
    }
  };
  const timer = setInterval(tick, 10);
  process.on('SIGTERM', () => {
    clearInterval(timer);
    process.stdout.write(`${JSON.stringify({ sent })}\n`);
    for (const s of socks) s.close();
    process.exit(0);
  });
}

void main();
