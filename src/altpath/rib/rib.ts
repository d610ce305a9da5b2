/**
 * The collector's routing information: every monitored peer's Adj-RIB-In,
 * pre-policy and post-policy kept apart (RFC 7854 §2, the L flag), indexed by
 * prefix so ranking and longest-prefix match read one map. A route is one
 * (prefix, peer, policy) entry; its attributes are shared by every prefix of
 * the UPDATE that carried them. Peer Down (or a lost BMP session) clears that
 * peer's routes.
 */
import { ipv4Mask, ipv4Value, parseIpv6 } from '../../common/net.js';
import { asPathLength, formatAsPath, type PathAttributes } from '../bgp/update.js';
import { AsSegmentType } from '../bgp/constants.js';
import { ipv4Key, nlriKey, nlriText, keyNlri, type Nlri, type PrefixKey } from '../bgp/nlri.js';

/** A monitored BGP peer of a router (one BMP session may monitor many). */
export interface RibPeer {
  /** Unique in the collector: `<router>/<peer address>[ distinguisher]`. */
  id: string;
  /** The BMP session (router) it was seen through. */
  router: string;
  address: string;
  asn: number;
  bgpId: string;
  /** The monitored router's own ASN (from Peer Up's sent OPEN); undefined before Peer Up. */
  localAsn?: number;
  /** Sent post-policy routes at least once: ranking uses its post-policy view. */
  hasPostPolicy: boolean;
  /** Configured weight (RFC 4271 has none; Cisco-style, highest wins). @default 0 */
  weight: number;
  up: boolean;
  /** address and bgpId as u32 (-1 for IPv6), for fast tie-breaks. */
  addrNum: number;
  bgpIdNum: number;
}

/**
 * Attributes plus what ranking reads from them, computed once per UPDATE and
 * shared by its prefixes. A class (one hidden class for every route: the
 * ranking's property reads stay monomorphic); the path text and the set of
 * ASNs are made only when asked for (status, exclusions).
 */
export class RouteAttrs implements PathAttributes {
  readonly origin: PathAttributes['origin'];
  readonly asPath: PathAttributes['asPath'];
  readonly nextHop: string | undefined;
  readonly mpNextHop: string | undefined;
  readonly med: number | undefined;
  readonly localPref: number | undefined;
  readonly atomicAggregate: boolean | undefined;
  readonly aggregator: PathAttributes['aggregator'];
  readonly communities: number[] | undefined;
  readonly asPathLen: number;
  /** First AS of the path (the neighbour AS for MED comparison), 0 when the path is empty. */
  readonly neighborAs: number;
  /** Last AS of the path (the destination network), 0 when empty. */
  readonly originAs: number;
  private text?: string;
  private set?: ReadonlySet<number>;

  constructor(a: PathAttributes) {
    this.origin = a.origin;
    this.asPath = a.asPath;
    this.nextHop = a.nextHop;
    this.mpNextHop = a.mpNextHop;
    this.med = a.med;
    this.localPref = a.localPref;
    this.atomicAggregate = a.atomicAggregate;
    this.aggregator = a.aggregator;
    this.communities = a.communities;
    let first = 0;
    let last = 0;
    for (const s of a.asPath) {
      if (s.type !== AsSegmentType.AS_SEQUENCE && s.type !== AsSegmentType.AS_SET) continue;
      if (first === 0 && s.type === AsSegmentType.AS_SEQUENCE && s.asns.length) first = s.asns[0]!;
      if (s.asns.length) last = s.asns[s.asns.length - 1]!;
    }
    this.asPathLen = asPathLength(a.asPath);
    this.neighborAs = first;
    this.originAs = last;
  }

  /** "65001 65002 {65003,65004}". */
  get pathText(): string {
    return (this.text ??= formatAsPath(this.asPath));
  }

  /** Every ASN on the path. */
  get asns(): ReadonlySet<number> {
    if (!this.set) {
      const s = new Set<number>();
      for (const seg of this.asPath) if (seg.type === AsSegmentType.AS_SEQUENCE || seg.type === AsSegmentType.AS_SET) for (const x of seg.asns) s.add(x);
      this.set = s;
    }
    return this.set;
  }
}

