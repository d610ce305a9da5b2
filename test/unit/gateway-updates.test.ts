/**
 * The gateway pipeline: table-update packets (decode -> apply -> recirculate to
 * the end flag), malformed ones rejected with a typed error and nothing
 * changed, PCIe transactions, VXLAN forwarding with the chosen source port.
 * Packet tests are data: {description, input, expectedVerdict, expectedOutput}.
 */
import { crc32 as zlibCrc32 } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { selectPort } from '../../src/agent/select-port.js';
import { pathEntry } from '../../src/maps/path-entry.js';
import {
  BadVersionError,
  decode,
  encode,
  InvalidFieldError,
  ipv4ToU32,
  LengthMismatchError,
  ShortPacketError,
  tableUpdate,
  telemetryRequest,
  type TableUpdateMessage,
  type TableUpdateRecord,
} from '../../src/protocol/index.js';
import {
  buildExample,
  buildUdpPacket,
  buildVxlanPacket,
  CPU_PORT,
  Gateway,
  IPPROTO_TCP,
  IPPROTO_UDP,
  ipv4HeaderChecksum,
  memoryExperiment,
  PacketChannel,
  PcieChannel,
  PS_F_STATEFUL,
  udpChecksum,
  updateExperiment,
  UpdateRejectedError,
  type Verdict,
} from '../../gateway-sim/index.js';

const CPU = ipv4ToU32('198.18.255.254');
const GW = ipv4ToU32('198.18.255.1');
const peer = (i: number): number => ipv4ToU32('198.18.0.0') + i;

function gateway(scheme: 'pbm' | 'hi' | 'naive', n = 16): Gateway {
  const gw = new Gateway({ scheme, np: 32, peers: n, vips: 2 });
  const pcie = new PcieChannel();
  pcie.sendSync(
    gw,
    Array.from({ length: n }, (_, i) => ({ peer: peer(i), base: 10000, nports: 32, flags: 0, bitmap: 0xffff_ffffn })),
  );
  pcie.sendSync(gw, [{ peer: peer(100), base: 10000, nports: 32, flags: PS_F_STATEFUL, bitmap: 0xffff_ffffn, ngroups: 2, groupMask: [0xffffn, 0xffff0000n] }]);
  return gw;
}

function frame(msg: TableUpdateMessage | Buffer): Buffer {
  const payload = Buffer.isBuffer(msg) ? msg : encode(msg);
  return buildUdpPacket({ src: CPU, dst: GW, sport: 10000, dport: 4789, payload });
}

const rec = (i: number, bitmap: bigint): TableUpdateRecord => ({ peer: peer(i), base: 10000, nports: 32, flags: 0, bitmap });

/** Everything the gateway's tables hold, for before/after comparisons. */
function snapshot(gw: Gateway): string {
  const views: unknown[] = [];
  for (let i = 0; i < 16; i++) views.push(gw.path.view(peer(i)));
  views.push(gw.stateful.view(peer(100)));
  return JSON.stringify(views);
}

