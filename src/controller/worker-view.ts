/**
 * The serving thread's side of a poll in a worker thread (poll-worker.ts):
 * keeps what the worker posted after its last poll (tiles, JSON bodies,
 * metric counts) and serves it as it is; queries with parameters go to the
 * worker and come back as answers. The serving thread keeps its own store
 * connection for what it reads per request (timeline, AltPath, ranker, SSE
 * replays) and for writes (forgetting a host).
 *
 * A worker that dies is started again (after 1 s, then up to 10 s); until it
 * polls, the last state is served with its age, so staleness shows.
 *
 * A Worker needs JavaScript: from the compiled package the entry is
 * ./poll-worker.js next to this file; from the TypeScript sources (vitest)
 * the compiled copy under dist/ (built by `npm run build`). Without one,
 * `workerEntry()` is undefined and the controller polls on its own thread.
 */
import { EventEmitter } from 'node:events';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { PathsteerError } from '../common/errors.js';
import type { Logger } from '../common/logger.js';
import type { FromWorker, PolledState, PollRequest, PollWorkerData, ToWorker } from './poll-worker.js';
import type { FleetStore, StoredEvent } from './store/index.js';
import { FleetView, type FleetTiles, type FleetViewApi, type HostView, type PairDetail, type PairView, type ViewOptions, type ViewStats } from './view.js';

/** The compiled poll worker, or undefined when there is none. */
export function workerEntry(): URL | undefined {
  const here = fileURLToPath(import.meta.url);
  if (here.endsWith('.js')) {
    const p = join(dirname(here), 'poll-worker.js');
    return existsSync(p) ? pathToFileURL(p) : undefined;
  }
  const p = join(resolve(dirname(here), '..', '..'), 'dist', 'src', 'controller', 'poll-worker.js');
  return existsSync(p) ? pathToFileURL(p) : undefined;
}

export interface WorkerViewOptions extends ViewOptions {
  /** The store URL the worker connects to (Redis). */
  redis: string;
  /** A query the worker does not answer within this long fails (ms). @default 10000 */
  requestTimeoutMs?: number;
}

