import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Agent, type FailoverEvent } from '../../src/agent/agent.js';
import { MemoryPathStore } from '../../src/agent/fast-table.js';
import { AgentConfigSchema } from '../../src/agent/options.js';
import { selectPort } from '../../src/agent/select-port.js';
import { logger } from '../../src/common/logger.js';
import { encode, ipv4ToU32, telemetryRequest, negotiationRequest } from '../../src/protocol/index.js';
import { FakeFabric, spineOf, type FakeTransport } from '../support/fake-fabric.js';

const A = '198.18.1.1';
const B = '198.18.2.1';
const NPORTS = 16;
const BASE = 10000;

interface Host {
  agent: Agent;
  store: MemoryPathStore;
  transport: FakeTransport;
}

function host(fabric: FakeFabric, ip: string, peer: string, store = new MemoryPathStore(), extra: Record<string, unknown> = {}): Host {
  const cfg = AgentConfigSchema.parse({ iface: 'eth0', peers: [peer], ports: NPORTS, basePort: BASE, ...extra });
  const transport = fabric.transport(ip);
  const agent = new Agent(cfg, { transport, store, activity: () => [], localVtep: ip, backendId: 0x020000000001, cpu: () => 5 }, logger);
  return { agent, store, transport };
}

/** Ports whose packets from src to dst cross `spine`. */
function portsVia(src: string, dst: string, spine: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < NPORTS; i++) if (spineOf(src, dst, BASE + i) === spine) out.push(i);
  return out;
}

const ALL = (1n << BigInt(NPORTS)) - 1n;

/** The healthy mask an entry must have when exactly the ports crossing `spine` from src to dst are broken. */
function expectedHealthy(src: string, dst: string, brokenSpine: number, nports: number): bigint {
  let m = 0n;
  for (let i = 0; i < nports; i++) if (spineOf(src, dst, BASE + i) !== brokenSpine) m |= 1n << BigInt(i);
  return m;
}

