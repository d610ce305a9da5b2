/**
 * The controller's poll in a worker thread (`pathsteer controller --poll-in
 * worker`, the default for a Redis store): this thread opens its own
 * connections to the store and runs a FleetView there (the fleet read, the
 * decoding of every host's summaries, the pair judgements, the series and
 * the garbage they make), and posts to the serving thread only what it
 * serves: after every poll the tiles, the ready-made JSON bodies, the metric
 * counts and every judged pair in columns (typed arrays, transferred); fleet
 * events as the pump reads them; and answers to the rarer queries that take
 * parameters (a group's matrix, filtered worst pairs). The serving thread
 * (worker-view.ts) never decodes a fleet.
 *
 * Messages (structured clone; bodies are strings, cheap to copy):
 *   to the worker: {t:'req', id, op, args} | {t:'stop'}
 *   from it: {t:'ready', state} | {t:'tick', state} | {t:'event', e} |
 *            {t:'res', id, value} | {t:'res', id, error} | {t:'failed', error} | {t:'stopped'}
 */
import { setImmediate as yieldLoop } from 'node:timers/promises';
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import { logger } from '../common/logger.js';
import { RedisStore } from './store/index.js';
import { FleetView, STATUS, type FleetTiles, type PairView, type ViewOptions, type ViewStats } from './view.js';

/** What the serving thread gets after every poll. */
export interface PolledState {
  tiles: FleetTiles;
  stats: ViewStats;
  fleet: string;
  hosts: string;
  worst: string;
  series: string;
  /** `by|group` -> matrix body, the dashboard's default ones made ahead. */
  matrix: Record<string, string>;
  /** Every judged pair, in columns (the serving thread answers a host and a pair from them). */
  pairs: PairColumns;
}

/**
 * The snapshot's pairs as columns: typed arrays (transferred, not copied)
 * and string tables, grouped by source host in the poll's order. Numbers
 * that may be null are NaN. `slot` is each pair's series slot; `fresh` the
 * slots first used by this poll (their series start empty).
 */
export interface PairColumns {
  /** When the poll read the store (the series' time for this point). */
  t: number;
  src: string[];
  srcGroup: string[];
  /** Pairs of src[i] are [start[i], start[i + 1]). */
  start: Uint32Array;
  dst: string[];
  dstVtep: string[];
  dstGroup: string[];
  dstIdx: Uint32Array;
  status: Uint8Array;
  loss: Float64Array;
  p50: Float64Array;
  p99: Float64Array;
  baseline: Float64Array;
  healthy: Uint16Array;
  nports: Uint16Array;
  bad: Uint16Array;
  age: Float64Array;
  slot: Uint32Array;
  fresh: Uint32Array;
}

const STATUS_INDEX = new Map<string, number>(STATUS.map((x, i) => [x, i]));

function columns(t: number, pairs: readonly PairView[], slots: readonly number[], fresh: readonly number[]): PairColumns {
  const n = pairs.length;
  const c: PairColumns = {
    t,
    src: [],
    srcGroup: [],
    start: new Uint32Array(0),
    dst: [],
    dstVtep: [],
    dstGroup: [],
    dstIdx: new Uint32Array(n),
    status: new Uint8Array(n),
    loss: new Float64Array(n),
    p50: new Float64Array(n),
    p99: new Float64Array(n),
    baseline: new Float64Array(n),
    healthy: new Uint16Array(n),
    nports: new Uint16Array(n),
    bad: new Uint16Array(n),
    age: new Float64Array(n),
    slot: Uint32Array.from(slots),
    fresh: Uint32Array.from(fresh),
  };
  const starts: number[] = [];
  const dsts = new Map<string, number>();
  const nn = (x: number | null): number => (x === null ? Number.NaN : x);
  for (let i = 0; i < n; i++) {
    const p = pairs[i]!;
    if (i === 0 || pairs[i - 1]!.src !== p.src) {
      starts.push(i);
      c.src.push(p.src);
      c.srcGroup.push(p.src_group);
    }
    const dk = `${p.dst_vtep}|${p.dst}|${p.dst_group}`;
    let d = dsts.get(dk);
    if (d === undefined) {
      d = c.dst.length;
      dsts.set(dk, d);
      c.dst.push(p.dst);
      c.dstVtep.push(p.dst_vtep);
      c.dstGroup.push(p.dst_group);
    }
    c.dstIdx[i] = d;
    c.status[i] = STATUS_INDEX.get(p.status) ?? 0;
    c.loss[i] = p.loss;
    c.p50[i] = nn(p.rtt_p50_ms);
    c.p99[i] = nn(p.rtt_p99_ms);
    c.baseline[i] = nn(p.baseline_ms);
    c.healthy[i] = p.healthy;
    c.nports[i] = p.nports;
    c.bad[i] = p.bad;
    c.age[i] = p.age_ms;
  }
  starts.push(n);
  c.start = Uint32Array.from(starts);
  return c;
}

