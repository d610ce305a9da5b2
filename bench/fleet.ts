/**
 * `pathsteer bench fleet`: the controller and dashboard at fleet size. A real
 * redis-server, `agents` simulated agents (bench/fleet-sim.ts: real
 * Publishers, `peers` peers each, in a worker thread) publishing at 1 Hz, and
 * `pathsteer controller` as its own process. Measured:
 *  - API latency: `concurrency` clients issuing the dashboard's requests
 *    (tiles, matrix, worst pairs, hosts, series, a pair, the timeline) for
 *    `seconds`, latency to the last byte, p50/p99/max overall and per endpoint;
 *  - dashboard render time in chromium, measured in the page
 *    (window.__psPerf): first load to fully drawn, and each refresh
 *    (fetch + render + next frame) for `renderSeconds`;
 *  - the controller's poll time and memory, Redis memory, publishes per second.
 */
import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Worker } from 'node:worker_threads';
import { Redis } from 'ioredis';
import { repoRoot } from '../src/testbed/paths.js';
import { launchChromium } from './browser.js';
import { startControllerProcess, type ControllerProcess } from './controller-process.js';
import { simHost, simVtep, type SimOptions } from './fleet-sim.js';
import { startRedis, type TestRedis } from './redis-server.js';

export interface FleetBenchOptions {
  /** Simulated agents. @default 2000 */
  agents?: number;
  /** Peers per agent. @default 32 */
  peers?: number;
  /** Hosts per leaf (the roll-up group). @default 40 */
  hostsPerGroup?: number;
  /** API measurement window (s). @default 20 */
  seconds?: number;
  /** Render measurement window (s). @default 10 */
  renderSeconds?: number;
  /** Concurrent API clients. @default 4 */
  concurrency?: number;
  /** The controller's `--poll-in`. @default auto (the worker) */
  pollIn?: 'auto' | 'worker' | 'thread';
  progress?: (line: string) => void;
}

interface Dist {
  n: number;
  p50_ms: number;
  p99_ms: number;
  max_ms: number;
}

export interface FleetBenchResult {
  /** Where the controller polled (its /api/v1/config). */
  poll_in: string;
  agents: number;
  peers: number;
  pairs: number;
  publishes_per_s: number;
  publish_errors: number;
  api: Dist & { rps: number; by_endpoint: Record<string, Dist> };
  render: { first_load_ms: number; refreshes: number; refresh_p50_ms: number; refresh_p99_ms: number; render_p50_ms: number; render_max_ms: number; matrix_by: string; matrix_cells: number };
  controller: { poll_ms: number; rss_mb: number };
  redis_used_memory_mb: number;
  loadavg: number[];
}

function dist(xs: number[]): Dist {
  const s = [...xs].sort((a, b) => a - b);
  const q = (p: number): number => (s.length ? s[Math.min(s.length - 1, Math.max(0, Math.ceil(p * s.length) - 1))]! : 0);
  const r = (x: number): number => Math.round(x * 100) / 100;
  return { n: s.length, p50_ms: r(q(0.5)), p99_ms: r(q(0.99)), max_ms: r(s.at(-1) ?? 0) };
}