describe('agent (two agents on a fake two-spine fabric)', () => {
  let fabric: FakeFabric;
  let a: Host;
  let b: Host;

  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'setImmediate', 'clearImmediate', 'performance', 'hrtime', 'Date'] });
    fabric = new FakeFabric();
    a = host(fabric, A, B);
    b = host(fabric, B, A);
    a.agent.start();
    b.agent.start();
  });

  afterEach(async () => {
    await a.agent.stop();
    await b.agent.stop();
    vi.useRealTimers();
  });

  it('negotiates and proves every port healthy within a few probe rounds', async () => {
    await vi.advanceTimersByTimeAsync(3000);
    expect(a.store.entries.get(B)?.healthy).toBe(ALL);
    expect(b.store.entries.get(A)?.healthy).toBe(ALL);
    const st = a.agent.status();
    expect(st.peers[0]).toMatchObject({ peer: B, state: 'probing', hops: 3, inter_region: false });
    expect(st.counters.lost).toBe(0);
  });

  it('a blackholed spine (both ways) leaves exactly the other spine\'s ports, on both sides', async () => {
    await vi.advanceTimersByTimeAsync(3000);
    fabric.blackhole(A, B, 1);
    fabric.blackhole(B, A, 1);
    await vi.advanceTimersByTimeAsync(2500);
    const ea = a.store.entries.get(B)!;
    const eb = b.store.entries.get(A)!;
    // a second window may have opened when more than half of the first was bad
    expect(ea.healthy).toBe(expectedHealthy(A, B, 1, ea.nports));
    expect(eb.healthy).toBe(expectedHealthy(B, A, 1, eb.nports));
  });

  it('forward-only failure: only the sender marks ports bad; the peer keeps all its ports', async () => {
    await vi.advanceTimersByTimeAsync(3000);
    const bChangesBefore = b.agent.changes.length;
    fabric.blackhole(A, B, 1);
    await vi.advanceTimersByTimeAsync(4000);
    const ea = a.store.entries.get(B)!;
    expect(ea.healthy).toBe(expectedHealthy(A, B, 1, ea.nports));
    expect(b.store.entries.get(A)!.healthy).toBe(ALL);
    expect(b.agent.changes.length).toBe(bChangesBefore);
  });

  it('return-path-only failure does not move the prober off healthy forward ports (reply-port re-probe)', async () => {
    await vi.advanceTimersByTimeAsync(3000);
    const aChangesBefore = a.agent.changes.length;
    fabric.blackhole(B, A, 1); // everything B sends to A over spine 1 is lost, A -> B is fine
    await vi.advanceTimersByTimeAsync(6000);
    const eb = b.store.entries.get(A)!;
    expect(eb.healthy).toBe(expectedHealthy(B, A, 1, eb.nports));
    expect(a.store.entries.get(B)!.healthy).toBe(ALL);
    expect(a.agent.changes.length).toBe(aChangesBefore);
  });

  it('at any phase of the probe round, a one-way failure marks bad only the ports whose own forward path broke, on the side that sends over it', async () => {
    // the answer that came last before the failure may have crossed the spine
    // that just broke: a re-probe asking for that return port would then fail
    // too and blame a healthy forward port (6 of these 40 phases did before re-probes
    // waited for an answer that arrived after the failure)
    await a.agent.stop();
    await b.agent.stop();
    const wrong: string[] = [];
    for (let k = 0; k < 40; k++) {
      const f = new FakeFabric();
      const x = host(f, A, B);
      const y = host(f, B, A);
      x.agent.start();
      y.agent.start();
      await vi.advanceTimersByTimeAsync(3000 + k * 23);
      const spine = k % 2;
      const xChanges = x.agent.changes.length;
      const yChanges = y.agent.changes.length;
      // even k: B -> A breaks (A's return path); odd k: A -> B breaks (A's forward path)
      if (k % 4 < 2) f.blackhole(B, A, spine);
      else f.blackhole(A, B, spine);
      await vi.advanceTimersByTimeAsync(3000);
      const ex = x.store.entries.get(B)!;
      const ey = y.store.entries.get(A)!;
      if (k % 4 < 2) {
        if (x.agent.changes.length !== xChanges) wrong.push(`phase ${k}: A changed ports on B->A failure`);
        if (ey.healthy !== expectedHealthy(B, A, spine, ey.nports)) wrong.push(`phase ${k}: B's healthy set`);
      } else {
        if (y.agent.changes.length !== yChanges) wrong.push(`phase ${k}: B changed ports on A->B failure`);
        if (ex.healthy !== expectedHealthy(A, B, spine, ex.nports)) wrong.push(`phase ${k}: A's healthy set`);
      }
      await x.agent.stop();
      await y.agent.stop();
    }
    expect(wrong).toEqual([]);
    a = host(fabric, A, B);
    b = host(fabric, B, A);
  });

  it('a flow on a failed port moves once to a proven port and is not moved back on heal', async () => {
    await vi.advanceTimersByTimeAsync(3000);
    const broken = portsVia(A, B, 1);
    // a flow whose hash lands on a spine-1 port
    const hash = broken[0]!;
    const before = selectPort(a.store.entries.get(B)!, hash)!;
    expect(broken).toContain(before.idx);
    fabric.blackhole(A, B, 1);
    await vi.advanceTimersByTimeAsync(2500);
    const after = selectPort(a.store.entries.get(B)!, hash, before.idx)!;
    expect(spineOf(A, B, after.port)).toBe(0);
    fabric.heal();
    await vi.advanceTimersByTimeAsync(6000);
    expect(a.store.entries.get(B)!.healthy).toBe(ALL);
    // the pinned flow keeps its new port
    expect(selectPort(a.store.entries.get(B)!, hash, after.idx)!.idx).toBe(after.idx);
  });

  it('with many pinned flows, each flow on a broken port moves exactly once and no other flow moves', async () => {
    // replay every table write the way the data plane applies it to pinned flows
    const flows = new Map<number, { idx: number; moves: number; first: number }>();
    const apply = (e: import('../../src/maps/path-entry.js').PathEntry): void => {
      for (let h = 0; h < 256; h++) {
        const f = flows.get(h);
        const c = selectPort(e, h, f?.idx);
        if (!c) continue;
        if (!f) flows.set(h, { idx: c.idx, moves: 0, first: c.idx });
        else if (c.idx !== f.idx) {
          f.idx = c.idx;
          f.moves++;
        }
      }
    };
    const write = a.store.write.bind(a.store);
    a.store.write = (peer, e) => {
      write(peer, e);
      apply(e);
    };
    const writeMany = a.store.writeMany.bind(a.store);
    a.store.writeMany = (entries) => {
      writeMany(entries);
      for (const [, e] of entries) apply(e);
    };
    await vi.advanceTimersByTimeAsync(3000);
    apply(a.store.entries.get(B)!);
    // the first entry is written only once every port was proven: flows spread over all of them
    expect(new Set([...flows.values()].map((f) => f.idx)).size).toBe(NPORTS);
    for (const f of flows.values()) {
      f.moves = 0;
      f.first = f.idx;
    }
    const failovers: FailoverEvent[] = [];
    a.agent.events.on('failover', (e) => failovers.push(e));
    fabric.blackhole(A, B, 1);
    fabric.blackhole(B, A, 1);
    await vi.advanceTimersByTimeAsync(3000);
    // the failure is reported as failovers: exactly the ports through the broken spine left the entry,
    // each within a few RTT thresholds of its first failed probe
    const down = new Set(failovers.flatMap((f) => f.ports_down));
    expect([...down].sort()).toEqual(portsVia(A, B, 1).map((i) => BASE + i).sort());
    for (const f of failovers) {
      expect(f.peer).toBe(B);
      expect(f.detect_ms).not.toBeNull();
      expect(f.detect_ms!).toBeLessThanOrEqual(500);
    }
    expect(a.agent.metrics.failovers.get()).toBe(failovers.length);
    expect(a.agent.status().failovers.length).toBe(failovers.length);
    fabric.heal();
    await vi.advanceTimersByTimeAsync(8000);
    let moved = 0;
    for (const [h, f] of flows) {
      const broken = spineOf(A, B, BASE + f.first) === 1;
      expect(f.moves, `flow ${h} on port ${BASE + f.first} (${broken ? 'broken' : 'healthy'} spine)`).toBe(broken ? 1 : 0);
      if (broken) {
        expect(spineOf(A, B, BASE + f.idx)).toBe(0);
        moved++;
      }
    }
    expect(moved).toBeGreaterThan(50);
    expect(a.agent.metrics.bursts.get()).toBeGreaterThan(0);
  });

  it('30% random loss on a spine: the 3-of-5 rule marks its ports bad', async () => {
    await vi.advanceTimersByTimeAsync(3000);
    fabric.loss.set(`${A}>${B}`, new Map([[1, 0.3]]));
    fabric.loss.set(`${B}>${A}`, new Map([[1, 0.3]]));
    const from = a.agent.changes.length;
    await vi.advanceTimersByTimeAsync(30_000);
    const lossy = portsVia(A, B, 1);
    const caught = new Set(a.agent.changes.slice(from).filter((c) => !c.healthy).map((c) => c.idx));
    // every lossy port is taken out at least once (a flow on it moves); most ports
    // taken out are lossy ones (a clean forward port fails only through return-path loss)
    for (const i of lossy) expect(caught.has(i)).toBe(true);
    const clean = [...caught].filter((i) => !lossy.includes(i));
    expect(clean.length).toBeLessThanOrEqual(Math.floor(portsVia(A, B, 0).length / 2));
  });

  it('a restarted agent adopts the table (no reset to unknown) and re-negotiates', async () => {
    await vi.advanceTimersByTimeAsync(3000);
    fabric.blackhole(A, B, 1);
    await vi.advanceTimersByTimeAsync(2500);
    const kept = a.store.entries.get(B)!.healthy;
    await a.agent.stop();
    const a2 = host(fabric, A, B, a.store);
    a2.agent.start();
    // immediately after the restart the table is still the adopted one
    expect(a2.store.entries.get(B)!.healthy).toBe(kept);
    await vi.advanceTimersByTimeAsync(2000);
    expect(a2.store.entries.get(B)!.healthy).toBe(kept);
    expect(a2.agent.status().peers[0]!.state).toBe('probing');
    await a2.agent.stop();
  });

  it('a restarted responder answers RST and the prober re-negotiates', async () => {
    await vi.advanceTimersByTimeAsync(3000);
    await b.agent.stop();
    const b2 = host(fabric, B, A, b.store);
    b2.agent.start();
    const negBefore = a.agent.metrics.negotiations.get();
    await vi.advanceTimersByTimeAsync(3000);
    expect(b2.agent.metrics.requestsAnswered.get({ type: 'telemetry', ctl: 'rst' })).toBeGreaterThan(0);
    expect(a.agent.metrics.negotiations.get()).toBeGreaterThan(negBefore);
    expect(a.store.entries.get(B)!.healthy).toBe(ALL);
    await b2.agent.stop();
  });

  it('ignores and counts garbage, wrong versions and spoofed sources, and keeps running', async () => {
    await vi.advanceTimersByTimeAsync(2000);
    const t = a.transport;
    t.inject(Buffer.from('hello'), B, 4000);
    t.inject(Buffer.from([0xff, 0xee, 0xdd, 0x7e, 9, ...new Array(23).fill(0)]), B, 4000);
    const wrongVersion = encode(telemetryRequest({ txSport: 10001, seq: 1, srcVtep: ipv4ToU32(B), version: 1 }));
    wrongVersion[4] = 7;
    t.inject(wrongVersion, B, 10001);
    // claims to be B but comes from elsewhere
    t.inject(encode(negotiationRequest({ txSport: 10001, seq: 2, srcVtep: ipv4ToU32(B) })), '198.18.9.9', 10001);
    const ign = a.agent.metrics.ignored;
    expect(ign.get({ reason: 'not_pathsteer' })).toBe(1);
    expect(ign.get({ reason: 'bad_version' })).toBe(2);
    expect(ign.get({ reason: 'source_mismatch' })).toBe(1);
    await vi.advanceTimersByTimeAsync(2000);
    expect(a.store.entries.get(B)?.healthy).toBe(ALL);
  });
});