describe('packet-triggered updates', () => {
  for (const scheme of ['pbm', 'hi'] as const) {
    it(`${scheme}: one record per pass, the packet recirculated without it until the end flag`, () => {
      const gw = gateway(scheme);
      const records = [rec(0, 0x1n), rec(1, 0xff00n), rec(2, 0xf0f0_f0f0n)];
      const passes: Buffer[] = [];
      const r = gw.simulate(frame(tableUpdate(records, { seq: 9 })), { ingressPort: CPU_PORT, trace: (_p, pkt) => passes.push(pkt) });
      expect(r.verdict).toBe('drop'); // consumed
      expect(r.passes).toBe(3);
      expect(r.reason).toMatch(/3 record\(s\) in 3 pass/);
      // every pass sees a well-formed packet carrying the records not yet applied
      passes.forEach((pkt, k) => {
        expect(ipv4HeaderChecksum(pkt, 0)).toBe(pkt.readUInt16BE(10));
        expect(pkt.readUInt16BE(2)).toBe(pkt.length);
        const msg = decode(pkt, 28) as TableUpdateMessage;
        expect(msg.seq).toBe(9);
        expect(msg.records).toEqual(records.slice(k));
      });
      // and the tables hold the new state
      expect(gw.select(peer(0), 12345)?.idx).toBe(0);
      for (let h = 0; h < 64; h++) {
        for (const [i, bm] of [
          [1, 0xff00n],
          [2, 0xf0f0_f0f0n],
        ] as const) {
          const c = gw.select(peer(i), h)!;
          expect((bm >> BigInt(c.idx)) & 1n).toBe(1n);
        }
      }
    });
  }

  it('an IPv4 header with options: every pass still sees a well-formed packet (the byte-wise deparser)', () => {
    const gw = gateway('pbm');
    const records = [rec(3, 0x10n), rec(4, 0x20n), rec(5, 0x40n), rec(6, 0x80n)];
    const plain = frame(tableUpdate(records, { seq: 4 }));
    // 4 bytes of options (NOP x 4): IHL 6, total length + 4, header checksum recomputed
    const pkt = Buffer.concat([plain.subarray(0, 20), Buffer.from([1, 1, 1, 1]), plain.subarray(20)]);
    pkt[0] = 0x46;
    pkt.writeUInt16BE(pkt.length, 2);
    pkt.writeUInt16BE(ipv4HeaderChecksum(pkt, 0), 10);
    const passes: Buffer[] = [];
    const r = gw.simulate(pkt, { ingressPort: CPU_PORT, trace: (_p, b) => passes.push(b) });
    expect(r).toMatchObject({ verdict: 'drop', passes: 4 });
    passes.forEach((b, k) => {
      expect(b.subarray(20, 24)).toEqual(Buffer.from([1, 1, 1, 1]));
      expect(ipv4HeaderChecksum(b, 0)).toBe(b.readUInt16BE(10));
      expect(b.readUInt16BE(2)).toBe(b.length);
      expect(b.readUInt16BE(24 + 4)).toBe(b.length - 24);
      expect((decode(b, 32) as TableUpdateMessage).records).toEqual(records.slice(k));
    });
    const bits = (b: bigint): string => Array.from({ length: 32 }, (_, i) => ((b >> BigInt(i)) & 1n ? '1' : '0')).join('');
    for (const r of records) expect(gw.path.view(r.peer)).toMatchObject({ bitmap: bits(r.bitmap) });
  });

  it('PBM with Np = 64 (64-bit bitmap registers): packets and PCIe leave identical tables', () => {
    const mk = (): Gateway => {
      const gw = new Gateway({ scheme: 'pbm', np: 64, peers: 8, vips: 1 });
      new PcieChannel().sendSync(
        gw,
        Array.from({ length: 8 }, (_, i) => ({ peer: peer(i), base: 10000, nports: 64, flags: 0, bitmap: 1n })),
      );
      return gw;
    };
    const a = mk();
    const b = mk();
    const updates = Array.from({ length: 8 }, (_, i) => ({ peer: peer(i), base: 10000, nports: 64, flags: 0, bitmap: (0x8000_0001n << BigInt(i * 4)) | (1n << 63n) }));
    new PcieChannel().sendSync(a, updates);
    new PacketChannel(b, { perPacket: 3 }).send(updates);
    for (let i = 0; i < 8; i++) {
      expect(b.path.view(peer(i))).toEqual(a.path.view(peer(i)));
      for (const h of [0, 31, 32, 63]) expect(b.select(peer(i), h)).toEqual(a.select(peer(i), h));
    }
  });

  it('PacketChannel: inject() leaves the frames as they were (the pipeline works on a copy); send() times encoding and passes apart', () => {
    const gw = gateway('hi');
    const ch = new PacketChannel(gw, { perPacket: 4 });
    const updates = Array.from({ length: 10 }, (_, i) => rec(i, BigInt(0x0f0f_0f0f >>> i)));
    const frames = ch.encode(updates);
    const copies = frames.map((f) => Buffer.from(f));
    const once = ch.inject(frames);
    expect(once).toMatchObject({ records: 10, packets: 3, passes: 10, encodeSeconds: 0 });
    expect(once.wallSeconds).toBe(once.pipelineSeconds);
    expect(frames).toEqual(copies);
    const after = snapshot(gw);
    expect(ch.inject(frames)).toMatchObject({ records: 10, passes: 10 });
    expect(snapshot(gw)).toBe(after); // the same updates again change nothing
    const sent = ch.send(updates);
    expect(sent.encodeSeconds).toBeGreaterThan(0);
    expect(sent.wallSeconds).toBeCloseTo(sent.encodeSeconds + sent.pipelineSeconds, 12);
  });

  it('PacketChannel.encode: one frame per batch with counting sequence ids, written into the reused send buffer', () => {
    const gw = gateway('pbm');
    const ch = new PacketChannel(gw, { perPacket: 4, seq: 7 });
    const updates = Array.from({ length: 10 }, (_, i) => rec(i, BigInt(0x0f0f_0f0f >>> i)));
    const frames = ch.encode(updates);
    expect(frames.map((f) => (decode(f, 28) as TableUpdateMessage).seq)).toEqual([7, 8, 9]);
    expect(frames.map((f) => (decode(f, 28) as TableUpdateMessage).records)).toEqual([updates.slice(0, 4), updates.slice(4, 8), updates.slice(8)]);
    expect(frames.map((f) => ipv4HeaderChecksum(f, 0))).toEqual(frames.map((f) => f.readUInt16BE(10)));
    // the next encode() reuses the buffer (a transmit ring): earlier frames show the new packets
    const again = ch.encode(updates.slice(0, 4));
    expect(again[0]!.buffer).toBe(frames[0]!.buffer);
    expect((decode(frames[0]!, 28) as TableUpdateMessage).seq).toBe(10);
    // a bad record anywhere refuses the whole encode with the record named
    expect(() => ch.encode([...updates, { ...updates[0]!, bitmap: 1n << 33n }])).toThrow(/records\[10\]\.bitmap/);
  });

  it("the first pass's fast acceptance check agrees with checkRecord on random records", () => {
    for (const scheme of ['pbm', 'hi', 'naive'] as const) {
      const gw = gateway(scheme);
      const rng = (() => {
        let x = 12345;
        return () => (x = (Math.imul(x, 1103515245) + 12345) >>> 0) / 2 ** 32;
      })();
      const b = Buffer.alloc(16);
      for (let k = 0; k < 2000; k++) {
        const r = { peer: rng() < 0.8 ? peer(Math.floor(rng() * 20)) : Math.floor(rng() * 2 ** 32), base: rng() < 0.8 ? 10000 : 10001, nports: rng() < 0.8 ? 32 : 16, flags: 0 };
        b.writeUInt32BE(r.peer >>> 0, 0);
        b.writeUInt16BE(r.base, 4);
        b[6] = r.nports;
        b[7] = 0;
        expect(gw.path.acceptsRecord(b, 0), `${scheme} ${JSON.stringify(r)}`).toBe(gw.path.checkRecord(r) === undefined);
      }
    }
  });

  it('PBM and HI: packets and PCIe leave identical tables', () => {
    for (const scheme of ['pbm', 'hi'] as const) {
      const a = gateway(scheme);
      const b = gateway(scheme);
      const updates = Array.from({ length: 16 }, (_, i) => rec(i, BigInt((Math.imul(i + 7, 0x9e3779b1) | 1) >>> 0)));
      new PcieChannel().sendSync(a, updates);
      const rep = new PacketChannel(b, { perPacket: 5 }).send(updates);
      expect(rep).toMatchObject({ records: 16, packets: 4, passes: 16 });
      expect(snapshot(b)).toBe(snapshot(a));
    }
  });

  const malformed: Array<{ description: string; packet: () => Buffer; port?: number; error: new (...a: never[]) => Error }> = [
    {
      description: 'wrong version',
      packet: () => {
        const p = encode(tableUpdate([rec(0, 1n), rec(1, 1n)]));
        p[4] = 9;
        return frame(p);
      },
      error: BadVersionError,
    },
    {
      description: 'truncated in the middle of a record (data length says more)',
      packet: () => {
        const p = encode(tableUpdate([rec(0, 1n), rec(1, 1n), rec(2, 1n)]));
        return frame(p.subarray(0, p.length - 5));
      },
      error: ShortPacketError,
    },
    {
      description: 'body not a whole number of records',
      packet: () => {
        const p = Buffer.concat([encode(tableUpdate([rec(0, 1n), rec(1, 1n)])), Buffer.alloc(4)]);
        p.writeUInt16BE(p.length, 8);
        return frame(p);
      },
      error: LengthMismatchError,
    },
    {
      description: 'the last record lacks the end flag',
      packet: () => {
        const p = encode(tableUpdate([rec(0, 1n), rec(1, 1n), rec(2, 1n)]));
        p[28 + 2 * 16 + 7] = 0;
        return frame(p);
      },
      error: InvalidFieldError,
    },
    {
      description: 'a later record has a bitmap wider than its window',
      packet: () => {
        const p = encode(tableUpdate([rec(0, 1n), rec(1, 1n), rec(2, 1n), rec(3, 1n), rec(4, 1n)]));
        p[28 + 3 * 16 + 6] = 8; // record 3: nports 8, bitmap bit 0 only ... and bit 31 below
        p[28 + 3 * 16 + 12] = 0x80;
        return frame(p);
      },
      error: InvalidFieldError,
    },
    {
      description: 'a later record names a peer the gateway does not have',
      packet: () => frame(tableUpdate([rec(0, 1n), rec(1, 1n), rec(2, 1n), rec(77, 1n)])),
      error: UpdateRejectedError,
    },
    {
      description: 'a record for a stateful vIP (its entries are control-plane only)',
      packet: () => frame(tableUpdate([rec(0, 1n), rec(100, 1n)])),
      error: UpdateRejectedError,
    },
    {
      description: 'a record with another window size',
      packet: () => frame(tableUpdate([rec(0, 1n), { ...rec(1, 1n), nports: 16 }])),
      error: UpdateRejectedError,
    },
    {
      description: 'from a network port instead of the CPU port',
      packet: () => frame(tableUpdate([rec(0, 1n)])),
      port: 3,
      error: UpdateRejectedError,
    },
  ];

  for (const scheme of ['pbm', 'hi'] as const) {
    for (const c of malformed) {
      it(`${scheme}: rejects ${c.description} with a typed error and changes nothing`, () => {
        const gw = gateway(scheme);
        const before = snapshot(gw);
        const r = gw.simulate(c.packet(), { ingressPort: c.port ?? CPU_PORT });
        expect(r.verdict).toBe('drop');
        expect(r.error).toBeInstanceOf(c.error);
        expect(r.passes).toBe(1);
        expect(snapshot(gw)).toBe(before);
        expect(gw.stats.updatesRejected).toBe(1);
      });
    }
  }

  it('the naive table refuses packet updates (its ports are hash-table entries)', () => {
    const gw = gateway('naive');
    const before = snapshot(gw);
    expect(() => new PacketChannel(gw).send([rec(0, 1n)])).toThrow(UpdateRejectedError);
    expect(snapshot(gw)).toBe(before);
  });

  it('PacketChannel throws the typed error of a rejected packet; the packets before it stay applied', () => {
    const gw = gateway('pbm');
    const ch = new PacketChannel(gw, { perPacket: 2 });
    expect(() => ch.send([rec(0, 1n), rec(1, 2n), rec(2, 4n), rec(99, 8n)])).toThrow(UpdateRejectedError);
    expect(gw.select(peer(0), 0)?.idx).toBe(0);
    expect(gw.select(peer(1), 0)?.idx).toBe(1);
    expect(gw.select(peer(2), 0)?.idx).toBe(0); // its packet was rejected whole
  });
});

