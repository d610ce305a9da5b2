/**
 * What the bench-target suites (test/bench-targets/) share: compare a
 * benchmark's measured figure with its target, allowing a stated noise margin
 * for this shared 2-core machine kind, and record every comparison so the run
 * prints one table (and writes build/bench-targets.json for the README
 * figures). A miss beyond the margin fails the test with both numbers.
 *
 * The suite is opt-in locally (PATHSTEER_BENCH_TARGETS=1 npx vitest run
 * --project bench-targets); CI sets the variable in .ci/run.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { expect } from 'vitest';

export const benchTargetsEnabled = process.env.PATHSTEER_BENCH_TARGETS === '1';

export interface Target {
  /** Benchmark and field, e.g. `bench dataplane: ratio`. */
  name: string;
  /** The figure measured in this run. */
  measured: number;
  /** The target as stated in the issue/README. */
  target: number;
  /** `max`: measured must be <= target; `min`: >= target. */
  kind: 'max' | 'min';
  /**
   * Noise allowance as a fraction of the target: a `max` target passes up to
   * target * (1 + margin), a `min` target down to target * (1 - margin).
   */
  margin: number;
  unit?: string;
}

const RESULTS = new URL('../../build/bench-targets.json', import.meta.url).pathname;

function record(t: Target & { pass: boolean; limit: number }): void {
  let all: Array<Record<string, unknown>> = [];
  try {
    all = JSON.parse(readFileSync(RESULTS, 'utf8')) as Array<Record<string, unknown>>;
  } catch {
    all = [];
  }
  all = all.filter((r) => r.name !== t.name);
  all.push({ ...t, at: new Date().toISOString() });
  mkdirSync(dirname(RESULTS), { recursive: true });
  writeFileSync(RESULTS, `${JSON.stringify(all, null, 2)}\n`);
}

/** Assert a target (with its margin); the failure message gives measured, target and limit. */
export function expectTarget(t: Target): void {
  const limit = t.kind === 'max' ? t.target * (1 + t.margin) : t.target * (1 - t.margin);
  const pass = t.kind === 'max' ? t.measured <= limit : t.measured >= limit;
  record({ ...t, pass, limit });
  const u = t.unit ? ` ${t.unit}` : '';
  process.stderr.write(
    `bench-target ${pass ? 'ok  ' : 'MISS'} ${t.name}: ${t.measured}${u} (target ${t.kind === 'max' ? '<=' : '>='} ${t.target}${u}, limit with ${Math.round(t.margin * 100)}% noise margin ${+limit.toFixed(3)}${u})\n`,
  );
  expect(
    pass,
    `${t.name}: measured ${t.measured}${u}, target ${t.kind === 'max' ? '<=' : '>='} ${t.target}${u} (noise margin ${Math.round(t.margin * 100)}%: limit ${+limit.toFixed(3)}${u})`,
  ).toBe(true);
}