describe('prober: a stalled agent does not blame the path', () => {
  it('deadlines that pass while the process is not running are extended once; answers that were waiting are not failures', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'setImmediate', 'clearImmediate', 'performance', 'hrtime', 'Date'] });
    try {
      const fabric = new FakeFabric();
      const a = host(fabric, A, B);
      const b = host(fabric, B, A);
      a.agent.start();
      b.agent.start();
      await vi.advanceTimersByTimeAsync(3000);
      const before = a.agent.changes.length;
      const lost0 = a.agent.metrics.lost.get();
      const slow0 = a.agent.metrics.slow.get();
      // freeze A's loop for 300 ms: probes are out, answers queue up, deadlines pass
      const p = a.agent.prober;
      const t = performance.now();
      p.tick(t);
      a.transport.handler = undefined; // A reads nothing while stalled
      const queued: Array<() => void> = [];
      const orig = fabric.deliver.bind(fabric);
      fabric.deliver = (src, dst, data) => {
        if (dst === A) queued.push(() => orig(src, dst, data));
        else orig(src, dst, data);
      };
      for (let i = 0; i < 6; i++) (p as unknown as { sendTelemetry(s: unknown, idx: number, now: number, r: boolean): void }).sendTelemetry(p.sessions.get(B), i, t, false);
      await vi.advanceTimersByTimeAsync(1); // requests reach B, answers queue for A
      vi.setSystemTime(Date.now() + 300);
      // the loop wakes up: first the timer tick, then the socket backlog
      p.tick(t + 300);
      expect(a.agent.metrics.stalls.get()).toBeGreaterThan(0);
      fabric.deliver = orig;
      a.transport.handler = (d) => (a.agent as unknown as { onDatagram(d: unknown): void }).onDatagram(d);
      for (const q of queued) q();
      await vi.advanceTimersByTimeAsync(2000);
      // nothing was counted against the paths: no probe lost, none slow, no port change
      expect(a.agent.metrics.lost.get() - lost0).toBe(0);
      expect(a.agent.metrics.slow.get() - slow0).toBe(0);
      expect(a.agent.changes.length).toBe(before);
      expect(a.store.entries.get(B)?.healthy).toBe(ALL);
      await a.agent.stop();
      await b.agent.stop();
    } finally {
      vi.useRealTimers();
    }
  });
});

