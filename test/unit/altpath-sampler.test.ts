/**
 * The AltPath sampler's user-space parts without the kernel: rules and
 * configuration validation, conn_stats records as ConnSamples, and the
 * shipper against a real HTTP server standing in for the controller
 * (NDJSON batches, a bounded buffer that drops the oldest while the
 * controller is down, delivery resuming when it is back, refused batches).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { parseRule, SamplerConfigSchema } from '../../src/altpath/sampler/config.js';
import { connEventToSample, monoToWallMs } from '../../src/altpath/sampler/convert.js';
import { SampleShipper } from '../../src/altpath/sampler/shipper.js';
import { ConnSampleSchema, SAMPLES_PATH, type ConnSample } from '../../src/altpath/sample.js';
import { UsageError } from '../../src/common/errors.js';
import { logger } from '../../src/common/logger.js';
import { parseIpv6 } from '../../src/common/net.js';
import { AF_INET, AF_INET6, type ConnEvent } from '../../src/maps/conn-event.js';

const sample = (i: number): ConnSample => ({
  host: 'fe1',
  ts_ms: 1_700_000_000_000 + i,
  family: 4,
  saddr: '198.18.0.1',
  daddr: '203.0.113.7',
  sport: 443,
  dport: 40000 + i,
  dscp: i % 2 ? 12 : 0,
  srtt_us: 20_000,
  rttvar_us: 1000,
  rto_us: 220_000,
  total_retrans: 0,
  segs_out: 10,
  segs_in: 8,
  bytes_acked: 5000,
  bytes_received: 300,
  duration_us: 90_000,
});

describe('AltPath rules and sampler configuration', () => {
  it('parses SHARE:DSCP in percent (0.01% steps) and basis points', () => {
    expect(parseRule('0.75%:12')).toEqual({ dscp: 12, basisPoints: 75 });
    expect(parseRule('0.25%:24')).toEqual({ dscp: 24, basisPoints: 25 });
    expect(parseRule('100%:46')).toEqual({ dscp: 46, basisPoints: 10_000 });
    expect(parseRule('75bp:12')).toEqual({ dscp: 12, basisPoints: 75 });
    expect(parseRule(' 3.5%:63 ')).toEqual({ dscp: 63, basisPoints: 350 });
  });

  it.each([
    ['0.755%:12', /steps of 0.01%/],
    ['1%:0', /DSCP must be 1..63/],
    ['1%:64', /DSCP must be 1..63/],
    ['101%:12', /cannot exceed 100%/],
    ['7.5bp:12', /whole numbers/],
    ['12', /expected SHARE:DSCP/],
    ['1%12', /expected SHARE:DSCP/],
  ])('rejects %s', (text, msg) => {
    expect(() => parseRule(text)).toThrow(UsageError);
    expect(() => parseRule(text)).toThrow(msg);
  });

  const base = { iface: 'eth0', out: '-' };
  it('applies the defaults: N 1000, M 100, only unmarked, no rules, hostname', () => {
    const c = SamplerConfigSchema.parse(base);
    expect(c).toMatchObject({ sampleRate: 1000, markedMultiplier: 100, onlyUnmarked: true, rules: [], exclude: [], batchSize: 500, maxBuffer: 10_000, keepPins: false });
    expect(c.host.length).toBeGreaterThan(0);
    expect(c.seed).toBeUndefined();
  });

  it('takes rules as text or objects and canonical exclusions', () => {
    const c = SamplerConfigSchema.parse({
      ...base,
      rules: ['0.75%:12', { dscp: 24, percent: 0.25 }, { dscp: 46, basisPoints: 10 }],
      exclude: ['203.0.113.9/24', '2001:DB8::1/32'],
    });
    expect(c.rules).toEqual([
      { dscp: 12, basisPoints: 75 },
      { dscp: 24, basisPoints: 25 },
      { dscp: 46, basisPoints: 10 },
    ]);
    expect(c.exclude).toEqual(['203.0.113.0/24', '2001:db8::/32']);
  });

  it.each([
    [{ rules: ['60%:12', '50%:24'] }, /more than 100%/],
    [{ rules: ['1%:12', '2%:12'] }, /DSCP 12 appears in two rules/],
    [{ rules: Array.from({ length: 9 }, (_, i) => `1%:${i + 1}`) }, /at most 8 rules/],
    [{ exclude: ['10.0.0.0/33'] }, /prefix length 33/],
    [{ sampleRate: 0 }, /sampleRate/],
    [{ controller: 'ftp://x' }, /http\(s\) URL/],
    [{ out: undefined, controller: undefined }, /samples must go somewhere/],
    [{ iface: 'x'.repeat(16) }, /interface name/],
    [{ unknownKey: 1 }, /unrecognized/i],
  ])('rejects %j', (patch, msg) => {
    const r = SamplerConfigSchema.safeParse({ ...base, ...patch });
    expect(r.success).toBe(false);
    expect(r.error!.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')).toMatch(msg);
  });
});

describe('conn_stats records as ConnSamples', () => {
  it('turns addresses into text, the family into 4/6 and the monotonic close time into wall time', () => {
    const v4: ConnEvent = {
      tsNs: 5_000_000_000n,
      bytesAcked: 200_001n,
      bytesReceived: 3001n,
      durationUs: 123_456n,
      family: AF_INET,
      saddr: Buffer.from([198, 18, 0, 1, ...Array(12).fill(0)]),
      daddr: Buffer.from([203, 0, 113, 7, ...Array(12).fill(0)]),
      srttUs: 20_500,
      rttvarUs: 700,
      rtoUs: 224_000,
      totalRetrans: 3,
      segsOut: 150,
      segsIn: 60,
      sport: 443,
      dport: 51234,
      dscp: 12,
    };
    const clock = { wallMs: 1_700_000_010_000, monoNs: 15_000_000_000n }; // the close was 10 s before this reading
    const s = connEventToSample(v4, 'fe1', clock);
    expect(s).toEqual({
      host: 'fe1',
      ts_ms: 1_700_000_000_000,
      family: 4,
      saddr: '198.18.0.1',
      daddr: '203.0.113.7',
      sport: 443,
      dport: 51234,
      dscp: 12,
      srtt_us: 20_500,
      rttvar_us: 700,
      rto_us: 224_000,
      total_retrans: 3,
      segs_out: 150,
      segs_in: 60,
      bytes_acked: 200_001,
      bytes_received: 3001,
      duration_us: 123_456,
    });
    expect(ConnSampleSchema.parse(s)).toEqual(s);
    const v6 = connEventToSample({ ...v4, family: AF_INET6, saddr: parseIpv6('2001:db8:1::1'), daddr: parseIpv6('2001:db8:2::10') }, 'fe1', clock);
    expect(v6).toMatchObject({ family: 6, saddr: '2001:db8:1::1', daddr: '2001:db8:2::10' });
    expect(ConnSampleSchema.safeParse(v6).success).toBe(true);
    expect(monoToWallMs(16_000_000_000n, clock)).toBe(1_700_000_011_000);
  });
});

describe('SampleShipper against an HTTP controller stand-in', () => {
  let server: Server | undefined;
  let shipper: SampleShipper | undefined;
  afterEach(async () => {
    await shipper?.stop(0);
    shipper = undefined;
    await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
    server = undefined;
  });

  /** A controller on `port` (0 = any) that records bodies and answers like the real one (or with `status`). */
  const controller = (port = 0, status = 200): Promise<{ port: number; got: ConnSample[]; types: string[] }> => {
    const got: ConnSample[] = [];
    const types: string[] = [];
    return new Promise((resolve) => {
      server = createServer((req, res) => {
        let body = '';
        req.on('data', (d) => (body += d));
        req.on('end', () => {
          expect(req.method).toBe('POST');
          expect(req.url).toBe(SAMPLES_PATH);
          types.push(String(req.headers['content-type']));
          const lines = body.split('\n');
          expect(lines.pop()).toBe(''); // newline-terminated
          if (status !== 200) {
            res.writeHead(status).end('no');
            return;
          }
          for (const l of lines) got.push(ConnSampleSchema.parse(JSON.parse(l)));
          res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ accepted: lines.length, rejected: 0, errors: [] }));
        });
      });
      server.listen(port, '127.0.0.1', () => resolve({ port: (server!.address() as AddressInfo).port, got, types }));
    });
  };

  const until = async (cond: () => boolean, ms = 10_000): Promise<void> => {
    const end = Date.now() + ms;
    while (!cond()) {
      if (Date.now() > end) throw new Error('timed out');
      await new Promise((r) => setTimeout(r, 20));
    }
  };

  it('posts NDJSON batches of at most batchSize, in order, and counts what was accepted', async () => {
    const c = await controller();
    shipper = new SampleShipper({ controller: `http://127.0.0.1:${c.port}`, batchSize: 10, flushIntervalMs: 50, logger });
    shipper.start();
    shipper.push(Array.from({ length: 25 }, (_, i) => sample(i)));
    await until(() => c.got.length === 25 && shipper!.stats().accepted === 25);
    expect(c.got.map((s) => s.dport)).toEqual(Array.from({ length: 25 }, (_, i) => 40000 + i));
    expect(new Set(c.types)).toEqual(new Set(['application/x-ndjson']));
    expect(shipper.stats()).toMatchObject({ buffered: 0, accepted: 25, rejected: 0, dropped: 0, posts: 3, failing: 0 });
  });

  it('controller down: keeps at most maxBuffer samples, drops the oldest (counted), retries with backoff and delivers the newest when it is back', async () => {
    const c0 = await controller();
    const port = c0.port;
    await new Promise<void>((r) => server!.close(() => r()));
    server = undefined;
    shipper = new SampleShipper({ controller: `http://127.0.0.1:${port}`, batchSize: 20, flushIntervalMs: 50, maxBuffer: 50, retryMinMs: 50, retryMaxMs: 400, logger });
    shipper.start();
    shipper.push(Array.from({ length: 80 }, (_, i) => sample(i)));
    await until(() => shipper!.stats().failures >= 2);
    const down = shipper.stats();
    expect(down).toMatchObject({ buffered: 50, dropped: 30, accepted: 0 });
    expect(down.failing).toBeGreaterThanOrEqual(2);
    expect(down.lastError).toMatch(/ECONNREFUSED/);
    shipper.push([sample(80), sample(81)]); // still arriving while it is down
    expect(shipper.stats()).toMatchObject({ buffered: 50, dropped: 32 });
    const c = await controller(port);
    // the controller has the last batch before the shipper has read its answer
    await until(() => c.got.length === 50 && shipper!.stats().buffered === 0 && shipper!.stats().accepted === 50);
    // the 50 newest, oldest first
    expect(c.got.map((s) => s.dport)).toEqual(Array.from({ length: 50 }, (_, i) => 40000 + 32 + i));
    expect(shipper.stats()).toMatchObject({ buffered: 0, accepted: 50, dropped: 32, failing: 0 });
  });

  it('a batch the controller refuses (400) is dropped and counted as rejected, not retried; 503 is retried', async () => {
    const bad = await controller(0, 400);
    shipper = new SampleShipper({ controller: `http://127.0.0.1:${bad.port}`, batchSize: 5, flushIntervalMs: 50, retryMinMs: 50, logger });
    shipper.start();
    shipper.push(Array.from({ length: 5 }, (_, i) => sample(i)));
    await until(() => shipper!.stats().rejected === 5);
    expect(shipper.stats()).toMatchObject({ buffered: 0, failures: 0 });
    await shipper.stop(0);
    await new Promise<void>((r) => server!.close(() => r()));

    const busy = await controller(0, 503);
    shipper = new SampleShipper({ controller: `http://127.0.0.1:${busy.port}`, batchSize: 5, flushIntervalMs: 50, retryMinMs: 50, logger });
    shipper.start();
    shipper.push(Array.from({ length: 5 }, (_, i) => sample(i)));
    await until(() => shipper!.stats().failures >= 2);
    expect(shipper.stats()).toMatchObject({ buffered: 5, rejected: 0 });
    expect(shipper.stats().lastError).toMatch(/HTTP 503/);
  });

  it('stop() delivers what is buffered within its grace time', async () => {
    const c = await controller();
    shipper = new SampleShipper({ controller: `http://127.0.0.1:${c.port}`, batchSize: 1000, flushIntervalMs: 60_000, logger });
    shipper.start();
    shipper.push(Array.from({ length: 7 }, (_, i) => sample(i)));
    await shipper.stop(2000);
    expect(c.got).toHaveLength(7);
  });
});
