import { describe, expect, it } from 'vitest';
import { nlriKey, nlriText, parseNlri } from '../../src/altpath/bgp/nlri.js';
import type { PathAttributes } from '../../src/altpath/bgp/update.js';
import { candidates, rankPrefix, rankRoutes, selectBest } from '../../src/altpath/rib/ranking.js';
import { AttrStore, PrefixIndex, Rib, routeAttrs, sameAttrs, type RibPeer } from '../../src/altpath/rib/rib.js';

let n = 0;
function peer(rib: Rib, address: string, asn: number, o: Partial<RibPeer> = {}): RibPeer {
  return rib.ensurePeer({ id: `r/${address}#${n++}`, router: 'r', address, asn, bgpId: o.bgpId ?? address, localAsn: o.localAsn ?? 65000, weight: o.weight ?? 0 });
}
const A = (path: number[], extra: Partial<PathAttributes> = {}) => routeAttrs({ origin: 0, asPath: [{ type: 2, asns: path }], nextHop: '198.18.0.1', ...extra });
const P = '203.0.113.0/24';

function setup(): { rib: Rib; best: () => string[] } {
  const rib = new Rib();
  return { rib, best: () => rankRoutes(candidates(rib.entry(parseKey(rib))!), 10).map((r) => r.peer.address) };
}
const parseKey = (rib: Rib) => [...rib.entries()][0]!.key;

describe('best-path order (RFC 4271 §9.1.2.2)', () => {
  it('weight, then LOCAL_PREF, then AS-path length, then origin', () => {
    const { rib, best } = setup();
    const a = peer(rib, '198.18.0.1', 65001);
    const b = peer(rib, '198.18.0.2', 65002, { weight: 10 });
    const c = peer(rib, '198.18.0.3', 65003);
    const d = peer(rib, '198.18.0.4', 65004);
    rib.announce(a, false, [parseNlri(P)], A([65001]));
    rib.announce(b, false, [parseNlri(P)], A([65002, 1, 2, 3]));
    rib.announce(c, false, [parseNlri(P)], A([65003, 1], { localPref: 200 }));
    rib.announce(d, false, [parseNlri(P)], A([65004], { origin: 2 }));
    expect(best()).toEqual(['198.18.0.2', '198.18.0.3', '198.18.0.1', '198.18.0.4']);
  });

  it('an AS_SET counts as one AS', () => {
    const { rib, best } = setup();
    const a = peer(rib, '198.18.0.1', 65001);
    const b = peer(rib, '198.18.0.2', 65002);
    rib.announce(a, false, [parseNlri(P)], routeAttrs({ origin: 0, asPath: [{ type: 2, asns: [65001] }, { type: 1, asns: [1, 2, 3, 4] }], nextHop: '198.18.0.1' }));
    rib.announce(b, false, [parseNlri(P)], A([65002, 7, 8]));
    expect(best()).toEqual(['198.18.0.1', '198.18.0.2']);
  });

  it('MED is compared only between routes from the same neighbour AS', () => {
    const { rib, best } = setup();
    // x and y from AS 65001 (y has the lower MED); z from AS 65002 with a MED between them
    const x = peer(rib, '198.18.0.1', 65001);
    const y = peer(rib, '198.18.0.9', 65001);
    const z = peer(rib, '198.18.0.5', 65002);
    rib.announce(x, false, [parseNlri(P)], A([65001, 9], { med: 50 }));
    rib.announce(y, false, [parseNlri(P)], A([65001, 9], { med: 10 }));
    rib.announce(z, false, [parseNlri(P)], A([65002, 9], { med: 30 }));
    // MED removes x (y beats it); y vs z is decided by router id: 198.18.0.5 < 198.18.0.9
    expect(best()[0]).toBe('198.18.0.5');
    expect(best()).toEqual(['198.18.0.5', '198.18.0.9', '198.18.0.1']);
  });

  it('eBGP over iBGP, then lowest router id, then lowest peer address', () => {
    const { rib, best } = setup();
    const ibgp = peer(rib, '198.18.0.1', 65000, { bgpId: '198.18.0.1' });
    const e1 = peer(rib, '198.18.0.3', 65003, { bgpId: '198.18.9.9' });
    const e2 = peer(rib, '198.18.0.2', 65002, { bgpId: '198.18.9.9' });
    for (const p of [ibgp, e1, e2]) rib.announce(p, false, [parseNlri(P)], A([64999]));
    expect(best()).toEqual(['198.18.0.2', '198.18.0.3', '198.18.0.1']);
  });

  it('uses the post-policy view of a peer that sends post-policy, and skips peers that are down', () => {
    const { rib } = setup();
    const a = peer(rib, '198.18.0.1', 65001);
    const b = peer(rib, '198.18.0.2', 65002);
    rib.announce(a, false, [parseNlri(P)], A([65001]));
    rib.announce(a, true, [parseNlri(P)], A([65001, 65001, 65001]));
    rib.announce(b, false, [parseNlri(P)], A([65002, 1]));
    const e = rib.entry(parseKey(rib))!;
    expect(candidates(e).map((r) => `${r.peer.address}/${r.post}`)).toEqual(['198.18.0.1/true', '198.18.0.2/false']);
    expect(selectBest(candidates(e))!.peer.address).toBe('198.18.0.2');
    rib.clearPeer(b);
    expect(candidates(e).map((r) => r.peer.address)).toEqual(['198.18.0.1']);
  });
});

