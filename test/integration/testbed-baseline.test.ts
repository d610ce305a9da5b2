/**
 * Smoke test of the kernel-txrehash baseline the failover benchmark calls:
 * a local-tenant testbed of its own, TCP flows between host namespaces under
 * a blackhole, and everything removed afterwards. The figures themselves are
 * recorded in bench/README.md, not asserted.
 */
import { describe, expect, it } from 'vitest';
import { cleanupPrefix, listNetns, runPrefix } from '../../src/testbed/netns.js';
import { runKernelBaseline } from '../../src/testbed/baseline.js';
import { canLoadBpf } from '../support/privileged.js';

describe.runIf(canLoadBpf)('testbed: kernel txrehash baseline', () => {
  it('runs TCP between host namespaces with txrehash on, delivers everything once healed, and cleans up', async () => {
    const prefix = runPrefix('tb');
    try {
      const r = await runKernelBaseline({ prefix, flows: 8, ratePps: 100, durationS: 4, failAtS: 1, healAtS: 3 });
      expect(r).toMatchObject({ schema: 'pathsteer.testbed.baseline/v1', mode: 'kernel-txrehash', link: 'spine1-leaf2', failure_s: 2 });
      expect(r.sysctl['net.core.txrehash']).toBe('1');
      const t = r.host_tcp;
      expect(t).toMatchObject({ protocol: 'tcp', flows: 8, from: { name: 'host1', ip: '192.0.2.254' }, to: { name: 'host2', ip: '192.0.2.253' } });
      expect(t.lost_packets).toBe(0); // TCP: everything arrives once the path is back
      expect(t.timeline.map((s) => s.do)).toEqual(['fail', 'heal']);
      for (const f of t.per_flow) expect(f.outage_ms === 0).toBe(!f.affected);
      expect((await listNetns()).filter((n) => n.startsWith(`${prefix}-`))).toEqual([]);
    } finally {
      await cleanupPrefix(prefix);
    }
  });
});
