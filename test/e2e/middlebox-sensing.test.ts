/**
 * ZooRoute Fig. 19 in namespaces (src/testbed/middlebox.ts): an SLB vIP served
 * by 3 instance namespaces doing conntrack DNAT behind router ECMP, a client VM
 * making HTTP-like request rounds (TCP request/response, retried on failure up
 * to 10 times) while spine failures alternate and force the client's agent to
 * switch ports. Real agents (the instances in the middlebox role: they never
 * probe, their kernels answer probes and send tenant replies on the port the
 * client used), real BPF, real conntrack.
 *
 * What a user cares about: with middlebox sensing a port switch keeps a
 * session on its instance, so rounds are not retried (only when a whole
 * instance's ports are down does a flow change instance); without it a switch
 * lands on another instance about 2 times in 3 and the session is reset. And
 * when an instance fails, its flows move to the others and requests go on.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { downSlb, runSlbRounds, upSlb, type SlbBed, type SlbRunResult } from '../../src/testbed/middlebox.js';
import { runPrefix } from '../../src/testbed/netns.js';
import { canLoadBpf } from '../support/privileged.js';

describe.runIf(canLoadBpf)('middlebox sensing and source-port learning (ZooRoute Fig. 19, SLB with 3 instances)', () => {
  const prefix = runPrefix('mb');
  let bed: SlbBed;
  const results: SlbRunResult[] = [];

  beforeAll(async () => {
    bed = await upSlb(prefix, 3);
  }, 120_000);

  afterAll(async () => {
    // the figures, for the record (bench/README.md quotes a run)
    for (const r of results) process.stdout.write(`${JSON.stringify(r)}\n`);
    await downSlb(prefix);
  }, 60_000);

  it('forced port switches: with sensing sessions survive, without it they are reset and retried', async () => {
    const on = await runSlbRounds(bed, { sensing: true, durationS: 12 });
    const off = await runSlbRounds(bed, { sensing: false, durationS: 12 });
    results.push(on, off);
    for (const r of [on, off]) {
      expect(r.rounds).toBeGreaterThan(40);
      expect(r.spine_failures).toBeGreaterThanOrEqual(3);
      // the agent really switched ports under the sessions, in both runs
      expect(r.port_switches).toBeGreaterThan(10);
      // no round gave up: a reset session is retried at once and the retry works
      expect(r.rounds_failed).toBe(0);
      // the instances probed nobody; they answered in the kernel and sent replies on learned ports
      expect(r.middlebox.probes_sent).toBe(0);
      expect(r.middlebox.reflect_tx).toBeGreaterThan(0);
      expect(r.middlebox.learned_tx).toBeGreaterThan(0);
    }
    expect(on.groups).toBe(3);
    expect(off.groups).toBe(0);
    // with sensing, a session breaks only when its whole instance group was down (the flow had to change instance)
    expect(on.retries).toBeLessThanOrEqual(on.group_fallbacks);
    // without, most switches land on another instance, which resets the session
    expect(off.retries).toBeGreaterThanOrEqual(Math.ceil(off.port_switches / 3));
    expect(off.retries).toBeGreaterThan(on.retries + 5);
  }, 300_000);

  it('an instance fails: its flows move to the other instances (whole group bad) and every request still completes', async () => {
    const r = await runSlbRounds(bed, { sensing: true, durationS: 8, failInstanceAtS: 2 });
    results.push(r);
    expect(r.group_fallbacks).toBeGreaterThan(0);
    expect(r.port_switches).toBeGreaterThan(0);
    expect(r.rounds_failed).toBe(0);
  }, 180_000);
});
