/**
 * The controller's poll in a worker thread (`pathsteer controller --poll-in
 * worker`, the default for a Redis store): this thread opens its own
 * connections to the store and runs a FleetView there (the fleet read, the
 * decoding of every host's summaries, the pair judgements, the series and
 * the garbage they make), and posts to the serving thread only what it
 * serves: after every poll the tiles, the ready-made JSON bodies and the
 * metric counts; fleet events as the pump reads them; and answers to the
 * queries that take parameters (a group's matrix, filtered worst pairs, one
 * host, one pair). The serving thread (worker-view.ts) never decodes a fleet.
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
import { FleetView, type FleetTiles, type ViewOptions, type ViewStats } from './view.js';

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
}

export interface PollWorkerData {
  kind: 'pathsteer-poll-worker';
  redis: string;
  view: Omit<ViewOptions, 'log' | 'now'>;
}

export type PollRequest =
  | { op: 'matrix'; args: ['auto' | 'host' | 'group', string | undefined] }
  | { op: 'worst'; args: [number, { srcGroup?: string; dstGroup?: string } | undefined] }
  | { op: 'host'; args: [string] }
  | { op: 'pair'; args: [string, string] };

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
  const s = { tiles: view.tiles(), stats: view.stats(), fleet: view.body('fleet'), hosts: view.body('hosts'), worst: view.body('worst'), series: view.fleetSeriesBody() };
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
  view.polled.on('polled', () => void polled(view).then((state) => post({ t: 'tick', state })));
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
    void (async () => {
      try {
        let value: unknown;
        if (m.op === 'matrix') value = view.matrixBody(m.args[0], m.args[1]);
        else if (m.op === 'worst') value = view.worstPairs(m.args[0], m.args[1]);
        else if (m.op === 'host') value = view.host(m.args[0]);
        else value = await view.pair(m.args[0], m.args[1]);
        post({ t: 'res', id: m.id, value });
      } catch (e) {
        post({ t: 'res', id: m.id, error: (e as Error).message });
      }
    })();
  });
  await view.start();
  post({ t: 'ready', state: await polled(view) });
}

if (!isMainThread && (workerData as PollWorkerData | undefined)?.kind === 'pathsteer-poll-worker') void main(workerData as PollWorkerData);
