/**
 * The BMP collector: a TCP listener routers connect to (RFC 7854 §3.2: the
 * monitored router initiates), one BmpSession per connection, all feeding one
 * RIB. A broken or closed connection loses only its own routes. Sockets can
 * also come from a listener made elsewhere (`attach`, e.g. one opened inside
 * another network namespace) or be handed in directly (`handleSocket`).
 */
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { PathsteerError } from '../../common/errors.js';
import { logger as rootLogger, type Logger } from '../../common/logger.js';
import { Rib } from '../rib/rib.js';
import { BmpSession, emptyCounters, type SessionCounters, type SessionOptions, type SessionStatus } from './session.js';

export interface CollectorOptions extends Omit<SessionOptions, 'logger'> {
  /** The RIB to fill. @default a new Rib */
  rib?: Rib;
  /** Keep the status of this many closed sessions. @default 8 */
  keepClosed?: number;
  logger?: Logger;
}

export interface CollectorStatus {
  listening: string[];
  sessions: SessionStatus[];
  prefixes: number;
  routes: number;
  counters: SessionCounters;
}

export class BmpCollector {
  readonly rib: Rib;
  private readonly log: Logger;
  private readonly servers: Server[] = [];
  private readonly live = new Map<Socket, BmpSession>();
  private readonly closedSessions: BmpSession[] = [];
  /** Counters of sessions that have ended (so totals survive them). */
  private readonly past = emptyCounters();

  constructor(private readonly opts: CollectorOptions = {}) {
    this.rib = opts.rib ?? new Rib();
    this.log = (opts.logger ?? rootLogger).child({ module: 'altpath/bmp' });
  }

  /** Listen on host:port (port 0: any). Resolves with the bound address; a bind failure is a PathsteerError naming it. */
  async listen(host: string, port: number): Promise<AddressInfo> {
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', (e: NodeJS.ErrnoException) => reject(new PathsteerError(`BMP collector cannot listen on ${host}:${port}: ${e.code ?? e.message}`)));
      server.listen(port, host, () => resolve());
    });
    this.attach(server);
    return server.address() as AddressInfo;
  }

  /** Accept BMP connections from a listening server made elsewhere. */
  attach(server: Server): void {
    this.servers.push(server);
    server.on('connection', (s: Socket) => this.handleSocket(s));
    server.on('error', (e) => this.log.warn({ err: e.message }, 'BMP listener error'));
  }

  /** Addresses the collector listens on. */
  addresses(): string[] {
    return this.servers.map((s) => {
      const a = s.address();
      return a && typeof a === 'object' ? `${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}` : String(a);
    });
  }

  /** Run a BMP session over a connected socket. */
  handleSocket(sock: Socket): BmpSession {
    const remote = `${sock.remoteAddress ?? '?'}:${sock.remotePort ?? 0}`;
    let router = sock.remoteAddress ?? remote;
    const used = new Set([...this.live.values()].map((s) => s.router));
    for (let i = 2; used.has(router); i++) router = `${sock.remoteAddress ?? remote}#${i}`;
    const session = new BmpSession(this.rib, router, remote, { ...this.opts, logger: this.log });
    this.live.set(sock, session);
    this.log.info({ router, remote }, 'BMP session up');
    sock.setNoDelay(true);
    sock.on('data', (d: Buffer) => {
      if (!session.push(d)) sock.destroy();
    });
    const end = (why: string): void => {
      if (!this.live.has(sock)) return;
      this.live.delete(sock);
      const before = this.rib.routes;
      session.close();
      this.addPast(session.counters);
      this.closedSessions.push(session);
      while (this.closedSessions.length > (this.opts.keepClosed ?? 8)) this.closedSessions.shift();
      this.log.info({ router, why, routes_removed: before - this.rib.routes }, 'BMP session down');
    };
    sock.on('error', (e) => end(e.message));
    sock.on('close', () => end('closed'));
    return session;
  }

  private addPast(c: SessionCounters): void {
    this.past.bytes += c.bytes;
    this.past.announced += c.announced;
    this.past.withdrawn += c.withdrawn;
    for (const [k, v] of Object.entries(c.messages)) this.past.messages[k] = (this.past.messages[k] ?? 0) + v;
    for (const [k, v] of Object.entries(c.skipped)) this.past.skipped[k] = (this.past.skipped[k] ?? 0) + v;
  }

  /** Totals over live and ended sessions. */
  counters(): SessionCounters {
    const t = emptyCounters();
    for (const c of [this.past, ...[...this.live.values()].map((s) => s.counters)]) {
      t.bytes += c.bytes;
      t.announced += c.announced;
      t.withdrawn += c.withdrawn;
      for (const [k, v] of Object.entries(c.messages)) t.messages[k] = (t.messages[k] ?? 0) + v;
      for (const [k, v] of Object.entries(c.skipped)) t.skipped[k] = (t.skipped[k] ?? 0) + v;
    }
    return t;
  }

  status(): CollectorStatus {
    return {
      listening: this.addresses(),
      sessions: [...[...this.live.values()].map((s) => s.status()), ...this.closedSessions.map((s) => s.status())],
      prefixes: this.rib.size,
      routes: this.rib.routes,
      counters: this.counters(),
    };
  }

  /** Stop listening and end every session (their routes are removed). Safe twice. */
  async close(): Promise<void> {
    for (const sock of [...this.live.keys()]) sock.destroy();
    await Promise.all(this.servers.splice(0).map((s) => new Promise<void>((r) => s.close(() => r()))));
  }
}
