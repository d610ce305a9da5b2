/**
 * HTTP-like request/response traffic for testbed experiments (the SLB bed of
 * middlebox.ts, tenant RTT on the two-region bed), run inside a namespace as
 * `node dist/src/testbed/request-worker.js server|client|rtt CONFIG_JSON`:
 *
 * server: listens on `port`; on every connection answers each line `Q<n>` with
 *   `A<n>`. Prints {"ready":true}.
 * client: `concurrency` loops, each running rounds until `duration_s` is over.
 *   A round is one request the way curl in a retry loop makes it (ZooRoute
 *   Fig. 19): an attempt opens a TCP connection to dst:port and exchanges
 *   `exchanges` request/response lines `gap_ms` apart; a reset, a refused
 *   connection or `timeout_ms` without an answer fails the attempt, and the
 *   round retries with a new connection, at most `max_attempts` attempts.
 *   Prints {"ready":true} at the start and {"done":true,"rounds":[...]} at the end.
 * rtt: `connections` TCP connections to dst:port one after another, each on a
 *   new source port (so a new tunnel flow), timing the handshake (SYN to
 *   SYN-ACK) and one request/response; prints {"ready":true}, then
 *   {"done":true,"handshake_ms":[...],"request_ms":[...]}.
 */
import { createConnection, createServer, type Socket } from 'node:net';

export interface ClientConfig {
  dst: string;
  port: number;
  concurrency: number;
  exchanges: number;
  gap_ms: number;
  timeout_ms: number;
  max_attempts: number;
  duration_s: number;
}

export interface RoundResult {
  /** Attempts made (1 = first try succeeded). */
  attempts: number;
  ok: boolean;
  /** Why each failed attempt failed: reset, refused, timeout, closed. */
  errors: string[];
  /** ms after the client started. */
  started_ms: number;
}

function attempt(c: ClientConfig): Promise<string | undefined> {
  return new Promise((resolve) => {
    let done = false;
    let sent = 0;
    let buf = '';
    let timer: NodeJS.Timeout | undefined;
    const sock: Socket = createConnection({ host: c.dst, port: c.port });
    const finish = (err: string | undefined): void => {
      if (done) return;
      done = true;
      if (timer) clearTimeout(timer);
      sock.destroy();
      resolve(err);
    };
    const arm = (): void => {
      if (timer) clearTimeout(timer);
      timer = setTimeout(() => finish('timeout'), c.timeout_ms);
    };
    const ask = (): void => {
      sock.write(`Q${sent}\n`);
      sent++;
      arm();
    };
    sock.setNoDelay(true);
    arm();
    sock.on('connect', ask);
    sock.on('data', (d: Buffer) => {
      buf += d.toString();
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (line !== `A${sent - 1}`) return finish('garbled');
        if (sent >= c.exchanges) return finish(undefined);
        if (timer) clearTimeout(timer);
        timer = setTimeout(ask, c.gap_ms);
      }
    });
    sock.on('error', (e: NodeJS.ErrnoException) => finish(e.code === 'ECONNRESET' ? 'reset' : e.code === 'ECONNREFUSED' ? 'refused' : (e.code ?? 'error')));
    sock.on('close', () => finish('closed'));
  });
}

async function client(c: ClientConfig): Promise<void> {
  const t0 = performance.now();
  const end = t0 + c.duration_s * 1000;
  const rounds: RoundResult[] = [];
  process.stdout.write(`${JSON.stringify({ ready: true })}\n`);
  const loop = async (): Promise<void> => {
    while (performance.now() < end) {
      const r: RoundResult = { attempts: 0, ok: false, errors: [], started_ms: Math.round(performance.now() - t0) };
      while (r.attempts < c.max_attempts) {
        r.attempts++;
        const err = await attempt(c);
        if (!err) {
          r.ok = true;
          break;
        }
        r.errors.push(err);
      }
      rounds.push(r);
    }
  };
  await Promise.all(Array.from({ length: c.concurrency }, loop));
  process.stdout.write(`${JSON.stringify({ done: true, rounds })}\n`);
}

function server(port: number): void {
  const srv = createServer((sock) => {
    let buf = '';
    sock.setNoDelay(true);
    sock.on('data', (d: Buffer) => {
      buf += d.toString();
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        sock.write(`A${line.slice(1)}\n`);
      }
    });
    sock.on('error', () => undefined);
  });
  srv.listen(port, '0.0.0.0', () => process.stdout.write(`${JSON.stringify({ ready: true, port })}\n`));
  process.on('SIGTERM', () => srv.close(() => process.exit(0)));
}

export interface RttConfig {
  dst: string;
  port: number;
  connections: number;
  timeout_ms: number;
}

function oneRtt(c: RttConfig): Promise<{ handshake: number; request: number } | undefined> {
  return new Promise((resolve) => {
    const t0 = performance.now();
    let t1 = 0;
    const sock = createConnection({ host: c.dst, port: c.port });
    const timer = setTimeout(() => {
      sock.destroy();
      resolve(undefined);
    }, c.timeout_ms);
    sock.setNoDelay(true);
    sock.on('connect', () => {
      t1 = performance.now();
      sock.write('Q0\n');
    });
    sock.on('data', () => {
      clearTimeout(timer);
      const t2 = performance.now();
      sock.destroy();
      resolve({ handshake: t1 - t0, request: t2 - t1 });
    });
    sock.on('error', () => {
      clearTimeout(timer);
      resolve(undefined);
    });
  });
}

async function rtt(c: RttConfig): Promise<void> {
  process.stdout.write(`${JSON.stringify({ ready: true })}\n`);
  const handshake: number[] = [];
  const request: number[] = [];
  let failed = 0;
  for (let i = 0; i < c.connections; i++) {
    const r = await oneRtt(c);
    if (!r) failed++;
    else {
      handshake.push(Math.round(r.handshake * 100) / 100);
      request.push(Math.round(r.request * 100) / 100);
    }
  }
  process.stdout.write(`${JSON.stringify({ done: true, handshake_ms: handshake, request_ms: request, failed })}\n`);
}

const [mode, cfg] = process.argv.slice(2);
if (mode === 'server') server((JSON.parse(cfg ?? '{}') as { port: number }).port);
else if (mode === 'client') void client(JSON.parse(cfg ?? '{}') as ClientConfig);
else if (mode === 'rtt') void rtt(JSON.parse(cfg ?? '{}') as RttConfig);
else {
  process.stderr.write('usage: request-worker.js server|client|rtt CONFIG_JSON\n');
  process.exitCode = 2;
}