function timedGet(agent: Agent, base: string, path: string): Promise<{ ms: number; status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const req = request(new URL(path, base), { agent }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ ms: performance.now() - t0, status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

export async function benchFleet(o: FleetBenchOptions = {}): Promise<FleetBenchResult> {
  const agents = o.agents ?? 2000;
  const peers = o.peers ?? 32;
  const hostsPerGroup = o.hostsPerGroup ?? 40;
  const seconds = o.seconds ?? 20;
  const renderSeconds = o.renderSeconds ?? 10;
  const concurrency = o.concurrency ?? 4;
  const progress = o.progress ?? (() => undefined);
  let redis: TestRedis | undefined;
  let worker: Worker | undefined;
  let ctl: ControllerProcess | undefined;
  let browser: Awaited<ReturnType<typeof launchChromium>> | undefined;
  const httpAgent = new Agent({ keepAlive: true, maxSockets: concurrency });
  try {
    redis = await startRedis();
    progress(`bench fleet: redis on ${redis.url}; starting ${agents} simulated agents x ${peers} peers`);
    const sim: SimOptions = { kind: 'pathsteer-fleet-sim', url: redis.url, agents, peers, hostsPerGroup, connections: 16, failoversPerS: 1, seed: 7 };
    worker = new Worker(join(repoRoot(), 'dist', 'bench', 'fleet-sim.js'), { workerData: sim });
    let stats = { publishes: 0, events: 0, errors: 0 };
    worker.on('message', (m: { stats?: typeof stats }) => {
      if (m.stats) stats = m.stats;
    });
    await new Promise<void>((resolve, reject) => {
      worker!.once('error', reject);
      const onMsg = (m: { ready?: boolean }): void => {
        if (m.ready) {
          worker!.off('message', onMsg);
          resolve();
        }
      };
      worker!.on('message', onMsg);
    });
    ctl = await startControllerProcess(redis.url, ['--poll-in', o.pollIn ?? 'auto'], 60_000);
    progress(`bench fleet: controller at ${ctl.url}; waiting for every agent to be fresh`);
    const deadline = Date.now() + 60_000;
    let tiles: { agents_fresh: number; pairs: number; poll_ms: number } = { agents_fresh: 0, pairs: 0, poll_ms: 0 };
    while (Date.now() < deadline) {
      tiles = JSON.parse((await timedGet(httpAgent, ctl.url, 'api/v1/fleet')).body) as typeof tiles;
      if (tiles.agents_fresh >= agents * 0.98) break;
      await sleep(500);
    }
    await sleep(3000);
    // API under load: the dashboard's requests, round robin per client
    const paths = (i: number): string => {
      const h = Math.floor(Math.random() * agents);
      const k = i % 8;
      return [
        'api/v1/fleet',
        'api/v1/matrix',
        'api/v1/worst?limit=20',
        'api/v1/hosts',
        'api/v1/series',
        `api/v1/pair?src=${simHost(h)}&dst=${simVtep((h + 1) % agents, hostsPerGroup)}`,
        'api/v1/events?limit=200',
        `api/v1/hosts/${simHost(h)}`,
      ][k]!;
    };
    const lat: number[] = [];
    const by = new Map<string, number[]>();
    const p0 = stats.publishes;
    const t0 = performance.now();
    const end = t0 + seconds * 1000;
    progress(`bench fleet: ${concurrency} API clients for ${seconds} s`);
    await Promise.all(
      Array.from({ length: concurrency }, async (_, c) => {
        let i = c;
        while (performance.now() < end) {
          const path = paths(i++);
          const r = await timedGet(httpAgent, ctl!.url, path);
          if (r.status !== 200 && r.status !== 404) throw new Error(`${path}: HTTP ${r.status} ${r.body.slice(0, 200)}`);
          lat.push(r.ms);
          const key = path.split('?')[0]!.replace(/hosts\/.*/, 'hosts/:host');
          if (!by.has(key)) by.set(key, []);
          by.get(key)!.push(r.ms);
          await sleep(20);
        }
      }),
    );
    const dt = (performance.now() - t0) / 1000;
    const publishesPerS = Math.round((stats.publishes - p0) / dt);
    tiles = JSON.parse((await timedGet(httpAgent, ctl.url, 'api/v1/fleet')).body) as typeof tiles;
    // the dashboard in chromium
    progress(`bench fleet: dashboard in chromium for ${renderSeconds} s`);
    browser = await launchChromium({ width: 1600, height: 1400 });
    const page = await browser.context.newPage();
    const g0 = performance.now();
    await page.goto(ctl.url);
    await page.waitForFunction(() => (globalThis as unknown as { __psPerf?: { ready: boolean } }).__psPerf?.ready === true, null, { timeout: 60_000 });
    const firstLoad = performance.now() - g0;
    await sleep(renderSeconds * 1000);
    const perf = await page.evaluate(() => {
      const w = globalThis as unknown as { __psPerf: { refreshes: Array<{ total_ms: number; render_ms: number; cells: number }> } };
      const cv = (globalThis as unknown as { document: { getElementById(id: string): { dataset: Record<string, string> } } }).document.getElementById('matrix');
      return { refreshes: w.__psPerf.refreshes, by: cv.dataset.by ?? '', n: Number(cv.dataset.n) };
    });
    const refreshes = perf.refreshes.slice(1); // the first is part of the load
    const tot = dist(refreshes.map((r) => r.total_ms));
    const ren = dist(refreshes.map((r) => r.render_ms));
    const rss = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${ctl.pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;
    const raw = new Redis(redis.port, '127.0.0.1');
    const info = await raw.info('memory');
    raw.disconnect();
    const used = Number(/used_memory:(\d+)/.exec(info)?.[1] ?? 0) / 2 ** 20;
    const api = dist(lat);
    const cfg = JSON.parse((await timedGet(httpAgent, ctl.url, 'api/v1/config')).body) as { poll_in: string };
    return {
      poll_in: cfg.poll_in,
      agents,
      peers,
      pairs: tiles.pairs,
      publishes_per_s: publishesPerS,
      publish_errors: stats.errors,
      api: { ...api, rps: Math.round(lat.length / dt), by_endpoint: Object.fromEntries([...by].map(([k, v]) => [k, dist(v)])) },
      render: {
        first_load_ms: Math.round(firstLoad),
        refreshes: refreshes.length,
        refresh_p50_ms: tot.p50_ms,
        refresh_p99_ms: tot.p99_ms,
        render_p50_ms: ren.p50_ms,
        render_max_ms: ren.max_ms,
        matrix_by: perf.by,
        matrix_cells: perf.n * perf.n,
      },
      controller: { poll_ms: tiles.poll_ms, rss_mb: Math.round(rss) },
      redis_used_memory_mb: Math.round(used * 10) / 10,
      loadavg: loadavg().map((x) => Math.round(x * 100) / 100),
    };
  } finally {
    httpAgent.destroy();
    await browser?.close();
    await ctl?.stop();
    if (worker) {
      worker.postMessage({ stop: true });
      await Promise.race([new Promise((r) => worker!.on('message', (m: { stopped?: boolean }) => m.stopped && r(undefined))), sleep(5000)]);
      await worker.terminate();
    }
    await redis?.stop();
  }
}
