/**
 * Many short TCP connections, as the AltPath testbed's clients make them
 * (`node dist/src/testbed/tcp-churn-worker.js server|client CONFIG_JSON`,
 * started inside a namespace by src/testbed/altpath.ts).
 *
 * server: listens on {host, port}, answers every connection with `bytes`
 *   bytes and closes it; prints {"ready":true,"port":N}; runs until SIGTERM,
 *   then prints {"done":true,"connections":N}.
 * client: opens `count` connections to {dst, port} from each source address
 *   in `sources` in turn (at most `concurrency` at once), reads the answer,
 *   closes; prints {"ready":true}, then {"done":true,"ok":N,"failed":N,"ms":T,
 *   "errors":[...first few]}, and exits.
 */
import { createConnection, createServer, type Socket } from 'node:net';

interface ServerConfig {
  host: string;
  port: number;
  bytes: number;
}

interface ClientConfig {
  dst: string;
  port: number;
  sources: string[];
  count: number;
  concurrency: number;
  timeoutMs: number;
}

const out = (o: unknown): void => {
  process.stdout.write(`${JSON.stringify(o)}\n`);
};

function server(c: ServerConfig): void {
  let connections = 0;
  const payload = Buffer.alloc(c.bytes, 0x61);
  const srv = createServer((s: Socket) => {
    connections++;
    s.on('error', () => undefined);
    s.end(payload);
  });
  srv.listen(c.port, c.host, () => {
    const a = srv.address();
    out({ ready: true, port: typeof a === 'object' && a ? a.port : c.port });
  });
  process.on('SIGTERM', () => {
    out({ done: true, connections });
    process.exit(0);
  });
}

async function client(c: ClientConfig): Promise<void> {
  out({ ready: true });
  const t0 = Date.now();
  let ok = 0;
  let failed = 0;
  const errors: string[] = [];
  let next = 0;
  const one = (src: string): Promise<void> =>
    new Promise((resolve) => {
      const s = createConnection({ host: c.dst, port: c.port, localAddress: src });
      let got = 0;
      const t = setTimeout(() => s.destroy(new Error('timeout')), c.timeoutMs);
      s.on('data', (d: Buffer) => (got += d.length));
      s.on('end', () => s.end());
      s.on('close', (hadError) => {
        clearTimeout(t);
        if (!hadError && got > 0) ok++;
        else failed++;
        resolve();
      });
      s.on('error', (e) => {
        if (errors.length < 5) errors.push(`${src}: ${e.message}`);
      });
    });
  const worker = async (): Promise<void> => {
    while (next < c.count) {
      const i = next++;
      await one(c.sources[i % c.sources.length]!);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(c.concurrency, c.count)) }, worker));
  out({ done: true, ok, failed, ms: Date.now() - t0, errors });
}

const [mode, json] = process.argv.slice(2);
const cfg = JSON.parse(json ?? '{}') as ServerConfig & ClientConfig;
if (mode === 'server') server(cfg);
else if (mode === 'client') await client(cfg);
else {
  process.stderr.write(`tcp-churn-worker: unknown mode ${mode} (server|client)\n`);
  process.exit(2);
}
