/**
 * Every map codec: round trip (also at a non-zero offset), exact size, typed
 * errors on short input, the bulk encoder against the single one, and the
 * value conversions (IPv4 keys, LPM prefixes, per-CPU activity).
 */
import fc from 'fast-check';
import { isIPv4 } from 'node:net';
import { describe, expect, it } from 'vitest';
import { combineActivity } from '../../src/maps/activity.js';
import { AltpathCodec, LpmKeyCodec } from '../../src/maps/altpath.js';
import type { Codec } from '../../src/maps/codec.js';
import { ConnEventCodec, connEventAddrs } from '../../src/maps/conn-event.js';
import { MAP_CODECS, STRUCT_CODECS } from '../../src/maps/index.js';
import { PathEntryCodec, type PathEntry } from '../../src/maps/path-entry.js';
import { ipv4Bytes, ipv4String, PeerCodec } from '../../src/maps/scalar.js';

const u64 = fc.bigInt({ min: 0n, max: (1n << 64n) - 1n });
const u32 = fc.integer({ min: 0, max: 0xffffffff });
const u16 = fc.integer({ min: 0, max: 0xffff });
const u8 = fc.integer({ min: 0, max: 255 });
const ipv4 = fc.tuple(u8, u8, u8, u8).map((p) => p.join('.'));

const pathEntryArb: fc.Arbitrary<PathEntry> = fc.record({
  basePort: u16,
  nports: u8,
  flags: u8,
  ngroups: u8,
  healthy: u64,
  preferred: u64,
  groupMask: fc.array(u64, { minLength: 8, maxLength: 8 }),
});

/** A value generator per codec (C struct name). */
const ARBS: Record<string, fc.Arbitrary<unknown>> = {
  ps_config: fc.record({ vxlanPort: u16, genevePort: u16, agentPort: u16, flags: u16, hashSeed: u32, pathGen: u32 }),
  ps_path_entry: pathEntryArb,
  ps_pin_key: fc.record({ peer: ipv4, flowHash: u32 }),
  ps_pin_val: fc.record({ idx: u8 }),
  ps_activity: fc.record({ lastSeenNs: u64, packets: u64, bytes: u64, portsInUse: u64 }),
  ps_flow_slot: fc.record({
    peer: ipv4,
    flowHash: u32,
    gen: u32,
    sport: u16,
    idx: u8,
    outcome: u8,
    flushedJiffies: u64,
    flushedNs: u64,
    pendingPackets: u64,
    pendingBytes: u64,
  }),
  ps_reflect_cfg: fc.record({ backendId: fc.integer({ min: 0, max: 2 ** 48 - 1 }), flags: u8, rate: fc.integer({ min: 0, max: 100_000_000 }), burst: u32 }),
  ps_reflect_src: fc.record({ tokensMilli: u64, refillNs: u64, answered: u64, bp: u64 }),
  ps_learn_key: fc.record({ peer: ipv4, addrLo: ipv4, addrHi: ipv4, portLo: u16, portHi: u16, proto: u8 }),
  ps_learn_val: fc.record({ seenNs: u64, sport: u16 }),
  ps_altpath_rule: fc.record({ dscp: u8, basisPoints: u16 }),
  ps_altpath: fc.record({
    seed: u32,
    gen: u32,
    onlyUnmarked: fc.boolean(),
    rules: fc.array(fc.record({ dscp: u8, basisPoints: u16 }), { maxLength: 8 }),
  }),
  ps_altpath_slot: fc.record({
    saddr: fc.uint8Array({ minLength: 16, maxLength: 16 }).map((a) => Buffer.from(a)),
    daddr: fc.uint8Array({ minLength: 16, maxLength: 16 }).map((a) => Buffer.from(a)),
    ports: u32,
    gen: u32,
    family: fc.constantFrom(4, 6),
    proto: fc.constantFrom(6, 17),
    dscp: fc.integer({ min: 0, max: 63 }),
    outcome: u8,
  }),
  ps_conn_config: fc.record({ sampleRate: u32, markedMultiplier: u32, netnsIno: u32, flags: u32 }),
  ps_lpm_key: fc.oneof(
    fc.record({ addr: ipv4, len: fc.integer({ min: 0, max: 32 }) }),
    fc.record({
      addr: fc.array(u16, { minLength: 8, maxLength: 8 }).map((g) => g.map((x) => x.toString(16)).join(':')),
      len: fc.integer({ min: 0, max: 128 }),
    }),
  ),
  ps_conn_event: fc.record({
    tsNs: u64,
    bytesAcked: u64,
    bytesReceived: u64,
    durationUs: u64,
    family: fc.constantFrom(2, 10),
    saddr: fc.uint8Array({ minLength: 16, maxLength: 16 }).map((a) => Buffer.from(a)),
    daddr: fc.uint8Array({ minLength: 16, maxLength: 16 }).map((a) => Buffer.from(a)),
    srttUs: u32,
    rttvarUs: u32,
    rtoUs: u32,
    totalRetrans: u32,
    segsOut: u32,
    segsIn: u32,
    sport: u16,
    dport: u16,
    dscp: u8,
  }),
};

