/**
 * Simulated agents for `pathsteer bench fleet`, run in a worker thread (its
 * own event loop, so the benchmark's measuring client is not slowed by it):
 * N agents with `peers` peers of 32 ports each, each reporting once a second
 * (staggered evenly over the second). About one pair in a hundred has bad
 * ports, and failovers happen at about `failoversPerS` fleet-wide, with their
 * port events, as a real agent reports them.
 *
 * Wire format: a report is written with the same commands as the real
 * agent's publisher (RedisStore.publishHost): `hostWriteCommands` in one
 * MULTI, summaries encoded as `encodePeer` encodes them (simEncodePeer builds
 * the same string from a prepared head and the figures that change every
 * second; test/unit/fleet-sim.test.ts checks both against the store), events
 * through `RedisStore.addEvents`. What is cheaper than 2,000 Publishers is
 * only the simulation's own bookkeeping: one timer for the fleet instead of
 * one per agent, no per-report objects for fields that do not change, so a
 * loaded 2-core machine can still generate 2,000 reports a second. Agents
 * share `connections` Redis connections (a real fleet has one each; the
 * server-side work is the same).
 *
 * Messages to the parent: {ready: true} once every agent reported once, then
 * {stats} every second: publishes, events, errors, missed (reports not sent
 * because the simulator fell behind).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { Redis } from 'ioredis';
import { hostWriteCommands, parseRedisUrl, RedisStore, type FleetEvent, type HostState, type PeerSummary } from '../src/controller/store/index.js';
import { Rng } from '../src/ranker/rng.js';

export interface SimOptions {
  kind: 'pathsteer-fleet-sim';
  url: string;
  agents: number;
  peers: number;
  hostsPerGroup: number;
  connections: number;
  failoversPerS: number;
  seed: number;
}

export function simVtep(i: number, hostsPerGroup: number): string {
  const g = Math.floor(i / hostsPerGroup);
  return `198.18.${1 + (g % 250)}.${10 + (i % hostsPerGroup)}`;
}
export const simHost = (i: number): string => `sim-${String(i).padStart(5, '0')}`;
export const simGroup = (i: number, hostsPerGroup: number): string => `leaf-${String(Math.floor(i / hostsPerGroup)).padStart(3, '0')}`;

const NPORTS = 32;
const BASE_PORT = 10000;

interface SimPeer {
  vtep: string;
  base: number;
  bad: Set<number>;
  /** encodePeer's output up to the RTT figures, rebuilt when `bad` changes. */
  head: string;
}

/** A peer summary's fixed part: what encodePeer writes before `rtt_p50_ms`. */
function peerHead(p: Omit<PeerSummary, 'rtt_p50_ms' | 'rtt_p99_ms' | 'loss' | 'probes' | 'last_switch' | 'updated'>): string {
  const s = JSON.stringify([1, p.peer, p.state, p.base_port, p.nports, p.healthy, p.preferred, p.bad, p.suspect, p.unknown]);
  return `${s.slice(0, -1)},`;
}

/** encodePeer(summary) for a summary whose head is `head` (the same string, built without the summary object). */
export function simEncodePeer(head: string, p50: number | null, p99: number | null, loss: number, probes: number, lastSwitch: number | null, updated: number): string {
  return `${head}${JSON.stringify(p50)},${JSON.stringify(p99)},${JSON.stringify(loss)},${probes},${JSON.stringify(lastSwitch)},${updated}]`;
}

function healthyOf(bad: ReadonlySet<number>): bigint {
  let healthy = 0xffff_ffffn;
  for (const b of bad) healthy &= ~(1n << BigInt(b));
  return healthy;
}

/** The summary fields a simulated peer reports (what simEncodePeer encodes). */
export function simPeerFields(vtep: string, bad: ReadonlySet<number>): Parameters<typeof peerHead>[0] {
  const healthy = healthyOf(bad);
  return { peer: vtep, state: 'probing', base_port: BASE_PORT, nports: NPORTS, healthy: `0x${healthy.toString(16)}`, preferred: `0x${(healthy & 0xffffn).toString(16)}`, bad: [...bad], suspect: [], unknown: 0 };
}