describe('PCIe channel', () => {
  it('counts one transaction per table write: PBM 1, HI one per changed group, naive one per changed slot', () => {
    const every = 0xffff_ffffn;
    const change = 0x0f0f_0f0fn; // every HI group (stride 4) keeps some ports, loses some
    for (const [scheme, per] of [
      ['pbm', 1],
      ['hi', 4],
      ['naive', 32],
    ] as const) {
      const gw = gateway(scheme);
      const pcie = new PcieChannel();
      const a = pcie.sendSync(gw, [rec(0, change)]);
      const b = pcie.sendSync(gw, [rec(0, every ^ change)]); // every port flips
      expect(b.transactions, scheme).toBe(per);
      expect(pcie.transactions).toBe(a.transactions + b.transactions);
      expect(pcie.seconds).toBeCloseTo(pcie.transactions / 10_000, 12);
      expect(pcie.sendSync(gw, [rec(0, every ^ change)]).transactions).toBe(0); // nothing changed
    }
    // a new peer also costs its match entry
    expect(new PcieChannel().sendSync(new Gateway({ scheme: 'pbm', np: 32, peers: 1 }), [rec(0, 1n)]).transactions).toBe(2);
  });

  it('in real time it takes at least transactions / rate', async () => {
    const gw = gateway('hi');
    const pcie = new PcieChannel({ rate: 1000, realtime: true });
    const rep = await pcie.send(gw, [rec(0, 0x0f0f_0f0fn), rec(1, 0x0f0f_0f0fn), rec(2, 0x0f0f_0f0fn)]);
    expect(rep.transactions).toBe(12);
    expect(rep.wallSeconds).toBeGreaterThanOrEqual(0.012);
    expect(() => pcie.sendSync(gw, [])).toThrow(/virtual clock/);
  });
});