/** LPM keys come back canonical (IPv6 compressed), so compare through the bytes. */
const canonical = (codec: Codec<unknown>, v: unknown): unknown => (codec.cName === 'ps_lpm_key' ? codec.decode(codec.encode(v)) : v);

describe('map codecs', () => {
  it.each(Object.entries(STRUCT_CODECS))('%s round-trips at any offset and fills exactly its size', (_name, c) => {
    const codec = c as Codec<unknown>;
    const arb = ARBS[codec.cName];
    expect(arb, `generator for ${codec.cName}`).toBeDefined();
    fc.assert(
      fc.property(arb!, fc.integer({ min: 0, max: 24 }), (v, off) => {
        const buf = Buffer.alloc(off + codec.size + 8, 0xaa);
        codec.encode(v, buf, off);
        expect(buf.subarray(0, off).every((x) => x === 0xaa)).toBe(true);
        expect(buf.subarray(off + codec.size).every((x) => x === 0xaa)).toBe(true);
        expect(codec.decode(buf, off)).toEqual(canonical(codec, v));
        expect(codec.encode(v)).toHaveLength(codec.size);
      }),
      { numRuns: 300 },
    );
  });

  it.each(Object.entries(STRUCT_CODECS))('%s rejects short input with a RangeError naming the struct', (_name, c) => {
    const codec = c as Codec<unknown>;
    expect(() => codec.decode(Buffer.alloc(codec.size - 1))).toThrow(RangeError);
    expect(() => codec.decode(Buffer.alloc(codec.size - 1))).toThrow(codec.cName);
    expect(() => codec.decode(Buffer.alloc(codec.size), 1)).toThrow(RangeError);
    expect(() => codec.encode(fc.sample(ARBS[codec.cName]!, 1)[0], Buffer.alloc(codec.size), 1)).toThrow(RangeError);
  });

  it('every map has codecs of its key and value size', () => {
    for (const [name, c] of Object.entries(MAP_CODECS)) {
      expect(c.value.size, name).toBeGreaterThan(0);
      if (c.key) expect(c.key.size, name).toBeGreaterThan(0);
    }
  });

  it('PathEntry bulk encoding writes the same bytes as encode()', () => {
    fc.assert(
      fc.property(fc.array(pathEntryArb, { maxLength: 20 }), fc.integer({ min: 0, max: 9 }), (vs, off) => {
        const a = Buffer.alloc(off + vs.length * 96 + 1, 0x55);
        const b = Buffer.from(a);
        PathEntryCodec.encodeMany!(vs, a, off, 96);
        vs.forEach((v, i) => PathEntryCodec.encode(v, b, off + i * 96));
        expect(a.equals(b)).toBe(true);
      }),
    );
    expect(() => PathEntryCodec.encodeMany!([fc.sample(pathEntryArb, 1)[0]!], Buffer.alloc(87))).toThrow(RangeError);
  });

  it('negative and oversized bigints wrap to 64 bits like the C side', () => {
    const e = fc.sample(pathEntryArb, 1)[0]!;
    const d = PathEntryCodec.decode(PathEntryCodec.encode({ ...e, healthy: -1n, preferred: (1n << 64n) + 5n }));
    expect(d.healthy).toBe(0xffff_ffff_ffff_ffffn);
    expect(d.preferred).toBe(5n);
  });

  it('peer keys are IPv4 in network order, validated like net.isIPv4', () => {
    expect(PeerCodec.encode('198.18.0.2')).toEqual(Buffer.from([198, 18, 0, 2]));
    expect(PeerCodec.decode(Buffer.from([192, 0, 2, 1]))).toBe('192.0.2.1');
    fc.assert(
      fc.property(fc.oneof(ipv4, fc.string({ maxLength: 18 }), fc.stringMatching(/^[0-9.]{1,16}$/)), (s) => {
        let ok = true;
        try {
          ipv4Bytes(s);
        } catch (e) {
          expect(e).toBeInstanceOf(RangeError);
          ok = false;
        }
        expect(ok, s).toBe(isIPv4(s));
        if (ok) expect(ipv4String(ipv4Bytes(s))).toBe(s);
      }),
      { numRuns: 2000 },
    );
  });

  it('LPM keys map IPv4 into ::ffff:0:0/96 and keep IPv6 as it is', () => {
    const k4 = LpmKeyCodec.encode({ addr: '203.0.113.0', len: 24 });
    expect(k4.readUInt32LE(0)).toBe(120);
    expect(k4.subarray(4).toString('hex')).toBe('00000000000000000000ffffcb007100');
    expect(LpmKeyCodec.decode(k4)).toEqual({ addr: '203.0.113.0', len: 24 });
    expect(LpmKeyCodec.decode(LpmKeyCodec.encode({ addr: '2001:db8::1', len: 64 }))).toEqual({ addr: '2001:db8::1', len: 64 });
    expect(() => LpmKeyCodec.encode({ addr: '203.0.113.0', len: 33 })).toThrow(RangeError);
    expect(() => LpmKeyCodec.encode({ addr: 'nope', len: 1 })).toThrow(RangeError);
  });

  it('AltPath holds at most 8 rules', () => {
    const rule = { dscp: 10, basisPoints: 100 };
    expect(() => AltpathCodec.encode({ seed: 1, onlyUnmarked: true, rules: Array(9).fill(rule) })).toThrow(/at most 8 rules/);
  });

  it('conn events print their addresses by family', () => {
    const saddr = Buffer.alloc(16);
    Buffer.from([198, 51, 100, 7]).copy(saddr);
    const daddr = Buffer.from('20010db8000000000000000000000001', 'hex');
    expect(connEventAddrs({ family: 2, saddr, daddr: saddr })).toEqual({ saddr: '198.51.100.7', daddr: '198.51.100.7' });
    expect(connEventAddrs({ family: 10, saddr: daddr, daddr }).daddr).toBe('2001:db8::1');
    expect(ConnEventCodec.size).toBe(96);
  });

  it('per-CPU activity combines to sums, the latest time and the union of ports', () => {
    expect(
      combineActivity([
        { lastSeenNs: 5n, packets: 2n, bytes: 100n, portsInUse: 0b01n },
        { lastSeenNs: 9n, packets: 3n, bytes: 50n, portsInUse: 0b10n },
        { lastSeenNs: 0n, packets: 0n, bytes: 0n, portsInUse: 0n },
      ]),
    ).toEqual({ lastSeenNs: 9n, packets: 5n, bytes: 150n, portsInUse: 0b11n });
  });
});
