/**
 * The controller's HTTP listener: `POST /v1/samples` (NDJSON ConnSamples,
 * body bounded: 413 beyond `maxBodyBytes`), `GET /v1/status` (JSON; query
 * `all=1` lists every RIB prefix, `limit=N` caps the list), and 404 for the
 * rest. Also used by the collector-only command (no samples route).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Server as NetServer } from 'node:net';
import { PathsteerError } from '../../common/errors.js';
import { SAMPLES_PATH, type SamplesReply } from '../sample.js';

export const STATUS_PATH = '/v1/status';

export interface HttpHandlers {
  status(query: URLSearchParams): unknown;
  /** Absent: the samples route answers 404. */
  samples?(body: string): SamplesReply;
  maxBodyBytes: number;
}

function send(res: ServerResponse, code: number, body: unknown): void {
  const text = `${JSON.stringify(body)}\n`;
  res.writeHead(code, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function handle(h: HttpHandlers, req: IncomingMessage, res: ServerResponse): void {
  const url = new URL(req.url ?? '/', 'http://x');
  if (url.pathname === STATUS_PATH && (req.method === 'GET' || req.method === 'HEAD')) {
    try {
      send(res, 200, h.status(url.searchParams));
    } catch (e) {
      send(res, 500, { error: e instanceof Error ? e.message : String(e) });
    }
    return;
  }
  if (url.pathname === SAMPLES_PATH && h.samples) {
    if (req.method !== 'POST') {
      res.setHeader('allow', 'POST');
      send(res, 405, { error: `${SAMPLES_PATH} takes POST` });
      return;
    }
    const declared = Number(req.headers['content-length'] ?? NaN);
    if (declared > h.maxBodyBytes) {
      send(res, 413, { error: `body of ${declared} bytes exceeds the limit of ${h.maxBodyBytes}` });
      req.resume();
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    req.on('data', (c: Buffer) => {
      if (over) return;
      size += c.length;
      if (size > h.maxBodyBytes) {
        over = true;
        send(res, 413, { error: `body exceeds the limit of ${h.maxBodyBytes} bytes` });
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => {
      if (over) return;
      send(res, 200, h.samples!(Buffer.concat(chunks).toString('utf8')));
    });
    req.on('error', () => undefined);
    return;
  }
  send(res, 404, { error: `no route ${req.method} ${url.pathname}` });
}

export class HttpApi {
  readonly server: Server;
  private readonly extra: NetServer[] = [];

  constructor(h: HttpHandlers) {
    this.server = createServer((req, res) => handle(h, req, res));
  }

  async listen(host: string, port: number): Promise<AddressInfo> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', (e: NodeJS.ErrnoException) => reject(new PathsteerError(`HTTP listener cannot listen on ${host}:${port}: ${e.code ?? e.message}`)));
      this.server.listen(port, host, () => resolve());
    });
    return this.server.address() as AddressInfo;
  }

  /** Serve connections accepted by another listening server too (e.g. one opened in another namespace). */
  attach(server: NetServer): void {
    this.extra.push(server);
    server.on('connection', (s) => this.server.emit('connection', s));
  }

  async close(): Promise<void> {
    for (const s of this.extra.splice(0)) await new Promise<void>((r) => s.close(() => r()));
    if (!this.server.listening) return;
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}
