/**
 * Scripted experiments: start tenant traffic, then run timed steps (fail, heal,
 * and step kinds other modules register, e.g. starting agents) at offsets from
 * the moment sending began, and return the meter's result plus the timeline of
 * what was done when. File format: examples/testbed/blackhole-experiment.json,
 * documented in src/testbed/README.md.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { PathsteerError, UsageError } from '../common/errors.js';
import { failureRequest } from './failures.js';
import type { TrafficResult } from './meter.js';
import { trafficOptions } from './traffic.js';
import type { Testbed } from './testbed.js';

const direction = z.enum(['both', 'a-b', 'b-a']);

export const failStepSchema = z.strictObject({
  at: z.number().min(0),
  do: z.literal('fail'),
  link: z.string().min(3),
  blackhole: z.boolean().optional(),
  loss: z.number().gt(0).max(100).optional(),
  delay: z.number().min(0).max(10_000).optional(),
  jitter: z.number().min(0).max(10_000).optional(),
  down: z.boolean().optional(),
  direction: direction.optional(),
});

export const healStepSchema = z.strictObject({
  at: z.number().min(0),
  do: z.literal('heal'),
  /** Omitted: heal every failed link. */
  link: z.string().min(3).optional(),
});

export const trafficSchema = z.strictObject({
  from: z.string(),
  to: z.string(),
  flows: z.number().int().min(1).max(1024).default(8),
  rate: z.number().gt(0).max(100_000).default(1000),
  duration: z.number().gt(0).max(3600),
  protocol: z.enum(['udp', 'tcp']).default('udp'),
  port: z.number().int().min(1024).max(65535).optional(),
  size: z.number().int().min(32).max(1400).optional(),
  stallMs: z.number().min(0).optional(),
});

const baseStep = z.looseObject({ at: z.number().min(0), do: z.string().min(1) });

export const experimentSchema = z.strictObject({
  name: z.string().min(1).default('experiment'),
  description: z.string().optional(),
  /** Spec the experiment was written for (path relative to the experiment file); informational. */
  spec: z.string().optional(),
  traffic: trafficSchema,
  steps: z.array(baseStep).default([]),
});

export type ExperimentInput = z.input<typeof experimentSchema>;
export type Experiment = z.infer<typeof experimentSchema> & { specPath?: string };
export type FailStep = z.infer<typeof failStepSchema>;
export type HealStep = z.infer<typeof healStepSchema>;

/** Passed to every step handler. */
export interface StepContext {
  testbed: Testbed;
  /** CLOCK_MONOTONIC ns when sending started. */
  t0: bigint;
  signal: AbortSignal;
  progress(line: string): void;
}

/** A kind of experiment step: its zod schema (must include `at` and `do`) and what it does. */
export interface StepHandler<S = Record<string, unknown>> {
  schema: z.ZodType<S>;
  run(ctx: StepContext, step: S): Promise<unknown>;
}

export const builtinSteps: Record<string, StepHandler<never>> = {
  fail: {
    schema: failStepSchema,
    async run(ctx: StepContext, s: FailStep) {
      const f = await ctx.testbed.fail(s.link, failureRequest(s));
      return { kind: f.kind, direction: f.direction };
    },
  } as StepHandler<FailStep> as StepHandler<never>,
  heal: {
    schema: healStepSchema,
    async run(ctx: StepContext, s: HealStep) {
      return { healed: await ctx.testbed.heal(s.link) };
    },
  } as StepHandler<HealStep> as StepHandler<never>,
};

export interface TimelineEntry {
  /** Scheduled offset (s) from t0. */
  at_s: number;
  do: string;
  link?: string;
  /** Actual start and end of the step, ms after t0. */
  started_ms: number;
  finished_ms: number;
  result?: unknown;
}

/** `pathsteer testbed run --json`: the traffic result plus what the timeline did. */
export type ExperimentResult = TrafficResult & {
  experiment: string;
  timeline: TimelineEntry[];
  /** Links the experiment left failed and the runner healed after the traffic ended. */
  healed_after: string[];
};

