/**
 * Worker-thread entry: builds the model from the resolved scenario it is
 * given and evaluates the samples the main thread sends, one message each.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { CandidateSpec } from './candidates.js';
import { SampleEvaluator } from './evaluator.js';
import { buildModel } from './model.js';
import type { ResolvedScenario } from './scenario.js';

interface Init {
  resolved: ResolvedScenario;
  /** The main thread's final candidate list (scenario candidates + extras). */
  specs: CandidateSpec[];
  targets: number[];
}

const init = workerData as Init;
const port = parentPort!;
try {
  const ev = new SampleEvaluator(buildModel(init.resolved, [], init.specs));
  port.on('message', (m: { k: number; n: number }) => {
    try {
      const data = ev.evaluate(m.k, m.n, init.targets);
      port.postMessage({ type: 'result', k: m.k, n: m.n, data }, [data.buffer as ArrayBuffer]);
    } catch (e) {
      port.postMessage({ type: 'error', message: (e as Error).stack ?? String(e) });
    }
  });
  port.postMessage({ type: 'ready' });
} catch (e) {
  port.postMessage({ type: 'error', message: (e as Error).stack ?? String(e) });
}
