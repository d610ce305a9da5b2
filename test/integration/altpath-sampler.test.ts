/**
 * `pathsteer altpath sampler` end to end, as an operator runs it, in a
 * server namespace (s) with clients in another (c):
 *
 *   s s0 198.18.62.1 ---- c0 198.18.62.2 c
 *
 * - bad flags: exit 2 with a one-line reason, nothing attached (no pins, no filter);
 * - real TCP connections become ConnSample NDJSON lines at a controller
 *   stand-in (an HTTP server in s) and on stdout (--out -), with the DSCP
 *   altpath_dscp gives each flow (TypeScript reference);
 * - controller down: the buffer keeps the newest --max-buffer samples and
 *   counts the dropped ones; delivery resumes when it is back;
 * - SIGTERM: final counters logged, filter and pins removed.
 */
import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { altpathDecide } from '../../src/altpath/flow-hash.js';
import { ConnSampleSchema, type ConnSample } from '../../src/altpath/sample.js';
import { run } from '../../src/common/exec.js';
import { PrefixSet } from '../../src/common/net.js';
import { cleanupPrefix, nsName, runPrefix } from '../../src/testbed/netns.js';
import { addServerClientPair, nsenter, removePathsteerState, runCliIn, startHelper, stopChild } from '../support/netns.js';
import { canLoadBpf, canUseNetns } from '../support/privileged.js';
import { dropCounters, startSampler, stopSampler, waitLine } from '../support/sampler.js';

const CONN_HELPER = new URL('../support/conn-helper.mjs', import.meta.url).pathname;
const S4 = '198.18.62.1';
const C4 = '198.18.62.2';
const PORT = 8090;
const SEED = 0x5a3b1e;

