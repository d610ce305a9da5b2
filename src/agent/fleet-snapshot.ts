/**
 * What the agent tells the fleet (a publisher samples it once per publish
 * interval and subscribes to its events): counters, and per peer the healthy
 * and preferred bitmaps, ports by state, the RTT spread over its paths, probe
 * loss since the previous sample and the last switch. The shapes match the
 * controller's PublishSource structurally (src/controller/publisher.ts); the
 * CLI connects the two, so neither module imports the other (DESIGN §1).
 */
import type { Agent, FailoverEvent, PortEvent } from './agent.js';

export interface PeerSnapshot {
  peer: string;
  state: string;
  base_port: number;
  nports: number;
  healthy: string;
  preferred: string;
  bad: number[];
  suspect: number[];
  unknown: number;
  rtt_p50_ms: number | null;
  rtt_p99_ms: number | null;
  loss: number;
  probes: number;
  last_switch: number | null;
}

export interface AgentSnapshot {
  iface: string;
  vtep: string;
  process_id: number;
  started_at: string;
  probe_rate_pps: number;
  probes_sent: number;
  responses: number;
  lost: number;
  failovers: number;
  ports_bad: number;
  peers: PeerSnapshot[];
}

/** Nearest-rank percentile of sorted values. */
function pct(sorted: number[], q: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

const r3 = (x: number): number => Math.round(x * 1000) / 1000;

/** Samples an agent; loss is per sample interval (each port's probe and failure counters since the last call). */
export class FleetSnapshotter {
  private readonly last = new Map<string, { probes: number[]; failures: number[] }>();

  constructor(private readonly agent: Agent) {}

  snapshot(): AgentSnapshot {
    const a = this.agent;
    const st = a.status();
    const lastSwitch = new Map<string, number>();
    for (const c of a.changes) lastSwitch.set(c.peer, Date.parse(c.at));
    const peers: PeerSnapshot[] = [];
    const seen = new Set<string>();
    let portsBad = 0;
    for (const s of a.prober.sessions.values()) {
      seen.add(s.peer);
      const ports = s.paths.ports;
      const prev = this.last.get(s.peer);
      let dProbes = 0;
      let dFail = 0;
      const rtts: number[] = [];
      const bad: number[] = [];
      const suspect: number[] = [];
      let unknown = 0;
      ports.forEach((p, i) => {
        dProbes += p.probes - (prev?.probes[i] ?? 0);
        dFail += p.failures - (prev?.failures[i] ?? 0);
        if (p.lastRttMs !== undefined && p.state !== 'bad') rtts.push(p.lastRttMs);
        if (p.state === 'bad') bad.push(i);
        else if (p.state === 'suspect') suspect.push(i);
        else if (p.state === 'unknown') unknown++;
      });
      portsBad += bad.length;
      this.last.set(s.peer, { probes: ports.map((p) => p.probes), failures: ports.map((p) => p.failures) });
      rtts.sort((x, y) => x - y);
      const e = a.fastTable.get(s.peer);
      const p50 = pct(rtts, 0.5);
      const p99 = pct(rtts, 0.99);
      peers.push({
        peer: s.peer,
        state: s.state,
        base_port: s.paths.opts.basePort,
        nports: s.paths.nports,
        healthy: `0x${s.paths.healthyMask().toString(16)}`,
        preferred: `0x${(e?.preferred ?? 0n).toString(16)}`,
        bad,
        suspect,
        unknown,
        rtt_p50_ms: p50 === null ? null : r3(p50),
        rtt_p99_ms: p99 === null ? null : r3(p99),
        loss: dProbes > 0 ? r3(Math.min(1, Math.max(0, dFail / dProbes))) : 0,
        probes: Math.max(0, dProbes),
        last_switch: lastSwitch.get(s.peer) ?? null,
      });
    }
    for (const p of this.last.keys()) if (!seen.has(p)) this.last.delete(p);
    return {
      iface: st.iface,
      vtep: st.local_vtep,
      process_id: st.process_id,
      started_at: st.started_at,
      probe_rate_pps: st.probe_rate_pps,
      probes_sent: st.counters.probes_sent ?? 0,
      responses: st.counters.responses ?? 0,
      lost: st.counters.lost ?? 0,
      failovers: a.metrics.failovers.get(),
      ports_bad: portsBad,
      peers,
    };
  }
}

/** The agent as a publisher's source: samples, events, and the data plane's pin-move counter. */
export function fleetSource(agent: Agent) {
  const snap = new FleetSnapshotter(agent);
  return {
    snapshot: () => snap.snapshot(),
    onFailover(cb: (e: FailoverEvent) => void): () => void {
      agent.events.on('failover', cb);
      return () => agent.events.off('failover', cb);
    },
    onPort(cb: (e: PortEvent) => void): () => void {
      agent.events.on('port', cb);
      return () => agent.events.off('port', cb);
    },
    pinMoves(): number | undefined {
      try {
        const st = agent.dataplaneStats();
        return st ? Number(st.PIN_MOVED) : undefined;
      } catch {
        return undefined; // maps closed (stopping)
      }
    },
  };
}
