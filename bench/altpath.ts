/**
 * `pathsteer bench altpath`: the AltPath control plane's costs.
 *
 * 1. BMP ingest: a synthetic full table (default 1,000,000 IPv4 prefixes from
 *    each of 3 peers, AS paths of 2-8 ASes, 1-7 prefixes per UPDATE as routers
 *    pack them), encoded once with the project's encoders into one BMP stream
 *    per peer set, then fed in 64 KiB chunks through the framer, the message
 *    decoder and the RIB (BmpSession.push, exactly the collector's path
 *    without the socket). Reports routes/s and the process's peak RSS up to
 *    the end of the cycles (VmHWM where the kernel reports it, which also
 *    catches the peak inside a cycle, when the sampling timer cannot run;
 *    it includes the encoded stream held in memory) and the heap the RIB
 *    holds.
 * 2. Cycle: with that RIB, `active` prefixes (default 100,000) marked active;
 *    one controller cycle (rank every active prefix, choose alternates and
 *    overrides, record the routes in force, diff and write the tables into an
 *    in-memory injector): the first cycle writes every route, the steady
 *    cycle writes none, a churn cycle follows 1% of the active prefixes
 *    losing their 2nd-best route.
 * 3. Linux injector (root only, else null): what the injector costs per route
 *    change in a real kernel routing table, through `ip -batch`, in a private
 *    namespace: N routes added, then N next-hop changes, then N deletes.
 *
 * The synthetic prefixes are data in this process only (no packet is sent);
 * the Linux part uses routes inside 198.19.0.0/16 in its own namespace.
 */
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { nlriKey, type Ipv4Nlri as Nlri } from '../src/altpath/bgp/nlri.js';
import { encode, encodingLength, type BmpInput } from '../src/altpath/bmp/messages.js';
import { BmpSession } from '../src/altpath/bmp/session.js';
import { parseControllerConfig } from '../src/altpath/controller/config.js';
import { AltpathController } from '../src/altpath/controller/controller.js';
import { LinuxInjector } from '../src/altpath/inject/linux.js';
import { MemoryInjector } from '../src/altpath/inject/memory.js';
import type { RouteTables } from '../src/altpath/inject/tables.js';
import { rng } from '../gateway-sim/random.js';
import { run } from '../src/common/exec.js';
import { missingCaps } from '../src/common/privileges.js';
import { addNetns, delNetns, runPrefix } from '../src/testbed/netns.js';

export interface AltpathBenchOptions {
  /** IPv4 prefixes in the synthetic table. @default 1_000_000 */
  prefixes?: number;
  /** Peers each announcing the whole table. @default 3 */
  peers?: number;
  /** Active prefixes for the cycle. @default 100_000 */
  active?: number;
  /** Routes for the Linux injector part (0: skip). @default 10_000 */
  linuxRoutes?: number;
  progress?: (line: string) => void;
}

export interface AltpathBenchResult {
  prefixes: number;
  peers: number;
  routes: number;
  updates: number;
  prefixes_per_update: number;
  stream_mb: number;
  encode_s: number;
  ingest_s: number;
  /** Target >= 200,000 (wall clock). */
  ingest_routes_per_s: number;
  /** CPU time this process spent ingesting (user + system): on a shared machine the wall clock also counts others' load. */
  ingest_cpu_s: number;
  ingest_routes_per_cpu_s: number;
  /** Peak RSS of the process up to the end of the cycles (VmHWM; else sampled). */
  peak_rss_mb: number;
  rib_heap_mb: number;
  active: number;
  /** First cycle: every alternate written (2 per active prefix). Target <= 1000 ms. */
  cycle_first_ms: number;
  cycle_first_cpu_ms: number;
  cycle_first_changes: number;
  /** Nothing changed since the last cycle. */
  cycle_steady_ms: number;
  cycle_steady_cpu_ms: number;
  /** 1% of the active prefixes lost their 2nd-best route. */
  cycle_churn_ms: number;
  cycle_churn_cpu_ms: number;
  cycle_churn_changes: number;
  /**
   * CPU ms this process needed for a fixed reference job (1M Map.set of
   * small-integer keys) in the same run: on a contended machine CPU time
   * inflates too (shared caches, hyperthreads, system time); compare runs by it.
   */
  calibration_cpu_ms: number;
  linux: null | { routes: number; add_us_per_route: number; change_us_per_route: number; delete_us_per_route: number };
}

