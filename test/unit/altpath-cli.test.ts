/** `pathsteer altpath ...` as a user runs it (the built CLI; no privileges needed: memory injector, loopback). */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseNlri } from '../../src/altpath/bgp/nlri.js';
import { encode } from '../../src/altpath/bmp/messages.js';
import { CLI, runCli } from '../support/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'pathsteer-altpath-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function start(args: string[]): Promise<{ child: ChildProcess; ready: { bmp: string; http: string } }> {
  const child = spawn('node', [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    let buf = '';
    let err = '';
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    child.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      const line = buf.split('\n').find((l) => l.startsWith('{'));
      if (line) resolve({ child, ready: JSON.parse(line) as { bmp: string; http: string } });
    });
    child.on('exit', (c) => reject(new Error(`exited ${c}: ${err}`)));
  });
}

function exited(child: ChildProcess): Promise<number | null> {
  return new Promise((r) => (child.exitCode !== null ? r(child.exitCode) : child.on('exit', (c) => r(c))));
}

function sendBmp(addr: string, bufs: Buffer[]): Promise<void> {
  const [host, port] = [addr.slice(0, addr.lastIndexOf(':')), Number(addr.slice(addr.lastIndexOf(':') + 1))];
  return new Promise((resolve, reject) => {
    const s = connect(port, host, () => {
      s.write(Buffer.concat(bufs));
      setTimeout(() => resolve(), 200); // keep the session open (closing it would clear its routes)
    });
    s.on('error', reject);
  });
}

const peer = { address: '198.18.11.6', asn: 65001, bgpId: '198.18.11.6' };
const msgs = [
  encode({ type: 'initiation', sysName: 'pr' }),
  encode({ type: 'peer-up', peer, localAddress: '198.18.11.5', localPort: 179, remotePort: 1000, sentOpen: { asn: 65000, bgpId: '198.18.10.1' }, receivedOpen: { asn: 65001, bgpId: '198.18.11.6' } }),
  encode({ type: 'route-monitoring', peer, update: { nlri: [parseNlri('203.0.113.0/24')], attrs: { origin: 0, asPath: [{ type: 2, asns: [65001, 64500] }], nextHop: '198.18.11.6' } } }),
];

describe('pathsteer altpath (CLI)', () => {
  it('controller: a missing or invalid config is a usage error (exit 2) naming the problem', () => {
    const r = runCli(['altpath', 'controller', '--config', join(dir, 'missing.json')]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/cannot read controller config file/);
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ dscps: [12, 99], cycleMs: 'soon' }));
    const b = runCli(['altpath', 'controller', '--config', bad]);
    expect(b.status).toBe(2);
    expect(b.stderr).toMatch(/dscps\.1/);
    expect(b.stderr).toMatch(/cycleMs/);
  });

  it('collector: a bad --listen is a usage error; status without a controller fails with a reason', () => {
    const r = runCli(['altpath', 'collector', '--listen', '203.0.113.1']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/--listen/);
    const s = runCli(['altpath', 'status', '--controller', 'http://127.0.0.1:9']);
    expect(s.status).toBe(1);
    expect(s.stderr).toMatch(/cannot reach the AltPath controller/);
  });

  it('collector: listens, learns routes over BMP, serves them to `altpath status`, stops on SIGTERM', async () => {
    const { child, ready } = await start(['altpath', 'collector', '--listen', '127.0.0.1:0', '--http', '127.0.0.1:0']);
    try {
      await sendBmp(ready.bmp, msgs);
      const r = runCli(['altpath', 'status', '--controller', `http://${ready.http}`, '--json']);
      expect(r.status, r.stderr).toBe(0);
      const j = JSON.parse(r.stdout) as { schema: string; rib: Array<{ prefix: string; routes: Array<{ as_path: string; rank: number }> }> };
      expect(j.schema).toBe('pathsteer.altpath.collector/v1');
      expect(j.rib).toEqual([{ prefix: '203.0.113.0/24', routes: [expect.objectContaining({ as_path: '65001 64500', rank: 1, peer: '198.18.11.6' })] }]);
      const t = runCli(['altpath', 'status', '--controller', `http://${ready.http}`]);
      expect(t.stdout).toMatch(/203\.0\.113\.0\/24/);
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited(child)).toBe(0);
  });

  it('controller: runs with a memory injector, injects on its cycle, takes samples, stops on SIGTERM', async () => {
    const cfg = join(dir, 'ctl.json');
    writeFileSync(cfg, JSON.stringify({ bmpListen: '127.0.0.1:0', httpListen: '127.0.0.1:0', cycleMs: 200, activePrefixes: ['203.0.113.0/24'], injectors: [{ kind: 'memory' }, { kind: 'gateway-sim' }] }));
    const { child, ready } = await start(['altpath', 'controller', '--config', cfg]);
    try {
      const peer2 = { address: '198.18.11.10', asn: 65002, bgpId: '198.18.11.10' };
      await sendBmp(ready.bmp, [
        ...msgs,
        encode({ type: 'peer-up', peer: peer2, localAddress: '198.18.11.9', localPort: 179, remotePort: 1001, sentOpen: { asn: 65000, bgpId: '198.18.10.1' }, receivedOpen: { asn: 65002, bgpId: '198.18.11.10' } }),
        encode({ type: 'route-monitoring', peer: peer2, update: { nlri: [parseNlri('203.0.113.0/24')], attrs: { origin: 0, asPath: [{ type: 2, asns: [65002, 65002, 64500] }], nextHop: '198.18.11.10' } } }),
      ]);
      await new Promise((r) => setTimeout(r, 600));
      const post = await fetch(`http://${ready.http}/v1/samples`, { method: 'POST', body: '{"bad":1}\n' });
      expect(await post.json()).toMatchObject({ accepted: 0, rejected: 1 });
      const r = runCli(['altpath', 'status', '--controller', `http://${ready.http}`, '--json']);
      expect(r.status, r.stderr).toBe(0);
      const j = JSON.parse(r.stdout) as { tables: Record<string, Record<string, Record<string, string>>>; prefixes: Array<{ routes: Array<{ rank: number; table: string }> }> };
      expect(j.tables.memory!['dscp:12']).toEqual({ '203.0.113.0/24': '198.18.11.10' });
      expect(j.tables['gateway-sim']!['dscp:12']).toEqual({ '203.0.113.0/24': '198.18.11.10' });
      expect(j.prefixes[0]!.routes.map((x) => x.table)).toEqual(['main', 'dscp:12']);
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited(child)).toBe(0);
  });
});
