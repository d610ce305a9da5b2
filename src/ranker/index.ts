/** Public API of the ranker (SWARM-style mitigation ranking). */
export { allBaselines, corrOpt, maxUtilization, netpilot, operatorPlaybook, penalty } from './baselines.js';
export { builtinCdf, meanSize, parseCdfText, sampleSize, type SizeCdf } from './cdf.js';
export { comparatorName, PRIORITIES, rankByComparator, type MetricKey } from './comparators.js';
export { evaluateScenario, type ApproachScore, type EvaluationResult } from './evaluate.js';
export { buildModel, type Candidate, type Model } from './model.js';
export { maxMinApprox, maxMinProgressive, maxMinWaterfill, type MaxMinProblem } from './maxmin.js';
export { rank, rankModel, type CandidateResult, type MetricEstimate, type RankOptions, type RankResult } from './ranker.js';
export { loadScenarioFile, parseScenario, resolveScenario, type ResolvedScenario, type Scenario, type ScenarioInput } from './scenario.js';
export { dkwSampleCount } from './stats.js';
export { defaultSampleCounts, RANKER_DEFAULTS } from './defaults.js';
