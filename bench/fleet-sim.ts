/**
 * Simulated agents for `pathsteer bench fleet`, run in a worker thread (its
 * own event loop, so the benchmark's measuring client is not slowed by it):
 * N agents, each a real Publisher (src/controller/publisher.ts) publishing to
 * Redis every second (staggered over the second), fed by a synthetic source
 * with `peers` peers of 32 ports. About one pair in a hundred has bad ports,
 * and failovers happen at about `failoversPerS` fleet-wide, with their port
 * events, as a real agent reports them. Agents share `connections` Redis
 * connections (a real fleet has one each; the server-side work is the same).
 *
 * Messages to the parent: {ready: true} once every agent published once, then
 * {stats} every second: publishes, events, errors.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { Publisher, type PublishSource, type SourceFailover, type SourcePort, type SourceSnapshot } from '../src/controller/publisher.js';
import { RedisStore, type FleetStore } from '../src/controller/store/index.js';
import { Rng } from '../src/ranker/rng.js';

export interface SimOptions {
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

interface SimPeer {
  vtep: string;
  base: number;
  bad: Set<number>;
}

class SimAgent implements PublishSource {
  readonly peers: SimPeer[] = [];
  private failoverCb: ((e: SourceFailover) => void) | undefined;
  private portCb: ((e: SourcePort) => void) | undefined;
  probes = 0;
  failovers = 0;

  constructor(
    readonly i: number,
    private readonly o: SimOptions,
    private readonly rand: () => number,
  ) {
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
      if (rand() < 0.01) for (let k = 0; k < 1 + Math.floor(rand() * 8); k++) bad.add(Math.floor(rand() * 32));
      this.peers.push({ vtep: simVtep(j, o.hostsPerGroup), base: 0.15 + rand() * 0.3, bad });
    }
  }

  snapshot(): SourceSnapshot {
    const r = this.rand;
    this.probes += this.peers.length * 32;
    let portsBad = 0;
    return {
      iface: 'eth0',
      vtep: simVtep(this.i, this.o.hostsPerGroup),
      process_id: this.i + 1,
      started_at: new Date(0).toISOString(),
      probe_rate_pps: this.peers.length * 32,
      probes_sent: this.probes,
      responses: this.probes,
      lost: 0,
      failovers: this.failovers,
      ports_bad: this.peers.reduce((a, p) => a + p.bad.size, 0),
      peers: this.peers.map((p) => {
        portsBad += p.bad.size;
        let healthy = 0xffff_ffffn;
        for (const b of p.bad) healthy &= ~(1n << BigInt(b));
        const p50 = p.base * (1 + r() * 0.1);
        return {
          peer: p.vtep,
          state: 'probing',
          base_port: 10000,
          nports: 32,
          healthy: `0x${healthy.toString(16)}`,
          preferred: `0x${(healthy & 0xffffn).toString(16)}`,
          bad: [...p.bad],
          suspect: [],
          unknown: 0,
          rtt_p50_ms: Math.round(p50 * 1000) / 1000,
          rtt_p99_ms: Math.round(p50 * 1.8 * 1000) / 1000,
          loss: p.bad.size / 32,
          probes: 32,
          last_switch: null,
        };
      }),
    };
  }

  /** A path breaks: ports go bad, a failover is reported; or a broken pair heals. */
  event(): void {
    const p = this.peers[Math.floor(this.rand() * this.peers.length)]!;
    const at = new Date().toISOString();
    if (p.bad.size > 0) {
      for (const b of p.bad) this.portCb?.({ at, peer: p.vtep, port: 10000 + b, idx: b, healthy: true, reason: 'recovered' });
      p.bad.clear();
      return;
    }
    const down: number[] = [];
    for (let k = 0; k < 16; k++) down.push(Math.floor(this.rand() * 32));
    const set = [...new Set(down)];
    for (const b of set) {
      p.bad.add(b);
      this.portCb?.({ at, peer: p.vtep, port: 10000 + b, idx: b, healthy: false, reason: 'reprobe-failed' });
    }
    this.failovers++;
    this.failoverCb?.({ at, peer: p.vtep, ports_down: set.map((b) => 10000 + b), ports_up: [], healthy_before: 32, healthy_after: 32 - set.length, nports: 32, detect_ms: 100 + Math.round(this.rand() * 50), write_ms: 0.05 });
  }

  onFailover(cb: (e: SourceFailover) => void): () => void {
    this.failoverCb = cb;
    return () => (this.failoverCb = undefined);
  }
  onPort(cb: (e: SourcePort) => void): () => void {
    this.portCb = cb;
    return () => (this.portCb = undefined);
  }
}

/** Counts what the publishers write through it. */
function counting(s: FleetStore, stats: { publishes: number; events: number; errors: number }): FleetStore {
  return new Proxy(s, {
    get(target, prop, recv) {
      if (prop === 'publishHost')
        return async (...a: Parameters<FleetStore['publishHost']>) => {
          try {
            await target.publishHost(...a);
            stats.publishes++;
          } catch (e) {
            stats.errors++;
            throw e;
          }
        };
      if (prop === 'addEvents')
        return async (evs: Parameters<FleetStore['addEvents']>[0]) => {
          const r = await target.addEvents(evs);
          stats.events += evs.length;
          return r;
        };
      return Reflect.get(target, prop, recv) as unknown;
    },
  });
}

async function main(o: SimOptions): Promise<void> {
  const stats = { publishes: 0, events: 0, errors: 0 };
  const stores: FleetStore[] = [];
  for (let c = 0; c < o.connections; c++) stores.push(counting(await RedisStore.open(o.url, { waitReady: true, name: `sim-${c}` }), stats));
  const r = new Rng('fleet-sim', o.seed);
  const rand = (): number => r.next();
  const agents = Array.from({ length: o.agents }, (_, i) => new SimAgent(i, o, rand));
  const pubs: Publisher[] = [];
  // staggered start: agents publish evenly over each second
  for (let i = 0; i < o.agents; i++) {
    const p = new Publisher(stores[i % stores.length]!, agents[i]!, { host: simHost(i), group: `leaf-${String(Math.floor(i / o.hostsPerGroup)).padStart(3, '0')}`, version: 'sim', intervalMs: 1000, moveWindowMs: 0 });
    pubs.push(p);
    setTimeout(() => p.start(), (i * 1000) / o.agents);
  }
  // failovers, fleet-wide
  const evTimer = setInterval(() => {
    const n = o.failoversPerS;
    for (let k = 0; k < n; k++) agents[Math.floor(rand() * agents.length)]!.event();
  }, 1000);
  await new Promise((r) => setTimeout(r, 1500));
  parentPort!.postMessage({ ready: true });
  const statTimer = setInterval(() => parentPort!.postMessage({ stats: { ...stats } }), 1000);
  parentPort!.on('message', async (m: { stop?: boolean }) => {
    if (!m.stop) return;
    clearInterval(evTimer);
    clearInterval(statTimer);
    await Promise.all(pubs.map((p) => p.stop(200)));
    await Promise.all(stores.map((s) => s.close()));
    parentPort!.postMessage({ stopped: true, stats });
  });
}

if (parentPort && workerData) void main(workerData as SimOptions);