describe('VXLAN forwarding', () => {
  const flows = [
    { src: ipv4ToU32('192.0.2.10'), dst: ipv4ToU32('192.0.2.20'), proto: IPPROTO_TCP, sport: 40000, dport: 443 },
    { src: ipv4ToU32('192.0.2.11'), dst: ipv4ToU32('192.0.2.21'), proto: IPPROTO_UDP, sport: 5353, dport: 53 },
    { src: ipv4ToU32('192.0.2.12'), dst: ipv4ToU32('192.0.2.20'), proto: IPPROTO_TCP, sport: 40001, dport: 443 },
  ];
  /** CRC32 of the inner 5-tuple, computed here independently of gateway-sim. */
  const tupleHash = (f: (typeof flows)[number]): number => {
    const b = Buffer.alloc(13);
    b.writeUInt32BE(f.src, 0);
    b.writeUInt32BE(f.dst, 4);
    b[8] = f.proto;
    b.writeUInt16BE(f.sport, 9);
    b.writeUInt16BE(f.dport, 11);
    return zlibCrc32(b) >>> 0;
  };

  interface PacketCase {
    description: string;
    input: Buffer;
    expectedVerdict: Verdict;
    expectedOutput: Buffer | undefined;
  }

  it('packet fixtures: rewrite the outer sport to the chosen port, leave everything else alone', () => {
    const gw = gateway('pbm');
    const bitmap = 0x8000_0101n;
    new PcieChannel().sendSync(gw, [rec(3, bitmap)]);
    const cases: PacketCase[] = [];
    for (const f of flows) {
      const input = buildVxlanPacket({ outerSrc: GW, outerDst: peer(3), outerSport: 51234, inner: f });
      const want = selectPort(pathEntry({ basePort: 10000, nports: 32, healthy: bitmap }), tupleHash(f))!;
      const out = Buffer.from(input);
      out.writeUInt16BE(want.port, 20);
      out.writeUInt16BE(udpChecksum(out, 0, 20), 26);
      cases.push({ description: `flow ${f.sport}->${f.dport} to a PBM peer`, input, expectedVerdict: 'forward', expectedOutput: out });
    }
    const noCsum = buildVxlanPacket({ outerSrc: GW, outerDst: peer(3), outerSport: 51234, inner: flows[0]!, checksum: false });
    const noCsumOut = Buffer.from(noCsum);
    noCsumOut.writeUInt16BE(selectPort(pathEntry({ basePort: 10000, nports: 32, healthy: bitmap }), tupleHash(flows[0]!))!.port, 20);
    cases.push({ description: 'UDP checksum 0 (noudpcsum) stays 0', input: noCsum, expectedVerdict: 'forward', expectedOutput: noCsumOut });
    const unknown = buildVxlanPacket({ outerSrc: GW, outerDst: ipv4ToU32('198.18.9.9'), outerSport: 51234, inner: flows[0]! });
    cases.push({ description: 'peer not in the table: unchanged', input: unknown, expectedVerdict: 'forward', expectedOutput: unknown });
    const other = buildUdpPacket({ src: GW, dst: peer(3), sport: 1234, dport: 53, payload: Buffer.from('dns?') });
    cases.push({ description: 'not to the tunnel port: untouched', input: other, expectedVerdict: 'forward', expectedOutput: other });
    const probe = buildUdpPacket({ src: peer(3), dst: GW, sport: 10005, dport: 4789, payload: encode(telemetryRequest({ seq: 1 })) });
    cases.push({ description: 'a telemetry request goes to the CPU', input: probe, expectedVerdict: 'to_cpu', expectedOutput: probe });
    const bad = Buffer.from(other);
    bad.writeUInt16BE(2000, 2);
    cases.push({ description: 'IPv4 total length beyond the packet: dropped', input: bad, expectedVerdict: 'drop', expectedOutput: undefined });
    for (const c of cases) {
      const r = gw.simulate(c.input);
      expect(r.verdict, c.description).toBe(c.expectedVerdict);
      expect(r.output, c.description).toEqual(c.expectedOutput);
    }
  });

  it('a stateful vIP keeps a flow within its group', () => {
    const gw = gateway('hi');
    for (const f of flows) {
      const r = gw.simulate(buildVxlanPacket({ outerSrc: GW, outerDst: peer(100), outerSport: 1, inner: f }));
      const port = r.output!.readUInt16BE(20) - 10000;
      const group = tupleHash(f) % 2;
      expect(group === 0 ? port < 16 : port >= 16).toBe(true);
    }
  });
});