/** Validate an experiment (and every step against its handler's schema). */
export function parseExperiment(input: unknown, extraSteps: Record<string, StepHandler<never>> = {}, source = 'experiment'): Experiment {
  const r = experimentSchema.safeParse(input);
  const fmt = (issues: z.core.$ZodIssue[], prefix = ''): string =>
    issues.map((i) => `${prefix}${i.path.length ? i.path.join('.') : '(top level)'}: ${i.message}`).join('; ');
  if (!r.success) throw new UsageError(`invalid ${source}: ${fmt(r.error.issues)}`);
  const handlers = { ...builtinSteps, ...extraSteps };
  const problems: string[] = [];
  r.data.steps.forEach((s, i) => {
    const h = handlers[s.do];
    if (!h) {
      problems.push(`steps.${i}.do: unknown step "${s.do}"; known: ${Object.keys(handlers).join(', ')}`);
      return;
    }
    const v = h.schema.safeParse(s);
    if (!v.success) problems.push(fmt(v.error.issues, `steps.${i}.`));
    if (s.at > r.data.traffic.duration) problems.push(`steps.${i}.at: ${s.at} s is after the traffic ends (${r.data.traffic.duration} s)`);
  });
  if (problems.length) throw new UsageError(`invalid ${source}: ${problems.join('; ')}`);
  return r.data;
}

export function loadExperiment(path: string, extraSteps: Record<string, StepHandler<never>> = {}): Experiment {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new UsageError(`cannot read experiment ${path}: ${(e as Error).message}`);
  }
  const exp = parseExperiment(json, extraSteps, `experiment ${path}`);
  return exp.spec ? { ...exp, specPath: resolve(dirname(path), exp.spec) } : exp;
}

export interface RunExperimentOptions {
  /** Step kinds beyond fail/heal (e.g. "start-agents" from the agent module). */
  steps?: Record<string, StepHandler<never>>;
  signal?: AbortSignal;
  progress?: (line: string) => void;
}

/** Run an experiment on an up testbed. Failures it leaves behind are healed at the end. */
export async function runExperiment(tb: Testbed, exp: Experiment, opts: RunExperimentOptions = {}): Promise<ExperimentResult> {
  const handlers = { ...builtinSteps, ...(opts.steps ?? {}) };
  const steps = exp.steps
    .map((s) => ({ raw: s, parsed: handlers[s.do]!.schema.parse(s) as never }))
    .sort((a, b) => a.raw.at - b.raw.at);
  const before = new Set(Object.keys(tb.failures()));
  const ac = new AbortController();
  const onAbort = (): void => ac.abort();
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  const progress = opts.progress ?? (() => undefined);
  const t = exp.traffic;
  const traffic = tb.startTraffic({ ...trafficOptions(t), signal: ac.signal });
  const timeline: TimelineEntry[] = [];
  const healLeftovers = async (): Promise<string[]> => {
    const left = Object.keys(tb.failures()).filter((l) => !before.has(l));
    for (const l of left) await tb.heal(l).catch(() => undefined);
    return left;
  };
  try {
    const t0 = await traffic.started;
    const ms = (): number => Number(process.hrtime.bigint() - t0) / 1e6;
    progress(`traffic started: ${t.flows} ${t.protocol} flows ${t.from} -> ${t.to} for ${t.duration} s`);
    for (const { raw, parsed } of steps) {
      const wait = raw.at * 1000 - ms();
      if (wait > 0) await sleep(wait, undefined, { signal: ac.signal });
      const started = ms();
      const link = typeof raw.link === 'string' ? raw.link : undefined;
      progress(`t=${(started / 1000).toFixed(3)} s: ${raw.do}${link ? ` ${link}` : ''}`);
      const result = await handlers[raw.do]!.run({ testbed: tb, t0, signal: ac.signal, progress }, parsed);
      timeline.push({ at_s: raw.at, do: raw.do, ...(link ? { link } : {}), started_ms: round(started), finished_ms: round(ms()), ...(result !== undefined ? { result } : {}) });
    }
    const res = await traffic.result;
    const healed = await healLeftovers();
    return { ...res, experiment: exp.name, timeline, healed_after: healed };
  } catch (e) {
    traffic.kill();
    await traffic.result.catch(() => undefined);
    await healLeftovers();
    if (opts.signal?.aborted) throw new PathsteerError('experiment aborted', { cause: e });
    throw e;
  } finally {
    opts.signal?.removeEventListener('abort', onAbort);
  }
}

const round = (x: number): number => Math.round(x * 1000) / 1000;
