/**
 * `rank --evaluate`: rank with SWARM, compute what each baseline would do,
 * then re-estimate every candidate and every baseline choice on an
 * independent set of samples (a different seed) and score each approach's
 * choice by the SWARM §4.1 performance penalty against the best action under
 * the comparator. The independent re-estimate is our stand-in for SWARM's
 * emulation ground truth; SWARM's own choice therefore need not score 0.
 */
import { allBaselines, penalty, sameState, type BaselineChoice } from './baselines.js';
import type { CandidateSpec } from './candidates.js';
import type { MetricKey } from './comparators.js';
import { buildModel, stateWith } from './model.js';
import { rankModel, withOverrides, type RankOptions, type RankResult } from './ranker.js';
import type { ResolvedScenario } from './scenario.js';

export interface ApproachScore {
  approach: string;
  /** Candidate the approach picks, or undefined when it does not handle this failure. */
  choice?: string;
  note: string;
  feasible: boolean;
  /** Penalty (%) per metric against the best action; NaN when not comparable. */
  penalty: Record<MetricKey, number>;
}

export interface EvaluationResult {
  ranking: RankResult;
  evaluation: RankResult;
  /** Best action by the comparator on the evaluation samples. */
  best: string;
  evaluationSeed: number;
  approaches: ApproachScore[];
}

/** Seed offset for the evaluation samples (independent of the ranking's). */
export const EVALUATION_SEED_OFFSET = 1_000_003;

export async function evaluateScenario(resolved: ResolvedScenario, o: RankOptions = {}): Promise<EvaluationResult> {
  const r = withOverrides(resolved, o);
  const model = buildModel(r);
  const total = model.trafficSamples * model.routingSamples * 2;
  const progress = (offset: number) => (done: number) => o.onProgress?.(offset + done, total);
  const ranking = await rankModel(model, r, { ...o, onProgress: progress(0) });
  const base: BaselineChoice[] = allBaselines(model);
  // Map each baseline's actions to a candidate with the same resulting state, or add it.
  const extras: CandidateSpec[] = [];
  const extraStates: Array<ReturnType<typeof stateWith>> = [];
  const picks = base.map((b) => {
    if (!b.actions) return { b, name: undefined as string | undefined };
    const st = stateWith(model.current, b.actions, b.baseline);
    const c = model.candidates.find((x) => sameState(x.state, st));
    if (c) return { b, name: c.name };
    const j = extraStates.findIndex((x) => sameState(x, st));
    if (j >= 0) return { b, name: extras[j]!.name };
    const name = `${b.baseline} choice`;
    extras.push({ name, actions: b.actions.length ? b.actions : [{ type: 'noop' }] });
    extraStates.push(st);
    return { b, name };
  });
  const evalSeed = r.scenario.seed + EVALUATION_SEED_OFFSET;
  const er = withOverrides(r, { seed: evalSeed });
  const evalModel = buildModel(er, extras);
  const evaluation = await rankModel(evalModel, er, { ...o, seed: evalSeed, onProgress: progress(total / 2) });
  const best = evaluation.candidates[0]!;
  const score = (approach: string, choice: string | undefined, note: string): ApproachScore => {
    const nan = { fct99: Number.NaN, tput1p: Number.NaN, tputAvg: Number.NaN };
    if (!choice) return { approach, note, feasible: true, penalty: nan };
    const c = evaluation.candidates.find((x) => x.name === choice)!;
    if (!c.feasible) return { approach, choice, note: `${note}; ${c.note ?? 'infeasible'}`, feasible: false, penalty: nan };
    const pen = {} as Record<MetricKey, number>;
    for (const k of ['fct99', 'tput1p', 'tputAvg'] as const) pen[k] = penalty(k, c.metrics[k].point, best.metrics[k].point);
    return { approach, choice, note, feasible: true, penalty: pen };
  };
  const approaches: ApproachScore[] = [
    score('SWARM', ranking.best, 'top of the ranking'),
    ...picks.map(({ b, name }) => score(b.baseline, name, b.note)),
  ];
  return { ranking, evaluation, best: best.name, evaluationSeed: evalSeed, approaches };
}
