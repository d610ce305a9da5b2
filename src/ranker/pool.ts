/**
 * Runs samples on worker_threads (SWARM §3.4 "parallelism"). Each worker
 * builds the model itself from the resolved scenario; the main thread hands
 * out sample indices (k, n) one at a time and files each result under its
 * index, so the output is identical for any number of workers (and to the
 * in-process run).
 *
 * A Worker needs JavaScript: from the compiled package the entry is
 * ./worker.js next to this file; when this module runs from TypeScript
 * sources (vitest), the entry is the compiled copy under dist/ (built by
 * `npm run build`). Without one, samples run in-process and `workersUsed` is 0.
 */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { PathsteerError } from '../common/errors.js';
import { N_METRICS } from './estimator.js';
import { SampleEvaluator } from './evaluator.js';
import type { Model } from './model.js';
import type { ResolvedScenario } from './scenario.js';

/** The compiled worker entry, or undefined when there is none. */
export function workerEntry(): URL | undefined {
  const here = fileURLToPath(import.meta.url);
  if (here.endsWith('.js')) {
    const p = join(dirname(here), 'worker.js');
    return existsSync(p) ? pathToFileURL(p) : undefined;
  }
  // Running from src/ranker/pool.ts: use dist/src/ranker/worker.js of the same checkout.
  const root = resolve(dirname(here), '..', '..');
  const p = join(root, 'dist', 'src', 'ranker', 'worker.js');
  return existsSync(p) ? pathToFileURL(p) : undefined;
}

export interface SampleRun {
  /** results[t] holds K*N metric vectors of target t, sample i = k*N + n at offset i*N_METRICS. */
  results: Float64Array[];
  workersUsed: number;
}

export interface PoolOptions {
  workers: number;
  onProgress?: (done: number, total: number) => void;
  signal?: AbortSignal;
}

export class SampleRunError extends PathsteerError {}

/**
 * Evaluate every (k, n) sample on `targets` (candidate indices; the candidate
 * count means the healthy network). Workers rebuild `model` from `resolved` and
 * the model's candidate list.
 */
export async function runSamples(model: Model, resolved: ResolvedScenario, targets: number[], opt: PoolOptions): Promise<SampleRun> {
  const K = model.trafficSamples;
  const N = model.routingSamples;
  const total = K * N;
  const results = targets.map(() => new Float64Array(total * N_METRICS));
  const store = (k: number, n: number, data: Float64Array): void => {
    const i = k * N + n;
    targets.forEach((_, j) => results[j]!.set(data.subarray(j * N_METRICS, (j + 1) * N_METRICS), i * N_METRICS));
  };
  const entry = opt.workers > 0 ? workerEntry() : undefined;
  const nWorkers = entry ? Math.min(opt.workers, total) : 0;
  if (nWorkers === 0) {
    const ev = new SampleEvaluator(model);
    let done = 0;
    for (let k = 0; k < K; k++) {
      for (let n = 0; n < N; n++) {
        if (opt.signal?.aborted) throw new SampleRunError('ranking interrupted');
        store(k, n, ev.evaluate(k, n, targets));
        opt.onProgress?.(++done, total);
        // let signal handlers and progress output run
        if (done % 4 === 0) await new Promise((r) => setImmediate(r));
      }
    }
    return { results, workersUsed: 0 };
  }
  const queue: Array<[number, number]> = [];
  for (let k = 0; k < K; k++) for (let n = 0; n < N; n++) queue.push([k, n]);
  let next = 0;
  let done = 0;
  const workers: Worker[] = [];
  try {
    await new Promise<void>((resolveAll, reject) => {
      const fail = (e: Error): void => reject(e);
      const onAbort = (): void => fail(new SampleRunError('ranking interrupted'));
      opt.signal?.addEventListener('abort', onAbort, { once: true });
      const feed = (w: Worker): void => {
        if (next < queue.length) {
          const [k, n] = queue[next++]!;
          w.postMessage({ k, n });
        }
      };
      for (let i = 0; i < nWorkers; i++) {
        const specs = model.candidates.map((c) => ({ name: c.name, actions: c.actions }));
        const w = new Worker(entry!, { workerData: { resolved, specs, targets } });
        workers.push(w);
        w.on('message', (m: { type: string; k?: number; n?: number; data?: Float64Array; message?: string }) => {
          if (m.type === 'ready') feed(w);
          else if (m.type === 'error') fail(new SampleRunError(`ranker worker failed: ${m.message}`));
          else if (m.type === 'result') {
            store(m.k!, m.n!, m.data!);
            done++;
            opt.onProgress?.(done, total);
            if (done === total) {
              opt.signal?.removeEventListener('abort', onAbort);
              resolveAll();
            } else feed(w);
          }
        });
        w.on('error', (e) => fail(new SampleRunError(`ranker worker failed: ${e.message}`)));
        w.on('exit', (code) => {
          if (done < total && code !== 0) fail(new SampleRunError(`ranker worker exited with code ${code}`));
        });
      }
    });
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
  return { results, workersUsed: nWorkers };
}
