/**
 * The collector's routing information: every monitored peer's Adj-RIB-In,
 * pre-policy and post-policy kept apart (RFC 7854 §2, the L flag), indexed by
 * prefix so ranking and longest-prefix match read one map. A route is one
 * (prefix, peer, policy) entry; its attributes are shared by every prefix of
 * the UPDATE that carried them. Peer Down (or a lost BMP session) clears that
 * peer's routes.
 */
import { ipv4Mask, ipv4Value, parseIpv6 } from '../../common/net.js';
import { asPathLength, formatAsPath, type AsPathSegment, type PathAttributes } from '../bgp/update.js';
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
  /** Index of the peer in the RIB's route storage (not reused). */
  index: number;
}

/**
 * Attributes plus what ranking reads from them, computed once per UPDATE and
 * shared by its prefixes (and, interned in the RIB's AttrStore, by every
 * route with the same attributes). A class (one hidden class for every
 * route: the ranking's property reads stay monomorphic). The AS path is kept
 * flat (`[type, count, asn..., type, count, asn...]`, one array instead of
 * one per segment); `asPath`, the path text and the set of ASNs are made
 * only when asked for (status, exclusions). Rare attributes (ATOMIC_AGGREGATE,
 * AGGREGATOR, COMMUNITIES) live in one side object made only when present,
 * and next-hop strings are shared: a full table holds hundreds of thousands
 * of these.
 */
export class RouteAttrs implements PathAttributes {
  readonly origin: PathAttributes['origin'];
  /** The AS path, flat: per segment its type, its length, its ASNs. */
  readonly path: readonly number[];
  readonly nextHop: string | undefined;
  readonly mpNextHop: string | undefined;
  readonly med: number | undefined;
  readonly localPref: number | undefined;
  readonly asPathLen: number;
  /** First AS of the path (the neighbour AS for MED comparison), 0 when the path is empty. */
  readonly neighborAs: number;
  /** Last AS of the path (the destination network), 0 when empty. */
  readonly originAs: number;
  /** Hash of every attribute (AttrStore interning). */
  readonly hash: number;
  private readonly rare: Pick<PathAttributes, 'atomicAggregate' | 'aggregator' | 'communities'> | undefined;
  private memo: { text?: string; set?: ReadonlySet<number> } | undefined;

  constructor(a: PathAttributes) {
    this.origin = a.origin;
    this.nextHop = sharedHop(a.nextHop);
    this.mpNextHop = sharedHop(a.mpNextHop);
    this.med = a.med;
    this.localPref = a.localPref;
    this.rare = a.atomicAggregate !== undefined || a.aggregator !== undefined || a.communities !== undefined ? { atomicAggregate: a.atomicAggregate, aggregator: a.aggregator, communities: a.communities } : undefined;
    this.memo = undefined;
    let first = 0;
    let last = 0;
    let n = 0;
    for (const s of a.asPath) n += 2 + s.asns.length;
    const path = new Array<number>(n);
    let k = 0;
    for (const s of a.asPath) {
      path[k++] = s.type;
      path[k++] = s.asns.length;
      for (let i = 0; i < s.asns.length; i++) path[k++] = s.asns[i]!;
      if (s.type !== AsSegmentType.AS_SEQUENCE && s.type !== AsSegmentType.AS_SET) continue;
      if (first === 0 && s.type === AsSegmentType.AS_SEQUENCE && s.asns.length) first = s.asns[0]!;
      if (s.asns.length) last = s.asns[s.asns.length - 1]!;
    }
    this.path = path;
    this.asPathLen = asPathLength(a.asPath);
    this.neighborAs = first;
    this.originAs = last;
    this.hash = attrsHash(this);
  }

  /** The AS path as segments (made on each call). */
  get asPath(): AsPathSegment[] {
    const out: AsPathSegment[] = [];
    const p = this.path;
    for (let i = 0; i < p.length; ) {
      const type = p[i]!;
      const n = p[i + 1]!;
      out.push({ type, asns: p.slice(i + 2, i + 2 + n) });
      i += 2 + n;
    }
    return out;
  }

