/**
 * `pathsteer demo`, the README's main job, as a user runs it: it must finish,
 * show that pathsteer shortens the tenant outage, and leave nothing behind.
 */
import { describe, expect, it } from 'vitest';
import { listNetnsSync } from '../../src/testbed/netns.js';
import { runCli } from '../support/cli.js';
import { canLoadBpf } from '../support/privileged.js';

interface Side {
  flows: number;
  affected_flows: number;
  lost_packets: number;
  outage_ms: { p50: number; p99: number; max: number };
}

describe.runIf(canLoadBpf)('pathsteer demo', () => {
  it('prints the outage without and with pathsteer, and the one with it is far shorter', () => {
    const before = new Set(listNetnsSync());
    const r = runCli(['demo', '--json'], { timeout: 240_000 });
    expect(r.status, r.stderr).toBe(0);
    // a progress line per step on stderr
    for (const step of ['[1/6] bringing up', '[2/6] without pathsteer', '[3/6] starting pathsteer agents', '[4/6] with pathsteer', '[5/6] tearing']) {
      expect(r.stderr).toContain(step);
    }
    const j = JSON.parse(r.stdout) as { schema: string; failure_s: number; without_pathsteer: Side; with_pathsteer: Side };
    expect(j.schema).toBe('pathsteer.demo/v1');
    // without: flows on the broken spine are down for the whole 6 s failure
    expect(j.without_pathsteer.affected_flows).toBeGreaterThan(0);
    expect(j.without_pathsteer.outage_ms.p50).toBeGreaterThan(j.failure_s * 1000 * 0.9);
    // with: every affected flow recovered within the generous 3 s bound, far below the failure
    expect(j.with_pathsteer.affected_flows).toBeGreaterThan(0);
    expect(j.with_pathsteer.outage_ms.max).toBeLessThan(3000);
    expect(j.with_pathsteer.lost_packets).toBeLessThan(j.without_pathsteer.lost_packets / 4);
    // nothing left behind
    expect(listNetnsSync().filter((n) => !before.has(n) && n.startsWith('demo'))).toEqual([]);
  });
});
