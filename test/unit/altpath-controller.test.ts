import { describe, expect, it } from 'vitest';
import { PeeringRouter } from '../../gateway-sim/altpath/peering-router.js';
import { parseNlri } from '../../src/altpath/bgp/nlri.js';
import { encode, type BmpInput } from '../../src/altpath/bmp/messages.js';
import { BmpSession } from '../../src/altpath/bmp/session.js';
import { parseControllerConfig, type ControllerConfigInput } from '../../src/altpath/controller/config.js';
import { AltpathController } from '../../src/altpath/controller/controller.js';
import { LinuxInjector } from '../../src/altpath/inject/linux.js';
import { MemoryInjector } from '../../src/altpath/inject/memory.js';
import { TableTargetInjector } from '../../src/altpath/inject/table-target.js';
import { diffTables, type RouteTables } from '../../src/altpath/inject/tables.js';
import { parseSamples } from '../../src/altpath/measure/ingest.js';
import { chooseOverride } from '../../src/altpath/measure/overrides.js';
import { RouteStats } from '../../src/altpath/measure/route-stats.js';
import type { ConnSample } from '../../src/altpath/sample.js';
import { UsageError } from '../../src/common/errors.js';
import { logger } from '../../src/common/logger.js';
import { SampleShipper } from '../../src/altpath/sampler/shipper.js';

const P = '203.0.113.0/24';
const peers = [
  { address: '198.18.11.6', asn: 65001, path: [65001] },
  { address: '198.18.11.10', asn: 65002, path: [65002, 65002] },
  { address: '198.18.11.14', asn: 65003, path: [65003, 65003, 65003] },
];

function feed(s: BmpSession, msgs: BmpInput[]): void {
  for (const m of msgs) s.push(encode(m));
}

function routerUp(s: BmpSession): void {
  feed(s, [{ type: 'initiation', sysName: 'pr' }]);
  for (const p of peers) {
    const peer = { address: p.address, asn: p.asn, bgpId: p.address };
    feed(s, [
      { type: 'peer-up', peer, localAddress: '198.18.11.5', localPort: 179, remotePort: 1000, sentOpen: { asn: 65000, bgpId: '198.18.10.1' }, receivedOpen: { asn: p.asn, bgpId: p.address } },
      { type: 'route-monitoring', peer, update: { nlri: [parseNlri(P), parseNlri('198.51.100.0/24')], attrs: { origin: 0, asPath: [{ type: 2, asns: p.path }], nextHop: p.address } } },
    ]);
  }
}

function sample(dscp: number, srttMs: number, ts: number, o: Partial<ConnSample> = {}): ConnSample {
  return { host: 'srv', ts_ms: ts, family: 4, saddr: '198.18.10.2', daddr: '203.0.113.10', sport: 443, dport: 40000, dscp, srtt_us: srttMs * 1000, rttvar_us: 1, rto_us: 204000, total_retrans: 0, segs_out: 10, segs_in: 10, bytes_acked: 10000, bytes_received: 10, duration_us: 100000, ...o };
}

function make(cfg: ControllerConfigInput = {}): { ctl: AltpathController; mem: MemoryInjector; session: BmpSession } {
  const config = parseControllerConfig({ activePrefixes: [P], minSamples: 5, injectors: [], ...cfg });
  const mem = new MemoryInjector('memory', true);
  const ctl = new AltpathController(config, { injectors: [mem] });
  const session = new BmpSession(ctl.rib, 'pr', 'pr:1');
  routerUp(session);
  return { ctl, mem, session };
}

const table = (t: RouteTables, slot: string): Record<string, string> => Object.fromEntries([...(t.get(slot) ?? [])].map(([k, v]) => [k, v.nextHop]));

