/**
 * The responder (ZooRoute §3.2, §4.2): answers negotiation and telemetry
 * requests from peer VTEPs. The answer leaves on a return port chosen from this
 * host's own fast table for the requester (selectPort over its healthy ports,
 * keyed by the probed port), or on the port the requester asks for
 * (Flag.REPLY_PORT), or, for a peer this host has no entry for, on the port the
 * request came on (source-port learning). CTL comes from a per-source token
 * bucket sized by local CPU; a telemetry request without a prior negotiation
 * gets CTL=RST so the requester re-negotiates (e.g. after this agent restarted).
 *
 * Ignored and counted: requests whose source VTEP field does not match the IP
 * source, sources outside the allowed prefixes.
 */
import type { Logger } from '../common/logger.js';
import { ipv4InPrefix, type Ipv4Prefix } from '../common/net.js';
import type { PathEntry } from '../maps/path-entry.js';
import {
  Ctl,
  Flag,
  ipv4ToU32,
  Mode,
  MsgType,
  encode,
  responseTo,
  u32ToIpv4,
  type NegotiationMessage,
  type TelemetryMessage,
} from '../protocol/index.js';
import type { AgentMetrics } from './metrics.js';
import { ResponderBuckets, type TokenBucketOptions } from './rate-control.js';
import { SUPPORTED_MODES } from './prober.js';
import { selectPort } from './select-port.js';
import type { Datagram, Transport } from './transport.js';


export interface ResponderOptions {
  tunnelPort: number;
  /** Answer only sources in these prefixes. @default any */
  allow: Ipv4Prefix[];
  /** Negotiation sessions expire after this long without a request (ms). @default 300000 */
  sessionTtlMs: number;
  /** Per-source token bucket. @default 2000 tokens/s, 4000 max */
  bucket?: TokenBucketOptions;
}

export class Responder {
  private readonly sessions = new Map<string, { version: number; lastSeen: number }>();
  readonly buckets: ResponderBuckets;

  constructor(
    private readonly transport: Transport,
    private readonly localVtep: string,
    private readonly backendId: number,
    /** This host's fast-table entry for a peer (what the data plane uses). */
    private readonly entryFor: (peer: string) => PathEntry | undefined,
    private readonly metrics: AgentMetrics,
    private readonly log: Logger,
    private readonly opts: ResponderOptions,
  ) {
    this.buckets = new ResponderBuckets(opts.bucket);
  }

  /** The return port for a request that came on `probedPort` from `peer`. */
  returnPort(peer: string, req: NegotiationMessage | TelemetryMessage): number {
    if (req.flags & Flag.REPLY_PORT && req.aux > 0) return req.aux;
    const e = this.entryFor(peer);
    const choice = e ? selectPort(e, req.txSport) : undefined;
    return choice ? choice.port : req.txSport;
  }

  handleRequest(msg: NegotiationMessage | TelemetryMessage, d: Datagram, now: number): void {
    const src = ipv4ToU32(d.address);
    if (msg.srcVtep !== src) {
      this.metrics.ignored.inc({ reason: 'source_mismatch' });
      this.log.debug({ from: d.address, claims: u32ToIpv4(msg.srcVtep) }, 'request ignored: source VTEP field does not match');
      return;
    }
    if (this.opts.allow.length > 0 && !this.opts.allow.some((c) => ipv4InPrefix(src, c))) {
      this.metrics.ignored.inc({ reason: 'source_not_allowed' });
      return;
    }
    if (msg.txSport === 0) {
      this.metrics.ignored.inc({ reason: 'no_tx_sport' });
      return;
    }
    let ctl: number = Ctl.DEFAULT;
    let mode = msg.mode;
    if (msg.type === MsgType.NEGOTIATION_REQUEST) {
      this.sessions.set(d.address, { version: msg.version, lastSeen: now });
      mode = SUPPORTED_MODES;
    } else {
      const sess = this.sessions.get(d.address);
      if (!sess) ctl = Ctl.RST;
      else {
        sess.lastSeen = now;
        ctl = this.buckets.take(d.address, now);
      }
      mode = msg.mode & (Mode.FULL_PROBE | Mode.PARTIAL_PROBE);
    }
    const resp = responseTo(msg, {
      txSport: this.returnPort(d.address, msg),
      srcVtep: ipv4ToU32(this.localVtep),
      backendId: this.backendId,
      ctl,
      mode,
    });
    // a REPLY_PORT request is answered on that port; the flag is not echoed back as a request
    resp.flags = msg.flags & ~Flag.REPLY_PORT;
    this.transport.send(encode(resp), d.address, this.opts.tunnelPort);
    this.metrics.requestsAnswered.inc({
      type: msg.type === MsgType.NEGOTIATION_REQUEST ? 'negotiation' : 'telemetry',
      ctl: ctl === Ctl.RST ? 'rst' : ctl === Ctl.BP ? 'bp' : 'default',
    });
  }

  /** Drop sessions and buckets of peers that went quiet. */
  prune(now: number): void {
    for (const [k, s] of this.sessions) if (now - s.lastSeen > this.opts.sessionTtlMs) this.sessions.delete(k);
    this.buckets.prune(now - this.opts.sessionTtlMs);
  }

  setCpu(cpuPct: number): void {
    this.buckets.setCpu(cpuPct);
  }

  get sessionCount(): number {
    return this.sessions.size;
  }
}
