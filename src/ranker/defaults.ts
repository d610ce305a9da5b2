/**
 * The ranker's defaults in one place: the scenario schema, `pathsteer rank`
 * and `pathsteer bench ranker` all read them here, so the benchmark runs at
 * exactly the settings the tool uses unless told otherwise.
 */
import { dkwSampleCount } from './stats.js';

export const RANKER_DEFAULTS = {
  /** Epoch of the long-flow estimator (SWARM Alg. 1), ms. */
  epochMs: 0.25,
  /** Flows above this many bytes are long (epochs), the rest short (RTT counts). */
  shortFlowBytes: 150_000,
  /** DKW confidence: 1 - alpha. */
  alpha: 0.05,
  /** DKW epsilon for the number of traffic samples K (21 at the defaults). */
  trafficEpsilon: 0.3,
  /** DKW epsilon for the number of routing samples N per traffic sample (8 at the defaults). */
  routingEpsilon: 0.5,
  /** Worker threads that evaluate samples. */
  workers: 2,
} as const;

/** Traffic (K) and routing (N) samples at the default confidence. */
export function defaultSampleCounts(): { trafficSamples: number; routingSamples: number } {
  return {
    trafficSamples: dkwSampleCount(RANKER_DEFAULTS.alpha, RANKER_DEFAULTS.trafficEpsilon),
    routingSamples: dkwSampleCount(RANKER_DEFAULTS.alpha, RANKER_DEFAULTS.routingEpsilon),
  };
}
