/**
 * The prober (ZooRoute §3.2, §4, Appendix A): per peer VTEP a probing task that
 * first negotiates (version, modes; the TTL of the response gives the hop count
 * that marks inter-AZ/inter-region peers), then sends telemetry requests on
 * every candidate source port as the scheduler says, matches responses by
 * sequence id and process id, and feeds outcomes to the peer's PeerPaths.
 *
 * A failed probe sets off a burst (every other port of the peer probed at
 * once) and an immediate re-probe that asks the responder to answer
 * on a return port that delivered a response moments ago (Flag.REPLY_PORT), so
 * a port is confirmed bad only by a failure of its own forward path, not by the
 * peer's return path breaking (which the peer's own prober detects).
 *
 * CTL from the responder: RST re-negotiates, BP shrinks the send window
 * (Alg. 1), FIN stops the task (the peer's entry is removed; negotiation is
 * retried after `finRetryMs`).
 */
import type { Logger } from '../common/logger.js';
import {
  Ctl,
  Flag,
  HostReflectCodec,
  ingressTtl,
  ipv4ToU32,
  Mode,
  MsgType,
  negotiationRequest,
  encode,
  telemetryRequest,
  type NegotiationMessage,
  type TelemetryMessage,
} from '../protocol/index.js';
import type { AgentMetrics } from './metrics.js';
import { PeerPaths, type PeerPathsOptions, type PortChange } from './peer-paths.js';
import { ProbeScheduler, type ProbeMode } from './scheduler.js';
import type { Datagram, Transport } from './transport.js';

export interface ProberOptions {
  /** Tunnel UDP port probes are sent to (the peer's VXLAN port). @default 4789 */
  tunnelPort: number;
  /** Probe interval per port (ms). @default 1000 */
  intervalMs: number;
  /** A probe without a response within this many ms failed (timeout or slow path). @default 50 */
  rttThresholdMs: number;
  /** The deadline is at least this factor of the peer's lowest RTT (long-haul peers). @default 3 */
  rttFactor: number;
  /** @default 'full' */
  mode: ProbeMode;
  /** Negotiation retry interval (ms). @default 1000 */
  negotiateEveryMs: number;
  /** Peers this many hops away or more are inter-AZ/inter-region. @default 6 */
  interRegionHops: number;
  /** After CTL=FIN, try negotiating again after this long (ms). @default 30000 */
  finRetryMs: number;
  /** A return port counts as known-good for this long after a response arrived on it (ms). @default 2000 */
  returnPortFreshMs: number;
  /** On a peer's first failed probe, probe all its other ports at once (at most once per interval). @default true */
  burstOnFailure: boolean;
  /** Group ports by the backend id of stateful peers' answers (ZooRoute §6). @default true */
  middleboxSensing: boolean;
  /** Partial mode: probe every port for this long after an anomaly (ms). @default 60000 */
  fullHoldMs: number;
  /** Window and health options for every peer. */
  paths: Partial<PeerPathsOptions>;
}

export const DEFAULT_PROBER: ProberOptions = {
  tunnelPort: 4789,
  intervalMs: 1000,
  rttThresholdMs: 50,
  rttFactor: 3,
  mode: 'full',
  negotiateEveryMs: 1000,
  interRegionHops: 6,
  finRetryMs: 30_000,
  returnPortFreshMs: 2000,
  burstOnFailure: true,
  middleboxSensing: true,
  fullHoldMs: 60_000,
  paths: {},
};

export const SUPPORTED_MODES = Mode.FULL_PROBE | Mode.PARTIAL_PROBE | Mode.MIDDLEBOX_SENSING;

export type SessionState = 'negotiating' | 'probing' | 'stopped';

export interface PeerSession {
  peer: string;
  state: SessionState;
  /** Configured with --peer (never released for idleness). */
  isStatic: boolean;
  version: number | undefined;
  peerModes: number | undefined;
  hops: number | undefined;
  interRegion: boolean;
  paths: PeerPaths;
  nextNegotiationAt: number;
  /** Lowest RTT seen towards the peer (ms). */
  minRttMs: number | undefined;
  goodReturnPort: number | undefined;
  goodReturnAt: number;
  /** Good answers so far: a held re-probe goes out once one arrives after its failed probe was sent. */
  goodAnswers: number;
  negotiatedAt: number | undefined;
  /** Last time the data plane showed tunnel traffic to the peer (ms; creation time at first). */
  lastActiveAt: number;
  /** Telemetry requests sent to the peer (probes, re-probes, bursts) and answers with CTL=BP. */
  probesSent: number;
  bpResponses: number;
}