  get atomicAggregate(): boolean | undefined {
    return this.rare?.atomicAggregate;
  }

  get aggregator(): PathAttributes['aggregator'] {
    return this.rare?.aggregator;
  }

  get communities(): number[] | undefined {
    return this.rare?.communities;
  }

  /** "65001 65002 {65003,65004}". */
  get pathText(): string {
    const m = (this.memo ??= {});
    return (m.text ??= formatAsPath(this.asPath));
  }

  /** Every ASN on the path. */
  get asns(): ReadonlySet<number> {
    const m = (this.memo ??= {});
    if (!m.set) {
      const s = new Set<number>();
      const p = this.path;
      for (let i = 0; i < p.length; ) {
        const type = p[i]!;
        const n = p[i + 1]!;
        if (type === AsSegmentType.AS_SEQUENCE || type === AsSegmentType.AS_SET) for (let j = 0; j < n; j++) s.add(p[i + 2 + j]!);
        i += 2 + n;
      }
      m.set = s;
    }
    return m.set;
  }
}

/** Next-hop texts seen (a few hundred peers' addresses in practice; bounded). */
const hops = new Map<string, string>();
const MAX_SHARED_HOPS = 65536;

/** One string per next-hop text instead of one per UPDATE. */
function sharedHop(h: string | undefined): string | undefined {
  if (h === undefined) return h;
  const s = hops.get(h);
  if (s !== undefined) return s;
  if (hops.size < MAX_SHARED_HOPS) hops.set(h, h);
  return h;
}

function mix(h: number, x: number): number {
  return Math.imul(h ^ (x >>> 0) ^ ((x / 4294967296) >>> 0), 0x01000193);
}

function mixString(h: number, s: string | undefined): number {
  if (s === undefined) return mix(h, 0x5bd1e995);
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return mix(h, s.length);
}

function attrsHash(a: RouteAttrs): number {
  let h = mix(0x811c9dc5, a.origin);
  h = mix(h, a.med === undefined ? 0x7fffffff : a.med + 1);
  h = mix(h, a.localPref === undefined ? 0x7fffffff : a.localPref + 1);
  h = mixString(h, a.nextHop);
  h = mixString(h, a.mpNextHop);
  for (let i = 0; i < a.path.length; i++) h = mix(h, a.path[i]!);
  h = mix(h, a.atomicAggregate ? 2 : a.atomicAggregate === false ? 1 : 0);
  if (a.aggregator) h = mixString(mix(h, a.aggregator.asn), a.aggregator.address);
  if (a.communities) for (const c of a.communities) h = mix(h, c);
  return h | 0;
}

function sameNumbers(x: readonly number[] | undefined, y: readonly number[] | undefined): boolean {
  if (x === y) return true;
  if (!x || !y || x.length !== y.length) return false;
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  return true;
}

/** Whether two attribute sets are equal in every attribute. */
export function sameAttrs(a: RouteAttrs, b: RouteAttrs): boolean {
  return (
    a === b ||
    (a.hash === b.hash &&
      a.origin === b.origin &&
      a.med === b.med &&
      a.localPref === b.localPref &&
      a.nextHop === b.nextHop &&
      a.mpNextHop === b.mpNextHop &&
      a.atomicAggregate === b.atomicAggregate &&
      a.aggregator?.asn === b.aggregator?.asn &&
      a.aggregator?.address === b.aggregator?.address &&
      sameNumbers(a.path, b.path) &&
      sameNumbers(a.communities, b.communities))
  );
}

/**
 * Interned attribute sets: many prefixes (of one UPDATE, and of different
 * UPDATEs: a full table has far fewer distinct attribute sets than routes)
 * share one RouteAttrs, stored once and referred to by a small integer id.
 * Reference counted: a set no route uses any more is freed and its id reused.
 */
export class AttrStore {
  private readonly objs: Array<RouteAttrs | undefined> = [];
  private refs = new Uint32Array(1024);
  private readonly free: number[] = [];
  /** hash -> id, or ids when hashes collide. */
  private readonly byHash = new Map<number, number | number[]>();
  private live = 0;

