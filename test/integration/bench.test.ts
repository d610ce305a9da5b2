/** Smoke test of the benchmarks' JSON (the full runs are `pathsteer bench ...`, not tests). */
import { describe, expect, it } from 'vitest';
import { runCliJson } from '../support/cli.js';
import { canLoadBpf } from '../support/privileged.js';

const run = (...args: string[]): unknown => runCliJson(['bench', ...args, '--json']);

describe.runIf(canLoadBpf)('benchmarks (smoke)', () => {
  it('bench dataplane prints {empty_ns, vxlan_sport_ns, vxlan_sport_stateful_ns, ratio, ratio_stateful, vxlan_sport_uncached_ns, ...}', () => {
    const r = run('dataplane', '--repeat', '20000', '--rounds', '1') as Record<string, number>;
    for (const k of ['empty_ns', 'vxlan_sport_ns', 'vxlan_sport_stateful_ns', 'ratio', 'ratio_stateful', 'vxlan_sport_uncached_ns', 'vxlan_sport_stateful_uncached_ns', 'ratio_uncached']) {
      expect(typeof r[k], k).toBe('number');
    }
    expect(r.vxlan_sport_ns).toBeGreaterThan(0);
    expect(r.repeat).toBe(20000);
  });

  it('bench maps prints {peers, single_write_ms, batch_write_ms, batch_read_ms}', () => {
    const r = run('maps', '--peers', '2000', '--rounds', '1') as Record<string, number>;
    expect(r.peers).toBe(2000);
    for (const k of ['single_write_ms', 'batch_write_ms', 'batch_read_ms']) expect(r[k], k).toBeGreaterThan(0);
  });
});