interface Pending {
  peer: string;
  kind: 'negotiation' | 'telemetry';
  idx: number;
  sentAt: number;
  deadline: number;
  reprobe: boolean;
  /** The session's good answers when this was sent (see Prober.held). */
  answers: number;
  /** The deadline was extended once because this agent stalled. */
  extended?: boolean;
}

/** How long past its deadline a probe may wait for the agent to read its socket backlog (ms). */
const MAX_BACKLOG_WAIT_MS = 500;

/** Initial TTLs in common use; hops = the next one at or above the received TTL, minus it. */
const INITIAL_TTLS = [64, 128, 255];
export function hopsFromTtl(ttl: number): number {
  const init = INITIAL_TTLS.find((t) => t >= ttl) ?? 255;
  return init - ttl;
}

export interface ProberEvents {
  /** Ports of a peer entered or left the healthy set. */
  portChanges(peer: string, changes: PortChange[]): void;
  /** The peer's fast-table entry may have changed. */
  dirty(peer: string): void;
  /** The peer's entry must be removed (task stopped). */
  removed(peer: string): void;
}

export class Prober {
  readonly opts: ProberOptions;
  readonly sessions = new Map<string, PeerSession>();
  readonly scheduler: ProbeScheduler;
  private readonly pending = new Map<number, Pending>();
  /**
   * Re-probes waiting for a return port proven since their failed probe was
   * sent: the answer that last arrived before it may have come over the path
   * that just broke. Most go out at once (an answer arrived during the failed
   * probe's deadline); the others when one arrives (the burst's, within an
   * RTT) or at `until` (one deadline) with what is known then.
   */
  private held: Array<{ peer: string; idx: number; mark: number; until: number }> = [];
  private seq = 1;
  /** When tick() last ran: a long gap means this process stalled (CPU, GC), not the path. */
  private lastTickAt = -Infinity;
  /** Until then, missing or slow answers are this host's fault (its socket dropped datagrams). */
  private distrustUntil = -Infinity;
  /** Our socket holds unread datagrams: an expired probe's answer may be among them. */
  private backlog = false;
  /** The agent is shedding load (socket drops): anomalies do not switch peers to full probing. */
  overloaded = false;
  /** Sends in the current second, for the probe-rate gauge. */
  private sentThisSecond = 0;
  private secondStart = 0;
  probeRatePps = 0;

  constructor(
    private readonly transport: Transport,
    private readonly localVtep: string,
    private readonly processId: number,
    private readonly events: ProberEvents,
    private readonly metrics: AgentMetrics,
    private readonly log: Logger,
    opts: Partial<ProberOptions> = {},
  ) {
    this.opts = { ...DEFAULT_PROBER, ...opts };
    this.scheduler = new ProbeScheduler({ intervalMs: this.opts.intervalMs, mode: this.opts.mode, fullHoldMs: this.opts.fullHoldMs });
  }

  /** Start a probing task towards `peer` (negotiation first). `adopt` is the entry left in the data plane. */
  addPeer(peer: string, now: number, isStatic: boolean, adopt?: Parameters<PeerPaths['adopt']>[1]): PeerSession {
    const existing = this.sessions.get(peer);
    if (existing) {
      existing.isStatic ||= isStatic;
      return existing;
    }
    const paths = new PeerPaths(peer, now, this.opts.paths);
    if (adopt) paths.adopt(now, adopt);
    const s: PeerSession = {
      peer,
      state: 'negotiating',
      isStatic,
      version: undefined,
      peerModes: undefined,
      hops: undefined,
      interRegion: false,
      paths,
      nextNegotiationAt: now,
      minRttMs: undefined,
      goodReturnPort: undefined,
      goodReturnAt: 0,
      goodAnswers: 0,
      negotiatedAt: undefined,
      lastActiveAt: now,
      probesSent: 0,
      bpResponses: 0,
    };
    this.sessions.set(peer, s);
    this.log.info({ peer, static: isStatic, adopted: !!adopt }, 'probing task started');
    return s;
  }

  /** Release a peer's task (idle); its entry is removed by the caller. */
  removePeer(peer: string): void {
    if (!this.sessions.delete(peer)) return;
    this.scheduler.remove(peer);
    for (const [seq, p] of this.pending) if (p.peer === peer) this.pending.delete(seq);
    this.log.info({ peer }, 'probing task released');
  }

