/**
 * probe_steer's in-kernel reflector through BPF_PROG_TEST_RUN: every fixture
 * (test/fixtures/reflector-packets.ts) for both builds, on CHECKSUM_NONE and
 * CHECKSUM_COMPLETE skbs (the kernel fails a COMPLETE run whose skb->csum no
 * longer sums the packet). An answered request must be exactly what the
 * agent's userspace Responder sends for it (same payload bytes, same outer
 * source port), sent back to the requester (addresses swapped, TTL 64, both
 * checksums right); plus a randomized differential of 2,000 requests against
 * the Responder over random entries (groups, preferred sets, reply ports).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agentMetrics } from '../../src/agent/metrics.js';
import { Responder } from '../../src/agent/responder.js';
import type { Datagram } from '../../src/agent/transport.js';
import { logger } from '../../src/common/logger.js';
import { ProgName } from '../../src/maps/names.generated.js';
import { pathEntry, PS_F_PREFER, PS_F_STATEFUL, type PathEntry } from '../../src/maps/path-entry.js';
import { PS_RF_REFLECT } from '../../src/maps/reflect.js';
import { Ctl, decode, Flag, negotiationRequest, ipv4ToU32, type TelemetryMessage } from '../../src/protocol/index.js';
import { PROBE_CONFIG, AGENT_PORT } from '../fixtures/probe-steer-packets.js';
import { BACKEND_ID, REFLECT_CFG, REFLECT_FIXTURES, REQUESTER, RESPONDER, requestPayload, requestSpec, type ReflectFixture } from '../fixtures/reflector-packets.js';
import { expectChecksum, expectStats } from '../support/expect-fixture.js';
import { buildUdp4, csumAdd, csumFold, ETH_LEN, parseUdp4 } from '../support/packets.js';
import { canLoadBpf } from '../support/privileged.js';
import { ProbeUnderTest } from '../support/probe.js';
import { xorshift32 } from '../support/random.js';

const TC_ACT_OK = 0;
const TC_ACT_REDIRECT = 7;
const PROGRAMS = [ProgName.probeSteer, ProgName.probeSteerCompat];

/** What the userspace Responder sends for `payload` from REQUESTER, with `entry` as its table entry for it. */
function userspaceAnswer(payload: Buffer, entry: PathEntry | undefined): { payload: Buffer; port: number } {
  const sent: Array<{ data: Buffer; port: number }> = [];
  const transport = { send: (data: Buffer, _a: string, port: number) => void sent.push({ data, port }), onMessage: () => undefined, close: async () => undefined };
  const r = new Responder(transport, RESPONDER, BACKEND_ID, () => entry, agentMetrics(), logger, { tunnelPort: 4789, allow: [], sessionTtlMs: 60_000, bucket: { ratePerSec: 1e9, maxTokens: 1e9 } });
  const from: Datagram = { data: Buffer.alloc(0), address: REQUESTER, port: AGENT_PORT };
  r.handleRequest(negotiationRequest({ srcVtep: ipv4ToU32(REQUESTER), txSport: 10000 }), from, 0);
  sent.length = 0;
  r.handleRequest(decode(payload) as TelemetryMessage, { ...from, data: payload }, 1);
  expect(sent).toHaveLength(1);
  const resp = sent[0]!.data;
  // vxlan_sport stamps the header's tx_sport as the outer source port
  return { payload: resp, port: resp.readUInt16BE(10) };
}

function ipHeaderOk(pkt: Buffer): boolean {
  const ihl = (pkt[ETH_LEN]! & 0xf) * 4;
  return csumFold(csumAdd(pkt.subarray(ETH_LEN, ETH_LEN + ihl))) === 0xffff;
}

function setUp(sut: ProbeUnderTest, f: Pick<ReflectFixture, 'reflect' | 'sessions' | 'entry'>): void {
  sut.reset(PROBE_CONFIG);
  sut.reflect.cfg.set(0, { ...REFLECT_CFG, ...f.reflect });
  for (const [peer, b] of f.sessions ?? [[REQUESTER, {}]]) {
    sut.reflect.sources.set(peer, { tokensMilli: 0n, refillNs: 0n, answered: 0n, bp: 0n, ...b });
  }
  if (f.entry) sut.path.set(REQUESTER, f.entry);
}

