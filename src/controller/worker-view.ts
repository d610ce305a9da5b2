/**
 * The serving thread's side of a poll in a worker thread (poll-worker.ts):
 * keeps what the worker posted after its last poll (tiles, JSON bodies,
 * metric counts, every pair in columns) and serves it as it is; a host and a
 * pair are answered here from the columns (and a series ring per pair kept
 * here, one point per poll); the rarer queries with parameters (a group's
 * matrix, filtered worst pairs) go to the worker and come back as answers. The serving thread keeps its own store
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
import type { FromWorker, PairColumns, PolledState, PollRequest, PollWorkerData, ToWorker } from './poll-worker.js';
import type { FleetStore, StoredEvent } from './store/index.js';
import { FleetView, pairDetail, roundSeries, STATUS, type FleetTiles, type FleetViewApi, type HostView, type PairDetail, type PairView, type ViewOptions, type ViewStats } from './view.js';

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
  /** Per poll, made when first asked: host name -> HostView, and -> its index in the pair columns. */
  private hostIndex: Map<string, HostView> | undefined;
  private srcIndex: Map<string, number> | undefined;
  private series: SlotSeries;
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
      pairs: emptyColumns(),
    };
    this.series = new SlotSeries(this.options.pairPoints);
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
            // a new worker numbers its series slots afresh
            this.series = new SlotSeries(this.options.pairPoints);
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
    this.hostIndex = undefined;
    this.srcIndex = undefined;
    this.series.push(s.pairs);
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

  /** The pairs of source `i` of the columns as PairViews. */
  private pairsOf(i: number): PairView[] {
    const c = this.state.pairs;
    const out: PairView[] = [];
    const nul = (x: number): number | null => (Number.isNaN(x) ? null : x);
    for (let k = c.start[i]!; k < c.start[i + 1]!; k++) {
      const d = c.dstIdx[k]!;
      out.push({
        src: c.src[i]!,
        src_group: c.srcGroup[i]!,
        dst: c.dst[d]!,
        dst_vtep: c.dstVtep[d]!,
        dst_group: c.dstGroup[d]!,
        status: STATUS[c.status[k]!]!,
        loss: c.loss[k]!,
        rtt_p50_ms: nul(c.p50[k]!),
        rtt_p99_ms: nul(c.p99[k]!),
        baseline_ms: nul(c.baseline[k]!),
        healthy: c.healthy[k]!,
        nports: c.nports[k]!,
        bad: c.bad[k]!,
        age_ms: c.age[k]!,
      });
    }
    return out;
  }

  private srcOf(name: string): number | undefined {
    if (!this.srcIndex) this.srcIndex = new Map(this.state.pairs.src.map((h, i) => [h, i]));
    return this.srcIndex.get(name);
  }

  /** A host and its pairs: answered here, from the last poll's columns. */
  host(name: string): { host: HostView; pairs: PairView[] } | undefined {
    if (!this.hostIndex) this.hostIndex = new Map((JSON.parse(this.state.hosts) as { hosts: HostView[] }).hosts.map((h) => [h.host, h]));
    const h = this.hostIndex.get(name);
    if (!h) return undefined;
    const i = this.srcOf(name);
    return { host: h, pairs: i === undefined ? [] : this.pairsOf(i) };
  }

  /** A pair's detail: answered here (columns, this thread's series and store connection). */
  async pair(src: string, dst: string): Promise<PairDetail | undefined> {
    const i = this.srcOf(src);
    if (i === undefined) return undefined;
    const c = this.state.pairs;
    let k = -1;
    for (let j = c.start[i]!; j < c.start[i + 1]!; j++) {
      const d = c.dstIdx[j]!;
      if (c.dst[d] === dst || c.dstVtep[d] === dst) {
        k = j;
        break;
      }
    }
    if (k < 0) return undefined;
    const pv = this.pairsOf(i).find((p) => p.dst === dst || p.dst_vtep === dst)!;
    return pairDetail(this.store, pv, this.series.of(c.slot[k]!), { generated_at: this.generatedAt, stale_after_ms: this.options.staleAfterMs });
  }
}