  private nextSeq(): number {
    const s = this.seq;
    this.seq = (this.seq + 1) >>> 0 || 1;
    return s;
  }

  private deadlineMs(s: PeerSession): number {
    const base = this.opts.rttThresholdMs;
    return s.minRttMs === undefined ? base : Math.max(base, this.opts.rttFactor * s.minRttMs);
  }

  private reflect(port: number, idx: number): Buffer {
    return HostReflectCodec.encode({ probedPort: port, portIdx: idx, processId: this.processId, txNs: process.hrtime.bigint() });
  }

  private countSend(now: number): void {
    if (now - this.secondStart >= 1000) {
      this.probeRatePps = this.sentThisSecond / ((now - this.secondStart) / 1000 || 1);
      this.sentThisSecond = 0;
      this.secondStart = now;
      this.metrics.probeRate.set(Math.round(this.probeRatePps));
    }
    this.sentThisSecond++;
  }

  private sendNegotiation(s: PeerSession, now: number): void {
    const n = s.paths.nports;
    // rotate the port so a broken path cannot block negotiation
    const idx = Math.floor(now / this.opts.negotiateEveryMs) % n;
    const port = s.paths.portOf(idx);
    const seq = this.nextSeq();
    const msg = negotiationRequest({
      mode: SUPPORTED_MODES,
      txSport: port,
      seq,
      srcVtep: ipv4ToU32(this.localVtep),
      reflect: this.reflect(port, idx),
    });
    this.pending.set(seq, { peer: s.peer, kind: 'negotiation', idx, sentAt: now, deadline: now + this.opts.negotiateEveryMs, reprobe: false, answers: s.goodAnswers });
    this.transport.send(encode(msg), s.peer, this.opts.tunnelPort);
    s.nextNegotiationAt = now + this.opts.negotiateEveryMs;
    this.countSend(now);
  }

  private sendTelemetry(s: PeerSession, idx: number, now: number, reprobe: boolean): void {
    if (idx >= s.paths.nports) return;
    const port = s.paths.portOf(idx);
    const seq = this.nextSeq();
    let flags = 0;
    let aux = 0;
    // A middlebox (SPORT_LEARNING) sends its tenant replies on the port the flow
    // arrives on: for it a port is both directions, and a broken return path is
    // this side's to find (ZooRoute §4.1), so its re-probes use no reply port.
    const mirrored = s.peerModes !== undefined && (s.peerModes & Mode.SPORT_LEARNING) !== 0;
    if (reprobe && !mirrored && s.goodReturnPort !== undefined && now - s.goodReturnAt <= this.opts.returnPortFreshMs) {
      flags |= Flag.REPLY_PORT;
      aux = s.goodReturnPort;
    }
    const msg = telemetryRequest({
      mode: this.opts.mode === 'full' ? Mode.FULL_PROBE : Mode.PARTIAL_PROBE,
      flags,
      aux,
      txSport: port,
      seq,
      srcVtep: ipv4ToU32(this.localVtep),
      reflect: this.reflect(port, idx),
    });
    this.pending.set(seq, { peer: s.peer, kind: 'telemetry', idx, sentAt: now, deadline: now + this.deadlineMs(s), reprobe, answers: s.goodAnswers });
    this.transport.send(encode(msg), s.peer, this.opts.tunnelPort);
    s.probesSent++;
    (reprobe ? this.metrics.reprobesSent : this.metrics.probesSent).inc();
    this.countSend(now);
  }

  /** Send what is due and expire what timed out. Call often (every few ms). */
  /** Gap between ticks beyond which the agent itself counts as stalled (ms). */
  private get stallMs(): number {
    return Math.max(10, this.opts.rttThresholdMs / 2);
  }

  /** True while this process is behind: the loop has not ticked for longer than stallMs. */
  private stalled(now: number): boolean {
    return this.lastTickAt > -Infinity && now - this.lastTickAt > this.stallMs;
  }

  /** Whether the agent socket holds unread datagrams (read just before each tick). */
  setBacklog(b: boolean): void {
    this.backlog = b;
  }

  /** The agent's socket dropped datagrams: until `until`, no answer's absence counts against a path. */
  distrust(until: number): void {
    if (until > this.distrustUntil) this.distrustUntil = until;
  }