/** The typed arrays of a state, to transfer rather than copy. */
export function transferList(s: PolledState): ArrayBuffer[] {
  const c = s.pairs;
  return [c.start, c.dstIdx, c.status, c.loss, c.p50, c.p99, c.baseline, c.healthy, c.nports, c.bad, c.age, c.slot, c.fresh].map((a) => a.buffer as ArrayBuffer);
}

export interface PollWorkerData {
  kind: 'pathsteer-poll-worker';
  redis: string;
  view: Omit<ViewOptions, 'log' | 'now'>;
}

export type PollRequest =
  | { op: 'matrix'; args: ['auto' | 'host' | 'group', string | undefined] }
  | { op: 'worst'; args: [number, { srcGroup?: string; dstGroup?: string } | undefined] };

export type ToWorker = ({ t: 'req'; id: number } & PollRequest) | { t: 'stop' };

export type FromWorker =
  | { t: 'ready'; state: PolledState }
  | { t: 'tick'; state: PolledState }
  | { t: 'event'; e: unknown }
  | { t: 'res'; id: number; value?: unknown; error?: string }
  | { t: 'failed'; error: string }
  | { t: 'stopped' };

async function polled(view: FleetView): Promise<PolledState> {
  const gen = view.generatedAt;
  const sl = view.slotsOfSnapshot();
  const s = {
    tiles: view.tiles(),
    stats: view.stats(),
    fleet: view.body('fleet'),
    hosts: view.body('hosts'),
    worst: view.body('worst'),
    series: view.fleetSeriesBody(),
    pairs: columns(gen, view.snapshot.pairs, sl.slots, sl.fresh),
  };
  // the dashboard's matrix, made ahead (a fleet-sized pass: after a turn of the loop, so queries waiting are answered first)
  await yieldLoop();
  const matrix: Record<string, string> = view.generatedAt === gen ? { 'auto|': view.matrixBody('auto') } : {};
  return { ...s, matrix };
}

async function main(d: PollWorkerData): Promise<void> {
  const port = parentPort!;
  const log = logger.child({ module: 'controller/poll-worker' });
  const post = (m: FromWorker): void => port.postMessage(m);
  let store: RedisStore;
  try {
    store = await RedisStore.open(d.redis, { waitReady: true, log, name: 'pathsteer-controller-poll' });
  } catch (e) {
    post({ t: 'failed', error: (e as Error).message });
    return;
  }
  const view = new FleetView(store, { ...d.view, log });
  // a failed poll too: the serving thread shows the store's trouble
  // a poll that failed posts too (the serving thread shows the store's trouble), without pairs that changed
  let lastGen = -1;
  view.polled.on('polled', () =>
    void polled(view).then((state) => {
      if (state.pairs.t === lastGen) state.pairs.fresh = new Uint32Array(0);
      lastGen = state.pairs.t;
      port.postMessage({ t: 'tick', state } satisfies FromWorker, transferList(state));
    }),
  );
  view.events.on('event', (e) => post({ t: 'event', e }));
  port.on('message', (m: ToWorker) => {
    if (m.t === 'stop') {
      void (async () => {
        await view.stop();
        await store.close();
        post({ t: 'stopped' });
        port.close();
      })();
      return;
    }
    try {
      const value = m.op === 'matrix' ? view.matrixBody(m.args[0], m.args[1]) : view.worstPairs(m.args[0], m.args[1]);
      post({ t: 'res', id: m.id, value });
    } catch (e) {
      post({ t: 'res', id: m.id, error: (e as Error).message });
    }
  });
  await view.start();
  const first = await polled(view);
  lastGen = first.pairs.t;
  port.postMessage({ t: 'ready', state: first } satisfies FromWorker, transferList(first));
}

if (!isMainThread && (workerData as PollWorkerData | undefined)?.kind === 'pathsteer-poll-worker') void main(workerData as PollWorkerData);
