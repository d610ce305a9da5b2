import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AttrFlag, AttrType, AS_TRANS } from '../../src/altpath/bgp/constants.js';
import { BgpError } from '../../src/altpath/bgp/errors.js';
import { parseNlri, nlriText, type Nlri } from '../../src/altpath/bgp/nlri.js';
import { decodeOpen, encodeOpen } from '../../src/altpath/bgp/open.js';
import { decodeUpdate, encodeUpdate, formatAsPath, mergeAs4Path, updateEncodingLength, type PathAttributes } from '../../src/altpath/bgp/update.js';
import { BMP_MAX_MESSAGE_SIZE, BMP_PER_PEER_HEADER_SIZE, PeerFlag } from '../../src/altpath/bmp/constants.js';
import { BmpError } from '../../src/altpath/bmp/errors.js';
import { BmpFramer } from '../../src/altpath/bmp/framer.js';
import { decode, encode, encodingLength, type BmpInput, type BmpMessage } from '../../src/altpath/bmp/messages.js';
import { BmpSession } from '../../src/altpath/bmp/session.js';
import { Rib } from '../../src/altpath/rib/rib.js';

const P = (s: string): Nlri => parseNlri(s);
const texts = (ns: readonly Nlri[]): string[] => ns.map(nlriText);

const attrs = (path: number[], extra: Partial<PathAttributes> = {}): PathAttributes => ({
  origin: 0,
  asPath: [{ type: 2, asns: path }],
  nextHop: '198.18.1.1',
  ...extra,
});

const peer1 = { address: '198.18.1.1', asn: 65001, bgpId: '198.18.1.1' };
const peer6 = { address: '2001:db8::1', asn: 65002, bgpId: '198.18.1.2' };

/** A stream of every message kind a router sends. */
function sampleMessages(): BmpInput[] {
  return [
    { type: 'initiation', sysName: 'pr1', sysDescr: 'FRRouting 8.4' },
    {
      type: 'peer-up',
      peer: peer1,
      localAddress: '198.18.1.2',
      localPort: 179,
      remotePort: 40000,
      sentOpen: { asn: 65000, bgpId: '198.18.1.2' },
      receivedOpen: { asn: 65001, bgpId: '198.18.1.1', families: ['1/1', '2/1'] },
      information: [{ type: 0, value: Buffer.from('hello') }],
    },
    { type: 'route-monitoring', peer: peer1, update: { nlri: [P('203.0.113.0/24'), P('198.51.100.0/24')], attrs: attrs([65001, 64500], { med: 10, localPref: 200, communities: [0xfde80001] }) } },
    { type: 'route-monitoring', peer: { ...peer1, flags: PeerFlag.L }, update: { nlri: [P('203.0.113.0/24')], attrs: attrs([65001, 64500]) } },
    { type: 'route-monitoring', peer: peer6, update: { nlri: [P('2001:db8:1::/48')], attrs: { origin: 2, asPath: [{ type: 2, asns: [65002, 4200000000] }], mpNextHop: '2001:db8::1' } } },
    { type: 'route-monitoring', peer: peer1, update: { endOfRib: 4 } },
    { type: 'route-monitoring', peer: peer6, update: { endOfRib: 6 } },
    { type: 'stats-report', peer: peer1, stats: [{ type: 0, value: 3 }, { type: 7, value: 2 ** 40 }] },
    { type: 'route-monitoring', peer: peer1, update: { withdrawn: [P('198.51.100.0/24')] } },
    { type: 'route-monitoring', peer: peer6, update: { withdrawn: [P('2001:db8:1::/48')] } },
    { type: 'peer-down', peer: peer1, reason: 4 },
    { type: 'termination', reason: 0 },
  ];
}

function strip(m: BmpMessage): unknown {
  return JSON.parse(JSON.stringify(m));
}

