/**
 * The fleet dashboard's AltPath panel, end to end with real processes: a
 * redis-server, `pathsteer altpath controller --redis URL` (memory injector)
 * fed real BMP over TCP by a small in-test router (three peers, two
 * prefixes) and real samples over HTTP, `pathsteer controller`, and Debian's
 * chromium. Asserts that the panel shows the route table per prefix (BGP best
 * in main, the 2nd and 3rd best in the DSCP 12 and 24 tables), that an
 * override appears within seconds after the AltPath controller makes it
 * (samples showing the alternate 25 ms faster), with its age, and that the
 * panel turns STALE once the AltPath controller stops reporting.
 * No privileges needed (loopback, memory injector). Screenshot:
 * build/test-artifacts/altpath-dashboard.png.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startControllerProcess, type ControllerProcess } from '../../bench/controller-process.js';
import { parseNlri } from '../../src/altpath/bgp/nlri.js';
import { encode, type BmpInput } from '../../src/altpath/bmp/messages.js';
import type { ConnSample } from '../../src/altpath/sample.js';
import { launchChromium, type LaunchedBrowser } from '../support/browser.js';
import { CLI } from '../support/cli.js';
import { startRedis, type TestRedis } from '../support/redis.js';

const ARTIFACTS = new URL('../../build/test-artifacts/', import.meta.url).pathname;
const P = '203.0.113.0/24';
const Q = '198.51.100.0/24';
const PEERS = [
  { address: '198.18.11.6', asn: 65001, path: [65001, 64500] },
  { address: '198.18.11.10', asn: 65002, path: [65002, 65002, 64500] },
  { address: '198.18.11.14', asn: 65003, path: [65003, 65003, 65003, 64500] },
];

/** A BMP-speaking router: one TCP session, Peer Up and routes for P and Q from every peer; held open (closing clears its routes). */
function bmpRouter(addr: string): Promise<Socket> {
  const i = addr.lastIndexOf(':');
  const msgs: BmpInput[] = [{ type: 'initiation', sysName: 'pr-e2e' }];
  for (const p of PEERS) {
    const peer = { address: p.address, asn: p.asn, bgpId: p.address };
    msgs.push(
      { type: 'peer-up', peer, localAddress: '198.18.11.5', localPort: 179, remotePort: 1000, sentOpen: { asn: 65000, bgpId: '198.18.10.1' }, receivedOpen: { asn: p.asn, bgpId: p.address } },
      { type: 'route-monitoring', peer, update: { nlri: [parseNlri(P), parseNlri(Q)], attrs: { origin: 0, asPath: [{ type: 2, asns: p.path }], nextHop: p.address } } },
    );
  }
  return new Promise((resolve, reject) => {
    const s = connect(Number(addr.slice(i + 1)), addr.slice(0, i), () => {
      s.write(Buffer.concat(msgs.map((m) => encode(m))));
      resolve(s);
    });
    s.on('error', reject);
  });
}

function sample(dscp: number, srttMs: number, ts: number, k: number): ConnSample {
  return { host: 'srv-e2e', ts_ms: ts, family: 4, saddr: '198.18.10.2', daddr: `203.0.113.${10 + (k % 200)}`, sport: 443, dport: 40000 + k, dscp, srtt_us: Math.round(srttMs * 1000), rttvar_us: 500, rto_us: 204000, total_retrans: 0, segs_out: 20, segs_in: 20, bytes_acked: 20000, bytes_received: 500, duration_us: 200000 };
}

interface AltpathProcess {
  child: ChildProcess;
  ready: { bmp: string; http: string };
  stderr(): string;
}

function startAltpath(args: string[]): Promise<AltpathProcess> {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`altpath controller not ready: ${err.slice(-500)}`));
    }, 20_000);
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const line = out.split('\n').find((l) => l.startsWith('{"ready"'));
      if (line) {
        clearTimeout(t);
        resolve({ child, ready: JSON.parse(line) as AltpathProcess['ready'], stderr: () => err });
      }
    });
    child.once('exit', (c) => {
      clearTimeout(t);
      reject(new Error(`altpath controller exited (${c}): ${err.slice(-500)}`));
    });
  });
}

async function stopProcess(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGTERM');
  const t = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(t);
}

