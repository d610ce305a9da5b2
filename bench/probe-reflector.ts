/**
 * The far side of `pathsteer bench probes`: one process answering pathsteer
 * probes for many peer addresses, with the agent's own Responder on one UDP
 * socket per address (so each answer leaves from the address that was probed).
 * Run inside the peer namespace as `node dist/bench/probe-reflector.js
 * '{"addrs": [...], "port": 14789, "tunnelPort": 4789}'`; prints {"ready":true}
 * once bound and its counters as JSON on SIGTERM.
 *
 * With `"kernel": {"iface": "ps0", "sources": ["198.18.200.1"]}` (the data
 * plane attached on that interface) the in-kernel reflector answers the
 * telemetry requests instead: it is switched on without a rate limit and the
 * sources get their sessions up front; this process then only negotiates
 * (answering from the probed address, which one socket bound to 0.0.0.0
 * could not).
 */
import { createSocket, type Socket } from 'node:dgram';
import { agentMetrics } from '../src/agent/metrics.js';
import { MapReflector } from '../src/agent/reflector.js';
import { SportMaps } from '../src/maps/dataplane.js';
import { PS_REFLECT_MAX_RATE } from '../src/maps/reflect.js';
import { Responder } from '../src/agent/responder.js';
import type { Datagram, Transport } from '../src/agent/transport.js';
import { logger } from '../src/common/logger.js';
import { decode, MsgType, type NegotiationMessage, type TelemetryMessage } from '../src/protocol/index.js';

interface Args {
  addrs: string[];
  port: number;
  tunnelPort: number;
  kernel?: { iface: string; sources: string[] };
}

class SocketTransport implements Transport {
  constructor(private readonly sock: Socket) {}
  send(data: Buffer, address: string, port: number): void {
    this.sock.send(data, port, address);
  }
  onMessage(h: (d: Datagram) => void): void {
    this.sock.on('message', (data, r) => h({ data, address: r.address, port: r.port }));
  }
  close(): Promise<void> {
    return new Promise((r) => this.sock.close(() => r()));
  }
}

async function main(): Promise<void> {
  const args = JSON.parse(process.argv[2] ?? '{}') as Args;
  const metrics = agentMetrics();
  const log = logger.child({ module: 'bench/probe-reflector' });
  let answered = 0;
  const transports: SocketTransport[] = [];
  let maps: SportMaps | undefined;
  if (args.kernel) {
    maps = SportMaps.open(args.kernel.iface);
    const k = new MapReflector(maps.reflect);
    k.configure({ reflect: true, learn: false, backendId: 0, ratePerSec: PS_REFLECT_MAX_RATE, burst: PS_REFLECT_MAX_RATE });
    for (const src of args.kernel.sources) k.addSession(src);
  }
  for (const addr of args.addrs) {
    const sock = createSocket('udp4');
    await new Promise<void>((resolve, reject) => {
      sock.once('error', reject);
      sock.bind(args.port, addr, () => resolve());
    });
    try {
      sock.setRecvBufferSize(4 << 20);
    } catch {
      // limited by rmem_max
    }
    const t = new SocketTransport(sock);
    // no backpressure from the reflector: the bench measures the agent
    const r = new Responder(t, addr, 0, () => undefined, metrics, log, {
      tunnelPort: args.tunnelPort,
      allow: [],
      sessionTtlMs: 300_000,
      bucket: { ratePerSec: 1e9, maxTokens: 1e9 },
    });
    t.onMessage((d) => {
      try {
        const m = decode(d.data);
        if (m.type === MsgType.NEGOTIATION_REQUEST || m.type === MsgType.TELEMETRY_REQUEST) {
          r.handleRequest(m as NegotiationMessage | TelemetryMessage, d, performance.now());
          answered++;
        }
      } catch {
        // not a request we answer
      }
    });
    transports.push(t);
  }
  process.stdout.write(`${JSON.stringify({ ready: true, addrs: args.addrs.length })}\n`);
  process.on('SIGTERM', () => {
    process.stdout.write(`${JSON.stringify({ answered })}\n`);
    maps?.close();
    void Promise.all(transports.map((t) => t.close())).then(() => process.exit(0));
  });
}

void main();