export class WorkerView implements FleetViewApi {
  readonly events = new EventEmitter<{ tick: [FleetTiles]; event: [StoredEvent] }>();
  readonly pollIn = 'worker' as const;
  readonly options: Readonly<Required<Omit<ViewOptions, 'log' | 'now'>>>;
  private worker: Worker | undefined;
  private state: PolledState;
  private matrixCache = new Map<string, string>();
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }>();
  private nextId = 1;
  private lastEvent = '0-0';
  private running = false;
  private restarts = 0;
  private restartTimer: NodeJS.Timeout | undefined;
  private readonly log: Logger | undefined;
  private readonly now: () => number;

  constructor(
    readonly store: FleetStore,
    private readonly o: WorkerViewOptions,
  ) {
    // the defaults, as the worker's FleetView will have them
    const probe = new FleetView(store, { ...o, log: undefined });
    this.options = probe.options;
    this.state = {
      tiles: probe.tiles(),
      stats: probe.stats(),
      fleet: probe.body('fleet'),
      hosts: probe.body('hosts'),
      worst: probe.body('worst'),
      series: probe.fleetSeriesBody(),
      matrix: {},
    };
    this.log = o.log;
    this.now = o.now ?? Date.now;
    this.events.setMaxListeners(0);
  }

  /** Start the worker; resolves once it connected to the store and loaded the timeline (the first poll runs on). */
  async start(): Promise<void> {
    this.running = true;
    await this.spawn();
  }

  private spawn(): Promise<void> {
    const entry = workerEntry();
    if (!entry) return Promise.reject(new PathsteerError('the controller poll worker is not built (npm run build); use --poll-in thread'));
    const data: PollWorkerData = {
      kind: 'pathsteer-poll-worker',
      redis: this.o.redis,
      view: {
        ...(this.o.pollMs !== undefined ? { pollMs: this.o.pollMs } : {}),
        staleAfterMs: this.options.staleAfterMs,
        maxMatrixHosts: this.options.maxMatrixHosts,
        badLoss: this.options.badLoss,
        rttFactor: this.options.rttFactor,
        rttFloorMs: this.options.rttFloorMs,
        pairPoints: this.options.pairPoints,
        fleetPoints: this.options.fleetPoints,
        eventCache: this.options.eventCache,
        slice: this.options.slice,
        // its own thread: polls may take most of its time (serving does not wait on them)
        pollShare: this.o.pollShare ?? 0.67,
      },
    };
    const w = new Worker(entry, { workerData: data, name: 'pathsteer-controller-poll' });
    this.worker = w;
    return new Promise<void>((resolve, reject) => {
      let ready = false;
      w.on('message', (m: FromWorker) => {
        switch (m.t) {
          case 'ready':
            ready = true;
            this.restarts = 0;
            this.accept(m.state, false);
            resolve();
            break;
          case 'tick':
            this.accept(m.state, true);
            break;
          case 'event': {
            const e = m.e as StoredEvent;
            this.lastEvent = e.id;
            this.events.emit('event', e);
            break;
          }
          case 'res': {
            const p = this.pending.get(m.id);
            if (!p) break;
            this.pending.delete(m.id);
            clearTimeout(p.timer);
            if (m.error !== undefined) p.reject(new PathsteerError(m.error));
            else p.resolve(m.value);
            break;
          }
          case 'failed':
            if (!ready) reject(new PathsteerError(`controller poll worker: ${m.error}`));
            else this.log?.warn({ err: m.error }, 'controller poll worker failed');
            break;
          default:
            break;
        }
      });
      w.on('error', (e) => {
        this.log?.warn({ err: e.message }, 'controller poll worker crashed');
        if (!ready) reject(e);
      });
      w.on('exit', (code) => {
        if (this.worker === w) this.worker = undefined;
        for (const [id, p] of this.pending) {
          clearTimeout(p.timer);
          p.reject(new PathsteerError('the controller poll worker exited'));
          this.pending.delete(id);
        }
        if (!ready) {
          reject(new PathsteerError(`controller poll worker exited (${code}) before it was ready`));
          return;
        }
        if (!this.running) return;
        // serve the last state (its age shows) and start again
        const delay = Math.min(10_000, 1000 * 2 ** Math.min(this.restarts++, 4));
        this.log?.warn({ code, restart_in_ms: delay }, 'controller poll worker exited; starting it again');
        this.state = { ...this.state, stats: { ...this.state.stats, store_ok: false } };
        this.restartTimer = setTimeout(() => {
          this.restartTimer = undefined;
          if (this.running) this.spawn().catch((e: Error) => this.log?.warn({ err: e.message }, 'cannot start the controller poll worker'));
        }, delay);
      });
    });
  }

  private accept(s: PolledState, tick: boolean): void {
    this.state = s;
    this.matrixCache = new Map(Object.entries(s.matrix));
    if (tick) this.events.emit('tick', this.tiles());
  }

  async firstPoll(): Promise<void> {
    while (this.state.stats.generated_at === 0 && this.running) await new Promise((r) => setTimeout(r, 50));
  }

  async stop(): Promise<void> {
    this.running = false;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    const w = this.worker;
    if (!w) return;
    const exited = new Promise<void>((r) => w.once('exit', () => r()));
    w.postMessage({ t: 'stop' } satisfies ToWorker);
    const t = setTimeout(() => void w.terminate(), 3000);
    await exited;
    clearTimeout(t);
  }

  private ask<T>(r: PollRequest): Promise<T> {
    const w = this.worker;
    if (!w) return Promise.reject(new PathsteerError('the controller poll worker is restarting'));
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new PathsteerError(`the controller poll worker did not answer ${r.op} within ${this.o.requestTimeoutMs ?? 10_000} ms`));
      }, this.o.requestTimeoutMs ?? 10_000);
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject, timer });
      w.postMessage({ t: 'req', id, ...r } satisfies ToWorker);
    });
  }

  get lastSeenEventId(): string {
    return this.lastEvent;
  }

  get generatedAt(): number {
    return this.state.stats.generated_at;
  }

  tiles(): FleetTiles {
    const t = this.state.tiles;
    return { ...t, age_ms: t.generated_at ? Math.max(0, this.now() - t.generated_at) : null, store_ok: this.state.stats.store_ok && t.store_ok };
  }

  stats(): ViewStats {
    return this.state.stats;
  }

  body(kind: 'fleet' | 'hosts' | 'worst'): string {
    return this.state[kind];
  }

  fleetSeriesBody(): string {
    return this.state.series;
  }

  matrixBody(by: 'auto' | 'host' | 'group', group?: string): string | Promise<string> {
    const k = `${by}|${group ?? ''}`;
    const b = this.matrixCache.get(k);
    if (b !== undefined) return b;
    const cache = this.matrixCache;
    return this.ask<string>({ op: 'matrix', args: [by, group] }).then((v) => {
      // kept until the next poll's state replaces the cache
      if (cache === this.matrixCache) cache.set(k, v);
      return v;
    });
  }

  worstPairs(limit: number, filter?: { srcGroup?: string; dstGroup?: string }): Promise<PairView[]> {
    return this.ask({ op: 'worst', args: [limit, filter] });
  }

  host(name: string): Promise<{ host: HostView; pairs: PairView[] } | undefined> {
    return this.ask({ op: 'host', args: [name] });
  }

  pair(src: string, dst: string): Promise<PairDetail | undefined> {
    return this.ask({ op: 'pair', args: [src, dst] });
  }
}
