/**
 * Run the controller for real: connect to the store (a store that does not
 * answer at start is an error: the controller has nothing to show), poll it,
 * serve the API, SSE and dashboard, log one line once listening, and stop when
 * the signal aborts. After start an unreachable store is not fatal: the last
 * snapshot is served and marked stale until the store answers again.
 */
import { isIP } from 'node:net';
import { PathsteerError, UsageError } from '../common/errors.js';
import { logger } from '../common/logger.js';
import { ControllerServer } from './server.js';
import { openStore, type FleetStore } from './store/index.js';
import { FleetView, type FleetViewApi, type ViewOptions } from './view.js';
import { WorkerView, workerEntry } from './worker-view.js';

const log = logger.child({ module: 'controller' });

export interface ControllerOptions extends Omit<ViewOptions, 'log'> {
  /** Resolve only after the first poll (tests). @default false */
  waitFirstPoll?: boolean;
  /** Redis URL, or `memory:` for an in-process store (tests, embedding). */
  redis: string;
  /** host:port to listen on. @default 127.0.0.1:8080 */
  listen?: string;
  token?: string;
  readOnly?: boolean;
  keepaliveMs?: number;
  /** Use this store instead of opening `redis` (embedding, tests). */
  store?: FleetStore;
  /**
   * Where the store poll (fleet read, decoding, pair judgements) runs: `worker`
   * a worker thread, so serving never waits on it; `thread` the serving
   * thread; `auto` the worker for a Redis store (a memory store or one handed
   * in lives in this thread), and the serving thread when the worker is not built.
   * @default auto
   */
  pollIn?: 'auto' | 'worker' | 'thread';
}

/** Where the poll runs for these options. */
export function resolvePollIn(o: Pick<ControllerOptions, 'pollIn' | 'redis' | 'store'>): 'worker' | 'thread' {
  const want = o.pollIn ?? 'auto';
  if (want === 'thread') return 'thread';
  const inProcess = o.redis === 'memory:' || o.store !== undefined;
  if (want === 'worker') {
    if (inProcess) throw new UsageError('--poll-in worker needs a Redis store (a memory store lives in the serving thread)');
    if (!workerEntry()) throw new UsageError('--poll-in worker: the poll worker is not built (npm run build)');
    return 'worker';
  }
  return inProcess || !workerEntry() ? 'thread' : 'worker';
}

export interface RunningController {
  url: string;
  view: FleetViewApi;
  server: ControllerServer;
  store: FleetStore;
  stop(): Promise<void>;
}

/** `host:port`, `[v6]:port`; port 0 picks a free one. */
export function parseListen(s: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(s);
  const host = m?.[1] ?? m?.[2];
  const port = Number(m?.[3]);
  if (!m || host === undefined || port > 65535) throw new UsageError(`--listen ${JSON.stringify(s)}: expected host:port, e.g. 127.0.0.1:8080 or [::1]:8080`);
  if (host !== '' && host !== 'localhost' && isIP(host) === 0) throw new UsageError(`--listen ${JSON.stringify(s)}: the host must be an IP address or localhost`);
  return { host: host === '' ? '0.0.0.0' : host, port };
}

const isLoopback = (h: string): boolean => h === 'localhost' || h.startsWith('127.') || h === '::1';

export async function startController(o: ControllerOptions): Promise<RunningController> {
  const listen = parseListen(o.listen ?? '127.0.0.1:8080');
  const pollIn = resolvePollIn(o);
  const store = o.store ?? (await openStore(o.redis, { waitReady: true, log, name: 'pathsteer-controller' }));
  const view: FleetViewApi = pollIn === 'worker' ? new WorkerView(store, { ...o, log }) : new FleetView(store, { ...o, log });
  try {
    await view.start();
    if (o.waitFirstPoll) await view.firstPoll();
  } catch (e) {
    await store.close();
    throw e;
  }
  const server = new ControllerServer(view, { ...(o.token ? { token: o.token } : {}), readOnly: !!o.readOnly, ...(o.keepaliveMs ? { keepaliveMs: o.keepaliveMs } : {}), log });
  let addr;
  try {
    addr = await server.listen(listen.host, listen.port);
  } catch (e) {
    await view.stop();
    await server.close().catch(() => undefined);
    await store.close();
    throw new PathsteerError(`cannot listen on ${o.listen ?? '127.0.0.1:8080'}: ${(e as Error).message}`);
  }
  const hostPart = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  const url = `http://${hostPart}:${addr.port}/`;
  if (!isLoopback(listen.host) && !o.token) log.warn({ listen: o.listen }, 'listening beyond localhost without --token: anyone who reaches this address sees the fleet');
  log.info({ url, store: store.target, readOnly: !!o.readOnly, token: !!o.token, poll_in: pollIn }, `controller listening on ${url}`);
  let stopped = false;
  return {
    url,
    view,
    server,
    store,
    async stop() {
      if (stopped) return;
      stopped = true;
      await server.close();
      await view.stop();
      if (!o.store) await store.close();
      log.info('controller stopped');
    },
  };
}

/** Run until `signal` aborts; `onReady` gets the URL once listening. */
export async function runController(o: ControllerOptions, signal: AbortSignal, onReady?: (c: RunningController) => void): Promise<void> {
  if (signal.aborted) throw new PathsteerError('controller stopped before it started');
  const c = await startController(o);
  onReady?.(c);
  await new Promise<void>((resolve) => {
    if (signal.aborted) resolve();
    else signal.addEventListener('abort', () => resolve(), { once: true });
  });
  await c.stop();
}
