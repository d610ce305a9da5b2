import { describe, expect, it } from 'vitest';
import { parseNlri } from '../../src/altpath/bgp/nlri.js';
import type { PathAttributes } from '../../src/altpath/bgp/update.js';
import { candidates, rankPrefix, rankRoutes, selectBest } from '../../src/altpath/rib/ranking.js';
import { Rib, routeAttrs, type RibPeer } from '../../src/altpath/rib/rib.js';

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
