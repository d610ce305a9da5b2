/**
 * The traffic worker: run inside a tenant namespace as a child process
 * (`node dist/src/testbed/traffic-worker.js send|recv CONFIG_JSON`), driven by
 * src/testbed/traffic.ts over stdio with one JSON object per line.
 *
 * Wire format (UDP payload and TCP record), 32 bytes, network byte order:
 *   0 u32 magic 0x50534631 ("PSF1")   4 u32 run id   8 u32 flow   12 u32 seq
 *   16 u64 tx time (CLOCK_MONOTONIC ns)   24 u64 reserved (0)
 * UDP packets are padded to `size` bytes. Flow f uses destination port
 * `port + f` (UDP) or one connection to `port` (TCP); the kernel picks distinct
 * source ports, so every flow is its own 5-tuple and ECMP spreads them.
 *
 * sender: prints {"ready":true,...} once sockets are connected, starts on
 *   {"start":true}, paces each flow at `rate` pps (flows staggered within an
 *   interval) for `duration_s`, prints {"done":true,"flows":[SenderFlowReport]},
 *   and exits on {"exit":true} or stdin EOF.
 * receiver: prints {"ready":true} once bound; on {"stop":true,"sender":[...]}
 *   waits for TCP flows to drain (up to drain_ms), prints
 *   {"result":[FlowResult]} and exits.
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { createConnection, createServer, type Socket } from 'node:net';
import { createInterface } from 'node:readline';
import { analyzeTcpFlow, analyzeUdpFlow, type SenderFlowReport, type TcpFlowObservation } from './meter.js';

export const RECORD_SIZE = 32;
export const MAGIC = 0x50534631;

export interface SenderConfig {
  proto: 'udp' | 'tcp';
  dst: string;
  port: number;
  flows: number;
  rate: number;
  duration_s: number;
  run_id: number;
  size: number;
}

export interface ReceiverConfig {
  proto: 'udp' | 'tcp';
  port: number;
  flows: number;
  run_id: number;
}

const now = (): bigint => process.hrtime.bigint();

function emit(o: unknown): void {
  process.stdout.write(`${JSON.stringify(o)}\n`);
}

function encode(buf: Buffer, runId: number, flow: number, seq: number, tx: bigint): void {
  buf.writeUInt32BE(MAGIC, 0);
  buf.writeUInt32BE(runId, 4);
  buf.writeUInt32BE(flow, 8);
  buf.writeUInt32BE(seq >>> 0, 12);
  buf.writeBigUInt64BE(tx, 16);
  buf.writeBigUInt64BE(0n, 24);
}

function lines(onLine: (msg: Record<string, unknown>) => void, onEnd: () => void): void {
  const rl = createInterface({ input: process.stdin });
  rl.on('line', (l) => {
    try {
      onLine(JSON.parse(l) as Record<string, unknown>);
    } catch {
      // ignore garbage
    }
  });
  rl.on('close', onEnd);
}

async function sender(cfg: SenderConfig): Promise<void> {
  const udp: UdpSocket[] = [];
  const tcp: Socket[] = [];
  const srcPorts: number[] = [];
  const dstPorts: number[] = [];
  for (let f = 0; f < cfg.flows; f++) {
    if (cfg.proto === 'udp') {
      const s = createSocket({ type: 'udp4', sendBufferSize: 1 << 20 });
      await new Promise<void>((res, rej) => {
        s.once('error', rej);
        s.connect(cfg.port + f, cfg.dst, () => res());
      });
      s.on('error', () => undefined); // ICMP errors while a path is broken are expected
      udp.push(s);
      srcPorts.push(s.address().port);
      dstPorts.push(cfg.port + f);
    } else {
      const s = await new Promise<Socket>((res, rej) => {
        const c = createConnection({ host: cfg.dst, port: cfg.port, noDelay: true }, () => res(c));
        c.once('error', rej);
      });
      s.on('error', () => undefined);
      tcp.push(s);
      srcPorts.push(s.localPort ?? 0);
      dstPorts.push(cfg.port);
    }
  }
  emit({ ready: true, src_ports: srcPorts });

  const exit = (): void => {
    for (const s of udp) s.close();
    for (const s of tcp) s.destroy();
    process.exit(0);
  };
  let started = false;
  lines(
    (m) => {
      if (m.start && !started) {
        started = true;
        void pace();
      }
      if (m.exit) exit();
    },
    exit,
  );

  async function pace(): Promise<void> {
    const intervalNs = 1e9 / cfg.rate;
    const total = Math.max(1, Math.round(cfg.rate * cfg.duration_s));
    const sent = new Array<number>(cfg.flows).fill(0);
    const first = new Array<bigint>(cfg.flows).fill(0n);
    const last = new Array<bigint>(cfg.flows).fill(0n);
    const offset = Array.from({ length: cfg.flows }, (_, f) => (f * intervalNs) / cfg.flows);
    const t0 = now();
    emit({ started: true, t0_ns: t0.toString() });
    const udpBuf = (): Buffer => Buffer.alloc(cfg.size);
    await new Promise<void>((done) => {
      const tick = (): void => {
        const t = now();
        const el = Number(t - t0);
        let remaining = false;
        for (let f = 0; f < cfg.flows; f++) {
          const due = Math.min(total, Math.floor((el - offset[f]!) / intervalNs) + 1);
          while (sent[f]! < due) {
            const tx = now();
            if (cfg.proto === 'udp') {
              const b = udpBuf();
              encode(b, cfg.run_id, f, sent[f]!, tx);
              udp[f]!.send(b);
            } else {
              const b = Buffer.allocUnsafe(RECORD_SIZE);
              encode(b, cfg.run_id, f, sent[f]!, tx);
              tcp[f]!.write(b);
            }
            if (sent[f] === 0) first[f] = tx;
            last[f] = tx;
            sent[f]!++;
          }
          if (sent[f]! < total) remaining = true;
        }
        if (remaining) setTimeout(tick, 0);
        else done();
      };
      tick();
    });
    const flows: SenderFlowReport[] = sent.map((n, f) => ({
      flow: f,
      src_port: srcPorts[f]!,
      dst_port: dstPorts[f]!,
      sent: n,
      first_tx_ns: Number(first[f]),
      last_tx_ns: Number(last[f]),
    }));
    emit({ done: true, flows });
  }
}

/** Float64Array that grows; NaN marks "not delivered". */
class SeqTimes {
  v = new Float64Array(1024).fill(NaN);
  set(seq: number, tx: number): boolean {
    if (seq >= this.v.length) {
      let n = this.v.length;
      while (n <= seq) n *= 2;
      const w = new Float64Array(n).fill(NaN);
      w.set(this.v);
      this.v = w;
    }
    if (!Number.isNaN(this.v[seq]!)) return false;
    this.v[seq] = tx;
    return true;
  }
}