describe('BGP UPDATE codec (RFC 4271, RFC 4760, RFC 6793)', () => {
  it('round-trips IPv4 and IPv6 announcements with every kept attribute', () => {
    const u = { nlri: [P('203.0.113.0/24'), P('198.51.100.128/25'), P('2001:db8:5::/48')], attrs: attrs([65001, 64500, 64501], { med: 5, localPref: 150, atomicAggregate: true, aggregator: { asn: 64500, address: '198.18.0.9' }, communities: [1, 2], mpNextHop: '2001:db8::9' }) };
    const buf = encodeUpdate(u);
    expect(buf.length).toBe(updateEncodingLength(u));
    const d = decodeUpdate(buf, 0, { keepCommunities: true });
    expect(texts(d.nlri)).toEqual(['203.0.113.0/24', '198.51.100.128/25', '2001:db8:5::/48']);
    expect(d.attrs).toMatchObject({ origin: 0, nextHop: '198.18.1.1', mpNextHop: '2001:db8::9', med: 5, localPref: 150, atomicAggregate: true, communities: [1, 2], aggregator: { asn: 64500, address: '198.18.0.9' } });
    expect(formatAsPath(d.attrs!.asPath)).toBe('65001 64500 64501');
    expect(d.treatAsWithdraw).toBeUndefined();
  });

  it('decodes at a non-zero offset', () => {
    const u = { nlri: [P('203.0.113.0/24')], attrs: attrs([65001]) };
    const buf = Buffer.concat([Buffer.from([9, 9, 9]), encodeUpdate(u)]);
    expect(texts(decodeUpdate(buf, 3).nlri)).toEqual(['203.0.113.0/24']);
  });

  it('rebuilds a 2-byte peer path from AS_PATH and AS4_PATH (AS_TRANS in AS_PATH)', () => {
    const u = { nlri: [P('203.0.113.0/24')], attrs: attrs([65001, 4200000001, 64500]) };
    const buf = encodeUpdate(u, { asn4: false });
    const asOnly = decodeUpdate(buf, 0, { asn4: false });
    expect(formatAsPath(asOnly.attrs!.asPath)).toBe('65001 4200000001 64500');
    // without AS4_PATH handling the path would read AS_TRANS
    expect(buf.includes(Buffer.from([AS_TRANS >> 8, AS_TRANS & 0xff]))).toBe(true);
  });

  it('merges AS4_PATH per RFC 6793 §4.2.3 (leading ASes kept, longer AS4_PATH ignored)', () => {
    const seq = (...a: number[]) => ({ type: 2, asns: a });
    expect(formatAsPath(mergeAs4Path([seq(100, AS_TRANS, 200)], [seq(4200000001, 200)]))).toBe('100 4200000001 200');
    expect(formatAsPath(mergeAs4Path([seq(AS_TRANS)], [seq(1, 2)]))).toBe(String(AS_TRANS));
    expect(formatAsPath(mergeAs4Path([seq(100), { type: 1, asns: [5, 6] }], [{ type: 1, asns: [5, 6] }]))).toBe('100 {5,6}');
  });

  it('counts an AS_SET as one AS and keeps AS_SET/AS_SEQUENCE structure', () => {
    const u = { nlri: [P('203.0.113.0/24')], attrs: { ...attrs([]), asPath: [{ type: 2, asns: [65001, 64500] }, { type: 1, asns: [64501, 64502] }] } };
    const d = decodeUpdate(encodeUpdate(u));
    expect(formatAsPath(d.attrs!.asPath)).toBe('65001 64500 {64501,64502}');
  });

  it('recognises End-of-RIB for IPv4 and IPv6 and withdraw-only updates', () => {
    expect(decodeUpdate(encodeUpdate({ endOfRib: 4 })).endOfRib).toEqual({ afi: 1, safi: 1 });
    expect(decodeUpdate(encodeUpdate({ endOfRib: 6 })).endOfRib).toEqual({ afi: 2, safi: 1 });
    const w = decodeUpdate(encodeUpdate({ withdrawn: [P('203.0.113.0/24'), P('2001:db8::/32')] }));
    expect(texts(w.withdrawn)).toEqual(['203.0.113.0/24', '2001:db8::/32']);
    expect(w.endOfRib).toBeUndefined();
    expect(w.attrs).toBeUndefined();
  });

  function withAttr(raw: number[]): Buffer {
    // a valid update for 203.0.113.0/24 with one raw attribute appended to its attributes
    const base = encodeUpdate({ nlri: [P('203.0.113.0/24')], attrs: attrs([65001]) });
    const aLen = base.readUInt16BE(21);
    const attrEnd = 23 + aLen;
    const out = Buffer.concat([base.subarray(0, attrEnd), Buffer.from(raw), base.subarray(attrEnd)]);
    out.writeUInt16BE(out.length, 16);
    out.writeUInt16BE(aLen + raw.length, 21);
    return out;
  }

  it('skips unknown and duplicate attributes and keeps the route', () => {
    const d = decodeUpdate(withAttr([AttrFlag.OPTIONAL | AttrFlag.TRANSITIVE, 99, 2, 1, 2, AttrFlag.TRANSITIVE, AttrType.ORIGIN, 1, 2]));
    expect(d.attrs?.origin).toBe(0);
    expect(d.skipped).toEqual([{ type: 99, reason: 'unknown' }, { type: AttrType.ORIGIN, reason: 'duplicate' }]);
  });

  it('turns a malformed route attribute into treat-as-withdraw (RFC 7606)', () => {
    const bad = encodeUpdate({ nlri: [P('203.0.113.0/24')], attrs: attrs([65001]) });
    bad[23 + 3] = 7; // ORIGIN value 7
    const d = decodeUpdate(bad);
    expect(d.treatAsWithdraw).toBe('malformed ORIGIN');
    expect(texts(d.nlri)).toEqual(['203.0.113.0/24']);
    expect(d.attrs).toBeUndefined();
  });

  it('throws BgpError for lengths that do not add up', () => {
    const b = encodeUpdate({ nlri: [P('203.0.113.0/24')], attrs: attrs([65001]) });
    const c = Buffer.from(b);
    c.writeUInt16BE(500, 21);
    expect(() => decodeUpdate(c)).toThrow(BgpError);
    const d = Buffer.from(b);
    d[0] = 0;
    expect(() => decodeUpdate(d)).toThrow(/marker/);
    expect(() => decodeUpdate(b.subarray(0, 10))).toThrow(BgpError);
  });

  it('OPEN round trip with the 4-octet AS capability', () => {
    const o = decodeOpen(encodeOpen({ asn: 4200000000, bgpId: '198.18.0.1', families: ['1/1', '2/1'] }));
    expect(o).toMatchObject({ version: 4, asn: 4200000000, bgpId: '198.18.0.1', fourOctetAs: true, families: ['1/1', '2/1'] });
  });
});

