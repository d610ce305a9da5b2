/**
 * Public API of the namespace testbed, for the CLI, agents, the demo and
 * benchmarks. Import from here rather than from individual files.
 */
export { Testbed, STATUS_SCHEMA, type DownResult, type HostInfo, type LinkInfo, type TestbedStatus, type UpOptions } from './testbed.js';
export { loadSpec, parseSpec, TUNNEL_DEFAULTS, type TestbedSpec, type TestbedSpecInput } from './spec.js';
export { planTopology, resolveEndpoint, resolveLink, type TopologyPlan, type PlanLink, type PlanHost } from './topology.js';
export { failureKind, failureRequest, type FailureRequest, type FailureWords } from './failures.js';
export type { Direction, InstalledFailure } from './state.js';
export { TRAFFIC_SCHEMA, formatTrafficResult, type FlowResult, type TrafficResult } from './meter.js';
export { trafficOptions, type TrafficOptions, type TrafficRun, type TrafficWords } from './traffic.js';
export {
  loadExperiment,
  parseExperiment,
  runExperiment,
  type Experiment,
  type ExperimentResult,
  type RunExperimentOptions,
  type StepContext,
  type StepHandler,
} from './experiment.js';
export { runKernelBaseline, BASELINE_SCHEMA, type BaselineOptions, type BaselineResult } from './baseline.js';
export { runPrefix, nsenterArgv, checkPrefix } from './netns.js';

import { Testbed } from './testbed.js';

/** The testbed brought up with `prefix` (state in /run/pathsteer/testbed). */
export function loadTestbed(prefix: string): Testbed {
  return Testbed.load(prefix);
}