/** A full garbage collection (for the RIB's heap figure), without starting node with --expose-gc. */
function fullGc(): void {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
}

/** Prefix i of the synthetic table: /24s (80%), /22s, /20s and /16s spread over the unicast space, all distinct. */
function tablePrefix(i: number): Nlri {
  const kind = i % 10;
  const len = kind < 8 ? 24 : kind === 8 ? 22 : 20;
  // distinct networks: spread i over 1.0.0.0 - 223.255.255.0 by a multiplicative step in /24 units
  const slot = (i * 2654435761) % (223 * 65536);
  const net = ((1 << 24) + slot * 256) >>> 0;
  const mask = len === 24 ? 0xffffff00 : len === 22 ? 0xfffffc00 : 0xfffff000;
  return { family: 4, net: (net & mask) >>> 0, len };
}

/** The synthetic table's prefixes, packed (not an object each: the bench's own data should not weigh on the RIB's peak RSS and GC). */
interface Table {
  length: number;
  nets: Uint32Array;
  lens: Uint8Array;
}

const tableAt = (t: Table, i: number): Nlri => ({ family: 4, net: t.nets[i]!, len: t.lens[i]! });

function buildStream(prefixes: number, peers: number, progress?: (l: string) => void): { buf: Buffer; updates: number; routes: number; nlri: Table } {
  const rand = rng(7);
  const seen = new Set<number | string>();
  const nlri: Table = { length: 0, nets: new Uint32Array(prefixes), lens: new Uint8Array(prefixes) };
  for (let i = 0; nlri.length < prefixes; i++) {
    const p = tablePrefix(i);
    const k = nlriKey(p);
    if (seen.has(k)) continue;
    seen.add(k);
    nlri.nets[nlri.length] = p.net;
    nlri.lens[nlri.length++] = p.len;
  }
  seen.clear();
  // encode as we go into 16 MiB slabs (no list of 750k message objects for the collector to trip over)
  const slabs: Buffer[] = [];
  let slab = Buffer.allocUnsafe(16 << 20);
  let off = 0;
  const put = (m: BmpInput): void => {
    const n = encodingLength(m);
    if (off + n > slab.length) {
      slabs.push(slab.subarray(0, off));
      slab = Buffer.allocUnsafe(Math.max(16 << 20, n));
      off = 0;
    }
    encode(m, slab, off);
    off += n;
  };
  let updates = 0;
  for (let k = 0; k < peers; k++) {
    const peer = { address: `198.18.11.${4 * k + 6}`, asn: 65001 + k, bgpId: `198.18.11.${4 * k + 6}` };
    const postPeer = { ...peer, flags: 0x40 };
    put({ type: 'peer-up', peer, localAddress: `198.18.11.${4 * k + 5}`, localPort: 179, remotePort: 40000 + k, sentOpen: { asn: 65000, bgpId: '198.18.10.1' }, receivedOpen: { asn: peer.asn, bgpId: peer.bgpId } });
    for (let i = 0; i < nlri.length; ) {
      const n = 1 + Math.floor(rand() * 7);
      const len = 2 + Math.floor(rand() * 7);
      const asns = [peer.asn];
      for (let j = 1; j < len; j++) asns.push(1000 + Math.floor(rand() * 60000));
      const list: Nlri[] = [];
      for (let j = i; j < Math.min(i + n, nlri.length); j++) list.push(tableAt(nlri, j));
      put({ type: 'route-monitoring', peer: postPeer, update: { nlri: list, attrs: { origin: 0, asPath: [{ type: 2, asns }], nextHop: peer.address, med: Math.floor(rand() * 3) * 10 } } });
      i += n;
      updates++;
    }
    progress?.(`altpath bench: encoded peer ${k + 1}/${peers}`);
  }
  slabs.push(slab.subarray(0, off));
  const buf = Buffer.concat(slabs);
  return { buf, updates, routes: prefixes * peers, nlri };
}