  /** Distinct attribute sets held. */
  get size(): number {
    return this.live;
  }

  /** The id of an attribute set equal to `a` (added when new); the caller takes `refs` references. */
  intern(a: RouteAttrs, refs = 1): number {
    const h = a.hash;
    const hit = this.byHash.get(h);
    if (hit !== undefined) {
      if (typeof hit === 'number') {
        if (sameAttrs(this.objs[hit]!, a)) return this.ref(hit, refs);
      } else for (const id of hit) if (sameAttrs(this.objs[id]!, a)) return this.ref(id, refs);
    }
    const id = this.free.length ? this.free.pop()! : this.objs.length;
    if (id === this.objs.length) this.objs.push(a);
    else this.objs[id] = a;
    if (id >= this.refs.length) {
      const r = new Uint32Array(this.refs.length * 2);
      r.set(this.refs);
      this.refs = r;
    }
    this.refs[id] = refs;
    this.live++;
    if (hit === undefined) this.byHash.set(h, id);
    else if (typeof hit === 'number') this.byHash.set(h, [hit, id]);
    else hit.push(id);
    return id;
  }

  /** Take n more references to id; returns id. */
  ref(id: number, n = 1): number {
    this.refs[id]! += n;
    return id;
  }

  /** Drop a reference; the set is freed when none is left (returns true then). */
  unref(id: number): boolean {
    if (--this.refs[id]! > 0) return false;
    const a = this.objs[id]!;
    this.objs[id] = undefined;
    this.live--;
    this.free.push(id);
    const hit = this.byHash.get(a.hash);
    if (typeof hit === 'number') this.byHash.delete(a.hash);
    else if (hit) {
      hit.splice(hit.indexOf(id), 1);
      if (hit.length === 1) this.byHash.set(a.hash, hit[0]!);
    }
    return true;
  }

  get(id: number): RouteAttrs {
    return this.objs[id]!;
  }

  refCount(id: number): number {
    return this.objs[id] ? this.refs[id]! : 0;
  }
}

/**
 * A peer's route (of one policy) with one attribute set. The RIB makes one
 * object per (peer, policy, attribute set) and shares it between the
 * prefixes that have that route: a route object says nothing about its
 * prefix, and equal routes are the same object.
 */
export interface Route {
  readonly peer: RibPeer;
  /** Post-policy (L flag) or pre-policy Adj-RIB-In. */
  readonly post: boolean;
  readonly attrs: RouteAttrs;
}

/**
 * One prefix and its routes: a view of the RIB's packed storage, made when
 * asked for (`Rib.entry`, `entries`, `lookup`). Its route objects are made
 * on first read and kept while the prefix's routes do not change (two
 * rankings of one entry return the same objects). A view of a prefix that
 * has left the RIB has no routes.
 */
export class PrefixEntry {
  private cached?: Route[];
  private cachedVersion = -1;
  constructor(
    private readonly rib: Rib,
    /** The prefix's slot in the RIB's arrays. */
    readonly slot: number,
    readonly key: PrefixKey,
  ) {}

  /** Changes whenever this prefix's routes change (ranking caches compare it); unique RIB-wide. */
  get version(): number {
    return this.rib.slotVersion(this.slot, this.key);
  }

  get routes(): Route[] {
    const v = this.version;
    if (this.cached && this.cachedVersion === v) return this.cached;
    this.cachedVersion = v;
    return (this.cached = this.rib.slotRoutes(this.slot, this.key));
  }

  get nlri(): Nlri {
    return keyNlri(this.key);
  }

  get family(): 4 | 6 {
    return typeof this.key === 'number' || this.key.startsWith('v4:') ? 4 : 6;
  }
}

export function routeAttrs(a: PathAttributes): RouteAttrs {
  return a instanceof RouteAttrs ? a : new RouteAttrs(a);
}

/** The next hop traffic for this route is sent to. */
export function routeNextHop(r: Route, family: 4 | 6): string | undefined {
  return family === 6 ? r.attrs.mpNextHop : (r.attrs.nextHop ?? r.attrs.mpNextHop);
}

