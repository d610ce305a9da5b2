/**
 * Scenario validation (clear UsageErrors naming the field), candidate
 * generation per SWARM Table 2, partition detection, and the baselines of
 * SWARM §4.1 on the Fig. 2 Clos.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/common/errors.js';
import { corrOpt, maxUtilization, netpilot, operatorPlaybook, penalty } from '../../src/ranker/baselines.js';
import { buildModel } from '../../src/ranker/model.js';
import { loadScenarioFile, parseScenario, resolveScenario, type ScenarioInput } from '../../src/ranker/scenario.js';

const fig2: ScenarioInput['topology'] = {
  kind: 'clos',
  pods: 2,
  torsPerPod: 2,
  t1PerPod: 2,
  t2: 4,
  serversPerTor: 4,
  capacityGbps: { server: 10, t0t1: 10, t1t2: 10 },
  delayUs: { server: 20, t0t1: 20, t1t2: 20 },
  names: { server: 'h', t0: 'C', t1: 'B', t2: 'A' },
};

function scenario(over: Partial<ScenarioInput>): ScenarioInput {
  return { topology: fig2, traffic: { load: 0.4, durationMs: 100, measureMs: [20, 60] }, ...over };
}

function model(over: Partial<ScenarioInput>) {
  return buildModel(resolveScenario(parseScenario(scenario(over)), '.'));
}

describe('scenario validation', () => {
  it('names every bad field', () => {
    const bad = (v: unknown): string => {
      try {
        parseScenario(v, 'x.json');
      } catch (e) {
        expect(e).toBeInstanceOf(UsageError);
        return (e as Error).message;
      }
      throw new Error('accepted');
    };
    expect(bad({ ...scenario({}), topology: { ...fig2, pods: 0 } })).toMatch(/^invalid scenario x\.json: topology\.pods: Too small/);
    expect(bad({ ...scenario({}), topology: { kind: 'ring' } })).toMatch(/topology\.kind must be "clos" or "graph"/);
    expect(bad({ ...scenario({}), traffic: { load: 0.4, arrivalRate: 5, durationMs: 100, measureMs: [20, 60] } })).toMatch(
      /traffic\.arrivalRate: give exactly one of arrivalRate or load/,
    );
    expect(bad({ ...scenario({}), traffic: { load: 0.4, durationMs: 100, measureMs: [60, 20] } })).toMatch(/traffic\.measureMs/);
    expect(bad({ ...scenario({}), comparator: 'Fastest' })).toMatch(/comparator: comparator must be PriorityFCT/);
    expect(bad({ ...scenario({}), failures: [{ type: 'link-drop', link: ['C0'], dropRate: 0.1 }] })).toMatch(/failures\.0\.link/);
    expect(bad({ ...scenario({}), failures: [{ type: 'melt', link: ['C0', 'B0'] }] })).toMatch(/failures\.0\.type: failure type must be one of/);
    expect(bad({ ...scenario({}), failures: [{ type: 'link-drop', link: ['C0', 'B0'], dropRate: 2 }] })).toMatch(/failures\.0\.dropRate: Too big/);
    expect(bad({ ...scenario({}), colour: 'red' })).toMatch(/Unrecognized key: "colour"/);
  });

  it('names the missing node or link after parsing', () => {
    expect(() => model({ failures: [{ type: 'link-drop', link: ['C0', 'A0'], dropRate: 0.1 }] })).toThrow(/failures\[0\]\.link: there is no link between C0 and A0/);
    expect(() => model({ failures: [{ type: 'switch-drop', node: 'Z9', dropRate: 0.1 }] })).toThrow(/failures\[0\]\.node: no node named "Z9"/);
    expect(() => model({ ongoing: [{ type: 'enable-link', link: ['C0', 'B0'] }] })).toThrow(/ongoing\[0\]: C0-B0 is not disabled/);
    expect(() => model({ traffic: { load: 0.4, durationMs: 100, measureMs: [20, 60], pairs: { kind: 'pairs', pairs: [{ src: 0, dst: 99 }] } } })).toThrow(
      /traffic\.pairs\.pairs\[0\]\.dst: server 99 does not exist/,
    );
  });

  it('reads files relative to the scenario and reports unreadable or malformed ones', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pathsteer-scn-'));
    writeFileSync(join(dir, 'sizes.txt'), '0 0\n100000 50\n1000000 100\n');
    writeFileSync(join(dir, 's.json'), JSON.stringify(scenario({ traffic: { load: 0.4, durationMs: 100, measureMs: [20, 60], flowSizes: { file: 'sizes.txt' } } })));
    expect(loadScenarioFile(join(dir, 's.json')).cdf.bytes).toEqual([0, 100000, 1000000]);
    writeFileSync(join(dir, 'broken.json'), '{ "topology": ');
    expect(() => loadScenarioFile(join(dir, 'broken.json'))).toThrow(/broken\.json is not valid JSON/);
    expect(() => loadScenarioFile(join(dir, 'missing.json'))).toThrow(/cannot read .*missing\.json: ENOENT/);
    writeFileSync(join(dir, 'm.json'), JSON.stringify(scenario({ traffic: { load: 0.4, durationMs: 100, measureMs: [20, 60], flowSizes: { file: 'nope.txt' } } })));
    expect(() => loadScenarioFile(join(dir, 'm.json'))).toThrow(/traffic\.flowSizes\.file: cannot read/);
  });
});

describe('candidates (SWARM Table 2)', () => {
  it('a lossy ToR uplink: leave it or disable it; WCMP only where it changes a split', () => {
    const m = model({ failures: [{ type: 'link-drop', link: ['C0', 'B1'], dropRate: 0.05 }] });
    // In this fat-tree, after disabling C0-B1 every remaining split is already forced: no WCMP variant.
    expect(m.candidates.map((c) => c.name)).toEqual(['no action', 'disable C0-B1']);
    expect(m.candidates.every((c) => c.feasible)).toBe(true);
  });

  it('a second failure at the same ToR: bring back the first link, and disabling both is a partition', () => {
    const m = model({
      failures: [
        { type: 'link-drop', link: ['C0', 'B0'], dropRate: 0.00005 },
        { type: 'link-drop', link: ['C0', 'B1'], dropRate: 0.05 },
      ],
      ongoing: [{ type: 'disable-link', link: ['C0', 'B0'] }],
    });
    const names = m.candidates.map((c) => c.name);
    expect(names).toEqual(['no action', 'bring back C0-B0', 'disable C0-B1', 'disable C0-B1 + bring back C0-B0']);
    const both = m.candidates.find((c) => c.name === 'disable C0-B1')!;
    expect(both.feasible).toBe(false);
    expect(both.note).toMatch(/partitions the network/);
  });

  it('a capacity cut: leave, disable the link, disable its spine, and capacity WCMP variants', () => {
    const m = model({ failures: [{ type: 'capacity', link: ['B0', 'A0'], fraction: 0.5 }] });
    expect(m.candidates.map((c) => c.name)).toEqual(['no action', 'no action + WCMP', 'disable B0-A0', 'disable A0']);
  });

  it('a lossy ToR: leave it or drain it (its traffic moves to other racks)', () => {
    const m = model({ failures: [{ type: 'switch-drop', node: 'C0', dropRate: 0.05 }] });
    expect(m.candidates.map((c) => c.name)).toEqual(['no action', 'drain C0']);
    expect(m.candidates[1]!.feasible).toBe(true);
  });
});

describe('baselines (SWARM §4.1)', () => {
  const high = model({ failures: [{ type: 'link-drop', link: ['C0', 'B1'], dropRate: 0.05 }] });

  it('CorrOpt keeps a ToR above its path threshold', () => {
    // Disabling C0-B1 leaves C0 2 of its 4 paths to the spine (50%).
    expect(corrOpt(high, 0.25).actions).toEqual([{ type: 'disable-link', link: ['C0', 'B1'] }]);
    expect(corrOpt(high, 0.5).actions).toHaveLength(1);
    expect(corrOpt(high, 0.75).actions).toEqual([]);
    expect(corrOpt(model({ failures: [{ type: 'switch-drop', node: 'C0', dropRate: 0.05 }] }), 0.5).actions).toBeUndefined();
  });

  it('the operator playbook counts uplinks and drains lossy ToRs above 1e-3', () => {
    expect(operatorPlaybook(high, 0.5).actions).toHaveLength(1); // 1 of 2 uplinks left = 50%
    expect(operatorPlaybook(high, 0.75).actions).toEqual([]);
    expect(operatorPlaybook(model({ failures: [{ type: 'switch-drop', node: 'C0', dropRate: 0.05 }] }), 0.5).actions).toEqual([{ type: 'drain-tor', node: 'C0' }]);
    expect(operatorPlaybook(model({ failures: [{ type: 'switch-drop', node: 'C0', dropRate: 0.00005 }] }), 0.5).actions).toEqual([]);
    expect(operatorPlaybook(model({ failures: [{ type: 'capacity', link: ['B0', 'A0'], fraction: 0.5 }] }), 0.5).actions).toEqual([]);
  });

  it('NetPilot always removes the faulty link; the thresholded variants only below their utilisation', () => {
    const util = maxUtilization(high, high.candidates[1]!.state);
    // C0 sends 4 x 10 x 0.4 = 16 Gbps, 12/15 of it off-rack, through one 10 Gbps uplink: ~128%.
    expect(util).toBeGreaterThan(1.1);
    expect(maxUtilization(high, high.current)).toBeLessThan(0.8);
    expect(netpilot(high).actions).toEqual([{ type: 'disable-link', link: ['C0', 'B1'] }]);
    expect(netpilot(high, 0.8).actions).toEqual([]);
    expect(netpilot(high, 0.99).actions).toEqual([]);
  });

  it('the penalty is how much worse a choice is than the best, per metric direction', () => {
    expect(penalty('fct99', 15e-3, 10e-3)).toBeCloseTo(50, 12);
    expect(penalty('tput1p', 50e6, 100e6)).toBeCloseTo(50, 12);
    expect(penalty('tputAvg', 110e6, 100e6)).toBeCloseTo(-10, 12);
  });
});