describe('alternates and the ASN exclusion list', () => {
  function three(): Rib {
    const rib = new Rib();
    rib.announce(peer(rib, '198.18.0.1', 65001), false, [parseNlri(P)], A([65001, 64500]));
    rib.announce(peer(rib, '198.18.0.2', 65002), false, [parseNlri(P)], A([65002, 64666, 64500]));
    rib.announce(peer(rib, '198.18.0.3', 65003), false, [parseNlri(P)], A([65003, 64777, 64778, 64500]));
    rib.announce(peer(rib, '198.18.0.4', 65004), false, [parseNlri(P)], A([65004, 1, 2, 3, 64500]));
    return rib;
  }
  it('2nd and 3rd best are the alternates', () => {
    const r = rankPrefix([...three().entries()][0]!);
    expect(r.primary!.peer.address).toBe('198.18.0.1');
    expect(r.alternates.map((x) => x.peer.address)).toEqual(['198.18.0.2', '198.18.0.3']);
  });
  it('an alternate crossing an excluded AS is skipped (the next one moves up)', () => {
    const r = rankPrefix([...three().entries()][0]!, { excludeAsns: new Set([64666]) });
    expect(r.alternates.map((x) => x.peer.address)).toEqual(['198.18.0.3', '198.18.0.4']);
    expect(r.excluded).toBe('path');
  });
  it('a destination AS on the list gets no alternates at all', () => {
    const r = rankPrefix([...three().entries()][0]!, { excludeAsns: new Set([64500]) });
    expect(r.primary!.peer.address).toBe('198.18.0.1');
    expect(r.alternates).toEqual([]);
    expect(r.excluded).toBe('destination');
  });
});

describe('RIB', () => {
  it('longest-prefix match for IPv4 and IPv6', () => {
    const rib = new Rib();
    const a = peer(rib, '198.18.0.1', 65001);
    rib.announce(a, false, ['203.0.113.0/24', '203.0.113.128/25', '2001:db8::/32', '2001:db8:1::/48'].map(parseNlri), A([65001]));
    expect(rib.lookup('203.0.113.200')!.nlri.len).toBe(25);
    expect(rib.lookup('203.0.113.5')!.nlri.len).toBe(24);
    expect(rib.lookup('198.51.100.1')).toBeUndefined();
    expect(rib.lookup('2001:db8:1::9')!.nlri.len).toBe(48);
    expect(rib.lookup('2001:db8:2::9')!.nlri.len).toBe(32);
    rib.withdraw(a, false, [parseNlri('203.0.113.128/25')]);
    expect(rib.lookup('203.0.113.200')!.nlri.len).toBe(24);
    expect(rib.routes).toBe(3);
  });
});

