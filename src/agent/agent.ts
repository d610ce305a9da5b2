/**
 * The host agent: ZooRoute's slow path for one underlay interface. It runs the
 * prober and the responder over one UDP socket, discovers active peers from
 * the data plane's ps_activity (plus static peers), keeps the per-peer slow
 * table (PeerPaths), and syncs ps_path (the fast table) whenever a port changes
 * state. CPU load adapts the probe rate; everything it does is counted
 * (Prometheus) and every port change is logged and kept for `agent status`.
 *
 * I/O is injected (transport, path store, activity source), so the same class
 * runs on real sockets and maps, and in unit tests on fakes.
 */
import { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import type { Logger } from '../common/logger.js';
import { parseIpv4Prefix } from '../common/net.js';
import type { Activity } from '../maps/activity.js';
import type { PathEntry } from '../maps/path-entry.js';
import type { StatCounts } from '../maps/stats.js';
import { decode, hasMagic, MsgType, ProtocolError, type NegotiationMessage, type TelemetryMessage } from '../protocol/index.js';
import { CpuSampler } from './cpu.js';
import { FastTable, type PathStore } from './fast-table.js';
import { agentMetrics, type AgentMetrics } from './metrics.js';
import type { AgentConfig } from './options.js';
import type { PortChange } from './peer-paths.js';
import { Prober } from './prober.js';
import { CpuBackoff } from './rate-control.js';
import type { ReflectorStore } from './reflector.js';
import { Responder } from './responder.js';
import type { SocketState } from './socket-drops.js';
import type { Datagram, Transport } from './transport.js';

export interface AgentDeps {
  transport: Transport;
  store: PathStore;
  /** ps_activity combined over CPUs, per peer. */
  activity: () => Array<[string, Activity]>;
  /** ps_stats counters, for metrics and status. */
  dataplaneStats?: () => StatCounts;
  localVtep: string;
  backendId: number;
  /** Monotonic ms. @default performance.now */
  now?: () => number;
  /** Host CPU percent since the last call. @default /proc/stat */
  cpu?: () => number;
  /** Monotonic ns, same clock as ps_activity.last_seen_ns. @default process.hrtime.bigint */
  nowNs?: () => bigint;
  /** The agent socket's drops and unread bytes (/proc/net/udp); overload control is off without it. */
  socketState?: () => SocketState | undefined;
  /** The in-kernel reflector's maps (absent: no reflector, no middlebox learning). */
  reflector?: ReflectorStore;
  /** Clear ps_activity's ports_in_use of these peers (partial mode's in-use window). */
  clearPortsInUse?: (peers: string[]) => void;
}

export interface PortEvent {
  at: string;
  peer: string;
  port: number;
  idx: number;
  healthy: boolean;
  reason: string;
}

/**
 * A peer's entry lost healthy ports in the data plane: flows pinned to them
 * move (once) to the remaining healthy ports. One per table write that removes
 * ports; what `agent status`, the log and publishers report as a failover.
 */
export interface FailoverEvent {
  at: string;
  peer: string;
  /** Ports that left the healthy set with this write. */
  ports_down: number[];
  /** Ports that (re)joined it with the same write. */
  ports_up: number[];
  healthy_before: number;
  healthy_after: number;
  nports: number;
  /** From the first failed probe of the ports that went down to the table write (ms). */
  detect_ms: number | null;
  /** The map write itself (ms). */
  write_ms: number;
}

/** What an Agent emits (`agent.events.on(...)`). */
export interface AgentEventMap {
  /** A port entered or left the healthy set. */
  port: [PortEvent];
  /** An entry lost healthy ports (flows moved). */
  failover: [FailoverEvent];
}

const popcount = (x: bigint): number => {
  let n = 0;
  for (let v = x; v > 0n; v >>= 1n) n += Number(v & 1n);
  return n;
};

export class Agent {
  /** `port` and `failover` events, for publishers (the store, the log). */
  readonly events = new EventEmitter<AgentEventMap>();
  readonly metrics: AgentMetrics;
  readonly prober: Prober;
  readonly responder: Responder;
  readonly fastTable: FastTable;
  readonly processId: number;
  private readonly dirty = new Set<string>();
  private readonly toRemove = new Set<string>();
  private readonly backoff: CpuBackoff;
  /** Partial mode: each active peer's ports_in_use before the last clear, and when that was. */
  private readonly inUsePrev = new Map<string, bigint>();
  private inUseClearedAt = 0;
  private readonly history: PortEvent[] = [];
  private readonly failovers: FailoverEvent[] = [];
  private timers: NodeJS.Timeout[] = [];
  private syncQueued = false;
  private readonly now: () => number;
  private readonly nowNs: () => bigint;
  private readonly cpu: () => number;
  private readonly startedAt = new Date();
  private lastStats: StatCounts | undefined;
  /** Overload control: socket drops seen, backoff level, when it last changed. */
  private lastDrops: number | undefined;
  private overloadLevel = 0;
  private overloadChangedAt = 0;

  constructor(
    readonly cfg: AgentConfig,
    private readonly deps: AgentDeps,
    private readonly log: Logger,
  ) {
    this.metrics = agentMetrics();
    this.processId = (Math.random() * 0xffff_ffff) >>> 0 || 1;
    this.now = deps.now ?? (() => performance.now());
    this.nowNs = deps.nowNs ?? (() => process.hrtime.bigint());
    this.backoff = new CpuBackoff({ minRatePps: cfg.cpuBackoffMinPps });
    if (deps.cpu) this.cpu = deps.cpu;
    else {
      const s = new CpuSampler(() => readFileSync(cfg.cpuStat, 'utf8'));
      this.cpu = () => s.sample();
    }
    this.fastTable = new FastTable(deps.store);
    this.prober = new Prober(
      deps.transport,
      deps.localVtep,
      this.processId,
      {
        portChanges: (peer, changes) => this.onPortChanges(peer, changes),
        dirty: (peer) => this.markDirty(peer),
        removed: (peer) => {
          this.toRemove.add(peer);
          this.queueSync();
        },
      },
      this.metrics,
      log.child({ module: 'agent/prober' }),
      {
        tunnelPort: cfg.tunnelPort,
        intervalMs: cfg.probeIntervalMs,
        rttThresholdMs: cfg.rttThresholdMs,
        mode: cfg.probeMode,
        interRegionHops: cfg.interRegionHops,
        middleboxSensing: cfg.middleboxSensing,
        fullHoldMs: cfg.fullHoldMs,
        paths: {
          basePort: cfg.basePort,
          windowPorts: cfg.ports,
          latencyPreference: cfg.latencyPreference,
          rttRiseMs: cfg.rttRiseMs,
          health: { historySize: 5, failThreshold: 3, recoverAfter: cfg.recoverAfter },
        },
      },
    );
    this.responder = new Responder(
      deps.transport,
      deps.localVtep,
      deps.backendId,
      (peer) => this.fastTable.get(peer),
      this.metrics,
      log.child({ module: 'agent/responder' }),
      {
        tunnelPort: cfg.tunnelPort,
        allow: cfg.allow.map((c) => parseIpv4Prefix(c)),
        sessionTtlMs: 300_000,
        bucket: { ratePerSec: cfg.responderRate, maxTokens: cfg.responderBurst },
        role: cfg.role,
        ...(cfg.reflector && deps.reflector ? { kernel: deps.reflector } : {}),
      },
    );
    this.metrics.registry.gauge('pathsteer_peers', 'Peers with a probing task', () => [[undefined, this.prober.sessions.size]]);
    this.metrics.registry.gauge('pathsteer_ports_bad', 'Candidate ports currently unhealthy', () => {
      let bad = 0;
      for (const s of this.prober.sessions.values()) bad += s.paths.ports.filter((p) => p.state === 'bad').length;
      return [[undefined, bad]];
    });
    this.metrics.registry.gauge('pathsteer_peer_paths', 'Candidate ports of all peers, by health state', () => {
      const n: Record<string, number> = { unknown: 0, good: 0, suspect: 0, bad: 0 };
      for (const s of this.prober.sessions.values()) for (const p of s.paths.ports) n[p.state] = (n[p.state] ?? 0) + 1;
      return Object.entries(n).map(([state, v]) => [{ state }, v]);
    });
    this.metrics.registry.gauge('pathsteer_dataplane_packets', 'ps_stats counters of the data plane, by counter', () => {
      const st = this.lastStats;
      return st ? Object.entries(st).map(([k, v]) => [{ counter: k.toLowerCase() }, Number(v)]) : [];
    });
    deps.transport.onMessage((d) => this.onDatagram(d));
  }

  /**
   * Adopt the data plane's table (fail-static state) and the reflector's
   * sessions, start static peers and the loops. A middlebox probes nobody: it
   * only answers, and the kernel sends its tenant replies on the ports peers used.
   */
  start(): void {
    const now = this.now();
    this.configureReflector(this.cpu());
    if (this.deps.reflector && !this.cfg.reflector) {
      for (const s of this.deps.reflector.sessions()) this.deps.reflector.removeSession(s.peer);
    }
    const kernelSessions = this.responder.adoptKernelSessions(now);
    if (kernelSessions > 0) this.log.info({ sessions: kernelSessions }, 'adopted in-kernel reflector sessions');
    if (this.cfg.role === 'host') {
      const adopted = this.fastTable.adopt();
      for (const [peer, e] of adopted) {
        this.prober.addPeer(peer, now, this.cfg.peers.includes(peer), e);
      }
      if (adopted.size > 0) this.log.info({ peers: [...adopted.keys()] }, 'adopted path entries left in the data plane');
      for (const p of this.cfg.peers) this.prober.addPeer(p, now, true);
      this.timers.push(setInterval(() => this.pollActivity(), 250));
    }
    const tickMs = Math.max(1, Math.min(5, this.cfg.probeIntervalMs / 20));
    this.timers.push(setInterval(() => this.tick(), tickMs));
    this.timers.push(setInterval(() => this.housekeeping(), 1000));
    if (this.cfg.role === 'host') this.pollActivity();
  }

  /** Tell the kernel side what to do: reflect (and with which limits), learn (middlebox), which backend id. */
  private configureReflector(cpu: number): void {
    this.responder.setCpu(cpu);
    if (!this.deps.reflector) return;
    const l = this.responder.limits();
    try {
      this.deps.reflector.configure({
        reflect: this.cfg.reflector,
        learn: this.cfg.role === 'middlebox',
        backendId: this.deps.backendId,
        ratePerSec: l.ratePerSec,
        burst: l.burst,
      });
    } catch (e) {
      this.log.warn({ err: (e as Error).message }, 'cannot configure the in-kernel reflector');
    }
  }

  async stop(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    await this.deps.transport.close();
  }

  private tick(): void {
    // drops first, so no verdict is formed on answers our own socket lost
    if (this.deps.socketState) this.checkOverload();
    this.prober.tick(this.now());
    if (this.dirty.size > 0 || this.toRemove.size > 0) this.sync();
  }

  private onDatagram(d: Datagram): void {
    if (!hasMagic(d.data)) {
      this.metrics.ignored.inc({ reason: 'not_pathsteer' });
      return;
    }
    let msg;
    try {
      msg = decode(d.data);
    } catch (e) {
      const reason = e instanceof ProtocolError ? e.code.toLowerCase() : 'decode_error';
      this.metrics.ignored.inc({ reason });
      this.log.debug({ from: d.address, reason, err: (e as Error).message }, 'packet ignored');
      return;
    }
    const now = this.now();
    switch (msg.type) {
      case MsgType.NEGOTIATION_REQUEST:
      case MsgType.TELEMETRY_REQUEST:
        this.responder.handleRequest(msg as NegotiationMessage | TelemetryMessage, d, now);
        break;
      case MsgType.NEGOTIATION_RESPONSE:
      case MsgType.TELEMETRY_RESPONSE:
        this.prober.handleResponse(msg as NegotiationMessage | TelemetryMessage, d, now);
        break;
      default:
        this.metrics.ignored.inc({ reason: 'table_update_at_host' });
    }
    if (this.dirty.size > 0) this.queueSync();
  }

  private onPortChanges(peer: string, changes: PortChange[]): void {
    const at = new Date().toISOString();
    for (const c of changes) {
      const ev: PortEvent = { at, peer, port: c.port, idx: c.idx, healthy: c.healthy, reason: c.reason };
      this.history.push(ev);
      this.log.info({ peer, port: c.port, idx: c.idx, healthy: c.healthy, reason: c.reason }, c.healthy ? 'port healthy' : 'port unhealthy');
      this.events.emit('port', ev);
    }
    while (this.history.length > 500) this.history.shift();
  }

  private markDirty(peer: string): void {
    this.dirty.add(peer);
  }

  private queueSync(): void {
    if (this.syncQueued) return;
    this.syncQueued = true;
    setImmediate(() => {
      this.syncQueued = false;
      this.sync();
    });
  }

  /** Write the entries of dirty peers (only those that changed) and remove released ones. */
  sync(): void {
    const now = this.now();
    const desired = new Map<string, PathEntry>();
    for (const peer of [...this.dirty]) {
      const s = this.prober.sessions.get(peer);
      if (!s || s.state === 'stopped') {
        this.dirty.delete(peer);
        continue;
      }
      // The first entry waits until every port of the window was probed once:
      // flows pinned while only a few ports are proven would all crowd onto them.
      // (Partial-probe peers are exempt: they probe only the ports traffic uses.)
      if (!this.fastTable.get(peer) && !s.paths.opts.optimistic && s.paths.ports.some((p) => p.state === 'unknown')) continue;
      if (s.state !== 'probing' && !this.fastTable.get(peer)) continue;
      desired.set(peer, s.paths.entry(now));
      this.dirty.delete(peer);
    }
    const remove = [...this.toRemove];
    this.toRemove.clear();
    const before = new Map([...desired.keys()].map((p) => [p, this.fastTable.get(p)]));
    const r = this.fastTable.sync(desired, remove);
    if (r.written.length + r.removed.length > 0) {
      this.metrics.tableWrites.inc(undefined, r.written.length);
      this.metrics.tableWriteMs.observe(r.ms);
      this.log.debug({ written: r.written, removed: r.removed, batched: r.batched, ms: r.ms }, 'fast table synced');
    }
    for (const peer of r.written) this.noteFailover(peer, before.get(peer), desired.get(peer)!, r.ms, now);
  }

  /** A write that took healthy ports out of a peer's entry is a failover: log it (info) and emit it. */
  private noteFailover(peer: string, old: PathEntry | undefined, e: PathEntry, writeMs: number, now: number): void {
    if (!old) return;
    const down = old.healthy & ~e.healthy;
    if (down === 0n) return;
    const s = this.prober.sessions.get(peer);
    const ports = (mask: bigint): number[] => {
      const out: number[] = [];
      for (let i = 0; i < 64; i++) if ((mask >> BigInt(i)) & 1n) out.push(e.basePort + i);
      return out;
    };
    let since: number | undefined;
    for (let i = 0; i < 64; i++) {
      if (!((down >> BigInt(i)) & 1n)) continue;
      const f = s?.paths.ports[i]?.failingSince;
      if (f !== undefined && (since === undefined || f < since)) since = f;
    }
    const ev: FailoverEvent = {
      at: new Date().toISOString(),
      peer,
      ports_down: ports(down),
      ports_up: ports(e.healthy & ~old.healthy),
      healthy_before: popcount(old.healthy),
      healthy_after: popcount(e.healthy),
      nports: e.nports,
      detect_ms: since === undefined ? null : Math.round(now - since),
      write_ms: Math.round(writeMs * 1000) / 1000,
    };
    this.failovers.push(ev);
    while (this.failovers.length > 100) this.failovers.shift();
    this.metrics.failovers.inc();
    this.log.info(
      { peer, ports_down: ev.ports_down, healthy: `${ev.healthy_after}/${ev.nports}`, detect_ms: ev.detect_ms, write_ms: ev.write_ms },
      `failover: flows to ${peer} moved off ${ev.ports_down.length} port(s)`,
    );
    this.events.emit('failover', ev);
  }

  /** Peers with recent tunnel traffic become active; idle ones are released. */
  pollActivity(): void {
    let rows: Array<[string, Activity]>;
    try {
      rows = this.deps.activity();
    } catch (e) {
      this.log.warn({ err: (e as Error).message }, 'cannot read ps_activity');
      return;
    }
    const now = this.now();
    const nowNs = this.nowNs();
    const idleNs = BigInt(this.cfg.idleTimeoutMs) * 1_000_000n;
    const active = new Map<string, bigint>();
    for (const [peer, a] of rows) {
      if (a.lastSeenNs === 0n || nowNs - a.lastSeenNs > idleNs) continue;
      active.set(peer, a.portsInUse);
      const s = this.prober.sessions.get(peer) ?? this.prober.addPeer(peer, now, false);
      s.lastActiveAt = now;
      // in use: used since the last clear, or in the window before it
      this.prober.setInUse(peer, a.portsInUse | (this.inUsePrev.get(peer) ?? 0n), now);
    }
    for (const [peer, s] of this.prober.sessions) {
      if (s.isStatic || active.has(peer) || now - s.lastActiveAt <= this.cfg.idleTimeoutMs) continue;
      this.prober.removePeer(peer);
      this.inUsePrev.delete(peer);
      this.toRemove.add(peer);
    }
    // partial mode: ps_activity ORs ports in forever; start a new window now and then,
    // so a port a flow left stops counting as in use after at most two windows
    if (this.cfg.probeMode === 'partial' && this.deps.clearPortsInUse && now - this.inUseClearedAt >= this.cfg.inUseWindowMs) {
      this.inUseClearedAt = now;
      for (const [peer, bits] of active) this.inUsePrev.set(peer, bits);
      try {
        if (active.size > 0) this.deps.clearPortsInUse([...active.keys()]);
      } catch (e) {
        this.log.warn({ err: (e as Error).message }, 'cannot clear ports_in_use');
      }
    }
  }

  /** Interval multiplier for a peer: CPU backoff times overload backoff; inter-AZ peers keep priority (half the exponent of each). */
  private multiplierFor(interRegion: boolean): number {
    return this.backoff.multiplier(interRegion) * 2 ** (interRegion ? Math.floor(this.overloadLevel / 2) : this.overloadLevel);
  }

  /**
   * The kernel dropped datagrams for our socket: answers were lost here, not on
   * a path. Distrust missing answers for a while and halve the probe rate (at
   * most once a second); step back up after 10 s without drops.
   */
  checkOverload(): void {
    const st = this.deps.socketState?.();
    if (st === undefined) return;
    const d = st.drops;
    const now = this.now();
    // answers may be waiting unread: judge no probe lost until the socket is drained
    this.prober.setBacklog(st.rxQueueBytes > 0);
    const prev = this.lastDrops;
    this.lastDrops = d;
    if (prev === undefined) return;
    let changed = false;
    if (d > prev) {
      this.metrics.socketDrops.inc(undefined, d - prev);
      // answers dropped now belong to probes whose deadlines fall within one deadline
      this.prober.distrust(now + 2 * Math.max(this.cfg.rttThresholdMs, 50));
      if (this.overloadLevel < 6 && now - this.overloadChangedAt >= 1000) {
        this.overloadLevel++;
        changed = true;
        this.log.warn({ drops: d - prev, level: this.overloadLevel }, 'agent socket is dropping datagrams: probing slower, not blaming paths');
      }
    } else if (this.overloadLevel > 0 && now - this.overloadChangedAt >= 10_000) {
      this.overloadLevel--;
      changed = true;
    }
    if (changed) {
      this.overloadChangedAt = now;
      this.prober.overloaded = this.overloadLevel > 0;
      this.metrics.overload.set(this.overloadLevel);
      for (const s of this.prober.sessions.values()) this.prober.scheduler.setMultiplier(s.peer, this.multiplierFor(s.interRegion));
    }
  }

  private housekeeping(): void {
    const now = this.now();
    const cpu = this.cpu();
    this.metrics.cpu.set(Math.round(cpu));
    const level = this.cfg.cpuBackoff ? this.backoff.sample(cpu, this.prober.probeRatePps) : 0;
    this.metrics.backoff.set(level);
    for (const s of this.prober.sessions.values()) {
      this.prober.scheduler.setMultiplier(s.peer, this.multiplierFor(s.interRegion));
      s.paths.maybeResetRanking(now);
      // preferred sets move with time (stability ranking, RTT rises): refresh
      if (s.state === 'probing') this.dirty.add(s.peer);
    }
    this.configureReflector(cpu); // also sizes the responder's buckets from cpu
    try {
      this.responder.prune(now, this.nowNs());
    } catch (e) {
      this.log.warn({ err: (e as Error).message }, 'cannot read the in-kernel reflector sessions');
    }
    if (this.deps.dataplaneStats) {
      try {
        this.lastStats = this.deps.dataplaneStats();
      } catch {
        // maps gone (detached under us): status shows the last counters
      }
    }
  }

  /** ps_stats read now (not the housekeeping copy): publishers time pin moves with it. */
  dataplaneStats(): StatCounts | undefined {
    return this.deps.dataplaneStats?.();
  }

  /** Everything `pathsteer agent status --json` shows. */
  status(): AgentStatus {
    const now = this.now();
    const m = this.metrics;
    return {
      schema: 'pathsteer.agent.status/v1',
      iface: this.cfg.iface,
      local_vtep: this.deps.localVtep,
      process_id: this.processId,
      started_at: this.startedAt.toISOString(),
      probe_interval_ms: this.cfg.probeIntervalMs,
      rtt_threshold_ms: this.cfg.rttThresholdMs,
      role: this.cfg.role,
      probe_mode: this.cfg.probeMode,
      probe_rate_pps: Math.round(this.prober.probeRatePps),
      backoff_level: this.backoff.level,
      overload_level: this.overloadLevel,
      reflector: {
        enabled: this.cfg.reflector && this.deps.reflector !== undefined,
        learn: this.cfg.role === 'middlebox' && this.deps.reflector !== undefined,
        sessions: this.responder.sessionCount,
        ...this.responder.limits(),
      },
      counters: {
        probes_sent: m.probesSent.get(),
        reprobes_sent: m.reprobesSent.get(),
        responses: m.responses.get(),
        lost: m.lost.get(),
        slow: m.slow.get(),
        late: m.late.get(),
        stale: m.stale.get(),
        table_writes: m.tableWrites.get(),
        negotiations: m.negotiations.get(),
        bursts: m.bursts.get(),
        socket_drops: m.socketDrops.get(),
        stalls: m.stalls.get(),
      },
      ignored: Object.fromEntries(m.ignored.entries().map(([k, v]) => [k.replace(/^reason="(.*)"$/, '$1'), v])),
      peers: [...this.prober.sessions.values()].map((s) => {
        const e = this.fastTable.get(s.peer);
        return {
          peer: s.peer,
          state: s.state,
          static: s.isStatic,
          hops: s.hops ?? null,
          inter_region: s.interRegion,
          base_port: s.paths.opts.basePort,
          nports: s.paths.nports,
          healthy: `0x${s.paths.healthyMask().toString(16)}`,
          in_table: e ? { healthy: `0x${e.healthy.toString(16)}`, preferred: `0x${e.preferred.toString(16)}`, flags: e.flags } : null,
          bad_ports: s.paths.ports.flatMap((p, i) => (p.state === 'bad' ? [s.paths.portOf(i)] : [])),
          unknown_ports: s.paths.ports.filter((p) => p.state === 'unknown').length,
          min_rtt_ms: s.minRttMs ?? null,
          groups: s.paths.groups().length,
          age_ms: Math.round(now - (s.negotiatedAt ?? now)),
          mode: this.prober.scheduler.modeOf(s.peer, now) ?? null,
          window: this.prober.scheduler.window(s.peer)?.w ?? null,
          probes_sent: s.probesSent,
          bp_responses: s.bpResponses,
          port_rtt_ms: s.paths.ports.map((p) => (p.srttMs === undefined ? null : Math.round(p.srttMs * 100) / 100)),
        };
      }),
      last_changes: this.history.slice(-50),
      failovers: this.failovers.slice(-20),
      dataplane: this.lastStats ? Object.fromEntries(Object.entries(this.lastStats).map(([k, v]) => [k.toLowerCase(), Number(v)])) : null,
    };
  }

  /** Port changes so far (newest last). */
  get changes(): readonly PortEvent[] {
    return this.history;
  }
}

export interface AgentStatus {
  schema: 'pathsteer.agent.status/v1';
  iface: string;
  local_vtep: string;
  process_id: number;
  started_at: string;
  probe_interval_ms: number;
  rtt_threshold_ms: number;
  role: 'host' | 'middlebox';
  probe_mode: 'full' | 'partial';
  probe_rate_pps: number;
  backoff_level: number;
  overload_level: number;
  /** The in-kernel reflector: on, learning (middlebox), negotiated sources, current per-source limits. */
  reflector: { enabled: boolean; learn: boolean; sessions: number; ratePerSec: number; burst: number };
  counters: Record<string, number>;
  /** Packets the agent dropped, by reason. */
  ignored: Record<string, number>;
  peers: Array<{
    peer: string;
    state: string;
    static: boolean;
    hops: number | null;
    inter_region: boolean;
    base_port: number;
    nports: number;
    healthy: string;
    in_table: { healthy: string; preferred: string; flags: number } | null;
    bad_ports: number[];
    unknown_ports: number;
    min_rtt_ms: number | null;
    groups: number;
    age_ms: number;
    /** full, partial, or full-after-anomaly (partial mode); null before negotiation. */
    mode: string | null;
    /** Alg. 1 send window W (probes per round; <= 0: one probe every 2^(1-W) rounds). */
    window: number | null;
    probes_sent: number;
    bp_responses: number;
    /** Smoothed RTT per port index (ms; null: no answer yet). */
    port_rtt_ms: Array<number | null>;
  }>;
  last_changes: PortEvent[];
  /** The last failovers (entries that lost healthy ports), newest last. */
  failovers: FailoverEvent[];
  dataplane: Record<string, number> | null;
}