export interface Route {
  peer: RibPeer;
  /** Post-policy (L flag) or pre-policy Adj-RIB-In. */
  post: boolean;
  attrs: RouteAttrs;
  /** Cached routeId (a route belongs to one prefix; set by the controller). */
  id?: string;
}

/**
 * One prefix and its routes. Only the key is stored (a Smi for most IPv4
 * prefixes): the prefix object is rebuilt when asked for, so a full table
 * costs the garbage collector three objects per prefix, not five.
 */
export class PrefixEntry {
  routes: Route[] = [];
  /** Bumped whenever this prefix's routes change (ranking caches compare it). */
  version = 0;
  constructor(readonly key: PrefixKey) {}

  get nlri(): Nlri {
    return keyNlri(this.key);
  }

  get family(): 4 | 6 {
    return typeof this.key === 'number' || this.key.startsWith('v4:') ? 4 : 6;
  }
}

export function routeAttrs(a: PathAttributes): RouteAttrs {
  return new RouteAttrs(a);
}

/** The next hop traffic for this route is sent to. */
export function routeNextHop(r: Route, family: 4 | 6): string | undefined {
  return family === 6 ? r.attrs.mpNextHop : (r.attrs.nextHop ?? r.attrs.mpNextHop);
}

export class Rib {
  private readonly prefixes = new Map<PrefixKey, PrefixEntry>();
  private readonly peerMap = new Map<string, RibPeer>();
  /** How many prefixes of each length exist per family (longest-prefix match tries only these). */
  private readonly lens4 = new Uint32Array(33);
  private readonly lens6 = new Uint32Array(129);
  private routeCount = 0;
  /** Bumped on every change. */
  version = 0;
  /** Bumped when a peer appears, goes down or switches to post-policy: candidates of every prefix may differ. */
  epoch = 0;

  get size(): number {
    return this.prefixes.size;
  }

  get routes(): number {
    return this.routeCount;
  }

  peers(): RibPeer[] {
    return [...this.peerMap.values()];
  }

  peer(id: string): RibPeer | undefined {
    return this.peerMap.get(id);
  }

  /** Find or create a peer record. */
  ensurePeer(p: Omit<RibPeer, 'hasPostPolicy' | 'weight' | 'up' | 'addrNum' | 'bgpIdNum'> & Partial<Pick<RibPeer, 'weight'>>): RibPeer {
    let peer = this.peerMap.get(p.id);
    if (!peer) {
      peer = { hasPostPolicy: false, weight: 0, up: true, ...p, addrNum: ipv4Value(p.address), bgpIdNum: ipv4Value(p.bgpId) };
      this.peerMap.set(p.id, peer);
    } else {
      peer.asn = p.asn;
      peer.bgpId = p.bgpId;
      peer.bgpIdNum = ipv4Value(p.bgpId);
      if (p.localAsn !== undefined) peer.localAsn = p.localAsn;
    }
    this.epoch++;
    return peer;
  }

  /** Mark a peer up (Peer Up, or routes seen before it). */
  setUp(peer: RibPeer): void {
    if (!peer.up) this.epoch++;
    peer.up = true;
  }

  entry(key: PrefixKey): PrefixEntry | undefined {
    return this.prefixes.get(key);
  }

  entries(): IterableIterator<PrefixEntry> {
    return this.prefixes.values();
  }

  /** Announce (or replace) `peer`'s route for each prefix. */
  announce(peer: RibPeer, post: boolean, nlri: readonly Nlri[], attrs: RouteAttrs): void {
    if (post && !peer.hasPostPolicy) {
      peer.hasPostPolicy = true;
      this.epoch++;
    }
    for (let i = 0; i < nlri.length; i++) {
      const n = nlri[i]!;
      const key = nlriKey(n);
      let e = this.prefixes.get(key);
      if (!e) {
        e = new PrefixEntry(key);
        this.prefixes.set(key, e);
        (n.family === 4 ? this.lens4 : this.lens6)[n.len]!++;
      }
      const rs = e.routes;
      e.version++;
      let j = 0;
      while (j < rs.length && (rs[j]!.peer !== peer || rs[j]!.post !== post)) j++;
      const route: Route = { peer, post, attrs, id: undefined };
      if (j < rs.length) rs[j] = route;
      else {
        // a new array of the exact size: push() would grow the backing store to 17 slots, per prefix
        const next = new Array<Route>(rs.length + 1);
        for (let k = 0; k < rs.length; k++) next[k] = rs[k]!;
        next[rs.length] = route;
        e.routes = next;
        this.routeCount++;
      }
    }
    this.version++;
  }

