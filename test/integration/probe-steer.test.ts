/**
 * probe_steer in the kernel through BPF_PROG_TEST_RUN: every packet fixture
 * (test/fixtures/probe-steer-packets.ts), for both builds of the program, on
 * a CHECKSUM_NONE and on a CHECKSUM_COMPLETE skb.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { probeArrivalTtl } from '../../src/maps/probe.js';
import { ProgName } from '../../src/maps/names.generated.js';
import { PROBE_CONFIG, PROBE_FIXTURES, TTL_OFFSET } from '../fixtures/probe-steer-packets.js';
import { buildUdp4, csumFold, parseUdp4, udpChecksum } from '../support/packets.js';
import { expectChecksum, expectStats } from '../support/expect-fixture.js';
import { canLoadBpf } from '../support/privileged.js';
import { ProbeUnderTest } from '../support/probe.js';

const TC_ACT_OK = 0;
const PROGRAMS = [ProgName.probeSteer, ProgName.probeSteerCompat];

/** How far the checksum field is from the right one (one's complement; 0 and 0xffff are the same). */
function checksumError(pkt: Buffer): number {
  const p = parseUdp4(pkt);
  const e = csumFold(p.check + (~udpChecksum(p.saddr, p.daddr, p.udp) & 0xffff));
  return e === 0xffff ? 0 : e;
}

describe.runIf(canLoadBpf)('probe_steer through BPF_PROG_TEST_RUN', () => {
  let sut: ProbeUnderTest;
  beforeAll(() => {
    sut = new ProbeUnderTest(PROBE_CONFIG);
  });
  afterAll(() => sut?.close());

  // CHECKSUM_NONE is what a test run's skb is by default; with CHECKSUM_COMPLETE the
  // kernel also fails the run (EBADMSG) unless skb->csum still sums the packet.
  describe.each(PROGRAMS.flatMap((p) => [[p, 'NONE'] as const, [p, 'COMPLETE'] as const]))('%s, CHECKSUM_%s: packet fixtures', (prog, summed) => {
    const mine = PROBE_FIXTURES.filter((f) => !f.programs || f.programs.includes(prog));
    it.each(mine.map((f) => [f.description, f] as const))('%s', (_d, f) => {
      sut.reset({ ...PROBE_CONFIG, ...f.config });
      const input = buildUdp4(f.input);
      if (f.udpLen !== undefined) input.writeUInt16BE(f.udpLen, parseUdp4(input).l4 + 4);
      const r = sut.run(prog, Buffer.from(input), summed === 'COMPLETE');
      expect(r.retval).toBe(TC_ACT_OK);
      if (f.expectedOutput === 'unchanged') {
        expect(r.data.equals(input)).toBe(true);
      } else {
        const out = parseUdp4(r.data);
        const inp = parseUdp4(input);
        expect(out.dport).toBe(f.expectedOutput.dport);
        expect(out.sport).toBe(inp.sport);
        const stash = out.l4 + 8 + TTL_OFFSET;
        if (f.expectedOutput.ttl === 'kept') {
          // requests: the reserved word (reply-port hint) reaches the agent as sent
          expect([r.data[stash], r.data[stash + 1]]).toEqual([input[inp.l4 + 8 + TTL_OFFSET], input[inp.l4 + 8 + TTL_OFFSET + 1]]);
        } else {
          expect([r.data[stash], r.data[stash + 1]]).toEqual([f.expectedOutput.ttl, 1]);
          expect(probeArrivalTtl(out.udp.subarray(8))).toBe(f.expectedOutput.ttl);
        }
        // nothing else changed: not the IP header (TTL included), not the rest of the payload
        const strip = (b: Buffer, l4: number): Buffer =>
          Buffer.concat([b.subarray(0, l4 + 2), b.subarray(l4 + 4, l4 + 6), b.subarray(l4 + 8, stash), b.subarray(stash + 2)]);
        expect(strip(r.data, out.l4).equals(strip(input, inp.l4))).toBe(true);
        expectChecksum(f.expectedOutput.check, r.data, input);
        if (f.expectedOutput.check === 'same-error') {
          expect(checksumError(input)).not.toBe(0);
          expect(checksumError(r.data)).toBe(checksumError(input));
        }
      }
      expectStats(sut.stats(), f.expectedStats);
    });
  });
});
