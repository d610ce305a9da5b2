/**
 * conn_stats in the real kernel: the tracepoint program loaded by this test
 * (ConnStats, sharing an altpath_dscp object's maps), watching the server
 * namespace of a pair while real TCP connections come and go:
 *
 *   s (server) s0 198.18.60.1 / 2001:db8:60::1 ---- c0 198.18.60.2 / 2001:db8:60::2 c (client)
 *
 * In c, every packet from the server waits 20 ms in ps-delayq (the testbed's
 * delay helper, NFQUEUE), so the server's RTT is 20 ms; packets from server
 * port LOSSY are dropped at random (iptables statistic, 10%) before that, so
 * the server retransmits. With N = 1 every connection must yield exactly one
 * sample with its 5-tuple, the DSCP altpath_dscp gives the flow (TypeScript
 * reference), srtt near 20 ms, retransmissions where drops were injected and
 * the byte counts that crossed. With N = 20 and M = 10, AltPath-marked
 * connections must be sampled about ten times as often (binomial, 4 sigma).
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { altpathDecide } from '../../src/altpath/flow-hash.js';
import { run } from '../../src/common/exec.js';
import { PrefixSet } from '../../src/common/net.js';
import type { Altpath } from '../../src/maps/altpath.js';
import { AF_INET, AF_INET6, connEventAddrs, type ConnEvent } from '../../src/maps/conn-event.js';
import { ConnStats } from '../../src/maps/conn-stats.js';
import { startDelayHelper } from '../../src/testbed/failures.js';
import { cleanupPrefix, nsenterArgv, nsName, runPrefix } from '../../src/testbed/netns.js';
import { stopHelper } from '../../src/testbed/processes.js';
import { AltpathUnderTest } from '../support/altpath.js';
import { addServerClientPair, nsenter, startHelper, stopChild } from '../support/netns.js';
import { canLoadBpf, canUseNetns } from '../support/privileged.js';

const CONN_HELPER = new URL('../support/conn-helper.mjs', import.meta.url).pathname;
const S4 = '198.18.60.1';
const C4 = '198.18.60.2';
const S6 = '2001:db8:60::1';
const C6 = '2001:db8:60::2';
const PORT = 8080;
const LOSSY = 8081;
/** A dual-stack server (listening on ::): IPv4 clients meet an AF_INET6 socket with IPv4-mapped addresses. */
const DUAL = 8082;
const DELAY_MS = 20;
const REPLY = 200_000;
const SEND = 3000;
const CFG: Altpath = { seed: 0xc0ffee, onlyUnmarked: true, rules: [{ dscp: 12, basisPoints: 3000 }, { dscp: 24, basisPoints: 2000 }] };

interface ClientResult {
  conns: Array<{ lport: number; rx: number }>;
  errors: string[];
}