export class SimAgent {
  readonly peers: SimPeer[] = [];
  readonly host: string;
  readonly vtep: string;
  readonly group: string;
  private probes = 0;
  failovers = 0;
  private readonly startedAt = new Date().toISOString();

  constructor(
    readonly i: number,
    o: Pick<SimOptions, 'agents' | 'peers' | 'hostsPerGroup'>,
    private readonly rand: () => number,
  ) {
    this.host = simHost(i);
    this.vtep = simVtep(i, o.hostsPerGroup);
    this.group = simGroup(i, o.hostsPerGroup);
    // half the peers in the agent's own pod (nearby groups), half anywhere
    const chosen = new Set<number>();
    const g = Math.floor(i / o.hostsPerGroup);
    while (chosen.size < Math.min(o.peers, o.agents - 1)) {
      const near = chosen.size < o.peers / 2;
      const j = near ? Math.min(o.agents - 1, Math.max(0, (g + Math.floor(rand() * 4) - 1) * o.hostsPerGroup + Math.floor(rand() * o.hostsPerGroup))) : Math.floor(rand() * o.agents);
      if (j !== i) chosen.add(j);
    }
    for (const j of chosen) {
      const bad = new Set<number>();
      if (rand() < 0.01) for (let k = 0; k < 1 + Math.floor(rand() * 8); k++) bad.add(Math.floor(rand() * NPORTS));
      const vtep = simVtep(j, o.hostsPerGroup);
      this.peers.push({ vtep, base: 0.15 + rand() * 0.3, bad, head: peerHead(simPeerFields(vtep, bad)) });
    }
  }

  /** This second's report: the heartbeat state and the summaries, encoded (peer, summary, ...). */
  report(now: number): { state: HostState; encoded: string[] } {
    const r = this.rand;
    const n = this.peers.length;
    this.probes += n * NPORTS;
    const encoded: string[] = new Array<string>(2 * n);
    let portsBad = 0;
    for (let k = 0; k < n; k++) {
      const p = this.peers[k]!;
      portsBad += p.bad.size;
      const p50 = Math.round(p.base * (1 + r() * 0.1) * 1000) / 1000;
      const p99 = Math.round(p50 * 1.8 * 1000) / 1000;
      encoded[2 * k] = p.vtep;
      encoded[2 * k + 1] = simEncodePeer(p.head, p50, p99, p.bad.size / NPORTS, NPORTS, null, now);
    }
    const state: HostState = {
      host: this.host,
      group: this.group,
      vtep: this.vtep,
      iface: 'eth0',
      version: 'sim',
      process_id: this.i + 1,
      started_at: this.startedAt,
      last_seen: now,
      interval_ms: 1000,
      probe_rate_pps: n * NPORTS,
      probes_sent: this.probes,
      responses: this.probes,
      lost: 0,
      failovers: this.failovers,
      peers: n,
      ports_bad: portsBad,
      buffered: 0,
      dropped: 0,
    };
    return { state, encoded };
  }

  /** A path breaks (ports go bad, a failover with its port events), or a broken pair heals (port events). */
  event(now: number): FleetEvent[] {
    const p = this.peers[Math.floor(this.rand() * this.peers.length)]!;
    const out: FleetEvent[] = [];
    if (p.bad.size > 0) {
      for (const b of p.bad) out.push({ type: 'port', host: this.host, at: now, data: { peer: p.vtep, port: BASE_PORT + b, idx: b, healthy: true, reason: 'recovered' } });
      p.bad.clear();
    } else {
      const down = new Set<number>();
      for (let k = 0; k < 16; k++) down.add(Math.floor(this.rand() * NPORTS));
      for (const b of down) {
        p.bad.add(b);
        out.push({ type: 'port', host: this.host, at: now, data: { peer: p.vtep, port: BASE_PORT + b, idx: b, healthy: false, reason: 'reprobe-failed' } });
      }
      this.failovers++;
      out.push({
        type: 'failover',
        host: this.host,
        at: now,
        data: { peer: p.vtep, ports_down: [...down].map((b) => BASE_PORT + b), ports_up: [], healthy_before: NPORTS, healthy_after: NPORTS - down.size, nports: NPORTS, detect_ms: 100 + Math.round(this.rand() * 50), write_ms: 0.05, moved_ms: null, flows_moved: 0 },
      });
    }
    p.head = peerHead(simPeerFields(p.vtep, p.bad));
    return out;
  }
}

