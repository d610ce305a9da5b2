/**
 * The AltPath control plane in the namespace testbed, with exact numbers:
 * FRR peering router with BMP to an in-process controller (its BMP listener
 * opened inside the router's namespace), the Linux injector writing the
 * router's per-DSCP tables (nftables DSCP -> fwmark, ip rules), real packets
 * from the server to the client counted on each provider link. The DSCP marks
 * come from the real altpath_dscp program (`pathsteer altpath sampler` in the
 * server namespace, samples discarded); the UDP flows are chosen with the
 * reference hash (src/altpath/flow-hash.ts) so that each gets the mark the
 * test wants. The override rule is fed hand-made samples here, so its figures
 * are exact; test/e2e/altpath.test.ts runs the whole loop with real samples
 * (conn_stats) and many short TCP connections.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Server } from 'node:net';
import { run } from '../../src/common/exec.js';
import { PrefixSet } from '../../src/common/net.js';
import { altpathDecide } from '../../src/altpath/flow-hash.js';
import { parseControllerConfig } from '../../src/altpath/controller/config.js';
import { AltpathController } from '../../src/altpath/controller/controller.js';
import { LinuxInjector } from '../../src/altpath/inject/linux.js';
import { SAMPLES_PATH, type ConnSample } from '../../src/altpath/sample.js';
import { AltpathTestbed, CLIENT_ADDRS, listenInNetns, SERVER_ADDR } from '../../src/testbed/altpath.js';
import { nsenterArgv } from '../../src/testbed/netns.js';
import { CLI } from '../support/cli.js';
import { cliOkIn, HELPER, nsenter, removePathsteerState } from '../support/netns.js';
import { canLoadBpf, canUseNetns } from '../support/privileged.js';
import { startSampler, stopSampler, type RunningSampler } from '../support/sampler.js';

const CYCLE_MS = 1000;
const P203 = '203.0.113.0/24';
const P198 = '198.51.100.0/24';
const SEED = 0x7e57ab1e;
const MARKS = { seed: SEED, onlyUnmarked: true, rules: [{ dscp: 12, basisPoints: 2500 }, { dscp: 24, basisPoints: 2500 }] };

/** A UDP source port from `from` on whose flow server -> dst:dport altpath_dscp (seeded SEED, 25%/25%) marks `dscp`. */
function sportFor(dst: string, dport: number, dscp: number, from: number): number {
  for (let sport = from; sport < 65536; sport++) {
    if (altpathDecide(MARKS, new PrefixSet([]), { family: 4, saddr: SERVER_ADDR, daddr: dst, sport, dport, proto: 17 }).dscp === dscp) return sport;
  }
  throw new Error(`no source port for DSCP ${dscp}`);
}