describe.runIf(canLoadBpf && canUseNetns)('conn_stats samples real TCP connections at close (server namespace, 20 ms added delay, injected loss)', () => {
  const prefix = runPrefix('cs');
  const ns = { s: nsName(prefix, 's'), c: nsName(prefix, 'c') };
  const children: ChildProcess[] = [];
  const logDir = mkdtempSync(join(tmpdir(), 'ps-connstats-'));
  let delay: Awaited<ReturnType<typeof startDelayHelper>> | undefined;
  let altpath: AltpathUnderTest;
  let cs: ConnStats | undefined;

  const ipt = (bin: 'iptables' | 'ip6tables', ...rule: string[]): Promise<unknown> => run(nsenterArgv(ns.c, [bin, '-w', '5', '-t', 'raw', ...rule]));

  beforeAll(async () => {
    await cleanupPrefix(prefix);
    await addServerClientPair(ns, { s: [`${S4}/24`, `${S6}/64`], c: [`${C4}/24`, `${C6}/64`] });
    // MSS-sized segments on the wire (no TSO/GSO super-packets), so the 10% loss hits ~140 packets per reply
    await run(['ip', 'netns', 'exec', ns.s, 'ethtool', '-K', 's0', 'tso', 'off', 'gso', 'off']);
    // in c: loss on packets from the lossy server port, then the delay for everything from s
    delay = await startDelayHelper(logDir, ns.c, 1, { delayMs: DELAY_MS });
    for (const bin of ['iptables', 'ip6tables'] as const) {
      await ipt(bin, '-A', 'PREROUTING', '-i', 'c0', '-p', 'tcp', '--sport', String(LOSSY), '-m', 'statistic', '--mode', 'random', '--probability', '0.1', '-j', 'DROP');
      await ipt(bin, '-A', 'PREROUTING', '-i', 'c0', '-j', 'NFQUEUE', '--queue-num', '1', '--queue-bypass');
    }
    await startHelper(ns.s, 'tcp-server', { addrs: [S4, S6], port: PORT, reply: REPLY }, children, CONN_HELPER);
    await startHelper(ns.s, 'tcp-server', { addrs: [S4, S6], port: LOSSY, reply: REPLY }, children, CONN_HELPER);
    await startHelper(ns.s, 'tcp-server', { addrs: ['::'], port: DUAL, reply: REPLY }, children, CONN_HELPER);
    altpath = new AltpathUnderTest();
    altpath.configure(CFG);
  });

  afterAll(async () => {
    cs?.close();
    altpath?.close();
    for (const c of children) stopChild(c);
    if (delay) await stopHelper(delay);
    await cleanupPrefix(prefix);
    rmSync(logDir, { recursive: true, force: true });
  });

  const attach = (sampleRate: number, markedMultiplier: number): ConnStats => {
    cs?.close();
    cs = ConnStats.attach({ altpathMaps: altpath.tables.maps(), sampleRate, markedMultiplier, netnsIno: statSync(`/run/netns/${ns.s}`).ino });
    altpath.tables.resetCounts();
    return cs;
  };

  const clients = async (addr: string, port: number, count: number, o: { send?: number; parallel?: number } = {}): Promise<ClientResult> => {
    const args = { addr, port, count, send: o.send ?? SEND, parallel: o.parallel ?? 8, timeoutMs: 60_000 };
    const r = await nsenter(ns.c, ['node', CONN_HELPER, 'tcp-client', JSON.stringify(args)], 180_000);
    expect(r.code, r.stderr).toBe(0);
    return JSON.parse(r.stdout) as ClientResult;
  };

  /** Drain the ring buffer until `want` events arrived (the last server sockets close one delayed ACK after the clients end). */
  const collect = async (want: number, timeoutMs = 10_000): Promise<ConnEvent[]> => {
    const out: ConnEvent[] = [];
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      out.push(...cs!.drain());
      if (out.length >= want) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    await new Promise((r) => setTimeout(r, 300));
    out.push(...cs!.drain());
    return out;
  };

  it('N = 1: one sample per connection (IPv4, IPv6, IPv4 on a dual-stack socket) with its 5-tuple, DSCP, RTT near the added 20 ms, bytes, and retransmissions only where packets were dropped', async () => {
    attach(1, 1);
    const start = Date.now();
    const runs = await Promise.all([
      clients(S4, PORT, 24).then((r) => ({ r, family: 4 as const, server: S4, client: C4, port: PORT })),
      clients(S6, PORT, 24).then((r) => ({ r, family: 6 as const, server: S6, client: C6, port: PORT })),
      clients(S4, LOSSY, 12).then((r) => ({ r, family: 4 as const, server: S4, client: C4, port: LOSSY })),
      clients(S6, LOSSY, 12).then((r) => ({ r, family: 6 as const, server: S6, client: C6, port: LOSSY })),
      // IPv4 to a dual-stack socket: sampled (and its DSCP told) as the IPv4 flow its packets are
      clients(S4, DUAL, 8).then((r) => ({ r, family: 4 as const, server: S4, client: C4, port: DUAL })),
    ]);
    const total = runs.reduce((a, x) => a + x.r.conns.length, 0);
    for (const x of runs) {
      expect(x.r.errors, `${x.server}:${x.port}`).toEqual([]);
      for (const c of x.r.conns) expect(c.rx).toBe(REPLY);
    }
    const events = await collect(total);
    expect(events).toHaveLength(total);
    const counts = altpath.tables.counts();
    expect(Number(counts.CONN_EMITTED)).toBe(total);
    expect(Number(counts.CONN_RB_FULL)).toBe(0);

    const byKey = new Map<string, ConnEvent[]>();
    for (const e of events) {
      const { saddr, daddr } = connEventAddrs(e);
      const k = `${saddr}|${e.sport}|${daddr}|${e.dport}`;
      byKey.set(k, [...(byKey.get(k) ?? []), e]);
    }
    const dscps = new Set<number>();
    const srtts: number[] = [];
    const lossyRetrans: number[] = [];
    const cleanRetrans: number[] = [];
    for (const x of runs) {
      for (const c of x.r.conns) {
        const k = `${x.server}|${x.port}|${x.client}|${c.lport}`;
        const got = byKey.get(k) ?? [];
        expect(got, `samples for ${k} (keys like ${[...byKey.keys()].slice(0, 3).join(", ")})`).toHaveLength(1);
        const e = got[0]!;
        expect(e.family).toBe(x.family === 4 ? AF_INET : AF_INET6);
        const want = altpathDecide(CFG, new PrefixSet([]), { family: x.family, saddr: x.server, daddr: x.client, sport: x.port, dport: c.lport, proto: 6 });
        expect(e.dscp, k).toBe(want.dscp);
        dscps.add(e.dscp);
        // the kernel counts sequence space: the payload and the FIN, each way
        expect(Number(e.bytesReceived), k).toBe(SEND + 1);
        expect(Number(e.bytesAcked), k).toBe(REPLY + 1);
        expect(e.segsOut).toBeGreaterThanOrEqual(Math.ceil(REPLY / 65_536));
        expect(e.segsIn).toBeGreaterThanOrEqual(2);
        expect(e.rtoUs).toBeGreaterThanOrEqual(200_000);
        expect(e.durationUs).toBeGreaterThanOrEqual(BigInt(DELAY_MS * 1000));
        const wallMs = Date.now() - Number(process.hrtime.bigint() - e.tsNs) / 1e6;
        expect(wallMs).toBeGreaterThanOrEqual(start - 1000);
        expect(wallMs).toBeLessThanOrEqual(Date.now());
        srtts.push(e.srttUs);
        (x.port === LOSSY ? lossyRetrans : cleanRetrans).push(e.totalRetrans);
      }
    }
    // every rule's DSCP and the default showed up among 80 flows
    expect([...dscps].sort((a, b) => a - b)).toEqual([0, 12, 24]);
    // srtt: the added 20 ms, plus at most 15 ms of scheduling on this shared 2-core machine
    srtts.sort((a, b) => a - b);
    expect(srtts[0]!).toBeGreaterThanOrEqual(DELAY_MS * 1000 * 0.97);
    expect(srtts[Math.floor(srtts.length / 2)]!).toBeLessThanOrEqual((DELAY_MS + 15) * 1000);
    // 10% of ~140 segments dropped: every lossy connection retransmitted (P(no drop) ~ 1e-6); clean ones (almost) never
    expect(Math.min(...lossyRetrans)).toBeGreaterThan(0);
    cleanRetrans.sort((a, b) => a - b);
    expect(cleanRetrans[Math.floor(cleanRetrans.length / 2)]).toBe(0);
    process.stderr.write(
      `conn_stats N=1: ${total} connections, ${events.length} samples; srtt min ${srtts[0]} us, median ${srtts[Math.floor(srtts.length / 2)]} us; lossy retrans min ${Math.min(...lossyRetrans)} max ${Math.max(...lossyRetrans)}; clean retrans max ${Math.max(...cleanRetrans)}\n`,
    );
  });

  it('N = 20, M = 10: AltPath-marked connections are sampled ten times as often (each class within 4 binomial sigma)', async () => {
    const N = 20;
    const M = 10;
    attach(N, M);
    // no delay for this one: remove the queue rule for the fast, many connections (loss only hits LOSSY)
    for (const bin of ['iptables', 'ip6tables'] as const) await ipt(bin, '-D', 'PREROUTING', '-i', 'c0', '-j', 'NFQUEUE', '--queue-num', '1', '--queue-bypass');
    try {
      const r = await clients(S4, PORT, 2400, { send: 10, parallel: 16 });
      expect(r.errors).toEqual([]);
      const marked = new Set<number>();
      for (const c of r.conns) {
        const d = altpathDecide(CFG, new PrefixSet([]), { family: 4, saddr: S4, daddr: C4, sport: PORT, dport: c.lport, proto: 6 });
        if (d.dscp) marked.add(c.lport);
      }
      const nMarked = marked.size;
      const nPlain = r.conns.length - nMarked;
      const pPlain = 1 / N;
      const pMarked = M / N;
      const expectMarked = nMarked * pMarked;
      const expectPlain = nPlain * pPlain;
      const events = await collect(Math.round(expectMarked + expectPlain - 4 * Math.sqrt(expectMarked)), 5000);
      const sMarked = events.filter((e) => marked.has(e.dport)).length;
      const sPlain = events.length - sMarked;
      const sigma = (n: number, p: number): number => Math.sqrt(n * p * (1 - p));
      process.stderr.write(
        `conn_stats N=${N} M=${M}: ${nMarked} marked connections -> ${sMarked} samples (expected ${expectMarked.toFixed(1)} +- ${(4 * sigma(nMarked, pMarked)).toFixed(1)}), ${nPlain} unmarked -> ${sPlain} (expected ${expectPlain.toFixed(1)} +- ${(4 * sigma(nPlain, pPlain)).toFixed(1)}); ratio of rates ${((sMarked / nMarked) / (sPlain / nPlain)).toFixed(2)}\n`,
      );
      expect(Math.abs(sMarked - expectMarked)).toBeLessThanOrEqual(4 * sigma(nMarked, pMarked));
      expect(Math.abs(sPlain - expectPlain)).toBeLessThanOrEqual(4 * sigma(nPlain, pPlain));
      const counts = altpathTables().counts();
      expect(Number(counts.CONN_OPENED)).toBe(r.conns.length);
      expect(Number(counts.CONN_SAMPLED)).toBe(events.length);
    } finally {
      for (const bin of ['iptables', 'ip6tables'] as const) await ipt(bin, '-A', 'PREROUTING', '-i', 'c0', '-j', 'NFQUEUE', '--queue-num', '1', '--queue-bypass');
    }
  });

  const altpathTables = (): AltpathUnderTest['tables'] => altpath.tables;
});