describe('BMP codec (RFC 7854)', () => {
  it('round-trips every message type; encodingLength matches', () => {
    for (const m of sampleMessages()) {
      const buf = encode(m);
      expect(buf.length, m.type).toBe(encodingLength(m));
      const d = decode(buf);
      expect(d.type).toBe(m.type);
    }
    const up = decode(encode(sampleMessages()[1]!));
    expect(up).toMatchObject({ type: 'peer-up', localAddress: '198.18.1.2', localPort: 179, remotePort: 40000, peer: { address: '198.18.1.1', asn: 65001 }, sentOpen: { asn: 65000 }, receivedOpen: { asn: 65001, families: ['1/1', '2/1'] } });
    const rm = decode(encode(sampleMessages()[4]!));
    expect(rm.type === 'route-monitoring' && rm.peer.flags & PeerFlag.V).toBeTruthy();
    expect(rm).toMatchObject({ peer: { address: '2001:db8::1' }, update: { attrs: { mpNextHop: '2001:db8::1' } } });
    const st = decode(encode(sampleMessages()[7]!));
    expect(st).toMatchObject({ type: 'stats-report', stats: [{ type: 0, value: 3 }, { type: 7, value: 2 ** 40 }] });
    expect(decode(encode(sampleMessages()[0]!))).toMatchObject({ sysName: 'pr1', sysDescr: 'FRRouting 8.4' });
  });

  it('reads the A flag: 2-byte AS paths with AS4_PATH', () => {
    const m: BmpInput = { type: 'route-monitoring', peer: { ...peer1, flags: PeerFlag.A }, update: { nlri: [P('203.0.113.0/24')], attrs: attrs([65001, 4200000002]) } };
    const d = decode(encode(m));
    expect(d.type === 'route-monitoring' && formatAsPath(d.update.attrs!.asPath)).toBe('65001 4200000002');
  });

  it('has a 42-byte per-peer header', () => {
    expect(BMP_PER_PEER_HEADER_SIZE).toBe(42);
    expect(encode({ type: 'peer-down', peer: peer1, reason: 4 }).length).toBe(6 + 42 + 1);
  });

  it('decodes unknown types and route mirroring as stubs', () => {
    expect(decode(encode({ type: 'raw', code: 42, body: Buffer.from([1, 2, 3]) }))).toEqual({ type: 'unknown', code: 42 });
    const mirror = Buffer.alloc(6 + 42);
    mirror[0] = 3;
    mirror.writeUInt32BE(48, 1);
    mirror[5] = 6;
    expect(decode(mirror).type).toBe('route-mirroring');
  });
});