describe('fleet dashboard: AltPath panel with a real AltPath controller, Redis and chromium', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pathsteer-altpath-dash-'));
  let redis: TestRedis;
  let ap: AltpathProcess | undefined;
  let router: Socket | undefined;
  let ctl: ControllerProcess | undefined;
  let br: LaunchedBrowser | undefined;

  beforeAll(async () => {
    redis = await startRedis();
    const cfg = join(dir, 'altpath.json');
    writeFileSync(cfg, JSON.stringify({ bmpListen: '127.0.0.1:0', httpListen: '127.0.0.1:0', cycleMs: 500, activePrefixes: [P, Q], minSamples: 10, injectors: [{ kind: 'memory' }] }));
    ap = await startAltpath(['altpath', 'controller', '--config', cfg, '--redis', redis.url, '--fleet-name', 'altpath-e2e', '--publish-interval', '1000']);
    router = await bmpRouter(ap.ready.bmp);
    ctl = await startControllerProcess(redis.url, ['--stale-after', '4000']);
    br = await launchChromium({ width: 1400, height: 1800 });
  }, 60_000);

  afterAll(async () => {
    await br?.close();
    await ctl?.stop();
    router?.destroy();
    await stopProcess(ap?.child);
    await redis?.stop();
    rmSync(dir, { recursive: true, force: true });
  }, 30_000);

  it('shows the route table per prefix, an override within seconds of being made, and STALE once the controller is gone', async () => {
    const page = await br!.context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    try {
      await watch(page);
    } catch (e) {
      mkdirSync(ARTIFACTS, { recursive: true });
      await page.screenshot({ path: `${ARTIFACTS}altpath-dashboard-failure.png`, fullPage: true }).catch(() => undefined);
      throw new Error(`${(e as Error).message}\naltpath controller log tail: ${ap?.stderr().slice(-1500)}`);
    }
    expect(errors).toEqual([]);
  }, 90_000);

  async function watch(page: Page): Promise<void> {
    await page.goto(ctl!.url);
    const routeRows = (prefix: string) =>
      page.$$eval(`#altpath-table tr.ap-route[data-prefix="${prefix}"]`, (rows) =>
        rows.map((r) => {
          const el = r as HTMLElement;
          return { table: el.dataset.table, dscp: Number(el.dataset.dscp), override: el.dataset.override === '1', cells: Array.from(el.querySelectorAll('td')).map((td) => td.textContent ?? '') };
        }),
      );
    // the route table per prefix: BGP best in main, the alternates in the DSCP tables
    await page.waitForFunction((p) => document.querySelectorAll(`#altpath-table tr.ap-route[data-prefix="${p}"]`).length === 3, P, { timeout: 20_000 });
    for (const prefix of [P, Q]) {
      const rows = await routeRows(prefix);
      expect(rows.map((r) => [r.table, r.dscp, r.cells[1], r.cells[4]])).toEqual([
        ['main', 0, 'best', '198.18.11.6'],
        ['dscp:12', 12, 'alt 1', '198.18.11.10'],
        ['dscp:24', 24, 'alt 2', '198.18.11.14'],
      ]);
      expect(rows[1]!.cells[5]).toContain('65002 65002 64500');
      expect(rows.every((r) => !r.override)).toBe(true);
    }
    expect(await page.textContent('#altpath-overrides')).toContain('no overrides in force');
    expect(await page.textContent('#altpath-body')).toContain('altpath-e2e');
    const fresh = await page.getAttribute('#altpath-panel', 'class');
    expect(fresh).not.toContain('stale');
    expect(await page.textContent('#age-altpath')).toMatch(/^data .* old$/);

    // traffic: default (BGP best) ~50 ms, DSCP 12 (2nd best) ~25 ms: the next cycle overrides
    const now = Date.now();
    const body = [...Array.from({ length: 12 }, (_, k) => sample(0, 50 + (k % 4), now - 2000 + k, k)), ...Array.from({ length: 12 }, (_, k) => sample(12, 25 + (k % 4), now - 2000 + k, 100 + k))].map((s) => JSON.stringify(s)).join('\n');
    const t0 = Date.now();
    const res = await fetch(`http://${ap!.ready.http}/v1/samples`, { method: 'POST', body: `${body}\n`, headers: { 'content-type': 'application/x-ndjson' } });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { accepted: number }).accepted).toBe(24);
    await page.waitForSelector(`#altpath-table tr.ap-route[data-prefix="${P}"][data-override="1"]`, { timeout: 10_000 });
    await page.waitForSelector(`.ap-override[data-prefix="${P}"]`, { timeout: 5000 });
    const shownMs = Date.now() - t0;
    process.stderr.write(`altpath dashboard: override visible ${shownMs} ms after the samples were posted (cycle 500 ms)\n`);
    expect(shownMs).toBeLessThan(8000);
    const rows = await routeRows(P);
    const on = rows.find((r) => r.override)!;
    expect(on).toMatchObject({ table: 'override', dscp: 12 });
    expect(on.cells[2]).toBe('override');
    expect(on.cells[6]).toBe('12');
    expect(on.cells[7]).toMatch(/^26\.5 ms/);
    expect(rows.find((r) => r.dscp === 0)!.cells[7]).toMatch(/^51\.5 ms/);
    const head = await page.textContent(`#altpath-table tr.ap-prefix[data-prefix="${P}"]`);
    expect(head).toMatch(/override.*via 198\.18\.11\.10.*25\.0 ms faster.*ago/);
    expect(await page.textContent(`.ap-override[data-prefix="${P}"]`)).toMatch(/203\.0\.113\.0\/24 → 198\.18\.11\.10 \(DSCP 12 table; median SRTT 26\.5 ms vs 51\.5 ms/);
    // the override also reached the fleet timeline (API)
    const evs = (await (await fetch(new URL('api/v1/events?limit=50', ctl!.url))).json()) as { events: Array<{ type: string; data: { prefix: string } }> };
    expect(evs.events.some((e) => e.type === 'altpath-override' && e.data.prefix === P)).toBe(true);
    // Q kept BGP's best
    expect((await routeRows(Q)).every((r) => !r.override)).toBe(true);
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: `${ARTIFACTS}altpath-dashboard.png`, fullPage: true });

    // the AltPath controller stops: its data ages past three reports (>= the controller's stale-after) and is marked
    await stopProcess(ap!.child);
    const t1 = Date.now();
    await page.waitForFunction(() => document.querySelector('#altpath-panel')?.classList.contains('stale') === true, null, { timeout: 15_000 });
    expect(Date.now() - t1).toBeGreaterThan(2000);
    expect(await page.textContent('#age-altpath')).toMatch(/^STALE · data .* old$/);
    await sleep(100);
    await page.screenshot({ path: `${ARTIFACTS}altpath-dashboard-stale.png`, fullPage: true });
  }
});