/** The response must go back where the request came from, with nothing else changed outside the UDP payload and sport. */
function expectReturned(out: Buffer, input: Buffer): void {
  expect(out.length).toBe(input.length);
  expect(out.subarray(0, 6).equals(input.subarray(6, 12))).toBe(true); // dst MAC = the request's source (next hop)
  expect(out.subarray(6, 12).equals(input.subarray(0, 6))).toBe(true);
  const o = parseUdp4(out);
  const i = parseUdp4(input);
  expect(o.saddr.equals(i.daddr)).toBe(true);
  expect(o.daddr.equals(i.saddr)).toBe(true);
  expect(out[ETH_LEN + 8]).toBe(64);
  expect(ipHeaderOk(out)).toBe(true);
  expect(o.dport).toBe(i.dport);
}

describe.runIf(canLoadBpf)('in-kernel reflector (probe_steer) through BPF_PROG_TEST_RUN', () => {
  let sut: ProbeUnderTest;
  beforeAll(() => {
    sut = new ProbeUnderTest(PROBE_CONFIG);
  });
  afterAll(() => sut?.close());

  describe.each(PROGRAMS.flatMap((p) => [[p, 'NONE'] as const, [p, 'COMPLETE'] as const]))('%s, CHECKSUM_%s: fixtures', (prog, summed) => {
    it.each(REFLECT_FIXTURES.map((f) => [f.description, f] as const))('%s', (_d, f) => {
      setUp(sut, f);
      const input = buildUdp4(requestSpec(f));
      let r;
      for (let i = 0; i < (f.times ?? 1); i++) r = sut.run(prog, Buffer.from(input), summed === 'COMPLETE');
      r = r!;
      expect(r.retval).toBe(f.expectedVerdict === 'TC_ACT_REDIRECT' ? TC_ACT_REDIRECT : TC_ACT_OK);
      if (f.expectedOutput === 'to-agent') {
        expect(parseUdp4(r.data).dport).toBe(AGENT_PORT);
      } else {
        expectReturned(r.data, input);
        const out = parseUdp4(r.data);
        expect(out.sport).toBe(f.expectedOutput.sport);
        const payload = out.udp.subarray(8);
        const resp = decode(payload) as TelemetryMessage;
        expect(resp.ctl).toBe(f.expectedOutput.ctl === 'bp' ? Ctl.BP : Ctl.DEFAULT);
        // the userspace Responder would have sent exactly this (CTL aside: its own bucket)
        const us = userspaceAnswer(requestPayload(f), f.entry);
        const mine = Buffer.from(payload);
        mine[6] = 0;
        expect(mine.toString('hex')).toBe(us.payload.toString('hex'));
        expect(out.sport).toBe(us.port);
        expectChecksum(f.expectedOutput.check, r.data, input);
      }
      expectStats(sut.stats(), f.expectedStats);
      const src = sut.reflect.sources.get(REQUESTER);
      if (f.expectedVerdict === 'TC_ACT_REDIRECT') {
        expect(Number(src!.answered)).toBe(f.times ?? 1);
        expect(Number(src!.bp)).toBe(f.expectedStats.REFLECT_BP ?? 0);
      }
    });
  });

  it('a partial checksum seed (CHECKSUM_PARTIAL from a local sender) stays valid: the swap keeps the pseudo-header', () => {
    setUp(sut, {});
    const input = buildUdp4({ ...requestSpec({ expectedVerdict: 'TC_ACT_REDIRECT', expectedOutput: 'to-agent', expectedStats: {}, description: '' }), udpCsum: 'seed' });
    const r = sut.run(ProgName.probeSteerCompat, Buffer.from(input));
    expect(r.retval).toBe(TC_ACT_REDIRECT);
    expect(parseUdp4(r.data).check).toBe(parseUdp4(input).check);
  });

  it('refills the bucket over time: after BP, a request 20 ms later at 1000 tokens/s gets CTL default again', async () => {
    setUp(sut, { reflect: { rate: 1000, burst: 1 } });
    const input = buildUdp4(requestSpec({ description: '', expectedVerdict: 'TC_ACT_REDIRECT', expectedOutput: 'to-agent', expectedStats: {} }));
    const ctl = (): number => decode(parseUdp4(sut.run(ProgName.probeSteer, Buffer.from(input)).data).udp.subarray(8)).ctl;
    expect(ctl()).toBe(Ctl.DEFAULT);
    expect(ctl()).toBe(Ctl.BP);
    await new Promise((r) => setTimeout(r, 20));
    expect(ctl()).toBe(Ctl.DEFAULT);
  });

  it.each(PROGRAMS)('%s agrees with the userspace Responder on 2,000 random requests and entries', (prog) => {
    const rnd = xorshift32(0x7e7f);
    let redirected = 0;
    for (let i = 0; i < 2000; i++) {
      const nports = 1 + (rnd.u32() % 64);
      const base = 10000 + (rnd.u32() % 50000);
      const bits = (): bigint => ((BigInt(rnd.u32()) << 32n) | BigInt(rnd.u32())) & ((1n << BigInt(nports)) - 1n);
      const kind = rnd.u32() % 4;
      const ngroups = 1 + (rnd.u32() % 8);
      const entry =
        kind === 0
          ? undefined
          : pathEntry({
              basePort: base,
              nports,
              healthy: rnd.u32() % 8 === 0 ? 0n : bits(),
              preferred: bits(),
              flags: kind === 2 ? PS_F_PREFER : kind === 3 ? PS_F_STATEFUL : 0,
              ngroups: kind === 3 ? ngroups : 0,
              groupMask: kind === 3 ? Array.from({ length: 8 }, bits) : [],
            });
      const txSport = 1 + (rnd.u32() % 65535);
      const replyPort = rnd.u32() % 5 === 0 ? 1 + (rnd.u32() % 65535) : 0;
      const f: ReflectFixture = {
        description: `random ${i}`,
        reflect: { flags: PS_RF_REFLECT, rate: 100_000_000, burst: 1_000_000 },
        ...(entry ? { entry } : {}),
        request: { txSport, seq: rnd.u32(), mode: rnd.u32() & 0xff, ...(replyPort ? { flags: Flag.REPLY_PORT, aux: replyPort } : {}) },
        input: { udpCsum: rnd.u32() % 3 !== 0 },
        expectedVerdict: 'TC_ACT_REDIRECT',
        expectedOutput: 'to-agent',
        expectedStats: {},
      };
      setUp(sut, f);
      const input = buildUdp4(requestSpec(f));
      const r = sut.run(prog, Buffer.from(input), rnd.u32() % 2 === 0);
      expect(r.retval, f.description).toBe(TC_ACT_REDIRECT);
      const out = parseUdp4(r.data);
      const us = userspaceAnswer(requestPayload(f), entry);
      expect(out.udp.subarray(8).toString('hex'), `${f.description} seed 0x7e7f`).toBe(us.payload.toString('hex'));
      expect(out.sport, f.description).toBe(us.port);
      expectChecksum(f.input!.udpCsum ? 'valid' : 'zero', r.data, input);
      redirected++;
    }
    expect(redirected).toBe(2000);
  });

  it('a response that arrives as a request is not answered again (type 0x7F goes to the agent)', () => {
    setUp(sut, {});
    const p = requestPayload({});
    p[3] = 0x7f;
    const r = sut.run(ProgName.probeSteer, buildUdp4({ saddr: REQUESTER, daddr: RESPONDER, sport: 10007, dport: 4789, payload: p }));
    expect(r.retval).toBe(TC_ACT_OK);
    expect(parseUdp4(r.data).dport).toBe(AGENT_PORT);
  });
});
