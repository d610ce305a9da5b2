/**
 * One BMP session (one router's TCP connection), independent of the socket:
 * bytes in through the framer, each message decoded and applied to the RIB.
 * What it cannot use it counts and logs (debug, at most one line per reason
 * per interval): unknown message types, Route Mirroring, Adj-RIB-Out and
 * Loc-RIB routes, malformed messages (skipped), skipped path attributes,
 * treat-as-withdraw updates, Route Monitoring before Peer Up (accepted: the
 * peer is created from the per-peer header). A framing error is fatal to the
 * session; `close()` then removes every route learnt through it, and nothing
 * of other sessions.
 */
import type { Logger } from '../../common/logger.js';
import { BgpError } from '../bgp/errors.js';
import { nlriText } from '../bgp/nlri.js';
import { AsSegmentType } from '../bgp/constants.js';
import type { PathAttributes } from '../bgp/update.js';
import { PeerType } from './constants.js';
import { BmpError } from './errors.js';
import { BmpFramer } from './framer.js';
import { decode, isAdjRibOut, isPostPolicy, peerKey, type BmpMessage, type PerPeerHeader, type StatEntry } from './messages.js';
import { routeAttrs, type Rib, type RibPeer } from '../rib/rib.js';

export interface SessionOptions {
  /** Keep BGP communities on routes. @default false */
  keepCommunities?: boolean;
  /** Weight per peer address (best-path step 1). @default {} */
  peerWeights?: Record<string, number>;
  /** Largest BMP message accepted. @default BMP_MAX_MESSAGE_SIZE */
  maxMessageSize?: number;
  /**
   * Undo the local AS that FRR (through 10.x) prepends to AS_PATHs in Route
   * Monitoring (it encodes them as for an outbound UPDATE): a path received
   * over eBGP that starts with the monitored router's own AS followed by the
   * peer's AS loses that first AS. A real eBGP path never starts with the
   * receiver's own AS (its loop detection would have dropped the route).
   * @default true
   */
  fixLocalAsPrepend?: boolean;
  /** Minimum ms between two debug lines for the same skip reason. @default 10000 */
  logIntervalMs?: number;
  logger?: Logger;
}

/** Counters of a session (and, summed, of the collector). */
export interface SessionCounters {
  bytes: number;
  messages: Record<string, number>;
  /** Skipped messages and attributes by reason. */
  skipped: Record<string, number>;
  announced: number;
  withdrawn: number;
}

export interface SessionStatus {
  router: string;
  remote: string;
  sysName?: string;
  sysDescr?: string;
  connectedAt: string;
  closed: boolean;
  terminationReason?: number;
  error?: string;
  peers: Array<{ id: string; address: string; asn: number; bgpId: string; localAsn?: number; up: boolean; endOfRib: string[]; stats: StatEntry[] }>;
  counters: SessionCounters;
}

export function emptyCounters(): SessionCounters {
  return { bytes: 0, messages: {}, skipped: {}, announced: 0, withdrawn: 0 };
}

const inc = (rec: Record<string, number>, k: string, n = 1): void => {
  rec[k] = (rec[k] ?? 0) + n;
};

export class BmpSession {
  readonly counters = emptyCounters();
  readonly framer: BmpFramer;
  private readonly peers = new Map<string, RibPeer>();
  private readonly eor = new Map<string, Set<string>>();
  private readonly stats = new Map<string, StatEntry[]>();
  private readonly lastLog = new Map<string, number>();
  private readonly peerCache: { bytes?: Buffer; header?: PerPeerHeader } = {};
  private lastPeer?: { header: PerPeerHeader; key: string };
  private sysName?: string;
  private sysDescr?: string;
  private terminationReason?: number;
  private error?: string;
  private closed = false;
  private readonly connectedAt = new Date().toISOString();

  constructor(
    readonly rib: Rib,
    /** The router's name in peer ids (its address, unique among live sessions). */
    readonly router: string,
    readonly remote: string,
    private readonly opts: SessionOptions = {},
  ) {
    this.framer = new BmpFramer({ maxMessageSize: opts.maxMessageSize });
  }

  /**
   * Feed bytes from the router. Returns false after a fatal framing error
   * (the caller drops the connection and calls close()); never throws.
   */
  push(chunk: Buffer): boolean {
    if (this.closed) return false;
    this.counters.bytes += chunk.length;
    let frames: Buffer[];
    try {
      frames = this.framer.push(chunk);
    } catch (e) {
      this.error = e instanceof Error ? e.message : String(e);
      this.skip('framing error');
      this.opts.logger?.warn({ router: this.router, err: this.error }, 'BMP stream broken; dropping the connection');
      return false;
    }
    for (const f of frames) this.handleFrame(f);
    return true;
  }

  /** Apply one whole message (as the framer cut it); errors are counted, never thrown. */
  handleFrame(frame: Buffer): void {
    let m: BmpMessage;
    try {
      m = decode(frame, 0, { keepCommunities: this.opts.keepCommunities, peerCache: this.peerCache });
    } catch (e) {
      if (e instanceof BmpError || e instanceof BgpError) {
        const type = frame.length >= 6 ? frame[5]! : -1;
        this.skip(`malformed message type ${type}`, e.message);
        return;
      }
      throw e;
    }
    inc(this.counters.messages, m.type);
    this.apply(m);
  }

