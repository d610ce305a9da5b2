/**
 * The responder (ZooRoute §3.2, §4.2): answers negotiation and telemetry
 * requests from peer VTEPs. The answer leaves on a return port chosen from this
 * host's own fast table for the requester (selectPort over its healthy ports,
 * keyed by the probed port), or on the port the requester asks for
 * (Flag.REPLY_PORT), or, for a peer this host has no entry for (always in the
 * middlebox role), on the port the request came on (source-port learning).
 * CTL comes from a per-source token bucket sized by local CPU; a telemetry
 * request without a prior negotiation gets CTL=RST so the requester
 * re-negotiates.
 *
 * With the in-kernel reflector, a negotiation also registers the source in
 * ps_reflect_src, and from then on the kernel answers its telemetry requests
 * the same way (helpers/reflect.h); this class answers whatever the kernel
 * leaves to it, and expires sessions the kernel has not used either.
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
  PS_VERSION,
  encode,
  responseTo,
  u32ToIpv4,
  type NegotiationMessage,
  type TelemetryMessage,
} from '../protocol/index.js';
import type { AgentMetrics } from './metrics.js';
import { ResponderBuckets, type TokenBucketOptions } from './rate-control.js';
import type { ReflectorStore } from './reflector.js';
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
  /** host: return ports from the own table; middlebox: always the port the request came on. @default host */
  role?: 'host' | 'middlebox';
  /** The in-kernel reflector's sessions (absent: everything is answered here). */
  kernel?: ReflectorStore;
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

  /** Modes this responder announces in negotiation responses. */
  get modes(): number {
    return SUPPORTED_MODES | (this.opts.role === 'middlebox' ? Mode.SPORT_LEARNING : 0);
  }

  /** Sessions the kernel holds from a previous agent process (fail-static restart) become ours. */
  adoptKernelSessions(now: number): number {
    const k = this.opts.kernel?.sessions() ?? [];
    for (const s of k) if (!this.sessions.has(s.peer)) this.sessions.set(s.peer, { version: 1, lastSeen: now });
    return k.length;
  }

  /** The return port for a request that came on `probedPort` from `peer`. */
  returnPort(peer: string, req: NegotiationMessage | TelemetryMessage): number {
    if (req.flags & Flag.REPLY_PORT && req.aux > 0) return req.aux;
    if (this.opts.role === 'middlebox') return req.txSport;
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
      mode = this.modes;
      this.registerKernelSession(d.address);
    } else {
      let sess = this.sessions.get(d.address);
      if (!sess && this.opts.role === 'middlebox' && msg.version === PS_VERSION) {
        // A middlebox's instances share one address (anycast): a peer negotiates with
        // one of them and probes them all. Each answers any peer of its version.
        sess = { version: msg.version, lastSeen: now };
        this.sessions.set(d.address, sess);
        this.registerKernelSession(d.address);
      }
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

  private registerKernelSession(peer: string): void {
    try {
      this.opts.kernel?.addSession(peer);
    } catch (e) {
      // the kernel cannot take it (map full): this process answers it instead
      this.log.warn({ peer, err: (e as Error).message }, 'cannot register the session with the in-kernel reflector');
    }
  }

  /**
   * Drop sessions and buckets of peers that went quiet: neither this process
   * nor the kernel answered them for sessionTtlMs. `nowNs` is CLOCK_MONOTONIC
   * (the kernel's clock), `now` this process's ms clock.
   */
  prune(now: number, nowNs: bigint = process.hrtime.bigint()): void {
    const ttlNs = BigInt(this.opts.sessionTtlMs) * 1_000_000n;
    const kernel = new Map((this.opts.kernel?.sessions() ?? []).map((s) => [s.peer, s]));
    for (const [k, s] of this.sessions) {
      const ks = kernel.get(k);
      if (ks && ks.lastNs > 0n && nowNs - ks.lastNs <= ttlNs) s.lastSeen = Math.max(s.lastSeen, now - Number((nowNs - ks.lastNs) / 1_000_000n));
      if (now - s.lastSeen > this.opts.sessionTtlMs) {
        this.sessions.delete(k);
        if (ks) this.opts.kernel?.removeSession(k);
      }
    }
    // kernel sessions this process does not know (it was told to forget them, or a race): drop
    for (const k of kernel.keys()) if (!this.sessions.has(k)) this.opts.kernel?.removeSession(k);
    this.buckets.prune(now - this.opts.sessionTtlMs);
  }

  /** The per-source limits at the current CPU load (for the in-kernel reflector). */
  limits(): { ratePerSec: number; burst: number } {
    return this.buckets.limits();
  }

  setCpu(cpuPct: number): void {
    this.buckets.setCpu(cpuPct);
  }

  get sessionCount(): number {
    return this.sessions.size;
  }
}
