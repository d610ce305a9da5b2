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
import { nlriKey, nlriText, keyNlri, type Nlri, type PrefixKey } from '../bgp/nlri.js';

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
}

/** Attributes plus what ranking reads from them, computed once per UPDATE. */
export interface RouteAttrs extends PathAttributes {
  asPathLen: number;
  /** First AS of the path (the neighbour AS for MED comparison), 0 when the path is empty. */
  neighborAs: number;
  /** Last AS of the path (the destination network), 0 when empty. */
  originAs: number;
  /** Every ASN on the path. */
  asns: ReadonlySet<number>;
  pathText: string;
}

export interface Route {
  peer: RibPeer;
  /** Post-policy (L flag) or pre-policy Adj-RIB-In. */
  post: boolean;
  attrs: RouteAttrs;
  /** ms since the epoch the route was (re)announced. */
  since: number;
}

export interface PrefixEntry {
  key: PrefixKey;
  nlri: Nlri;
  routes: Route[];
}

export function routeAttrs(a: PathAttributes): RouteAttrs {
  const asns = new Set<number>();
  let first = 0;
  let last = 0;
  for (const s of a.asPath) {
    if (s.type !== AsSegmentType.AS_SEQUENCE && s.type !== AsSegmentType.AS_SET) continue;
    for (const x of s.asns) {
      asns.add(x);
      if (first === 0 && s.type === AsSegmentType.AS_SEQUENCE) first = x;
      last = x;
    }
  }
  return { ...a, asPathLen: asPathLength(a.asPath), neighborAs: first, originAs: last, asns, pathText: formatAsPath(a.asPath) };
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
  /** Bumped on every change; ranking caches compare it. */
  version = 0;

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
  ensurePeer(p: Omit<RibPeer, 'hasPostPolicy' | 'weight' | 'up'> & Partial<Pick<RibPeer, 'weight'>>): RibPeer {
    let peer = this.peerMap.get(p.id);
    if (!peer) {
      peer = { hasPostPolicy: false, weight: 0, up: true, ...p };
      this.peerMap.set(p.id, peer);
    } else {
      peer.asn = p.asn;
      peer.bgpId = p.bgpId;
      if (p.localAsn !== undefined) peer.localAsn = p.localAsn;
    }
    return peer;
  }

  entry(key: PrefixKey): PrefixEntry | undefined {
    return this.prefixes.get(key);
  }

  entries(): IterableIterator<PrefixEntry> {
    return this.prefixes.values();
  }

  /** Announce (or replace) `peer`'s route for each prefix. */
  announce(peer: RibPeer, post: boolean, nlri: readonly Nlri[], attrs: RouteAttrs, now = Date.now()): void {
    if (post) peer.hasPostPolicy = true;
    for (let i = 0; i < nlri.length; i++) {
      const n = nlri[i]!;
      const key = nlriKey(n);
      let e = this.prefixes.get(key);
      if (!e) {
        e = { key, nlri: n, routes: [] };
        this.prefixes.set(key, e);
        (n.family === 4 ? this.lens4 : this.lens6)[n.len]!++;
      }
      const rs = e.routes;
      let j = 0;
      while (j < rs.length && (rs[j]!.peer !== peer || rs[j]!.post !== post)) j++;
      if (j < rs.length) rs[j] = { peer, post, attrs, since: now };
      else {
        rs.push({ peer, post, attrs, since: now });
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
      removed += before - e.routes.length;
      if (e.routes.length === 0) this.dropEntry(e);
    }
    this.routeCount -= removed;
    peer.up = false;
    peer.hasPostPolicy = false;
    this.version++;
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
        const e = this.prefixes.get(((v4 & ipv4Mask(len)) >>> 0) * 64 + len);
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
    (e.nlri.family === 4 ? this.lens4 : this.lens6)[e.nlri.len]!--;
  }
}

export { nlriText, keyNlri };