  private apply(m: BmpMessage): void {
    switch (m.type) {
      case 'initiation':
        this.sysName = m.sysName;
        this.sysDescr = m.sysDescr;
        return;
      case 'termination':
        this.terminationReason = m.reason;
        return;
      case 'unknown':
        this.skip(`unknown message type ${m.code}`);
        return;
      case 'route-mirroring':
        this.skip('route mirroring');
        return;
      case 'stats-report':
        this.stats.set(peerKey(m.peer), m.stats);
        return;
      case 'peer-up': {
        const key = peerKey(m.peer);
        const old = this.peers.get(key);
        if (old?.up) {
          this.skip('peer up while up (routes cleared)');
          this.rib.clearPeer(old);
        }
        const peer = this.peerFor(m.peer, m.sentOpen.asn);
        this.rib.setUp(peer);
        this.eor.set(key, new Set());
        return;
      }
      case 'peer-down': {
        const peer = this.peers.get(peerKey(m.peer));
        if (!peer) {
          this.skip('peer down for an unknown peer');
          return;
        }
        this.counters.withdrawn += this.rib.clearPeer(peer);
        this.eor.delete(peerKey(m.peer));
        return;
      }
      case 'route-monitoring': {
        if (isAdjRibOut(m.peer)) return this.skip('Adj-RIB-Out route monitoring');
        if (m.peer.peerType === PeerType.LOC_RIB) return this.skip('Loc-RIB route monitoring');
        const key = this.lastPeer?.header === m.peer ? this.lastPeer.key : peerKey(m.peer);
        this.lastPeer = { header: m.peer, key };
        let peer = this.peers.get(key);
        if (!peer || !peer.up) {
          this.skip('route monitoring before peer up (peer created)');
          peer = this.peerFor(m.peer, undefined);
          this.rib.setUp(peer);
        }
        const post = isPostPolicy(m.peer);
        const u = m.update;
        for (const s of u.skipped) this.skip(`attribute ${s.type} ${s.reason}`);
        if (u.withdrawn.length) this.counters.withdrawn += this.rib.withdraw(peer, post, u.withdrawn);
        if (u.treatAsWithdraw) {
          this.skip(`treat-as-withdraw: ${u.treatAsWithdraw}`, u.nlri.slice(0, 3).map(nlriText).join(' '));
          if (u.nlri.length) this.counters.withdrawn += this.rib.withdraw(peer, post, u.nlri);
        } else if (u.attrs && u.nlri.length) {
          this.rib.announce(peer, post, u.nlri, routeAttrs(this.fixPath(peer, u.attrs)));
          this.counters.announced += u.nlri.length;
        }
        if (u.endOfRib) {
          let s = this.eor.get(key);
          if (!s) this.eor.set(key, (s = new Set()));
          s.add(`${post ? 'post' : 'pre'} ${u.endOfRib.afi}/${u.endOfRib.safi}`);
        }
        return;
      }
    }
  }

  private fixPath(peer: RibPeer, a: PathAttributes): PathAttributes {
    if (this.opts.fixLocalAsPrepend === false || peer.localAsn === undefined || peer.localAsn === peer.asn) return a;
    const first = a.asPath[0];
    if (!first || first.type !== AsSegmentType.AS_SEQUENCE || first.asns[0] !== peer.localAsn) return a;
    const second = first.asns.length > 1 ? first.asns[1] : a.asPath[1]?.asns[0];
    if (second !== peer.asn) return a;
    this.counters.skipped['local AS prepend removed'] = (this.counters.skipped['local AS prepend removed'] ?? 0) + 1;
    const rest = first.asns.length > 1 ? [{ type: first.type, asns: first.asns.slice(1) }, ...a.asPath.slice(1)] : a.asPath.slice(1);
    return { ...a, asPath: rest };
  }

  private peerFor(h: PerPeerHeader, localAsn: number | undefined): RibPeer {
    const key = peerKey(h);
    const peer = this.rib.ensurePeer({
      id: `${this.router}/${key}`,
      router: this.router,
      address: h.address,
      asn: h.asn,
      bgpId: h.bgpId,
      localAsn,
      weight: this.opts.peerWeights?.[h.address] ?? 0,
    });
    this.peers.set(key, peer);
    return peer;
  }

  private skip(reason: string, detail?: string): void {
    inc(this.counters.skipped, reason);
    const log = this.opts.logger;
    if (!log) return;
    const now = Date.now();
    const last = this.lastLog.get(reason) ?? -Infinity;
    if (now - last < (this.opts.logIntervalMs ?? 10_000)) return;
    this.lastLog.set(reason, now);
    log.debug({ router: this.router, reason, detail, count: this.counters.skipped[reason] }, 'BMP: skipped');
  }

  /** The session ended (socket closed or broken): remove every route learnt through it. Safe twice. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const p of this.peers.values()) {
      this.rib.clearPeer(p);
      this.rib.forgetPeer(p);
    }
  }

  status(): SessionStatus {
    return {
      router: this.router,
      remote: this.remote,
      ...(this.sysName !== undefined ? { sysName: this.sysName } : {}),
      ...(this.sysDescr !== undefined ? { sysDescr: this.sysDescr } : {}),
      connectedAt: this.connectedAt,
      closed: this.closed,
      ...(this.terminationReason !== undefined ? { terminationReason: this.terminationReason } : {}),
      ...(this.error ? { error: this.error } : {}),
      peers: [...this.peers.entries()].map(([k, p]) => ({
        id: p.id,
        address: p.address,
        asn: p.asn,
        bgpId: p.bgpId,
        ...(p.localAsn !== undefined ? { localAsn: p.localAsn } : {}),
        up: p.up,
        endOfRib: [...(this.eor.get(k) ?? [])],
        stats: this.stats.get(k) ?? [],
      })),
      counters: this.counters,
    };
  }
}