describe('agent: overload control', () => {
  it('datagrams dropped at its own socket slow probing down and are never blamed on a path', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'setImmediate', 'clearImmediate', 'performance', 'hrtime', 'Date'] });
    try {
      const fabric = new FakeFabric();
      let drops = 0;
      const cfg = AgentConfigSchema.parse({ iface: 'eth0', peers: [B], ports: NPORTS, basePort: BASE });
      const store = new MemoryPathStore();
      const ta = fabric.transport(A);
      const agent = new Agent(cfg, { transport: ta, store, activity: () => [], localVtep: A, backendId: 1, cpu: () => 5, socketState: () => ({ drops, rxQueueBytes: 0 }) }, logger);
      const b = host(fabric, B, A);
      agent.start();
      b.agent.start();
      await vi.advanceTimersByTimeAsync(3000);
      expect(store.entries.get(B)?.healthy).toBe(ALL);
      // A's socket overflows: a third of what arrives for A is dropped by "the kernel"
      const deliver = fabric.deliver.bind(fabric);
      let n = 0;
      fabric.deliver = (src, dst, data) => {
        if (dst === A && ++n % 3 === 0) {
          drops++;
          return;
        }
        deliver(src, dst, data);
      };
      const sent0 = agent.metrics.probesSent.get();
      await vi.advanceTimersByTimeAsync(4000);
      const rate = (agent.metrics.probesSent.get() - sent0) / 4;
      expect(agent.status().overload_level).toBeGreaterThan(0);
      expect(rate).toBeLessThan(NPORTS * 0.8); // backed off below 1 probe/s/port
      expect(agent.changes.filter((c) => !c.healthy)).toEqual([]);
      expect(store.entries.get(B)?.healthy).toBe(ALL);
      // drops stop: the rate comes back, one step per 10 s without drops
      fabric.deliver = deliver;
      await vi.advanceTimersByTimeAsync(70_000);
      expect(agent.status().overload_level).toBe(0);
      await agent.stop();
      await b.agent.stop();
    } finally {
      vi.useRealTimers();
    }
  });
});