describe('attribute store (interning)', () => {
  it('equal attribute sets from different UPDATEs share one id; any differing attribute gives another', () => {
    const st = new AttrStore();
    const base = { origin: 0 as const, asPath: [{ type: 2, asns: [65001, 64500] }], nextHop: '198.18.0.1', med: 10, localPref: 100 };
    const a = st.intern(routeAttrs(base));
    expect(st.intern(routeAttrs({ ...base, asPath: [{ type: 2, asns: [65001, 64500] }] }))).toBe(a);
    const variants = [
      { ...base, med: 20 },
      { ...base, med: undefined },
      { ...base, localPref: 200 },
      { ...base, origin: 2 as const },
      { ...base, nextHop: '198.18.0.2' },
      { ...base, mpNextHop: '2001:db8::1' },
      { ...base, asPath: [{ type: 2, asns: [65001, 64501] }] },
      { ...base, asPath: [{ type: 2, asns: [65001] }, { type: 1, asns: [64500] }] },
      { ...base, communities: [1] },
      { ...base, atomicAggregate: true },
      { ...base, aggregator: { asn: 64500, address: '198.18.0.9' } },
    ];
    const ids = variants.map((v) => st.intern(routeAttrs(v)));
    expect(new Set([a, ...ids]).size).toBe(1 + variants.length);
    expect(st.size).toBe(1 + variants.length);
    for (const v of variants) expect(sameAttrs(routeAttrs(v), routeAttrs(base))).toBe(false);
  });

  it('reference counted: freed when the last reference goes, its id reused', () => {
    const st = new AttrStore();
    const x = st.intern(routeAttrs({ origin: 0, asPath: [], nextHop: '198.18.0.1' }), 2);
    expect(st.refCount(x)).toBe(2);
    expect(st.unref(x)).toBe(false);
    expect(st.unref(x)).toBe(true);
    expect(st.size).toBe(0);
    expect(st.refCount(x)).toBe(0);
    const y = st.intern(routeAttrs({ origin: 1, asPath: [], nextHop: '198.18.0.1' }));
    expect(y).toBe(x);
    expect(st.get(y).origin).toBe(1);
  });

  it('keeps the AS path flat and gives it back as segments, text and ASN set', () => {
    const a = routeAttrs({ origin: 0, asPath: [{ type: 2, asns: [65001, 4200000001] }, { type: 1, asns: [7, 8] }], nextHop: '198.18.0.1' });
    expect(a.asPath).toEqual([{ type: 2, asns: [65001, 4200000001] }, { type: 1, asns: [7, 8] }]);
    expect(a.pathText).toBe('65001 4200000001 {7,8}');
    expect([...a.asns]).toEqual([65001, 4200000001, 7, 8]);
    expect([a.asPathLen, a.neighborAs, a.originAs]).toEqual([3, 65001, 8]);
  });

  it('the RIB interns per UPDATE and across UPDATEs: one attribute set and one route object for many prefixes; freed with the routes', () => {
    const rib = new Rib();
    const a = peer(rib, '198.18.0.1', 65001);
    const ps = ['203.0.113.0/24', '198.51.100.0/24', '192.0.2.0/24'].map(parseNlri);
    rib.announce(a, false, ps.slice(0, 2), A([65001, 64500]));
    rib.announce(a, false, ps.slice(2), A([65001, 64500]));
    expect(rib.attrs.size).toBe(1);
    const routes = ps.map((p) => rib.entry(nlriKey(p))!.routes[0]!);
    expect(routes[0]).toBe(routes[1]);
    expect(routes[0]).toBe(routes[2]);
    rib.announce(a, false, ps.slice(0, 1), A([65001, 64501]));
    expect(rib.attrs.size).toBe(2);
    expect(rib.entry(nlriKey(ps[0]!))!.routes[0]!.attrs.pathText).toBe('65001 64501');
    rib.withdraw(a, false, ps.slice(1, 3));
    expect(rib.attrs.size).toBe(1);
    rib.clearPeer(a);
    expect(rib.attrs.size).toBe(0);
    expect(rib.routes).toBe(0);
    expect(rib.size).toBe(0);
  });
});