describe.runIf(canLoadBpf && canUseNetns)('pathsteer altpath sampler (CLI, namespaces, controller stand-in)', () => {
  const prefix = runPrefix('as');
  const ns = { s: nsName(prefix, 's'), c: nsName(prefix, 'c') };
  const children: ChildProcess[] = [];
  const pinDir = `/sys/fs/bpf/pathsteer/ns/${ns.s}/altpath`;
  const filters = async (): Promise<string> => (await run(['ip', 'netns', 'exec', ns.s, 'tc', 'filter', 'show', 'dev', 's0', 'egress'], { allowFail: true })).stdout;

  beforeAll(async () => {
    await cleanupPrefix(prefix);
    await addServerClientPair(ns, { s: [`${S4}/24`], c: [`${C4}/24`] });
    await startHelper(ns.s, 'tcp-server', { addrs: [S4], port: PORT, reply: 5000 }, children, CONN_HELPER);
  });

  afterAll(async () => {
    for (const c of children) stopChild(c);
    await cleanupPrefix(prefix);
    removePathsteerState([ns.s, ns.c]);
  });

  it.each([
    [['--iface', 's0', '--out', '-', '--rule', '60%:12', '--rule', '50%:24'], /more than 100%/],
    [['--iface', 's0', '--out', '-', '--rule', '1%:64'], /DSCP must be 1\.\.63/],
    [['--iface', 's0', '--out', '-', '--rule', '1%:12', '--rule', '2%:12'], /DSCP 12 appears in two rules/],
    [['--iface', 's0', '--out', '-', '--exclude', '203.0.113.0/33'], /--exclude \(exclude\)\[0\]: .*prefix length 33/],
    [['--iface', 's0', '--out', '-', '--sample-rate', '0'], /--sample-rate/],
    [['--iface', 's0', '--out', '-', '--marked-multiplier', 'lots'], /--marked-multiplier/],
    [['--iface', 's0', '--controller', 'not a url'], /--controller: not an http\(s\) URL/],
    [['--iface', 's0'], /samples must go somewhere/],
    [['--out', '-'], /--iface/],
    [['--iface', 'nosuch0', '--out', '-'], /no interface nosuch0/],
    [['--iface', 's0', '--config', '/nonexistent/sampler.json'], /cannot read config file/],
  ])('bad usage %j: exit 2, one line, nothing attached', async (args, msg) => {
    const r = await runCliIn(ns.s, ['altpath', 'sampler', ...args]);
    expect(r.code, r.stderr).toBe(2);
    const lines = r.stderr.trim().split('\n');
    expect(lines, r.stderr).toHaveLength(1);
    expect(lines[0]).toMatch(/^pathsteer: /);
    expect(lines[0]).toMatch(msg);
    expect(existsSync(pinDir)).toBe(false);
    expect(await filters()).toBe('');
  });

  it('delivers real connections as ConnSample NDJSON (controller and stdout), buffers boundedly while the controller is down, resumes, and detaches on SIGTERM', async () => {
    const sink = await startHelper(ns.s, 'http-sink', { addr: '127.0.0.1', port: 0 }, children, CONN_HELPER);
    const port = (JSON.parse(sink.lines.shift()!) as { port: number }).port;
    const received = (lines: string[]): ConnSample[] =>
      lines.flatMap((l) => {
        const body = JSON.parse(l) as { lines: unknown[]; contentType: string };
        expect(body.contentType).toBe('application/x-ndjson');
        return body.lines.map((x) => ConnSampleSchema.parse(x));
      });
    const sampler = await startSampler(
      ns.s,
      ['--iface', 's0', '--rule', '40%:12', '--rule', '10%:24', '--seed', String(SEED), '--sample-rate', '1', '--controller', `http://127.0.0.1:${port}`, '--out', '-', '--host', 'fe-test', '--batch-size', '10', '--flush-interval', '200', '--max-buffer', '50', '--retry-max', '1000'],
      children,
    );
    expect(await filters()).toMatch(/altpath_dscp/);
    // one info line says what runs where
    const started = sampler.stderr.map((l) => (l.startsWith('{') ? (JSON.parse(l) as Record<string, unknown>) : {})).find((j) => j.msg === 'AltPath sampler running');
    expect(started).toMatchObject({ iface: 's0', rules: '40%->12, 10%->24', seed: SEED, sampleRate: 1, markedMultiplier: 100 });

    const connect = async (count: number): Promise<number[]> => {
      const r = await nsenter(ns.c, ['node', CONN_HELPER, 'tcp-client', JSON.stringify({ addr: S4, port: PORT, count, send: 100, parallel: 4 })]);
      expect(r.code, r.stderr).toBe(0);
      const out = JSON.parse(r.stdout) as { conns: Array<{ lport: number }>; errors: string[] };
      if (out.errors.length) {
        process.stderr.write(`client errors ${JSON.stringify(out.errors)}; drops s ${JSON.stringify(await dropCounters(ns.s))} c ${JSON.stringify(await dropCounters(ns.c))}\n`);
      }
      expect(out.errors).toEqual([]);
      return out.conns.map((c) => c.lport);
    };
    const until = async (cond: () => boolean, ms: number, what: string): Promise<void> => {
      const end = Date.now() + ms;
      while (!cond()) {
        if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    };

    // 1. controller up: every connection arrives once, as the contract says
    const first = await connect(30);
    await until(() => received(sink.lines).length >= 30, 15_000, '30 samples at the controller');
    const got = received(sink.lines);
    expect(got.map((s) => s.dport).sort()).toEqual([...first].sort());
    const cfg = { seed: SEED, onlyUnmarked: true, rules: [{ dscp: 12, basisPoints: 4000 }, { dscp: 24, basisPoints: 1000 }] };
    for (const s of got) {
      expect(s).toMatchObject({ host: 'fe-test', family: 4, saddr: S4, daddr: C4, sport: PORT, bytes_received: 101 });
      expect(s.dscp).toBe(altpathDecide(cfg, new PrefixSet([]), { family: 4, saddr: S4, daddr: C4, sport: PORT, dport: s.dport, proto: 6 }).dscp);
      expect(Math.abs(s.ts_ms - Date.now())).toBeLessThan(60_000);
    }
    // the same samples on stdout, one JSON line each
    await until(() => sampler.stdout.length >= 30, 5000, 'stdout samples');
    expect(sampler.stdout.map((l) => ConnSampleSchema.parse(JSON.parse(l)).dport).sort()).toEqual([...first].sort());

    // 2. controller down: 80 more connections, at most 50 kept
    stopChild(sink.child);
    await new Promise((r) => setTimeout(r, 300));
    const second = await connect(80);
    await until(() => sampler.stdout.length >= 110, 10_000, 'stdout samples while the controller is down');
    await waitLine(sampler.stderr, /cannot deliver samples; buffering and retrying/, 10_000);

    // 3. back on the same port: the 50 newest arrive
    const sink2 = await startHelper(ns.s, 'http-sink', { addr: '127.0.0.1', port }, children, CONN_HELPER);
    sink2.lines.shift();
    await until(() => received(sink2.lines).length >= 50, 40_000, '50 buffered samples after the controller came back');
    await new Promise((r) => setTimeout(r, 500));
    const late = received(sink2.lines);
    expect(late).toHaveLength(50);
    expect(new Set(late.map((s) => s.dport)).size).toBe(50);
    for (const s of late) expect(second).toContain(s.dport);
    await waitLine(sampler.stderr, /controller reachable again/, 5000);

    // 4. SIGTERM: final counters, filter and pins gone
    expect(await stopSampler(sampler)).toBe(0);
    const stopped = sampler.stderr.map((l) => (l.startsWith('{') ? (JSON.parse(l) as Record<string, unknown>) : {})).find((j) => j.msg === 'AltPath sampler stopped') as
      | { samples: number; counters: Record<string, string>; controller: { accepted: number; dropped: number; buffered: number } }
      | undefined;
    expect(stopped).toBeDefined();
    expect(stopped!.samples).toBe(110);
    expect(stopped!.controller).toMatchObject({ accepted: 80, dropped: 30, buffered: 0 });
    expect(Number(stopped!.counters.CONN_EMITTED)).toBe(110);
    expect(await filters()).toBe('');
    expect(existsSync(pinDir)).toBe(false);
    expect(existsSync(`/run/pathsteer/ns/${ns.s}/altpath`)).toBe(false);
    stopChild(sink2.child);
  });

  it('--keep-pins: SIGTERM leaves the filter and pins; the next sampler adopts them (same seed) and a plain stop removes them', async () => {
    const a = await startSampler(ns.s, ['--iface', 's0', '--rule', '1%:12', '--out', '/dev/null', '--keep-pins'], children);
    const seedLine = a.stderr.find((l) => l.includes('AltPath sampler running'))!;
    const seed = (JSON.parse(seedLine) as { seed: number }).seed;
    expect(await stopSampler(a)).toBe(0);
    expect(await filters()).toMatch(/altpath_dscp/);
    expect(existsSync(`${pinDir}/ps_altpath`)).toBe(true);
    const b = await startSampler(ns.s, ['--iface', 's0', '--rule', '1%:12', '--out', '/dev/null'], children);
    const seedB = (JSON.parse(b.stderr.find((l) => l.includes('AltPath sampler running'))!) as { seed: number }).seed;
    expect(seedB).toBe(seed);
    expect((await filters()).match(/handle 0xa17 /g)).toHaveLength(1); // swapped in place, not a second filter
    expect(await stopSampler(b)).toBe(0);
    expect(await filters()).toBe('');
    expect(existsSync(pinDir)).toBe(false);
  });
});