describe('AltPath controller cycle (memory injector)', () => {
  it('injects 2nd/3rd best for active prefixes only; only changes are written', async () => {
    const { ctl, mem } = make();
    const r = await ctl.cycle(1_000_000);
    expect(r.active_prefixes).toBe(1);
    expect(table(mem.written(), 'dscp:12')).toEqual({ [P]: '198.18.11.10' });
    expect(table(mem.written(), 'dscp:24')).toEqual({ [P]: '198.18.11.14' });
    expect(mem.history.length).toBe(2);
    await ctl.cycle(1_000_100);
    expect(mem.history.length).toBe(2);
    // traffic seen in a sample makes 198.51.100.0/24 active for activeWindowMs
    ctl.ingest([sample(0, 10, 1_000_200, { daddr: '198.51.100.7' })], 1_000_200);
    await ctl.cycle(1_000_300);
    expect(table(mem.written(), 'dscp:12')['198.51.100.0/24']).toBe('198.18.11.10');
    await ctl.cycle(1_000_300 + 600_001);
    expect(table(mem.written(), 'dscp:12')['198.51.100.0/24']).toBeUndefined();
  });

  it('a withdrawn alternate leaves the table at the next cycle; the 3rd moves up', async () => {
    const { ctl, mem, session } = make();
    await ctl.cycle(1_000_000);
    feed(session, [{ type: 'route-monitoring', peer: { address: '198.18.11.10', asn: 65002, bgpId: '198.18.11.10' }, update: { withdrawn: [parseNlri(P)] } }]);
    await ctl.cycle(1_000_100);
    expect(table(mem.written(), 'dscp:12')).toEqual({ [P]: '198.18.11.14' });
    expect(table(mem.written(), 'dscp:24')).toEqual({});
  });

  it('joins samples with the route in force for (prefix, DSCP) at close time and overrides a 20 ms slower primary', async () => {
    const { ctl, mem } = make();
    await ctl.cycle(1_000_000);
    const samples = [...Array.from({ length: 6 }, (_, i) => sample(0, 50 + i, 1_000_010 + i)), ...Array.from({ length: 6 }, (_, i) => sample(12, 25 + i, 1_000_010 + i))];
    ctl.ingest(samples, 1_000_100);
    await ctl.cycle(1_000_200);
    const ov = ctl.overridesList();
    expect(ov.length).toBe(1);
    expect(ov[0]).toMatchObject({ prefix: P, nextHop: '198.18.11.10' });
    expect(ov[0]!.primary.srtt_median_ms).toBe(52.5);
    expect(ov[0]!.alternate.srtt_median_ms).toBe(27.5);
    expect(table(mem.written(), 'override')).toEqual({ [P]: '198.18.11.10' });
    // while overridden, DSCP 0 samples join the override route
    ctl.ingest([sample(0, 26, 1_000_300)], 1_000_300);
    const perf = (ctl.status() as { performance: Array<{ route_id: string; samples: number }> }).performance;
    expect(perf.find((p) => p.route_id.includes('198.18.11.10'))!.samples).toBe(7);
    // expiry (10 min): removed, and with the primary's samples gone from the window it is not re-installed
    await ctl.cycle(1_000_200 + 600_000 + 1);
    expect(ctl.overridesList()).toEqual([]);
    expect(table(mem.written(), 'override')).toEqual({});
  });

  it('a sample joins the route in force when it closed, before and after a route change', async () => {
    const { ctl, session } = make();
    await ctl.cycle(1_000_000);
    feed(session, [{ type: 'route-monitoring', peer: { address: '198.18.11.10', asn: 65002, bgpId: '198.18.11.10' }, update: { withdrawn: [parseNlri(P)] } }]);
    await ctl.cycle(1_000_100);
    await ctl.cycle(1_000_200);
    ctl.ingest([sample(12, 30, 1_000_050), sample(12, 40, 1_000_150), sample(12, 41, 1_000_250), sample(0, 20, 999_999)], 1_000_300);
    const perf = (ctl.status() as { performance: Array<{ route_id: string; samples: number }> }).performance;
    const by = Object.fromEntries(perf.map((p) => [p.route_id, p.samples]));
    expect(by).toEqual({
      [`${P} via 198.18.11.10 [65002 65002]`]: 1,
      [`${P} via 198.18.11.14 [65003 65003 65003]`]: 2,
      // before any record: the ranking now
      [`${P} via 198.18.11.6 [65001]`]: 1,
    });
  });

  it('no override below the 20 ms threshold, with worse retransmissions, or with too few samples', async () => {
    const mk = async (alt: Partial<ConnSample> & { srtt: number }, n = 6): Promise<number> => {
      const { ctl } = make();
      await ctl.cycle(1_000_000);
      ctl.ingest([...Array.from({ length: 6 }, (_, i) => sample(0, 50, 1_000_010 + i)), ...Array.from({ length: n }, (_, i) => sample(12, alt.srtt, 1_000_010 + i, alt))], 1_000_100);
      await ctl.cycle(1_000_200);
      return ctl.overridesList().length;
    };
    expect(await mk({ srtt: 31 })).toBe(0);
    expect(await mk({ srtt: 30 })).toBe(1);
    expect(await mk({ srtt: 10, total_retrans: 1 })).toBe(0);
    expect(await mk({ srtt: 10 }, 4)).toBe(0);
  });

  it('an override in force gives way to a faster alternate that qualifies later (by 10+ ms: half the improvement), not to one about as fast', async () => {
    const run = async (p2Ms: number): Promise<{ first: string; last: string; replaced: number }> => {
      const { ctl, mem } = make();
      await ctl.cycle(1_000_000);
      // the 3rd-best route (DSCP 24, p3) reaches enough samples first: 20 ms faster than the primary
      ctl.ingest([...Array.from({ length: 6 }, (_, i) => sample(0, 60, 1_000_010 + i)), ...Array.from({ length: 6 }, (_, i) => sample(24, 35, 1_000_010 + i))], 1_000_100);
      const r1 = await ctl.cycle(1_000_200);
      const first = table(mem.written(), 'override')[P]!;
      // then the 2nd-best (DSCP 12, p2)
      ctl.ingest(Array.from({ length: 6 }, (_, i) => sample(12, p2Ms, 1_000_210 + i)), 1_000_300);
      const r2 = await ctl.cycle(1_000_400);
      expect(r1.overrides_added).toBe(1);
      return { first, last: table(mem.written(), 'override')[P]!, replaced: r2.overrides_removed };
    };
    expect(await run(5)).toEqual({ first: '198.18.11.14', last: '198.18.11.10', replaced: 1 });
    expect(await run(28)).toEqual({ first: '198.18.11.14', last: '198.18.11.14', replaced: 0 });
  });

  it('an override whose route is withdrawn is removed within one cycle', async () => {
    const { ctl, mem, session } = make();
    await ctl.cycle(1_000_000);
    ctl.ingest([...Array.from({ length: 6 }, (_, i) => sample(0, 60, 1_000_010 + i)), ...Array.from({ length: 6 }, (_, i) => sample(12, 10, 1_000_010 + i))], 1_000_100);
    await ctl.cycle(1_000_200);
    expect(ctl.overridesList().length).toBe(1);
    feed(session, [{ type: 'peer-down', peer: { address: '198.18.11.10', asn: 65002 }, reason: 4 }]);
    await ctl.cycle(1_000_300);
    expect(ctl.overridesList()).toEqual([]);
    expect(table(mem.written(), 'override')).toEqual({});
  });

  it('samples for prefixes not in the RIB are counted unjoined', () => {
    const { ctl } = make();
    const r = ctl.ingestNdjson(`${JSON.stringify(sample(0, 10, 1, { daddr: '192.0.2.1' }))}\n`);
    expect(r.accepted).toBe(1);
    expect((ctl.status() as { samples: { unjoined: number } }).samples.unjoined).toBe(1);
  });

  it('HTTP: NDJSON lines rejected alone with their line number; a body over the limit is 413', async () => {
    const { ctl } = make({ maxBodyBytes: 2048 });
    const a = await ctl.http.listen('127.0.0.1', 0);
    try {
      const url = `http://127.0.0.1:${a.port}/v1/samples`;
      const body = [JSON.stringify(sample(0, 10, Date.now())), 'not json', JSON.stringify({ ...sample(0, 10, 1), dscp: 99 }), ''].join('\n');
      const r = await fetch(url, { method: 'POST', body });
      expect(r.status).toBe(200);
      const j = (await r.json()) as { accepted: number; rejected: number; errors: Array<{ line: number; message: string }> };
      expect(j.accepted).toBe(1);
      expect(j.rejected).toBe(2);
      expect(j.errors.map((e) => e.line)).toEqual([2, 3]);
      expect(j.errors[1]!.message).toMatch(/dscp/);
      const big = await fetch(url, { method: 'POST', body: 'x'.repeat(5000) });
      expect(big.status).toBe(413);
      expect((await fetch(`http://127.0.0.1:${a.port}/nope`)).status).toBe(404);
      const st = (await (await fetch(`http://127.0.0.1:${a.port}/v1/status`)).json()) as { schema: string };
      expect(st.schema).toBe('pathsteer.altpath.status/v1');
    } finally {
      await ctl.stop();
    }
  });
});