describe.runIf(canLoadBpf && canUseNetns)('AltPath controller in the FRR testbed (Linux injector, altpath_dscp marks)', () => {
  let tb: AltpathTestbed;
  let ctl: AltpathController;
  let bmp: Server;
  let httpUrl = '';
  let inj: LinuxInjector;
  let bmpPort = 0;
  let sampler: RunningSampler | undefined;
  const children: ChildProcess[] = [];

  const p = (i: number) => tb.providers[i - 1]!;

  async function until<T>(what: string, f: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 15_000): Promise<{ value: T; ms: number }> {
    const t0 = Date.now();
    let v = await f();
    while (!ok(v)) {
      if (Date.now() - t0 > timeoutMs) throw new Error(`${what}: not within ${timeoutMs} ms (last: ${JSON.stringify(v)})`);
      await new Promise((r) => setTimeout(r, 100));
      v = await f();
    }
    return { value: v, ms: Date.now() - t0 };
  }

  /** Send `n` UDP packets server -> client address, from sport, to dport. */
  async function udp(dst: string, dport: number, n: number, sport: number): Promise<void> {
    const r = await nsenter(tb.ns.server, ['node', HELPER, 'udp', JSON.stringify({ sports: [sport], src: SERVER_ADDR, packets: n, dport, dst })]);
    expect(r.code, r.stderr).toBe(0);
  }

  beforeAll(async () => {
    tb = await AltpathTestbed.up();
    bmp = await listenInNetns(tb.ns.pr, '127.0.0.1', 0);
    const config = parseControllerConfig({
      cycleMs: CYCLE_MS,
      activePrefixes: [P203, P198],
      dscps: [12, 24],
      minSamples: 30,
      injectors: [],
    });
    inj = new LinuxInjector({ dscps: config.dscps, netns: tb.ns.pr, ingressInterfaces: ['srv'] });
    ctl = new AltpathController(config, { injectors: [inj] });
    await ctl.start({ listen: false });
    ctl.attachBmp(bmp);
    const a = await ctl.http.listen('127.0.0.1', 0);
    httpUrl = `http://127.0.0.1:${a.port}`;
    bmpPort = (bmp.address() as { port: number }).port;
    await tb.startBgp({ bmpPort });
    // the real marker: altpath_dscp on the server's uplink, through the sampler CLI (its samples are not used here)
    sampler = await startSampler(tb.ns.server, ['--iface', 'pr', '--rule', '25%:12', '--rule', '25%:24', '--seed', String(SEED), '--out', '/dev/null'], children);
  });

  afterAll(async () => {
    if (sampler) await stopSampler(sampler).catch(() => undefined);
    for (const c of children) if (c.exitCode === null && c.pid) c.kill('SIGTERM');
    if (tb) removePathsteerState([tb.ns.server]);
    await ctl?.stop();
    bmp?.close();
    await tb?.down();
  });

  it('the collector sees all routes and the injector puts the 2nd/3rd best into the DSCP tables', async () => {
    await until('6 routes ranked', async () => ctl.rib.routes, (n) => n === 12); // 2 prefixes x 3 peers x pre+post
    // 203.0.113.0/24: p1 (1 AS) < p2 (2) < p3 (3); 198.51.100.0/24: p3 (1) < p2 (2) < p1 (3)
    const t = await until('tables filled', async () => [await tb.routeIn(1012, P203), await tb.routeIn(1024, P203), await tb.routeIn(1012, P198), await tb.routeIn(1024, P198)], (v) => v.every(Boolean));
    expect(t.value).toEqual([p(2).address, p(3).address, p(2).address, p(1).address]);
    expect(await tb.routeIn('main', P203)).toBe(p(1).address);
    expect(await tb.routeIn('main', P198)).toBe(p(3).address);
    // the rules and marks are in place
    const rules = (await run(['ip', '-n', tb.ns.pr, 'rule', 'show'])).stdout;
    expect(rules).toMatch(/1000:\s+from all fwmark 0x7a0c lookup 1012/);
    expect(rules).toMatch(/1001:\s+from all fwmark 0x7a18 lookup 1024/);
    expect(rules).toMatch(/1100:\s+from all lookup 1000/);
  });

  it('packets altpath_dscp marks 12 cross the 2nd-best provider, those marked 24 the 3rd, unmarked ones the best', async () => {
    const read = await tb.countToClient('mark', { dst: CLIENT_ADDRS[P203], proto: 'udp' });
    const before = await read();
    await udp(CLIENT_ADDRS[P203], 40000, 200, sportFor(CLIENT_ADDRS[P203], 40000, 12, 41000));
    await udp(CLIENT_ADDRS[P203], 40000, 100, sportFor(CLIENT_ADDRS[P203], 40000, 24, 41000));
    await udp(CLIENT_ADDRS[P203], 40000, 300, sportFor(CLIENT_ADDRS[P203], 40000, 0, 41000));
    const after = await until('packets counted', read, (c) => c.p1! - before.p1! >= 300 && c.p2! - before.p2! >= 200 && c.p3! - before.p3! >= 100, 5000);
    expect(after.value.p1! - before.p1!).toBe(300);
    expect(after.value.p2! - before.p2!).toBe(200);
    expect(after.value.p3! - before.p3!).toBe(100);
  });

  it('the client reaches the server with many short TCP connections (the traffic test/e2e/altpath.test.ts measures)', async () => {
    const srv = await tb.startTcpServer(18080);
    const r = await tb.tcpChurn({ port: 18080, count: 40, concurrency: 4 });
    srv.kill('SIGTERM');
    expect(r.failed, JSON.stringify(r.errors)).toBe(0);
    expect(r.ok).toBe(40);
  });

  it('a route withdrawn at its provider leaves the DSCP table within one cycle', async () => {
    expect(await tb.routeIn(1012, P203)).toBe(p(2).address);
    await tb.withdraw(2, P203);
    // BMP carries the withdraw at once; the next cycle (<= CYCLE_MS) rewrites the tables
    const r = await until('p2 gone from table 1012', async () => [await tb.routeIn(1012, P203), await tb.routeIn(1024, P203)], (v) => v[0] === p(3).address && v[1] === undefined, 10_000);
    expect(r.ms).toBeLessThan(CYCLE_MS + 2000);
    await tb.announce(2, P203);
    await until('p2 back in 1012', () => tb.routeIn(1012, P203), (v) => v === p(2).address, 10_000);
  });

  it('samples showing the alternate 20+ ms faster inject an override and unmarked traffic moves to it', async () => {
    const now = Date.now();
    const sample = (dscp: number, srttMs: number, i: number): ConnSample => ({
      host: 'srv',
      // all closed now: after the cycle that put p2 back into table 1012 (a sample
      // closed before that cycle joins the route in force then, p3)
      ts_ms: now,
      family: 4,
      saddr: SERVER_ADDR,
      daddr: CLIENT_ADDRS[P203],
      sport: 443,
      dport: 30000 + i,
      dscp,
      srtt_us: srttMs * 1000 + i,
      rttvar_us: 1000,
      rto_us: 204_000,
      total_retrans: 0,
      segs_out: 20,
      segs_in: 15,
      bytes_acked: 20_000,
      bytes_received: 500,
      duration_us: 100_000,
    });
    const lines = [...Array.from({ length: 40 }, (_, i) => sample(0, 45, i)), ...Array.from({ length: 40 }, (_, i) => sample(12, 5, i))];
    const body = `${lines.map((l) => JSON.stringify(l)).join('\n')}\n{"host":"bad"}\n`;
    const res = await fetch(`${httpUrl}${SAMPLES_PATH}`, { method: 'POST', body });
    expect(res.status).toBe(200);
    const reply = (await res.json()) as { accepted: number; rejected: number; errors: Array<{ line: number }> };
    expect(reply).toMatchObject({ accepted: 80, rejected: 1 });
    expect(reply.errors[0]!.line).toBe(81);
    const t = await until('override injected', () => tb.routeIn(1000, P203), (v) => v === p(2).address, 15_000);
    expect(t.ms).toBeLessThan(CYCLE_MS + 2000);
    const ov = ctl.overridesList().find((o) => o.prefix === P203)!;
    expect(ov.routeId).toContain(`via ${p(2).address}`);
    expect(ov.primary.srtt_median_ms! - ov.alternate.srtt_median_ms!).toBeGreaterThanOrEqual(20);
    const read = await tb.countToClient('ovr', { dst: CLIENT_ADDRS[P203], proto: 'udp' });
    const before = await read();
    await udp(CLIENT_ADDRS[P203], 40000, 200, sportFor(CLIENT_ADDRS[P203], 40000, 0, 42000)); // unmarked
    const after = await until('unmarked on p2', read, (c) => c.p2! - before.p2! >= 200, 5000);
    expect(after.value.p1! - before.p1!).toBe(0);
    // status shows it
    const st = (await (await fetch(`${httpUrl}/v1/status`)).json()) as { overrides: unknown[]; prefixes: Array<{ prefix: string; routes: Array<{ rank: number; table: string | null; performance: { samples: number } }> }> };
    expect(st.overrides.length).toBe(1);
    const r203 = st.prefixes.find((x) => x.prefix === P203)!;
    expect(r203.routes.find((r) => r.rank === 2)!.table).toBe('override');
    expect(r203.routes.find((r) => r.rank === 1)!.performance.samples).toBe(40);
  });

  it('stop removes the injected routes, rules and marks', async () => {
    await ctl.stop();
    expect(await tb.routeIn(1012, P203)).toBeUndefined();
    expect(await tb.routeIn(1000, P203)).toBeUndefined();
    expect((await run(['ip', '-n', tb.ns.pr, 'rule', 'show'])).stdout).not.toMatch(/fwmark 0x7a0c|lookup 1000/);
    expect((await run(['nft', 'list', 'tables'], { netns: tb.ns.pr })).stdout).not.toContain('pathsteer_altpath');
  });

  it('the same as a daemon: `pathsteer altpath controller` in the router namespace takes over the BMP feed, injects, cleans up on SIGTERM', async () => {
    // the in-process controller has stopped; FRR reconnects to the same address (127.0.0.1:port in the router namespace)
    const port = (bmp.address() as { port: number } | null)?.port ?? bmpPort;
    const cfg = join(tb.dir, 'controller.json');
    writeFileSync(cfg, JSON.stringify({ bmpListen: `127.0.0.1:${port}`, httpListen: '127.0.0.1:0', cycleMs: CYCLE_MS, activePrefixes: [P203, P198], injectors: [{ kind: 'linux', ingressInterfaces: ['srv'] }] }));
    const argv = nsenterArgv(tb.ns.pr, ['node', CLI, 'altpath', 'controller', '--config', cfg]);
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      const ready = await new Promise<{ http: string }>((resolve, reject) => {
        let buf = '';
        child.stdout!.on('data', (d: Buffer) => {
          buf += d.toString();
          const line = buf.split('\n').find((l) => l.startsWith('{'));
          if (line) resolve(JSON.parse(line) as { http: string });
        });
        child.on('exit', (c) => reject(new Error(`controller exited ${c}`)));
      });
      await until('tables filled by the daemon', async () => [await tb.routeIn(1012, P203), await tb.routeIn(1024, P198)], (v) => v[0] === p(2).address && v[1] === p(1).address, 20_000);
      const st = JSON.parse(await cliOkIn(tb.ns.pr, ['altpath', 'status', '--controller', `http://${ready.http}`, '--json'])) as { tables: Record<string, Record<string, Record<string, string>>> };
      expect(st.tables[`linux`]!['dscp:12']![P203]).toBe(p(2).address);
    } finally {
      child.kill('SIGTERM');
    }
    expect(await new Promise((r) => (child.exitCode !== null ? r(child.exitCode) : child.on('exit', r)))).toBe(0);
    expect(await tb.routeIn(1012, P203)).toBeUndefined();
    expect((await run(['ip', '-n', tb.ns.pr, 'rule', 'show'])).stdout).not.toMatch(/fwmark 0x7a0c/);
  });
});