  tick(now: number): void {
    const stalled = this.stalled(now);
    if (stalled) this.metrics.stalls.inc();
    const distrusted = now < this.distrustUntil;
    this.lastTickAt = now;
    for (const [seq, p] of this.pending) {
      if (p.deadline > now) continue;
      if (distrusted && p.kind === 'telemetry') {
        // our own socket dropped datagrams: this answer may be one of them
        this.pending.delete(seq);
        this.metrics.ignored.inc({ reason: 'socket_drops' });
        continue;
      }
      if (this.backlog && now - p.deadline < MAX_BACKLOG_WAIT_MS) continue; // read the socket first
      if (stalled && !p.extended) {
        // the deadline passed while this process was not running: the answer may
        // be waiting in the socket. Give it one more deadline instead of blaming the path.
        const s = this.sessions.get(p.peer);
        p.deadline = now + (s ? this.deadlineMs(s) : this.opts.rttThresholdMs);
        p.extended = true;
        continue;
      }
      this.pending.delete(seq);
      if (p.kind === 'telemetry') {
        const s = this.sessions.get(p.peer);
        if (!s) continue;
        this.metrics.lost.inc();
        this.scheduler.window(p.peer)?.onLoss();
        this.outcome(s, p.idx, now, { failed: true, reprobe: p.reprobe, sentAnswers: p.answers });
      }
    }
    for (const s of this.sessions.values()) {
      if (s.state === 'negotiating' && now >= s.nextNegotiationAt) this.sendNegotiation(s, now);
      else if (s.state === 'stopped' && now >= s.nextNegotiationAt) s.state = 'negotiating';
    }
    if (this.held.length > 0) this.releaseHeld(now);
    for (const d of this.scheduler.due(now)) {
      const s = this.sessions.get(d.peer);
      if (s?.state === 'probing') this.sendTelemetry(s, d.idx, now, d.reprobe);
    }
  }

  private releaseHeld(now: number): void {
    this.held = this.held.filter((h) => {
      const s = this.sessions.get(h.peer);
      if (!s) return false;
      if (s.goodAnswers === h.mark && now < h.until) return true;
      this.scheduler.reprobe(h.peer, h.idx);
      return false;
    });
  }

  private outcome(
    s: PeerSession,
    idx: number,
    now: number,
    o: { failed: boolean; rttMs?: number; reprobe: boolean; backendId?: string; sentAnswers?: number },
  ): void {
    if (idx >= s.paths.nports) return;
    const wasNports = s.paths.nports;
    const v = s.paths.record(now, idx, o);
    if (v.reprobe) {
      // a first failure: probe the peer's other ports now, ahead of the re-probe,
      // so the ports this failure broke are all known when this one is confirmed
      if (!o.reprobe && this.opts.burstOnFailure) {
        const b = this.scheduler.burst(s.peer, now, idx);
        if (b === 'fired') this.metrics.bursts.inc();
        else if (b === 'budget') this.metrics.burstsDenied.inc();
      }
      // the re-probe asks for a return port that answered since the failed probe
      // was sent (see `held`); a middlebox peer's answers take no reply port
      const mirrored = s.peerModes !== undefined && (s.peerModes & Mode.SPORT_LEARNING) !== 0;
      const mark = o.sentAnswers ?? s.goodAnswers;
      if (mirrored || s.goodAnswers > mark) this.scheduler.reprobe(s.peer, idx);
      else this.held.push({ peer: s.peer, idx, mark, until: now + this.deadlineMs(s) });
    }
    // an anomaly switches a partial-mode peer to full probing, unless this agent is
    // overloaded: probing 32x more then would only deepen the overload that made
    // its answers late (the failed port itself is still re-probed and bursts are budgeted)
    if (o.failed && this.opts.mode === 'partial' && !this.overloaded) this.scheduler.anomaly(s.peer, now);
    if (v.windowAdded) {
      this.scheduler.upsert(s.peer, now, s.paths.nports);
      this.log.warn({ peer: s.peer, from: wasNports, to: s.paths.nports }, 'more than half of the window is bad: probing a second window');
    }
    if (v.changes.length > 0) {
      for (const c of v.changes) this.metrics.portChanges.inc({ to: c.healthy ? 'healthy' : 'unhealthy' });
      this.events.portChanges(s.peer, v.changes);
    }
    if (v.changes.length > 0 || v.windowAdded) this.events.dirty(s.peer);
  }