async function receiver(cfg: ReceiverConfig): Promise<void> {
  const udpSeen = Array.from({ length: cfg.flows }, () => new SeqTimes());
  const udpDelivered = new Array<number>(cfg.flows).fill(0);
  const tcpObs: TcpFlowObservation[] = Array.from({ length: cfg.flows }, () => ({
    delivered: 0,
    min_delay_ns: Number.POSITIVE_INFINITY,
    max_delay_ns: 0,
    last_tx_ns: 0,
    stalls: 0,
    end_ns: 0,
  }));
  const inStall = new Array<boolean>(cfg.flows).fill(false);
  let stallNs = 50e6;
  let intervalNs = 1e6;
  const sockets: UdpSocket[] = [];
  const conns: Socket[] = [];
  let server: ReturnType<typeof createServer> | undefined;

  if (cfg.proto === 'udp') {
    for (let f = 0; f < cfg.flows; f++) {
      const s = createSocket({ type: 'udp4', recvBufferSize: 4 << 20 });
      s.on('message', (msg) => {
        if (msg.length < RECORD_SIZE || msg.readUInt32BE(0) !== MAGIC || msg.readUInt32BE(4) !== cfg.run_id) return;
        const flow = msg.readUInt32BE(8);
        if (flow !== f) return;
        if (udpSeen[f]!.set(msg.readUInt32BE(12), Number(msg.readBigUInt64BE(16)))) udpDelivered[f]!++;
      });
      await new Promise<void>((res, rej) => {
        s.once('error', rej);
        s.bind(cfg.port + f, () => res());
      });
      sockets.push(s);
    }
  } else {
    server = createServer((c) => {
      conns.push(c);
      c.setNoDelay(true);
      let pending: Buffer = Buffer.alloc(0);
      let flow = -1;
      c.on('data', (chunk: Buffer) => {
        const rx = Number(now());
        pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
        let off = 0;
        while (pending.length - off >= RECORD_SIZE) {
          if (pending.readUInt32BE(off) !== MAGIC || pending.readUInt32BE(off + 4) !== cfg.run_id) {
            c.destroy();
            return;
          }
          const f = pending.readUInt32BE(off + 8);
          if (flow < 0) flow = f;
          const o = tcpObs[f];
          if (o && f === flow) {
            const tx = Number(pending.readBigUInt64BE(off + 16));
            const delay = rx - tx;
            if (delay < o.min_delay_ns) o.min_delay_ns = delay;
            if (delay > o.max_delay_ns) o.max_delay_ns = delay;
            const stalled = delay - o.min_delay_ns >= stallNs;
            if (stalled && !inStall[f]) o.stalls++;
            inStall[f] = stalled;
            o.last_tx_ns = tx;
            o.delivered++;
          }
          off += RECORD_SIZE;
        }
        pending = pending.subarray(off);
      });
      c.on('error', () => undefined);
    });
    await new Promise<void>((res, rej) => {
      server!.once('error', rej);
      server!.listen(cfg.port, () => res());
    });
  }
  emit({ ready: true });

  let stopping = false;
  lines(
    (m) => {
      if (m.config && typeof m.config === 'object') {
        const c = m.config as { stall_ms?: number; interval_ns?: number };
        if (c.stall_ms !== undefined) stallNs = c.stall_ms * 1e6;
        if (c.interval_ns !== undefined) intervalNs = c.interval_ns;
      }
      if (m.stop && !stopping) {
        stopping = true;
        void finish(m.sender as SenderFlowReport[], Number(m.drain_ms ?? 2000));
      }
    },
    () => {
      if (!stopping) process.exit(0);
    },
  );

  async function finish(sent: SenderFlowReport[], drainMs: number): Promise<void> {
    const deadline = Date.now() + drainMs;
    const complete = (): boolean =>
      sent.every((s) => (cfg.proto === 'udp' ? udpDelivered[s.flow]! : tcpObs[s.flow]!.delivered) >= s.sent);
    while (!complete() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    const end = Number(now());
    for (const o of tcpObs) {
      o.end_ns = end;
      if (o.delivered === 0) o.min_delay_ns = 0;
    }
    const result = sent.map((s) =>
      cfg.proto === 'udp'
        ? analyzeUdpFlow(s, udpSeen[s.flow]!.v, intervalNs)
        : analyzeTcpFlow(s, tcpObs[s.flow]!, intervalNs, stallNs / 1e6),
    );
    emit({ result });
    for (const s of sockets) s.close();
    for (const c of conns) c.destroy();
    server?.close();
    process.exit(0);
  }
}

const [, , mode, json] = process.argv;
if (mode === 'send') await sender(JSON.parse(json!) as SenderConfig);
else if (mode === 'recv') await receiver(JSON.parse(json!) as ReceiverConfig);
else {
  process.stderr.write('usage: traffic-worker.js send|recv CONFIG_JSON\n');
  process.exit(2);
}