describe('BMP framer: one chunk, byte by byte, split at every boundary', () => {
  const msgs = sampleMessages();
  const stream = Buffer.concat(msgs.map((m) => encode(m)));
  const expected = msgs.map((m) => strip(decode(encode(m))));
  const run = (chunks: Buffer[]): unknown[] => {
    const f = new BmpFramer();
    const out: unknown[] = [];
    for (const c of chunks) for (const fr of f.push(c)) out.push(strip(decode(fr)));
    expect(f.pending).toBe(0);
    return out;
  };

  it('one chunk', () => expect(run([stream])).toEqual(expected));
  it('byte by byte', () => expect(run([...stream].map((b) => Buffer.from([b])))).toEqual(expected));
  it('split at every byte boundary', () => {
    for (let i = 1; i < stream.length; i++) expect(run([stream.subarray(0, i), stream.subarray(i)])).toEqual(expected);
  });
  it('a chunk reused by the caller after push does not corrupt held bytes', () => {
    const f = new BmpFramer();
    const tmp = Buffer.from(stream.subarray(0, 10));
    f.push(tmp);
    tmp.fill(0);
    const out = f.push(stream.subarray(10));
    expect(out.map((x) => strip(decode(x)))).toEqual(expected);
  });
  it('refuses a wrong version, a short length and an oversized length, and stays failed', () => {
    const f = new BmpFramer();
    expect(() => f.push(Buffer.from([2, 0, 0, 0, 6, 4]))).toThrow(/version 2/);
    expect(() => f.push(stream)).toThrow(BmpError);
    expect(() => new BmpFramer().push(Buffer.from([3, 0, 0, 0, 5, 4]))).toThrow(/below/);
    const big = Buffer.from([3, 0, 0, 0, 0, 4]);
    big.writeUInt32BE(BMP_MAX_MESSAGE_SIZE + 1, 1);
    const e = (() => {
      try {
        new BmpFramer().push(big);
      } catch (x) {
        return x as BmpError;
      }
    })();
    expect(e).toBeInstanceOf(BmpError);
    expect(e!.fatal).toBe(true);
    expect(e!.code).toBe('OVERSIZED');
  });
});

describe('BMP fuzz (fast-check): only typed errors, sessions never throw', () => {
  const valid = sampleMessages().map((m) => encode(m));
  const typed = (f: () => unknown): void => {
    try {
      f();
    } catch (e) {
      if (!(e instanceof BmpError || e instanceof BgpError)) throw e;
    }
  };

  it('random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (b) => {
        typed(() => decode(Buffer.from(b)));
        typed(() => decodeUpdate(Buffer.from(b)));
        typed(() => decodeOpen(Buffer.from(b)));
        typed(() => new BmpFramer().push(b));
      }),
      { numRuns: 3000 },
    );
  });

  it('mutated valid messages (bytes flipped, truncated, extended) through decode and a session', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: valid.length - 1 }),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 6 }),
        fc.integer({ min: -20, max: 20 }),
        (i, flips, cut) => {
          const b = Buffer.from(valid[i]!);
          for (const [pos, v] of flips) b[6 + (pos % Math.max(1, b.length - 6))] = v;
          const m = cut < 0 ? b.subarray(0, Math.max(0, b.length + cut)) : Buffer.concat([b, Buffer.alloc(cut, 0xff)]);
          if (m.length >= 6) m.writeUInt32BE(m.length, 1); // keep it framed so the decoders see the damage
          typed(() => decode(m));
          const s = new BmpSession(new Rib(), 'r', 'r:1');
          expect(() => {
            for (const v of valid.slice(0, 2)) s.push(v);
            s.push(m);
            s.push(valid[2]!);
          }).not.toThrow();
        },
      ),
      { numRuns: 3000 },
    );
  });
});