const NONE = -1;
/** The key of a free slot: no prefix key is this (an integer key's low 6 bits are its length, <= 26). */
const FREE_KEY = 0x7fffffff;

/**
 * Prefix key -> slot. Integer keys (IPv4 up to /26, a full table's prefixes)
 * live in an open-addressing hash table in typed arrays (linear probing,
 * one cache line per lookup, nothing for the garbage collector to trace);
 * string keys (longer IPv4 prefixes, IPv6) in a Map.
 */
export class PrefixIndex {
  /** A key no prefix has: the low 6 bits of an integer key are its length (<= 26). */
  private static readonly EMPTY = 63;
  private static readonly GONE = 62;
  private keys: Int32Array;
  private vals: Int32Array;
  private mask: number;
  private used = 0;
  private ints = 0;
  private readonly strs = new Map<string, number>();

  constructor(capacity = 1024) {
    let cap = 16;
    while (cap < capacity * 2) cap *= 2;
    this.keys = new Int32Array(cap).fill(PrefixIndex.EMPTY);
    this.vals = new Int32Array(cap);
    this.mask = cap - 1;
  }

  get size(): number {
    return this.ints + this.strs.size;
  }

  private static hash(k: number): number {
    return Math.imul(k ^ (k >>> 15), 0x2c1b3c6d) ^ (k >>> 12);
  }

  get(key: PrefixKey): number | undefined {
    if (typeof key !== 'number') return this.strs.get(key);
    const keys = this.keys;
    for (let i = PrefixIndex.hash(key) & this.mask; ; i = (i + 1) & this.mask) {
      const k = keys[i]!;
      if (k === key) return this.vals[i]!;
      if (k === PrefixIndex.EMPTY) return undefined;
    }
  }

  set(key: PrefixKey, slot: number): void {
    if (typeof key !== 'number') {
      this.strs.set(key, slot);
      return;
    }
    const keys = this.keys;
    let gone = -1;
    let i = PrefixIndex.hash(key) & this.mask;
    for (; ; i = (i + 1) & this.mask) {
      const k = keys[i]!;
      if (k === key) {
        this.vals[i] = slot;
        return;
      }
      if (k === PrefixIndex.EMPTY) break;
      if (k === PrefixIndex.GONE && gone < 0) gone = i;
    }
    if (gone >= 0) i = gone;
    else this.used++;
    keys[i] = key;
    this.vals[i] = slot;
    this.ints++;
    if (this.used * 2 > keys.length) this.rehash(this.ints * 4 > keys.length ? keys.length * 2 : keys.length);
  }

  delete(key: PrefixKey): void {
    if (typeof key !== 'number') {
      this.strs.delete(key);
      return;
    }
    const keys = this.keys;
    for (let i = PrefixIndex.hash(key) & this.mask; ; i = (i + 1) & this.mask) {
      const k = keys[i]!;
      if (k === key) {
        keys[i] = PrefixIndex.GONE;
        this.ints--;
        return;
      }
      if (k === PrefixIndex.EMPTY) return;
    }
  }

  private rehash(cap: number): void {
    const oldKeys = this.keys;
    const oldVals = this.vals;
    this.keys = new Int32Array(cap).fill(PrefixIndex.EMPTY);
    this.vals = new Int32Array(cap);
    this.mask = cap - 1;
    this.used = 0;
    this.ints = 0;
    for (let i = 0; i < oldKeys.length; i++) {
      const k = oldKeys[i]!;
      if (k !== PrefixIndex.EMPTY && k !== PrefixIndex.GONE) this.set(k, oldVals[i]!);
    }
  }
}

/**
 * Every peer's Adj-RIB-In, packed: a prefix is a slot (an index into typed
 * arrays: its first route, its version; its key in a plain array, a Smi for
 * IPv4 up to /26), found through one Map from prefix key to slot; a route is
 * a node of a linked list in typed arrays (peer index and policy, attribute
 * set id, next node), its attributes interned in an AttrStore. A full table
 * costs the garbage collector one Map entry per prefix and one object per
 * distinct attribute set, not objects per route.
 */
