/**
 * The fleet commands as an operator starts them (the built CLI): bad input is
 * exit 2 with one line naming the option; an unreachable Redis stops the
 * controller with one line; a running controller logs one line, prints its
 * ready line and stops on SIGTERM and SIGINT; `rank --publish` lands in the
 * store the dashboard reads.
 */
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisStore } from '../../src/controller/store/index.js';
import { CLI, runCli } from '../support/cli.js';
import { startRedis, type TestRedis } from '../support/redis.js';

function startCli(args: string[]): { ready: Promise<string>; exit: Promise<number | null>; stderr: () => string; kill: (s: NodeJS.Signals) => void } {
  const c = spawn('node', [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, PATHSTEER_LOG_LEVEL: 'info' } });
  let out = '';
  let err = '';
  c.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const ready = new Promise<string>((resolve) => c.stdout.on('data', (d: Buffer) => {
    out += d.toString();
    const m = /"url":"([^"]+)"/.exec(out);
    if (m) resolve(m[1]!);
  }));
  const exit = new Promise<number | null>((r) => c.once('exit', (code) => r(code)));
  return { ready, exit, stderr: () => err, kill: (s) => c.kill(s) };
}

describe('fleet CLI', () => {
  let redis: TestRedis;
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => redis.stop());

  it('bad --redis, --listen or --token is exit 2 with one line naming the option', () => {
    for (const [args, re] of [
      [['controller', '--redis', 'localhost:6379'], /--redis: Redis URL localhost:6379: scheme must be redis:, rediss: or unix:/],
      [['controller', '--redis', 'not a url'], /--redis: not a Redis URL/],
      [['controller', '--redis', 'redis://h:1/42'], /--redis: .*database must be 0\.\.15/],
      [['controller', '--redis', redis.url, '--listen', 'example.com:80'], /--listen: .*IP address or localhost/],
      [['controller', '--redis', redis.url, '--token', 'short'], /--token: at least 8 characters/],
      [['agent', '--iface', 'eth0', '--redis', 'http://x'], /--redis: expected redis:\/\/host:port/],
      [['agent', '--iface', 'eth0', '--redis', 'redis://h:1/99'], /--redis \(redis\): .*database must be 0\.\.15/],
      [['bench', 'fleet', '--agents', '1'], /--agents/],
      [['controller', '--redis', redis.url, '--poll-in', 'sometimes'], /--poll-in/],
      [['altpath', 'controller', '--config', '/nonexistent.json', '--redis', 'localhost:6379'], /--redis: Redis URL localhost:6379: scheme must be/],
      [['altpath', 'controller', '--config', '/nonexistent.json', '--publish-interval', '5'], /--publish-interval/],
    ] as Array<[string[], RegExp]>) {
      const r = runCli(args);
      expect(r.status, args.join(' ')).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(re);
    }
  });

  it('the controller fails with one line when Redis does not answer at start', () => {
    const r = runCli(['controller', '--redis', 'redis://127.0.0.1:1', '--listen', '127.0.0.1:0'], { timeout: 20_000 });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^pathsteer: cannot reach Redis at redis:\/\/127\.0\.0\.1:1\/?: .+$/m);
    expect(r.stderr.split('\n').filter((l) => l.startsWith('pathsteer:'))).toHaveLength(1);
  });

  for (const sig of ['SIGTERM', 'SIGINT'] as const) {
    it(`the controller logs one line when listening, answers, and stops on ${sig}`, async () => {
      const c = startCli(['controller', '--redis', redis.url, '--listen', '127.0.0.1:0']);
      try {
        const url = await c.ready;
        const r = await fetch(`${url}api/v1/fleet`);
        expect(r.status).toBe(200);
        const listening = c.stderr().split('\n').filter((l) => l.includes('controller listening on'));
        expect(listening).toHaveLength(1);
        expect(JSON.parse(listening[0]!)).toMatchObject({ level: 30, url, store: redis.url });
        const t0 = Date.now();
        c.kill(sig);
        expect(await c.exit).toBe(0);
        expect(Date.now() - t0).toBeLessThan(5000);
        expect(c.stderr()).toMatch(/controller stopped/);
      } finally {
        c.kill('SIGKILL'); // a no-op once it exited
      }
    });
  }

  it('warns when listening beyond localhost without a token', async () => {
    const c = startCli(['controller', '--redis', redis.url, '--listen', '0.0.0.0:0']);
    try {
      await c.ready;
      // the log line and the ready line travel on different pipes: wait for it (bounded)
      for (let i = 0; i < 100 && !/listening beyond localhost/.test(c.stderr()); i++) await new Promise((r) => setTimeout(r, 50));
      expect(c.stderr()).toMatch(/listening beyond localhost without --token/);
      c.kill('SIGTERM');
      expect(await c.exit).toBe(0);
    } finally {
      c.kill('SIGKILL');
    }
  });

  it('rank --publish writes the ranking where the dashboard reads it', async () => {
    const r = runCli(['rank', 'examples/ranker/s1-link-low-loss.json', '--workers', '0', '--traffic-samples', '2', '--routing-samples', '2', '--publish', redis.url, '--json'], { timeout: 120_000 });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/rank: published to redis:\/\/127\.0\.0\.1:\d+\/? \(ps:ranker:results \d+-\d+\)/);
    const out = JSON.parse(r.stdout) as { best: string; scenario: string };
    const s = await RedisStore.open(redis.url, { waitReady: true });
    const [last] = await s.rankerResults(1);
    expect(last).toMatchObject({ scenario: out.scenario, best: out.best });
    expect(last!.candidates[0]!.name).toBe(out.best);
    const ev = (await s.recentEvents(10)).filter((e) => e.type === 'ranker');
    expect(ev.at(-1)?.data).toMatchObject({ id: last!.id, best: out.best });
    await s.close();
  }, 150_000);
});