describe('BmpSession: RIB effects and robustness', () => {
  const feed = (s: BmpSession, ms: BmpInput[]): void => {
    for (const m of ms) expect(s.push(encode(m))).toBe(true);
  };

  it('keeps pre- and post-policy apart, withdraws, clears on Peer Down', () => {
    const rib = new Rib();
    const s = new BmpSession(rib, 'r1', 'r1:1');
    const msgs = sampleMessages();
    feed(s, msgs.slice(0, 5));
    const p1 = rib.peers().find((p) => p.address === '198.18.1.1')!;
    expect(p1.localAsn).toBe(65000);
    expect([...rib.adjRibIn(p1, false)].map(([t]) => t).sort()).toEqual(['198.51.100.0/24', '203.0.113.0/24']);
    expect([...rib.adjRibIn(p1, true)].map(([t]) => t)).toEqual(['203.0.113.0/24']);
    expect(rib.lookup('2001:db8:1::5')?.routes[0]?.attrs.pathText).toBe('65002 4200000000');
    feed(s, msgs.slice(5, 10));
    expect([...rib.adjRibIn(p1, false)].map(([t]) => t)).toEqual(['203.0.113.0/24']);
    expect(rib.lookup('2001:db8:1::5')).toBeUndefined();
    expect(s.status().peers.find((p) => p.address === '198.18.1.1')?.endOfRib).toEqual(['pre 1/1']);
    feed(s, msgs.slice(10));
    expect(rib.routes).toBe(0);
    expect(s.counters.messages['peer-down']).toBe(1);
  });

  it('accepts route monitoring before peer up, counting it', () => {
    const rib = new Rib();
    const s = new BmpSession(rib, 'r1', 'r1:1');
    feed(s, [sampleMessages()[2]!]);
    expect(rib.size).toBe(2);
    expect(s.counters.skipped['route monitoring before peer up (peer created)']).toBe(1);
  });

  it('skips a malformed message and keeps going; a broken stream is fatal to that session only', () => {
    const rib = new Rib();
    const a = new BmpSession(rib, 'a', 'a:1');
    const b = new BmpSession(rib, 'b', 'b:1');
    const good = encode(sampleMessages()[2]!);
    const bad = Buffer.from(good);
    bad[6 + 42] = 0; // break the BGP marker
    expect(a.push(Buffer.concat([bad, good]))).toBe(true);
    expect(a.counters.skipped['malformed message type 0']).toBe(1);
    expect(b.push(good)).toBe(true);
    expect(rib.peers().length).toBe(2);
    expect(a.push(Buffer.from([7, 7, 7, 7, 7, 7]))).toBe(false);
    a.close();
    expect(rib.peers().map((p) => p.router)).toEqual(['b']);
    expect(rib.size).toBe(2);
    expect(a.push(good)).toBe(false);
  });

  it('counts unknown types, route mirroring, stats', () => {
    const s = new BmpSession(new Rib(), 'r', 'r:1');
    s.push(encode({ type: 'raw', code: 77, body: Buffer.alloc(3) }));
    s.push(encode(sampleMessages()[7]!));
    expect(s.counters.skipped['unknown message type 77']).toBe(1);
    expect(s.status().peers).toEqual([]);
    expect(s.counters.messages['stats-report']).toBe(1);
  });
});