describe('agent: peers, FIN, fast table, metrics', () => {
  const timers = { toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'setImmediate', 'clearImmediate', 'performance', 'hrtime', 'Date'] } as const;

  it('peers with tunnel traffic in ps_activity are probed; idle ones are released and their entry removed', async () => {
    vi.useFakeTimers({ toFake: [...timers.toFake] });
    try {
      const fabric = new FakeFabric();
      // (the fake monotonic clock starts at 0; a real one never reads 0, which means "never seen")
      let lastSeen = process.hrtime.bigint() + 1n;
      const store = new MemoryPathStore();
      const cfg = AgentConfigSchema.parse({ iface: 'eth0', ports: NPORTS, idleTimeoutMs: 5000 });
      const agent = new Agent(
        cfg,
        {
          transport: fabric.transport(A),
          store,
          activity: () => [[B, { lastSeenNs: lastSeen, packets: 10n, bytes: 1000n, portsInUse: 1n }]],
          localVtep: A,
          backendId: 1,
          cpu: () => 5,
        },
        logger,
      );
      const b = host(fabric, B, A);
      agent.start();
      b.agent.start();
      await vi.advanceTimersByTimeAsync(3000);
      expect(agent.status().peers.map((p) => [p.peer, p.static])).toEqual([[B, false]]);
      expect(store.entries.get(B)?.healthy).toBe(ALL);
      // traffic keeps it: still probed after the idle timeout
      for (let i = 0; i < 8; i++) {
        lastSeen = process.hrtime.bigint();
        await vi.advanceTimersByTimeAsync(1000);
      }
      expect(agent.status().peers.length).toBe(1);
      // no traffic for longer than the idle timeout: released, entry gone
      await vi.advanceTimersByTimeAsync(12_000);
      expect(agent.status().peers).toEqual([]);
      expect(store.entries.has(B)).toBe(false);
      await agent.stop();
      await b.agent.stop();
    } finally {
      vi.useRealTimers();
    }
  });

  it('CTL=FIN from the peer stops the task and removes its entry', async () => {
    vi.useFakeTimers({ toFake: [...timers.toFake] });
    try {
      const fabric = new FakeFabric();
      const a = host(fabric, A, B);
      const b = host(fabric, B, A);
      a.agent.start();
      b.agent.start();
      await vi.advanceTimersByTimeAsync(3000);
      expect(a.store.entries.has(B)).toBe(true);
      // B says FIN: rewrite every answer's CTL on the wire
      const deliver = fabric.deliver.bind(fabric);
      fabric.deliver = (src, dst, data) => {
        if (src === B && data[3] === 0x7f) data[6] = 4;
        deliver(src, dst, data);
      };
      await vi.advanceTimersByTimeAsync(1500);
      expect(a.agent.status().peers[0]!.state).toBe('stopped');
      expect(a.store.entries.has(B)).toBe(false);
      const sent = a.agent.metrics.probesSent.get();
      await vi.advanceTimersByTimeAsync(5000);
      expect(a.agent.metrics.probesSent.get()).toBe(sent); // no more probes
      await a.agent.stop();
      await b.agent.stop();
    } finally {
      vi.useRealTimers();
    }
  });

  it('the fast table writes only changed entries, and many changes as one batch', async () => {
    const { FastTable, MemoryPathStore: Store } = await import('../../src/agent/fast-table.js');
    const { pathEntry } = await import('../../src/maps/path-entry.js');
    const store = new Store();
    const ft = new FastTable(store, { batchThreshold: 16 });
    const e = (h: bigint) => pathEntry({ basePort: 10000, nports: 8, healthy: h });
    ft.sync(new Map([['198.18.0.1', e(0xffn)]]));
    expect(store.writes).toBe(1);
    ft.sync(new Map([['198.18.0.1', e(0xffn)]])); // unchanged: nothing written
    expect(store.writes).toBe(1);
    const many = new Map(Array.from({ length: 50 }, (_, i) => [`198.18.1.${i}`, e(0x0fn)] as [string, ReturnType<typeof e>]));
    const r = ft.sync(many);
    expect(r.batched).toBe(true);
    expect(store.batches).toBe(1);
    expect(store.writes).toBe(1);
    expect(store.entries.size).toBe(51);
    expect(ft.sync(new Map(), ['198.18.0.1']).removed).toEqual(['198.18.0.1']);
  });

  it('metrics are valid Prometheus text', async () => {
    const { agentMetrics } = await import('../../src/agent/metrics.js');
    const m = agentMetrics();
    m.probesSent.inc(undefined, 3);
    m.ignored.inc({ reason: 'bad_version' });
    m.tableWriteMs.observe(0.4);
    const text = m.registry.expose();
    expect(text).toContain('# TYPE pathsteer_probes_sent_total counter\npathsteer_probes_sent_total 3');
    expect(text).toContain('pathsteer_packets_ignored_total{reason="bad_version"} 1');
    expect(text).toContain('pathsteer_table_write_ms{quantile="0.99"} 0.4');
    for (const line of text.trim().split('\n')) expect(line).toMatch(/^(# (HELP|TYPE) \S+ .+|[a-z_]+(\{[^}]*\})? -?[0-9.e+]+)$/);
  });
});

describe('agent: partial-mode in-use window, middlebox role, reflector settings', () => {
  const toFake = ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'setImmediate', 'clearImmediate', 'performance', 'hrtime', 'Date'] as const;

  /** An agent at A whose ps_activity shows traffic to B on the ports `inUse()` says. */
  const activeAgent = (fabric: FakeFabric, cfg: Record<string, unknown>, inUse: () => bigint, deps: Partial<ConstructorParameters<typeof Agent>[1]> = {}) => {
    const store = new MemoryPathStore();
    const agent = new Agent(
      AgentConfigSchema.parse({ iface: 'eth0', ports: NPORTS, ...cfg }),
      {
        transport: fabric.transport(A),
        store,
        activity: () => [[B, { lastSeenNs: process.hrtime.bigint() + 1n, packets: 1n, bytes: 1n, portsInUse: inUse() }]],
        localVtep: A,
        backendId: 1,
        cpu: () => 5,
        ...deps,
      },
      logger,
    );
    return { agent, store };
  };

  it('partial mode starts a new in-use window every inUseWindowMs: a port flows left stops counting after two windows', async () => {
    vi.useFakeTimers({ toFake: [...toFake] });
    try {
      const fabric = new FakeFabric();
      let inUse = 0b0110n;
      const cleared: string[][] = [];
      const { agent } = activeAgent(fabric, { probeMode: 'partial', inUseWindowMs: 2000 }, () => inUse, {
        clearPortsInUse: (peers) => {
          cleared.push(peers);
          inUse = 0n; // what the kernel map holds after the clear
        },
      });
      const b = host(fabric, B, A);
      agent.start();
      b.agent.start();
      await vi.advanceTimersByTimeAsync(3000);
      expect(cleared.length).toBeGreaterThan(0);
      expect(cleared[0]).toEqual([B]);
      // the flows now use port 5 only; ports 1 and 2 are still in use for one more window
      inUse = 0b100000n;
      const s = agent.prober.scheduler;
      await vi.advanceTimersByTimeAsync(2000);
      expect(s.modeOf(B, performance.now())).toBe('partial');
      // two windows later only port 5 is probed
      inUse = 0b100000n;
      await vi.advanceTimersByTimeAsync(2000);
      inUse = 0b100000n;
      await vi.advanceTimersByTimeAsync(2000);
      const sentBefore = agent.status().peers[0]!.probes_sent;
      inUse = 0b100000n;
      await vi.advanceTimersByTimeAsync(1000);
      expect(agent.status().peers[0]!.probes_sent - sentBefore).toBe(1);
      await agent.stop();
      await b.agent.stop();
    } finally {
      vi.useRealTimers();
    }
  });

  it('partial mode: the first entry is written right after negotiation (unprobed ports usable), and only ports in use are probed', async () => {
    vi.useFakeTimers({ toFake: [...toFake] });
    try {
      const fabric = new FakeFabric();
      let inUse = 0n;
      const { agent, store } = activeAgent(fabric, { probeMode: 'partial' }, () => inUse);
      const b = host(fabric, B, A);
      agent.start();
      b.agent.start();
      await vi.advanceTimersByTimeAsync(500);
      expect(store.entries.get(B)?.healthy).toBe(ALL);
      expect(agent.status().peers[0]!.probes_sent).toBe(0);
      // the traffic is steered onto two ports: those, and only those, are probed once a second
      inUse = 0b1001n;
      await vi.advanceTimersByTimeAsync(3000);
      const p = agent.status().peers[0]!;
      expect(p.probes_sent).toBeGreaterThanOrEqual(4);
      expect(p.probes_sent).toBeLessThanOrEqual(8);
      expect(p.unknown_ports).toBe(NPORTS - 2);
      await agent.stop();
      await b.agent.stop();
    } finally {
      vi.useRealTimers();
    }
  });

  it('a middlebox probes nobody, tells the kernel to learn ports, and reflects with its backend id', async () => {
    vi.useFakeTimers({ toFake: [...toFake] });
    try {
      const fabric = new FakeFabric();
      const settings: unknown[] = [];
      const kernel = { configure: (s: unknown) => void settings.push(s), addSession: () => undefined, removeSession: () => undefined, sessions: () => [] };
      const { agent } = activeAgent(fabric, { role: 'middlebox' }, () => 1n, { backendId: 0x02aabbccddee, cpu: () => 100, reflector: kernel });
      agent.start();
      await vi.advanceTimersByTimeAsync(3000);
      expect(agent.status().peers).toEqual([]);
      expect(agent.status().counters.probes_sent).toBe(0);
      // CPU at 100%: the bucket shrinks to 10% of its size, the rate stays
      expect(settings.at(-1)).toEqual({ reflect: true, learn: true, backendId: 0x02aabbccddee, ratePerSec: 2000, burst: 400 });
      expect(() => AgentConfigSchema.parse({ iface: 'eth0', role: 'middlebox', peers: [B] })).toThrow(/middlebox never probes/);
      await agent.stop();
    } finally {
      vi.useRealTimers();
    }
  });
});