export class Rib {
  /** prefix key -> slot */
  private readonly index = new PrefixIndex();
  private keys: PrefixKey[] = [];
  private head = new Int32Array(1024);
  private versions = new Float64Array(1024);
  private readonly freeSlots: number[] = [];
  /** route node -> (peer index << 1) | post */
  private rPeer = new Uint32Array(4096);
  /** route node -> attribute set id */
  private rAttr = new Uint32Array(4096);
  /** route node -> next node of its prefix, NONE at the end (and the free list's link) */
  private rNext = new Int32Array(4096);
  private routeNodes = 0;
  private freeRoute = NONE;
  readonly attrs = new AttrStore();
  /** attribute set id -> its route objects (one per peer and policy using it; usually one). */
  private readonly routeObjs: Array<Route | Route[] | undefined> = [];
  private readonly peerMap = new Map<string, RibPeer>();
  /** peer index -> peer (undefined once forgotten; indexes are not reused). */
  private readonly peerList: Array<RibPeer | undefined> = [];
  /** How many prefixes of each length exist per family (longest-prefix match tries only these). */
  private readonly lens4 = new Uint32Array(33);
  private readonly lens6 = new Uint32Array(129);
  private routeCount = 0;
  /** Source of prefix versions: every change takes a new number, so a version never repeats, even for a prefix that left and came back. */
  private versionSeq = 0;
  /** Bumped on every change. */
  version = 0;
  /** Bumped when a peer appears, goes down or switches to post-policy: candidates of every prefix may differ. */
  epoch = 0;