  /** Withdraw `peer`'s route (of that policy) for each prefix; unknown prefixes are ignored. Returns how many were removed. */
  withdraw(peer: RibPeer, post: boolean, nlri: readonly Nlri[]): number {
    let removed = 0;
    for (const n of nlri) {
      const e = this.prefixes.get(nlriKey(n));
      if (!e) continue;
      const j = e.routes.findIndex((r) => r.peer === peer && r.post === post);
      if (j < 0) continue;
      e.routes.splice(j, 1);
      e.version++;
      removed++;
      this.routeCount--;
      if (e.routes.length === 0) this.dropEntry(e);
    }
    if (removed) this.version++;
    return removed;
  }

  /** Remove every route of a peer (Peer Down, session lost); the peer is marked down. Returns the routes removed. */
  clearPeer(peer: RibPeer): number {
    let removed = 0;
    for (const e of this.prefixes.values()) {
      const before = e.routes.length;
      e.routes = e.routes.filter((r) => r.peer !== peer);
      if (e.routes.length !== before) e.version++;
      removed += before - e.routes.length;
      if (e.routes.length === 0) this.dropEntry(e);
    }
    this.routeCount -= removed;
    peer.up = false;
    peer.hasPostPolicy = false;
    this.version++;
    this.epoch++;
    return removed;
  }

  /** Forget a peer record (after clearPeer). */
  forgetPeer(peer: RibPeer): void {
    this.peerMap.delete(peer.id);
  }

  /** One peer's Adj-RIB-In of one policy: [prefix text, route]. */
  *adjRibIn(peer: RibPeer, post: boolean): IterableIterator<[string, Route]> {
    for (const e of this.prefixes.values()) {
      for (const r of e.routes) if (r.peer === peer && r.post === post) yield [nlriText(e.nlri), r];
    }
  }

  /** Route counts per peer and policy. */
  counts(): Map<RibPeer, { pre: number; post: number }> {
    const out = new Map<RibPeer, { pre: number; post: number }>();
    for (const p of this.peerMap.values()) out.set(p, { pre: 0, post: 0 });
    for (const e of this.prefixes.values()) {
      for (const r of e.routes) {
        const c = out.get(r.peer);
        if (c) c[r.post ? 'post' : 'pre']++;
      }
    }
    return out;
  }

  /** Longest-prefix match of an address (text) against the RIB's prefixes. */
  lookup(addr: string): PrefixEntry | undefined {
    const v4 = ipv4Value(addr);
    if (v4 >= 0) {
      for (let len = 32; len >= 0; len--) {
        if (this.lens4[len] === 0) continue;
        const e = this.prefixes.get(ipv4Key((v4 & ipv4Mask(len)) >>> 0, len));
        if (e) return e;
      }
      return undefined;
    }
    let bytes: Buffer;
    try {
      bytes = parseIpv6(addr);
    } catch {
      return undefined;
    }
    for (let len = 128; len >= 0; len--) {
      if (this.lens6[len] === 0) continue;
      const b = Buffer.from(bytes);
      for (let i = 0; i < 16; i++) {
        const keep = Math.max(0, Math.min(8, len - 8 * i));
        b[i]! &= (0xff << (8 - keep)) & 0xff;
      }
      const e = this.prefixes.get(`${b.toString('hex')}/${len}`);
      if (e) return e;
    }
    return undefined;
  }

  private dropEntry(e: PrefixEntry): void {
    this.prefixes.delete(e.key);
    const n = e.nlri;
    (n.family === 4 ? this.lens4 : this.lens6)[n.len]!--;
  }
}

export { nlriText, keyNlri };