  /** Handle a decoded response (0x18 / 0x7F) that arrived from d.address. */
  handleResponse(msg: NegotiationMessage | TelemetryMessage, d: Datagram, now: number): void {
    const s = this.sessions.get(d.address);
    if (!s) {
      this.metrics.ignored.inc({ reason: 'unknown_peer' });
      return;
    }
    let reflect;
    try {
      reflect = HostReflectCodec.decode(msg.reflect);
    } catch {
      this.metrics.ignored.inc({ reason: 'bad_reflect' });
      return;
    }
    if (reflect.processId !== this.processId) {
      this.metrics.stale.inc();
      return;
    }
    const p = this.pending.get(msg.seq);
    if (!p || p.peer !== s.peer) {
      this.metrics.late.inc();
      return;
    }
    this.pending.delete(msg.seq);
    const rttMs = Number(process.hrtime.bigint() - reflect.txNs) / 1e6;
    if (s.minRttMs === undefined || rttMs < s.minRttMs) s.minRttMs = rttMs;
    this.metrics.probeRtt.observe(rttMs / 1000);

    if (msg.ctl & Ctl.FIN) {
      this.stop(s, now, 'peer sent FIN');
      return;
    }
    if (msg.ctl & Ctl.RST) {
      s.state = 'negotiating';
      s.nextNegotiationAt = now;
      this.log.info({ peer: s.peer }, 'peer asked to re-negotiate (RST)');
      return;
    }

    if (p.kind === 'negotiation') {
      if (msg.type !== MsgType.NEGOTIATION_RESPONSE) return;
      this.negotiated(s, msg, now);
      return;
    }
    if (msg.type !== MsgType.TELEMETRY_RESPONSE) return;
    this.scheduler.window(s.peer)?.onResponse(msg.ctl);
    if (msg.ctl & Ctl.BP) s.bpResponses++;
    const failed = rttMs > this.deadlineMs(s);
    if (failed && (p.extended || this.backlog || this.stalled(now) || now < this.distrustUntil)) {
      // slow only because this process was behind (the answer sat in the socket): no verdict
      this.metrics.ignored.inc({ reason: 'agent_stall' });
      return;
    }
    if (failed) this.metrics.slow.inc();
    else {
      this.metrics.responses.inc();
      s.goodReturnPort = d.port;
      s.goodReturnAt = now;
      s.goodAnswers++;
    }
    this.outcome(s, p.idx, now, {
      failed,
      rttMs,
      reprobe: p.reprobe,
      sentAnswers: p.answers,
      ...(this.opts.middleboxSensing && msg.backendId && s.peerModes !== undefined && s.peerModes & Mode.MIDDLEBOX_SENSING
        ? { backendId: msg.backendId.toString(16) }
        : {}),
    });
  }

  private negotiated(s: PeerSession, msg: NegotiationMessage | TelemetryMessage, now: number): void {
    const ttl = ingressTtl(msg);
    s.version = msg.version;
    s.peerModes = msg.mode;
    s.hops = ttl === undefined ? undefined : hopsFromTtl(ttl);
    s.interRegion = s.hops !== undefined && s.hops >= this.opts.interRegionHops;
    if (s.interRegion !== s.paths.opts.interRegion) s.paths.opts.interRegion = s.interRegion;
    const mode: ProbeMode =
      this.opts.mode === 'partial' && !s.interRegion && msg.mode & Mode.PARTIAL_PROBE ? 'partial' : 'full';
    s.state = 'probing';
    s.negotiatedAt = now;
    s.paths.opts.optimistic = mode === 'partial';
    this.scheduler.upsert(s.peer, now, s.paths.nports, { mode });
    // partial mode writes the peer's first entry at once (ports not yet probed count
    // as healthy): the tenant traffic gets steered and its ports in use are probed
    if (mode === 'partial') this.events.dirty(s.peer);
    this.metrics.negotiations.inc();
    this.log.info(
      { peer: s.peer, version: s.version, peerModes: s.peerModes, hops: s.hops, interRegion: s.interRegion, mode },
      'negotiated',
    );
  }

  private stop(s: PeerSession, now: number, why: string): void {
    s.state = 'stopped';
    s.nextNegotiationAt = now + this.opts.finRetryMs;
    this.scheduler.remove(s.peer);
    for (const [seq, p] of this.pending) if (p.peer === s.peer) this.pending.delete(seq);
    this.log.info({ peer: s.peer, why }, 'probing task stopped');
    this.events.removed(s.peer);
  }

  /** In-use ports reported by the data plane (partial mode). */
  setInUse(peer: string, portsInUse: bigint, now?: number): void {
    this.scheduler.setInUse(peer, portsInUse, now);
  }

  get pendingCount(): number {
    return this.pending.size;
  }
}