  get size(): number {
    return this.index.size;
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
  ensurePeer(p: Omit<RibPeer, 'hasPostPolicy' | 'weight' | 'up' | 'addrNum' | 'bgpIdNum' | 'index'> & Partial<Pick<RibPeer, 'weight'>>): RibPeer {
    let peer = this.peerMap.get(p.id);
    if (!peer) {
      peer = { hasPostPolicy: false, weight: 0, up: true, ...p, addrNum: ipv4Value(p.address), bgpIdNum: ipv4Value(p.bgpId), index: this.peerList.length };
      this.peerList.push(peer);
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
    const slot = this.index.get(key);
    return slot === undefined ? undefined : new PrefixEntry(this, slot, key);
  }

  /** Whether a slot holds a prefix. */
  private live(slot: number): boolean {
    return this.keys[slot] !== FREE_KEY;
  }

  *entries(): IterableIterator<PrefixEntry> {
    for (let slot = 0; slot < this.keys.length; slot++) if (this.live(slot)) yield new PrefixEntry(this, slot, this.keys[slot]!);
  }

  /** @internal PrefixEntry: the slot's version, -1 when the slot no longer holds `key`. */
  slotVersion(slot: number, key: PrefixKey): number {
    return this.keys[slot] === key && this.head[slot] !== NONE ? this.versions[slot]! : -1;
  }

  /** @internal PrefixEntry: the slot's routes as objects. */
  slotRoutes(slot: number, key: PrefixKey): Route[] {
    const out: Route[] = [];
    if (this.keys[slot] !== key) return out;
    for (let n = this.head[slot]!; n !== NONE; n = this.rNext[n]!) out.push(this.routeObj(this.rPeer[n]!, this.rAttr[n]!));
    return out;
  }

  /** The route object of (peer and policy, attribute set), made once and shared. */
  private routeObj(pp: number, id: number): Route {
    const peer = this.peerList[pp >>> 1]!;
    const post = (pp & 1) === 1;
    const c = this.routeObjs[id];
    if (c !== undefined) {
      if (!Array.isArray(c)) {
        if (c.peer === peer && c.post === post) return c;
      } else for (const r of c) if (r.peer === peer && r.post === post) return r;
    }
    const r: Route = { peer, post, attrs: this.attrs.get(id) };
    if (c === undefined) this.routeObjs[id] = r;
    else if (Array.isArray(c)) c.push(r);
    else this.routeObjs[id] = [c, r];
    return r;
  }

  private unrefAttrs(id: number): void {
    if (this.attrs.unref(id) && id < this.routeObjs.length) this.routeObjs[id] = undefined;
  }

  private newSlot(key: PrefixKey): number {
    let slot: number;
    if (this.freeSlots.length) {
      slot = this.freeSlots.pop()!;
      this.keys[slot] = key;
    } else {
      slot = this.keys.length;
      this.keys.push(key);
      if (slot >= this.head.length) {
        const h = new Int32Array(this.head.length * 2);
        h.set(this.head);
        this.head = h;
        const v = new Float64Array(this.versions.length * 2);
        v.set(this.versions);
        this.versions = v;
      }
    }
    this.head[slot] = NONE;
    this.index.set(key, slot);
    return slot;
  }

  private newNode(): number {
    if (this.freeRoute !== NONE) {
      const n = this.freeRoute;
      this.freeRoute = this.rNext[n]!;
      return n;
    }
    const n = this.routeNodes++;
    if (n >= this.rPeer.length) {
      const grow = <T extends Uint32Array | Int32Array>(a: T, make: (n: number) => T): T => {
        const b = make(a.length * 2);
        b.set(a);
        return b;
      };
      this.rPeer = grow(this.rPeer, (k) => new Uint32Array(k));
      this.rAttr = grow(this.rAttr, (k) => new Uint32Array(k));
      this.rNext = grow(this.rNext, (k) => new Int32Array(k));
    }
    return n;
  }

  /** Announce (or replace) `peer`'s route for each prefix. */
  announce(peer: RibPeer, post: boolean, nlri: readonly Nlri[], attrs: RouteAttrs): void {
    if (post && !peer.hasPostPolicy) {
      peer.hasPostPolicy = true;
      this.epoch++;
    }
    if (nlri.length === 0) return;
    const pp = ((peer.index << 1) | (post ? 1 : 0)) >>> 0;
    const id = this.attrs.intern(attrs, nlri.length);
    // the route object now, once per UPDATE, rather than when a cycle first ranks each prefix
    this.routeObj(pp, id);
    for (let i = 0; i < nlri.length; i++) {
      const p = nlri[i]!;
      const key = nlriKey(p);
      let slot = this.index.get(key);
      if (slot === undefined) {
        slot = this.newSlot(key);
        (p.family === 4 ? this.lens4 : this.lens6)[p.len]!++;
      }
      this.versions[slot] = ++this.versionSeq;
      let last = NONE;
      let n = this.head[slot]!;
      while (n !== NONE && this.rPeer[n] !== pp) {
        last = n;
        n = this.rNext[n]!;
      }
      if (n !== NONE) {
        this.unrefAttrs(this.rAttr[n]!);
        this.rAttr[n] = id;
      } else {
        const m = this.newNode();
        this.rPeer[m] = pp;
        this.rAttr[m] = id;
        this.rNext[m] = NONE;
        if (last === NONE) this.head[slot] = m;
        else this.rNext[last] = m;
        this.routeCount++;
      }
    }
    this.version++;
  }

  /** Remove node n (after `prev`, NONE when first) from slot's list. */
  private unlink(slot: number, prev: number, n: number): void {
    const next = this.rNext[n]!;
    if (prev === NONE) this.head[slot] = next;
    else this.rNext[prev] = next;
    this.unrefAttrs(this.rAttr[n]!);
    this.rNext[n] = this.freeRoute;
    this.freeRoute = n;
    this.routeCount--;
  }

  /** Withdraw `peer`'s route (of that policy) for each prefix; unknown prefixes are ignored. Returns how many were removed. */
  withdraw(peer: RibPeer, post: boolean, nlri: readonly Nlri[]): number {
    const pp = ((peer.index << 1) | (post ? 1 : 0)) >>> 0;
    let removed = 0;
    for (const p of nlri) {
      const slot = this.index.get(nlriKey(p));
      if (slot === undefined) continue;
      let prev = NONE;
      let n = this.head[slot]!;
      while (n !== NONE && this.rPeer[n] !== pp) {
        prev = n;
        n = this.rNext[n]!;
      }
      if (n === NONE) continue;
      this.unlink(slot, prev, n);
      this.versions[slot] = ++this.versionSeq;
      removed++;
      if (this.head[slot] === NONE) this.dropSlot(slot);
    }
    if (removed) this.version++;
    return removed;
  }

  /** Remove every route of a peer (Peer Down, session lost); the peer is marked down. Returns the routes removed. */
  clearPeer(peer: RibPeer): number {
    let removed = 0;
    const drop: number[] = [];
    for (let slot = 0; slot < this.keys.length; slot++) {
      if (!this.live(slot)) continue;
      let prev = NONE;
      let n = this.head[slot]!;
      let hit = false;
      while (n !== NONE) {
        const next = this.rNext[n]!;
        if (this.rPeer[n]! >>> 1 === peer.index) {
          this.unlink(slot, prev, n);
          removed++;
          hit = true;
        } else prev = n;
        n = next;
      }
      if (hit) {
        this.versions[slot] = ++this.versionSeq;
        if (this.head[slot] === NONE) drop.push(slot);
      }
    }
    for (const slot of drop) this.dropSlot(slot);
    peer.up = false;
    peer.hasPostPolicy = false;
    this.version++;
    this.epoch++;
    return removed;
  }

  /** Forget a peer record (after clearPeer). */
  forgetPeer(peer: RibPeer): void {
    if (this.peerMap.get(peer.id) === peer) this.peerMap.delete(peer.id);
    if (this.peerList[peer.index] === peer) this.peerList[peer.index] = undefined;
  }

  /** One peer's Adj-RIB-In of one policy: [prefix text, route]. */
  *adjRibIn(peer: RibPeer, post: boolean): IterableIterator<[string, Route]> {
    const pp = ((peer.index << 1) | (post ? 1 : 0)) >>> 0;
    for (let slot = 0; slot < this.keys.length; slot++) {
      if (!this.live(slot)) continue;
      const key = this.keys[slot]!;
      for (let n = this.head[slot]!; n !== NONE; n = this.rNext[n]!) {
        if (this.rPeer[n] === pp) yield [nlriText(keyNlri(key)), this.routeObj(pp, this.rAttr[n]!)];
      }
    }
  }

  /** Route counts per peer and policy (every known peer, zero when it has none). */
  counts(): Map<RibPeer, { pre: number; post: number }> {
    const pre = new Uint32Array(this.peerList.length);
    const post = new Uint32Array(this.peerList.length);
    for (let slot = 0; slot < this.keys.length; slot++) {
      for (let n = this.head[slot]!; n !== NONE; n = this.rNext[n]!) {
        const pp = this.rPeer[n]!;
        (pp & 1 ? post : pre)[pp >>> 1]!++;
      }
    }
    const out = new Map<RibPeer, { pre: number; post: number }>();
    for (const p of this.peerMap.values()) out.set(p, { pre: pre[p.index] ?? 0, post: post[p.index] ?? 0 });
    return out;
  }

  /** Longest-prefix match of an address (text) against the RIB's prefixes. */
  lookup(addr: string): PrefixEntry | undefined {
    const v4 = ipv4Value(addr);
    if (v4 >= 0) {
      for (let len = 32; len >= 0; len--) {
        if (this.lens4[len] === 0) continue;
        const e = this.entry(ipv4Key((v4 & ipv4Mask(len)) >>> 0, len));
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
      const e = this.entry(`${b.toString('hex')}/${len}`);
      if (e) return e;
    }
    return undefined;
  }

  private dropSlot(slot: number): void {
    const key = this.keys[slot]!;
    this.index.delete(key);
    const n = keyNlri(key);
    (n.family === 4 ? this.lens4 : this.lens6)[n.len]!--;
    this.keys[slot] = FREE_KEY;
    this.freeSlots.push(slot);
  }
}

export { nlriText, keyNlri };
