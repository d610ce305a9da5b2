/**
 * `pathsteer rank` and the ranker benchmarks through the built CLI: JSON
 * output, --evaluate, bad input (exit 2 with a message), and the shape of the
 * bench JSON at a small scale.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';

const run = (...args: string[]) => runCli(args);

describe('pathsteer rank', () => {
  it('--json prints the ranking with metrics, confidence intervals and the best action', () => {
    const r = run('rank', 'examples/ranker/s1-link-high-loss.json', '--json', '--traffic-samples', '2', '--routing-samples', '1');
    expect(r.status, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout) as { best: string; comparator: string; samples: { total: number }; candidates: Array<{ name: string; rank: number; metrics: { fct99: { point: number; ci: number[] } } }> };
    expect(j.best).toBe('disable C0-B1');
    expect(j.comparator).toBe('PriorityFCT');
    expect(j.samples.total).toBe(2);
    expect(j.candidates.map((c) => c.rank)).toEqual([1, 2]);
    expect(j.candidates[0]!.metrics.fct99.ci).toHaveLength(2);
    expect(r.stderr).toMatch(/rank: \[#+\] 2\/2 samples/);
  });

  it('--evaluate scores SWARM and the baselines by performance penalty', () => {
    const r = run('rank', '--evaluate', 'examples/ranker/s1-link-low-loss.json', '--traffic-samples', '2', '--routing-samples', '1', '--comparator', 'Priority1pT');
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/comparator Priority1pT/);
    for (const b of ['SWARM', 'NetPilot-Orig', 'NetPilot-80', 'CorrOpt-50', 'Operator-75']) expect(r.stdout).toContain(b);
    // NetPilot-Orig always disables the lossy link, which costs 1p throughput here.
    expect(r.stdout).toMatch(/NetPilot-Orig\s+disable C0-B1\s+\S+\s+\+\d/);
  });

  it('bad input exits 2 with a message naming the problem', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pathsteer-cli-'));
    writeFileSync(join(dir, 'bad.json'), JSON.stringify({ topology: { kind: 'clos', pods: 1 }, traffic: {} }));
    let r = run('rank', join(dir, 'bad.json'));
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/pathsteer: invalid scenario .*bad\.json: topology\.torsPerPod/);
    r = run('rank', 'examples/ranker/s1-link-high-loss.json', '--comparator', 'Fastest');
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/--comparator: must be PriorityFCT/);
    r = run('rank', join(dir, 'none.json'));
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/cannot read .*none\.json: ENOENT/);
  });
});

describe('ranker benchmarks (shape only, small scale)', () => {
  it('bench ranker --json', () => {
    const r = run('bench', 'ranker', '--servers', '1024', '--traffic-samples', '1', '--routing-samples', '1', '--json');
    expect(r.status, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(j.servers).toBe(1024);
    expect(j.samples).toBe(1);
    expect(j.flows as number).toBeGreaterThan(1000);
    expect(typeof j.seconds).toBe('number');
    expect(typeof j.best).toBe('string');
  });

  it('bench maxmin --json', () => {
    const r = run('bench', 'maxmin', '--servers', '1024', '--reps', '1', '--json');
    expect(r.status, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout) as Record<string, number>;
    for (const k of ['exact_1waterfill_ms', 'approx_ms', 'speedup', 'aggregate_error', 'flow_max_rel_error', 'flows_off_1pct', 'textbook_ms', 'warm_speedup']) {
      expect(typeof j[k]).toBe('number');
    }
    expect(j.aggregate_error).toBeLessThan(0.01);
    expect(j.warm_aggregate_error).toBeLessThan(0.01);
  });
});