describe('prefix index', () => {
  it('PrefixIndex agrees with a Map through inserts, updates, deletes and growth (integer keys of every sign, string keys)', () => {
    const idx = new PrefixIndex(4);
    const ref = new Map<number | string, number>();
    let seed = 12345;
    const rnd = (): number => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0);
    const keyOf = (r: number): number | string => {
      if (r % 10 === 0) return `v4:${r}/32`;
      if (r % 10 === 1) return `20010db8${(r % 4096).toString(16)}/48`;
      const len = r % 27;
      return nlriKey({ family: 4, net: (Math.imul(r, 0x9e3779b1) & (len === 0 ? 0 : 0xffffffff << (32 - len))) >>> 0, len }) as number;
    };
    for (let i = 0; i < 20000; i++) {
      const r = rnd() % 6000;
      const k = keyOf(r);
      if (rnd() % 3 === 0) {
        idx.delete(k);
        ref.delete(k);
      } else {
        idx.set(k, i);
        ref.set(k, i);
      }
    }
    expect(idx.size).toBe(ref.size);
    for (let r = 0; r < 6000; r++) expect(idx.get(keyOf(r))).toBe(ref.get(keyOf(r)));
    expect([...ref.keys()].some((k) => typeof k === 'number' && k < 0)).toBe(true);
  });

  it('IPv4 (short and long prefixes) and IPv6 prefixes each have their own entry; a dropped prefix leaves the index', () => {
    const rib = new Rib();
    const a = peer(rib, '198.18.0.1', 65001);
    const texts = ['203.0.113.0/24', '203.0.113.0/25', '203.0.113.7/32', '0.0.0.0/0', '2001:db8::/32', '2001:db8::/48', '::/0'];
    rib.announce(a, false, texts.map(parseNlri), A([65001]));
    expect(rib.size).toBe(texts.length);
    for (const t of texts) {
      const e = rib.entry(nlriKey(parseNlri(t)))!;
      expect(nlriText(e.nlri)).toBe(t);
      expect(e.family).toBe(t.includes(':') ? 6 : 4);
      expect(e.routes.map((r) => r.peer)).toEqual([a]);
    }
    expect(rib.lookup('203.0.113.7')!.nlri.len).toBe(32);
    expect(rib.lookup('203.0.113.8')!.nlri.len).toBe(25);
    expect(rib.lookup('9.9.9.9')!.nlri.len).toBe(0);
    expect(rib.lookup('2001:db8::1')!.nlri.len).toBe(48);
    expect(rib.lookup('2001:db9::1')!.nlri.len).toBe(0);
    rib.withdraw(a, false, ['203.0.113.7/32', '2001:db8::/48'].map(parseNlri));
    expect(rib.entry(nlriKey(parseNlri('203.0.113.7/32')))).toBeUndefined();
    expect(rib.lookup('203.0.113.7')!.nlri.len).toBe(25);
    expect(rib.lookup('2001:db8::1')!.nlri.len).toBe(32);
    expect(rib.size).toBe(texts.length - 2);
  });

  it('versions change with every change and never repeat; a view of a dropped prefix has no routes, even once its slot is reused', () => {
    const rib = new Rib();
    const a = peer(rib, '198.18.0.1', 65001);
    const b = peer(rib, '198.18.0.2', 65002);
    const p = parseNlri('203.0.113.0/24');
    const q = parseNlri('198.51.100.0/24');
    rib.announce(a, false, [p], A([65001]));
    const e = rib.entry(nlriKey(p))!;
    const seen = new Set([e.version]);
    rib.announce(b, false, [p], A([65002]));
    expect(seen.has(e.version)).toBe(false);
    seen.add(e.version);
    expect(e.routes.length).toBe(2);
    rib.withdraw(a, false, [p]);
    rib.withdraw(b, false, [p]);
    expect(e.routes).toEqual([]);
    rib.announce(a, false, [q], A([65001, 1]));
    expect(e.routes).toEqual([]);
    rib.announce(a, false, [p], A([65001]));
    const again = rib.entry(nlriKey(p))!;
    expect(seen.has(again.version)).toBe(false);
    expect(again.routes.map((r) => r.peer)).toEqual([a]);
    expect(rib.entry(nlriKey(q))!.routes[0]!.attrs.pathText).toBe('65001 1');
  });

  it('route objects of an entry stay the same while its routes do not change', () => {
    const rib = new Rib();
    const a = peer(rib, '198.18.0.1', 65001);
    const p = parseNlri(P);
    rib.announce(a, false, [p], A([65001]));
    const e = rib.entry(nlriKey(p))!;
    const r1 = e.routes;
    expect(e.routes).toBe(r1);
    rib.announce(a, true, [p], A([65001]));
    expect(e.routes).not.toBe(r1);
    expect(e.routes.map((r) => r.post)).toEqual([false, true]);
  });
});

describe('Rib.counts and adjRibIn', () => {
  it('counts routes per peer and policy, zero for a peer without routes, and follows withdrawals and peer down', () => {
    const rib = new Rib();
    const a = peer(rib, '198.18.0.1', 65001);
    const b = peer(rib, '198.18.0.2', 65002);
    const c = peer(rib, '198.18.0.3', 65003);
    const ps = ['203.0.113.0/24', '198.51.100.0/24', '2001:db8::/32'].map(parseNlri);
    rib.announce(a, false, ps, A([65001]));
    rib.announce(a, true, ps.slice(0, 1), A([65001]));
    rib.announce(b, true, ps.slice(1), A([65002]));
    const view = (): Record<string, { pre: number; post: number }> => Object.fromEntries([...rib.counts()].map(([p, n]) => [p.address, n]));
    expect(view()).toEqual({ '198.18.0.1': { pre: 3, post: 1 }, '198.18.0.2': { pre: 0, post: 2 }, '198.18.0.3': { pre: 0, post: 0 } });
    rib.withdraw(a, false, ps.slice(0, 1));
    rib.clearPeer(b);
    expect(view()).toEqual({ '198.18.0.1': { pre: 2, post: 1 }, '198.18.0.2': { pre: 0, post: 0 }, '198.18.0.3': { pre: 0, post: 0 } });
    expect(rib.routes).toBe(3);
    expect([...rib.adjRibIn(a, false)].map(([t]) => t).sort()).toEqual(['198.51.100.0/24', '2001:db8::/32']);
    expect([...rib.adjRibIn(a, true)].map(([t, r]) => `${t} ${r.peer.address} ${r.post}`)).toEqual(['203.0.113.0/24 198.18.0.1 true']);
    rib.forgetPeer(c);
    expect([...rib.counts().keys()].map((p) => p.address)).toEqual(['198.18.0.1', '198.18.0.2']);
  });
});