describe('AltPath pieces', () => {
  it('config errors name the field', () => {
    expect(() => parseControllerConfig({ dscps: [12, 12] })).toThrow(UsageError);
    expect(() => parseControllerConfig({ bmpListen: 'nope' })).toThrow(/bmpListen/);
    expect(() => parseControllerConfig({ injectors: [{ kind: 'linux', tables: { 12: -1 } }] })).toThrow(/injectors/);
    expect(() => parseControllerConfig({ activePrefixes: ['203.0.113.0/33'] })).toThrow(/activePrefixes/);
    expect(() => parseControllerConfig({ surprise: 1 })).toThrow(/surprise|Unrecognized/i);
    expect(parseControllerConfig({}).cycleMs).toBe(30_000);
  });

  it('parseSamples skips blank lines and keeps line numbers', () => {
    const r = parseSamples(`\n${JSON.stringify(sample(12, 5, 1))}\n\n{"a":1}\n`);
    expect(r.accepted).toBe(1);
    expect(r.errors[0]!.line).toBe(4);
  });

  it('route stats: median, p90, retransmit rate, goodput', () => {
    const s = new RouteStats();
    for (let i = 1; i <= 10; i++) s.add(sample(0, i, i, { total_retrans: i === 10 ? 5 : 0, segs_out: 10 }));
    expect(s.summary()).toMatchObject({ samples: 10, srtt_median_ms: 5.5, srtt_p90_ms: 9, retrans_rate: 0.05, goodput_median_bps: 800000 });
    expect(s.prune(6)).toBe(5);
  });

  it('chooseOverride picks the fastest qualifying alternate', () => {
    const sum = (samples: number, med: number, rt = 0) => ({ samples, srtt_median_ms: med, srtt_p90_ms: med, retrans_rate: rt, goodput_median_bps: 1 });
    const pol = { improvementMs: 20, minSamples: 30, retransTolerance: 0, ttlMs: 1 };
    expect(chooseOverride(sum(30, 60), [{ routeId: 'a', stats: sum(30, 35) }, { routeId: 'b', stats: sum(30, 20) }], pol)).toBe('b');
    expect(chooseOverride(sum(29, 60), [{ routeId: 'a', stats: sum(30, 10) }], pol)).toBeUndefined();
  });

  it('diffTables writes only changes', () => {
    const r = (nh: string) => ({ prefix: P, family: 4 as const, nextHop: nh, routeId: '' });
    const a: RouteTables = new Map([['dscp:12', new Map([[P, r('198.18.0.1')]])]]);
    const b: RouteTables = new Map([['dscp:12', new Map([[P, r('198.18.0.2')]])], ['dscp:24', new Map([[P, r('198.18.0.3')]])]]);
    expect(diffTables(a, a)).toEqual([]);
    expect(diffTables(a, b).map((c) => `${c.op} ${c.slot} ${c.nextHop}`)).toEqual(['set dscp:12 198.18.0.2', 'set dscp:24 198.18.0.3']);
    expect(diffTables(b, new Map()).map((c) => c.op)).toEqual(['delete', 'delete']);
  });

  it("gateway-sim's peering router: a DSCP's table first, then override, then main", async () => {
    const pr = new PeeringRouter({ dscps: [12, 24] });
    pr.setRoute('main', P, '198.18.11.6');
    const inj = new TableTargetInjector('gateway-sim', pr);
    await inj.sync(new Map([['dscp:12', new Map([[P, { prefix: P, family: 4, nextHop: '198.18.11.10', routeId: 'x' }], ['2001:db8::/32', { prefix: '2001:db8::/32', family: 6, nextHop: '2001:db8::1', routeId: 'y' }]])]]));
    expect(inj.unsupported).toBe(1);
    expect(pr.forward({ dscp: 12, dst: '203.0.113.9' })).toEqual({ nextHop: '198.18.11.10', table: 'dscp:12' });
    expect(pr.forward({ dscp: 24, dst: '203.0.113.9' })).toEqual({ nextHop: '198.18.11.6', table: 'main' });
    expect(pr.forward({ dscp: 0, dst: '203.0.113.9' })).toEqual({ nextHop: '198.18.11.6', table: 'main' });
    expect(pr.forward({ dscp: 12, dst: '198.51.100.1' })).toEqual({ table: 'miss' });
    pr.setRoute('override', P, '198.18.11.14');
    expect(pr.forward({ dscp: 0, dst: '203.0.113.9' }).table).toBe('override');
    expect(pr.forward({ dscp: 12, dst: '203.0.113.9' }).table).toBe('dscp:12');
    expect(pr.routes()['dscp:12']).toEqual({ [P]: '198.18.11.10' });
    await inj.stop();
    expect(pr.forward({ dscp: 12, dst: '203.0.113.9' }).table).toBe('override');
  });

  it("the sampler's shipper delivers to the controller's POST /v1/samples (the contract of sample.ts)", async () => {
    const { ctl } = make();
    const a = await ctl.http.listen('127.0.0.1', 0);
    const shipper = new SampleShipper({ controller: `http://127.0.0.1:${a.port}`, batchSize: 10, flushIntervalMs: 50, logger });
    try {
      shipper.start();
      shipper.push(Array.from({ length: 25 }, (_, i) => sample(12, 5, Date.now() - i)));
      const deadline = Date.now() + 10_000;
      while (shipper.stats().accepted < 25 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      expect(shipper.stats()).toMatchObject({ accepted: 25, rejected: 0, dropped: 0 });
      expect((ctl.status() as { samples: { accepted: number } }).samples.accepted).toBe(25);
    } finally {
      await shipper.stop();
      await ctl.stop();
    }
  });

  it('the Linux injector leaves out what the kernel cannot hold (IPv6 route, IPv4-mapped next hop) and builds its rules and marks', () => {
    const inj = new LinuxInjector({ dscps: [12, 24], ingressInterfaces: ['srv'] });
    const accepts = (r: { family: 4 | 6; nextHop: string }): boolean => (inj as unknown as { accepts(x: typeof r): boolean }).accepts(r);
    expect(accepts({ family: 4, nextHop: '198.18.11.6' })).toBe(true);
    expect(accepts({ family: 6, nextHop: '2001:db8::1' })).toBe(true);
    expect(accepts({ family: 6, nextHop: '::ffff:198.18.11.6' })).toBe(false);
    expect(inj.ruleLines()).toEqual(['rule add fwmark 0x7a0c lookup 1012 priority 1000', 'rule add fwmark 0x7a18 lookup 1024 priority 1001', 'rule add lookup 1000 priority 1100']);
    expect(inj.nftScript()).toContain('iifname { "srv" } ip dscp 12 meta mark set 0x7a0c');
    expect(() => new LinuxInjector({ dscps: [12], overridePriority: 900 })).toThrow(/override rule priority/);
  });
});