/** The process's peak RSS in bytes so far (VmHWM), or undefined when /proc does not say. */
function vmHwm(): number | undefined {
  try {
    const m = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync('/proc/self/status', 'utf8'));
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

function calibrate(): number {
  let best = Infinity;
  for (let r = 0; r < 3; r++) {
    const c = process.cpuUsage();
    const m = new Map<number, number>();
    for (let i = 0; i < 1_000_000; i++) m.set((i * 64) | 0, i);
    best = Math.min(best, cpuSeconds(c) * 1000);
  }
  return +best.toFixed(1);
}

function cpuSeconds(since: NodeJS.CpuUsage): number {
  const d = process.cpuUsage(since);
  return (d.user + d.system) / 1e6;
}

async function linuxPart(n: number): Promise<AltpathBenchResult['linux']> {
  if (n <= 0 || missingCaps(['CAP_NET_ADMIN', 'CAP_SYS_ADMIN']).length > 0) return null;
  const ns = `${runPrefix('apb')}-pr`;
  await addNetns(ns);
  try {
    await run(['ip', '-n', ns, '-batch', '-'], { input: 'link add d0 type veth peer name d1\nlink set d0 up\nlink set d1 up\naddr add 198.18.200.1/24 dev d0\n' });
    const inj = new LinuxInjector({ dscps: [12], netns: ns, nftTable: 'pathsteer_altpath_bench' });
    await inj.start();
    const tables = (nh: string | null): RouteTables => {
      const m = new Map();
      if (nh) for (let i = 0; i < n; i++) {
        const prefix = `198.19.${(i >> 8) & 0xff}.${i & 0xff}/32`;
        m.set(prefix, { prefix, family: 4, nextHop: nh, routeId: '' });
      }
      return new Map([['dscp:12', m]]);
    };
    const time = async (t: RouteTables): Promise<number> => {
      const t0 = performance.now();
      const r = await inj.sync(t);
      if (r.error) throw new Error(r.error);
      return ((performance.now() - t0) * 1000) / n;
    };
    const add = await time(tables('198.18.200.2'));
    const change = await time(tables('198.18.200.3'));
    const del = await time(tables(null));
    await inj.stop();
    return { routes: n, add_us_per_route: +add.toFixed(2), change_us_per_route: +change.toFixed(2), delete_us_per_route: +del.toFixed(2) };
  } finally {
    await delNetns(ns);
  }
}

export async function benchAltpath(o: AltpathBenchOptions = {}): Promise<AltpathBenchResult> {
  const prefixes = o.prefixes ?? 1_000_000;
  const peers = o.peers ?? 3;
  const activeN = Math.min(o.active ?? 100_000, prefixes);
  let peak = process.memoryUsage().rss;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 50);
  try {
    const t0 = performance.now();
    const { buf, updates, routes, nlri } = buildStream(prefixes, peers, o.progress);
    const encodeS = (performance.now() - t0) / 1000;
    const config = parseControllerConfig({ dscps: [12, 24], injectors: [], minSamples: 30 });
    const mem = new MemoryInjector('memory');
    const ctl = new AltpathController(config, { injectors: [mem] });
    fullGc();
    const heap0 = process.memoryUsage().heapUsed;
    const session = new BmpSession(ctl.rib, 'bench', 'bench:1');
    o.progress?.(`altpath bench: ingesting ${(buf.length / 1e6).toFixed(0)} MB of BMP (${routes} routes)`);
    const CHUNK = 64 * 1024;
    const t1 = performance.now();
    const cpu1 = process.cpuUsage();
    for (let off = 0; off < buf.length; off += CHUNK) {
      session.push(buf.subarray(off, Math.min(off + CHUNK, buf.length)));
      if ((off & 0xffffff) === 0) peak = Math.max(peak, process.memoryUsage.rss());
    }
    const ingestS = (performance.now() - t1) / 1000;
    const ingestCpuS = cpuSeconds(cpu1);
    if (ctl.rib.routes !== routes) throw new Error(`ingest: RIB has ${ctl.rib.routes} routes, expected ${routes} (${JSON.stringify(session.counters.skipped)})`);
    fullGc();
    const ribHeap = (process.memoryUsage().heapUsed - heap0) / 1e6;
    const now = Date.now();
    const step = Math.max(1, Math.floor(nlri.length / activeN));
    const active: Nlri[] = [];
    for (let i = 0; i < nlri.length && active.length < activeN; i += step) active.push(tableAt(nlri, i));
    for (const p of active) ctl.markActive(nlriKey(p), now);
    o.progress?.(`altpath bench: cycles over ${active.length} active prefixes`);
    let cpu = process.cpuUsage();
    const c1 = await ctl.cycle(now + 1);
    const c1cpu = cpuSeconds(cpu) * 1000;
    cpu = process.cpuUsage();
    const c2 = await ctl.cycle(now + 2);
    const c2cpu = cpuSeconds(cpu) * 1000;
    // churn: 1% of the active prefixes lose their 2nd-best route (withdrawn by its peer)
    const firstChoice = ctl.desired().get('dscp:12')!;
    const byPeer = new Map<string, Nlri[]>();
    for (let i = 0; i < active.length; i += 100) {
      const p = active[i]!;
      const key = `${(p.net >>> 24) & 0xff}.${(p.net >>> 16) & 0xff}.${(p.net >>> 8) & 0xff}.${p.net & 0xff}/${p.len}`;
      const nh = firstChoice.get(key)?.nextHop;
      if (!nh) continue;
      byPeer.set(nh, [...(byPeer.get(nh) ?? []), p]);
    }
    for (const [nh, list] of byPeer) {
      const peer = ctl.rib.peers().find((x) => x.address === nh)!;
      ctl.rib.withdraw(peer, true, list);
    }
    cpu = process.cpuUsage();
    const c3 = await ctl.cycle(now + 3);
    const c3cpu = cpuSeconds(cpu) * 1000;
    peak = Math.max(peak, process.memoryUsage.rss(), vmHwm() ?? 0);
    const linux = await linuxPart(o.linuxRoutes ?? 10_000);
    const calibration = calibrate();
    await ctl.stop();
    return {
      prefixes,
      peers,
      routes,
      updates,
      prefixes_per_update: +(routes / updates).toFixed(2),
      stream_mb: +(buf.length / 1e6).toFixed(1),
      encode_s: +encodeS.toFixed(2),
      ingest_s: +ingestS.toFixed(2),
      ingest_routes_per_s: Math.round(routes / ingestS),
      ingest_cpu_s: +ingestCpuS.toFixed(2),
      ingest_routes_per_cpu_s: Math.round(routes / ingestCpuS),
      peak_rss_mb: Math.round(peak / 1e6),
      rib_heap_mb: Math.round(ribHeap),
      active: active.length,
      cycle_first_ms: c1.ms,
      cycle_first_cpu_ms: +c1cpu.toFixed(1),
      cycle_first_changes: c1.changes.memory ?? 0,
      cycle_steady_ms: c2.ms,
      cycle_steady_cpu_ms: +c2cpu.toFixed(1),
      cycle_churn_ms: c3.ms,
      cycle_churn_cpu_ms: +c3cpu.toFixed(1),
      cycle_churn_changes: c3.changes.memory ?? 0,
      calibration_cpu_ms: calibration,
      linux,
    };
  } finally {
    clearInterval(sampler);
  }
}