describe('experiments and the built-in example (small)', () => {
  it('memory experiment: compressed tables are much smaller and every lookup lands on an available port', () => {
    const m = memoryExperiment({ populations: [3000] });
    expect(m.rows).toHaveLength(3);
    for (const r of m.rows) {
      expect(r.selection_ok).toBe('20000/20000');
      expect(r.ratio).toBeGreaterThan(10);
    }
    expect(m.pbm_ratio).toBeGreaterThan(15);
    expect(m.hi_ratio).toBeGreaterThan(15);
    expect(m.tables.map((t) => t.name)).toContain('pbm_priority@Np64');
  });

  it('update experiment: PCIe transactions per peer and identical tables through both channels', () => {
    const u = updateExperiment({ peers: 900, runs: 1, warmup: 1, naiveSample: 50 });
    expect(u.pbm).toMatchObject({ pcie_transactions: 900, passes: 900, packets: 10, tables_equal: true });
    expect(u.hi).toMatchObject({ pcie_transactions: 3600, passes: 900, tables_equal: true });
    expect(u.naive.transactions_per_peer).toBe(32);
    expect(u.hi_pcie_vs_pbm).toBe(4);
    expect(u.pcie_s).toBeCloseTo(0.09, 10);
    expect(u.packet_s).toBeGreaterThan(0);
    expect(u.pbm.serial_s).toBeCloseTo(u.pbm.encode_s_runs[0]! + u.pbm.packet_s_runs[0]!, 12);
    // the headline includes encoding, so it is below the passes alone
    expect(u.speedup).toBeLessThanOrEqual(u.pipeline_speedup);
    expect(u.speedup).toBeCloseTo(Math.min(u.pbm.pcie_s / u.pbm.cpu_serial_s, u.hi.pcie_s / u.hi.cpu_serial_s), 9);
    expect(u.pbm.cpu_serial_s).toBeCloseTo(u.pbm.cpu_encode_s + u.pbm.cpu_packet_s, 12); // one run: the medians are that run's
    expect(u.wall_speedup).toBeCloseTo(Math.min(u.pbm.pcie_s / u.pbm.serial_s, u.hi.pcie_s / u.hi.serial_s), 9);
    // records in random peer order: the same work, the same end state
    const r = updateExperiment({ peers: 450, runs: 1, warmup: 0, naiveSample: 10, order: 'random' });
    expect(r.order).toBe('random');
    expect(r.pbm).toMatchObject({ pcie_transactions: 450, passes: 450, tables_equal: true });
    expect(r.hi).toMatchObject({ pcie_transactions: 1800, passes: 450, tables_equal: true });
  });

  it('the example reproduces Fig. 11 through a table-update packet', () => {
    const ex = buildExample();
    expect(ex.pbm.select(ex.peers.dstIP_2!, 2)?.port).toBe(10004);
    expect(ex.pbm.path.view(ex.peers.dstIP_2!)).toMatchObject({ bitmap: '1001' });
    expect(ex.hi.path.view(ex.peers.dstIP_i!)).toBeDefined();
  });
});
