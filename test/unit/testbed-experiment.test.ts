import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { loadExperiment, parseExperiment, type StepHandler } from '../../src/testbed/experiment.js';

describe('testbed experiments', () => {
  it('loads the shipped blackhole experiment and resolves its spec path', () => {
    const e = loadExperiment('examples/testbed/blackhole-experiment.json');
    expect(e.traffic).toMatchObject({ from: 'vm1', to: 'vm2', flows: 32, duration: 10, protocol: 'udp' });
    expect(e.steps.map((s) => [s.at, s.do])).toEqual([
      [2, 'fail'],
      [8, 'heal'],
    ]);
    expect(e.specPath).toMatch(/examples\/testbed\/clos-2x2\.json$/);
  });

  it('rejects unknown steps, bad step fields and steps after the traffic ends', () => {
    const base = JSON.parse(readFileSync('examples/testbed/blackhole-experiment.json', 'utf8')) as { steps: unknown[] };
    expect(() => parseExperiment({ ...base, steps: [{ at: 1, do: 'explode' }] })).toThrow(/steps\.0\.do: unknown step "explode"; known: fail, heal/);
    expect(() => parseExperiment({ ...base, steps: [{ at: 1, do: 'fail', link: 'spine1-leaf2', loss: 300 }] })).toThrow(/steps\.0\.loss/);
    expect(() => parseExperiment({ ...base, steps: [{ at: 11, do: 'heal' }] })).toThrow(/after the traffic ends/);
    expect(() => parseExperiment({ ...base, traffic: { from: 'vm1' } })).toThrow(/traffic\.to/);
  });

  it('accepts step kinds other modules register', () => {
    const startAgents: StepHandler<{ at: number; do: 'start-agents'; hosts: string[] }> = {
      schema: z.strictObject({ at: z.number(), do: z.literal('start-agents'), hosts: z.array(z.string()) }),
      run: async () => undefined,
    };
    const base = JSON.parse(readFileSync('examples/testbed/blackhole-experiment.json', 'utf8')) as { steps: unknown[] };
    const e = parseExperiment({ ...base, steps: [{ at: 0, do: 'start-agents', hosts: ['host1'] }, ...base.steps] }, {
      'start-agents': startAgents as unknown as StepHandler<never>,
    });
    expect(e.steps[0]).toMatchObject({ do: 'start-agents' });
  });
});