async function main(o: SimOptions): Promise<void> {
  const stats = { publishes: 0, events: 0, errors: 0, missed: 0 };
  const t = parseRedisUrl(o.url);
  const clients: Redis[] = [];
  for (let c = 0; c < o.connections; c++) {
    const r = new Redis({ ...(t.path ? { path: t.path } : { host: t.host!, port: t.port! }), db: t.db, connectionName: `sim-${c}`, enableOfflineQueue: true, maxRetriesPerRequest: 1 });
    r.on('error', () => undefined);
    clients.push(r);
  }
  const events = await RedisStore.open(o.url, { waitReady: true, name: 'sim-events' });
  const r = new Rng('fleet-sim', o.seed);
  const rand = (): number => r.next();
  const agents = Array.from({ length: o.agents }, (_, i) => new SimAgent(i, o, rand));
  let inFlight = 0;
  const publish = (i: number): void => {
    // a real agent skips a tick while its last report is in flight; so does the simulator, fleet-wide
    if (inFlight > o.agents) {
      stats.missed++;
      return;
    }
    const { state, encoded } = agents[i]!.report(Date.now());
    inFlight++;
    clients[i % clients.length]!
      .multi(hostWriteCommands(state, encoded))
      .exec()
      .then(
        (res) => {
          if (!res || res.some(([e]) => e)) stats.errors++;
          else stats.publishes++;
        },
        () => stats.errors++,
      )
      .finally(() => inFlight--);
  };
  // one timer for the fleet: agent i reports at i/N of every second
  const t0 = Date.now();
  let sent = 0;
  const tick = setInterval(() => {
    const due = Math.floor(((Date.now() - t0) / 1000) * o.agents);
    if (due - sent > o.agents) {
      // more than a second behind: those reports are missed, as an agent's skipped ticks
      stats.missed += due - sent - o.agents;
      sent = due - o.agents;
    }
    for (; sent < due; sent++) publish(sent % o.agents);
  }, 10);
  // failovers and port events, fleet-wide
  const evTimer = setInterval(() => {
    const evs: FleetEvent[] = [];
    for (let k = 0; k < o.failoversPerS; k++) evs.push(...agents[Math.floor(rand() * agents.length)]!.event(Date.now()));
    if (evs.length === 0) return;
    events.addEvents(evs).then(
      () => (stats.events += evs.length),
      () => stats.errors++,
    );
  }, 1000);
  await new Promise((res) => setTimeout(res, 1500));
  parentPort!.postMessage({ ready: true });
  const statTimer = setInterval(() => parentPort!.postMessage({ stats: { ...stats } }), 1000);
  parentPort!.on('message', (m: { stop?: boolean }) => {
    if (!m.stop) return;
    clearInterval(tick);
    clearInterval(evTimer);
    clearInterval(statTimer);
    void (async () => {
      for (let k = 0; k < 100 && inFlight > 0; k++) await new Promise((res) => setTimeout(res, 20));
      for (const c of clients) c.disconnect();
      await events.close();
      parentPort!.postMessage({ stopped: true, stats });
    })();
  });
}

// only as the benchmark's worker (test runners run modules in worker threads of their own)
if (parentPort && (workerData as SimOptions | undefined)?.kind === 'pathsteer-fleet-sim') void main(workerData as SimOptions);
