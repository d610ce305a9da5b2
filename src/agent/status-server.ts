/**
 * The agent's local control endpoint: HTTP over a Unix socket next to the
 * interface's attach record (`/run/pathsteer/[ns/NAME/]agent-IF.sock`), serving
 * GET /status (JSON) and GET /metrics (Prometheus text); optionally the same
 * /metrics on a TCP address (--metrics). `pathsteer agent status` is its client.
 */
import { existsSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { createServer, request, type Server } from 'node:http';
import { dirname, join } from 'node:path';
import { PathsteerError, UsageError } from '../common/errors.js';
import { makeDirs } from '../common/fs.js';
import { netnsScope } from '../loader/index.js';
import { STATE_ROOT } from '../maps/dataplane.js';

export function statusSocketPath(ifname: string, stateRoot = STATE_ROOT): string {
  return join(stateRoot, netnsScope(), `agent-${ifname}.sock`);
}

export interface Endpoints {
  status(): unknown;
  metrics(): string;
}

function handler(ep: Endpoints) {
  return (req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse): void => {
    try {
      if (req.url === '/status') {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify(ep.status(), (_k, v: unknown) => (typeof v === 'bigint' ? `0x${v.toString(16)}` : v)));
      } else if (req.url === '/metrics') {
        res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
        res.end(ep.metrics());
      } else {
        res.writeHead(404).end();
      }
    } catch (e) {
      res.writeHead(500).end(String((e as Error).message));
    }
  };
}

function listen(server: Server, arg: string | { host: string; port: number }): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    const done = (): void => {
      server.off('error', reject);
      resolve();
    };
    if (typeof arg === 'string') server.listen(arg, done);
    else server.listen(arg.port, arg.host, done);
  });
}

/** Does something accept connections on this Unix socket (a running agent)? */
function answers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(path);
    const done = (v: boolean): void => {
      s.destroy();
      resolve(v);
    };
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
    s.setTimeout(1000, () => done(false));
  });
}

export class StatusServer {
  private constructor(
    private readonly servers: Server[],
    private readonly socketPath: string,
  ) {}

  static async start(ifname: string, ep: Endpoints, metricsAddr?: string): Promise<StatusServer> {
    const path = statusSocketPath(ifname);
    makeDirs(dirname(path));
    if (existsSync(path)) {
      if (await answers(path)) {
        throw new UsageError(`an agent is already running on ${ifname} in this network namespace (${path}); stop it first, or ask it: pathsteer agent status --iface ${ifname}`);
      }
      rmSync(path, { force: true }); // left by a killed agent
    }
    const servers: Server[] = [];
    const unix = createServer(handler(ep));
    await listen(unix, path);
    servers.push(unix);
    if (metricsAddr) {
      const i = metricsAddr.lastIndexOf(':');
      const tcp = createServer(handler(ep));
      try {
        await listen(tcp, { host: metricsAddr.slice(0, i) || '0.0.0.0', port: Number(metricsAddr.slice(i + 1)) });
      } catch (e) {
        unix.close();
        rmSync(path, { force: true });
        throw new UsageError(`cannot serve metrics on ${metricsAddr}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
      }
      servers.push(tcp);
    }
    return new StatusServer(servers, path);
  }

  async close(): Promise<void> {
    await Promise.all(this.servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
    rmSync(this.socketPath, { force: true });
  }
}

/** GET a path from the agent of `ifname` (in this network namespace). */
export function queryAgent(ifname: string, path: '/status' | '/metrics', stateRoot?: string): Promise<string> {
  const socketPath = statusSocketPath(ifname, stateRoot);
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, path, method: 'GET', timeout: 5000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => (res.statusCode === 200 ? resolve(body) : reject(new PathsteerError(`agent answered ${res.statusCode}: ${body}`))));
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', (e: NodeJS.ErrnoException) =>
      reject(
        new PathsteerError(
          e.code === 'ENOENT' || e.code === 'ECONNREFUSED'
            ? `no pathsteer agent is running on ${ifname} in this network namespace (${socketPath})`
            : `cannot reach the agent at ${socketPath}: ${e.message}`,
        ),
      ),
    );
    req.end();
  });
}