function emptyColumns(): PairColumns {
  return {
    t: 0,
    src: [],
    srcGroup: [],
    start: new Uint32Array(1),
    dst: [],
    dstVtep: [],
    dstGroup: [],
    dstIdx: new Uint32Array(0),
    status: new Uint8Array(0),
    loss: new Float64Array(0),
    p50: new Float64Array(0),
    p99: new Float64Array(0),
    baseline: new Float64Array(0),
    healthy: new Uint16Array(0),
    nports: new Uint16Array(0),
    bad: new Uint16Array(0),
    age: new Float64Array(0),
    slot: new Uint32Array(0),
    fresh: new Uint32Array(0),
  };
}

/**
 * RTT/loss series per pair on the serving thread: one ring of `points` per
 * series slot (the worker's numbering), one point per poll, as the worker's
 * FleetView keeps them (float32); a slot the worker gives to a new pair
 * starts empty.
 */
class SlotSeries {
  private readonly t: Float64Array;
  private pos = 0;
  private len = 0;
  private lastT = -1;
  private cap = 0;
  private p50: Float32Array<ArrayBuffer> = new Float32Array(0);
  private p99: Float32Array<ArrayBuffer> = new Float32Array(0);
  private loss: Float32Array<ArrayBuffer> = new Float32Array(0);

  constructor(private readonly points: number) {
    this.t = new Float64Array(points);
  }

  private grow(slots: number): void {
    if (slots <= this.cap) return;
    let cap = Math.max(1024, this.cap);
    while (cap < slots) cap *= 2;
    const resize = (a: Float32Array): Float32Array<ArrayBuffer> => {
      const b = new Float32Array(cap * this.points).fill(Number.NaN);
      b.set(a);
      return b;
    };
    this.p50 = resize(this.p50);
    this.p99 = resize(this.p99);
    this.loss = resize(this.loss);
    this.cap = cap;
  }

  push(c: PairColumns): void {
    // a failed poll re-posts the same snapshot: no new point
    if (c.t === 0 || c.t === this.lastT) return;
    this.lastT = c.t;
    let max = 0;
    for (let k = 0; k < c.slot.length; k++) if (c.slot[k]! + 1 > max) max = c.slot[k]! + 1;
    this.grow(max);
    const n = this.points;
    for (const s of c.fresh) {
      if (s >= this.cap) continue;
      this.p50.fill(Number.NaN, s * n, (s + 1) * n);
      this.p99.fill(Number.NaN, s * n, (s + 1) * n);
      this.loss.fill(Number.NaN, s * n, (s + 1) * n);
    }
    const pos = this.pos;
    this.t[pos] = c.t;
    this.pos = (pos + 1) % n;
    this.len = Math.min(this.len + 1, n);
    for (let k = 0; k < c.slot.length; k++) {
      const i = c.slot[k]! * n + pos;
      this.p50[i] = c.p50[k]!;
      this.p99[i] = c.p99[k]!;
      this.loss[i] = c.loss[k]!;
    }
  }

  of(slot: number): PairDetail['series'] {
    const n = this.points;
    const out: PairDetail['series'] = { t: [], rtt_p50_ms: [], rtt_p99_ms: [], loss: [] };
    for (let i = 0; i < this.len; i++) {
      const k = (this.pos - this.len + i + n) % n;
      out.t.push(this.t[k]!);
      const at = (a: Float32Array): number | null => (slot < this.cap ? roundSeries(a[slot * n + k]!) : null);
      out.rtt_p50_ms.push(at(this.p50));
      out.rtt_p99_ms.push(at(this.p99));
      out.loss.push(at(this.loss));
    }
    return out;
  }
}
