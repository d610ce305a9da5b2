import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  BadMagicError,
  BadTypeError,
  BadVersionError,
  backendIdToMac,
  batchTableUpdates,
  BufferTooSmallError,
  Ctl,
  decode,
  decodeHeader,
  encode,
  encodeTableUpdateRecords,
  encodingLength,
  HOST_REFLECT_SIZE,
  HostReflectCodec,
  InvalidFieldError,
  ipv4ToU32,
  LengthMismatchError,
  macToBackendId,
  type Message,
  MsgType,
  negotiationRequest,
  OversizedPacketError,
  PacketFramer,
  ProtocolError,
  PS_HEADER_SIZE,
  PS_MAX_PACKET_SIZE,
  PS_MAX_REFLECT_SIZE,
  PS_MAX_TABLE_UPDATE_RECORDS,
  PS_TABLE_UPDATE_RECORD_SIZE,
  readTableUpdateRecord,
  responseTo,
  ShortPacketError,
  tableUpdate,
  type TableUpdateRecord,
  telemetryRequest,
  TU_F_END,
  u32ToIpv4,
  validateTableUpdate,
} from '../../src/protocol/index.js';

// ---------------------------------------------------------------------------
// arbitraries

const u8 = fc.integer({ min: 0, max: 0xff });
const u16 = fc.integer({ min: 0, max: 0xffff });
const u32 = fc.integer({ min: 0, max: 0xffff_ffff });
const header = {
  version: fc.constant(1),
  mode: u8,
  ctl: fc.constantFrom(0, Ctl.RST, Ctl.BP, Ctl.FIN, Ctl.RST | Ctl.BP),
  flags: u8,
  txSport: u16,
  seq: u32,
  srcVtep: u32,
  backendId: fc.integer({ min: 0, max: 2 ** 48 - 1 }),
  aux: u16,
};
const reflect = fc.uint8Array({ maxLength: 64 }).map((a) => Buffer.from(a));
const record: fc.Arbitrary<TableUpdateRecord> = fc
  .record({ peer: u32, base: u16, nports: fc.integer({ min: 1, max: 64 }), flags: fc.integer({ min: 0, max: 7 }), bits: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }) })
  .map(({ bits, ...r }) => ({ ...r, bitmap: bits & (r.nports === 64 ? (1n << 64n) - 1n : (1n << BigInt(r.nports)) - 1n) }));

const message: fc.Arbitrary<Message> = fc.oneof(
  fc.record({ ...header, type: fc.constantFrom(MsgType.NEGOTIATION_REQUEST, MsgType.NEGOTIATION_RESPONSE), reflect }) as fc.Arbitrary<Message>,
  fc.record({ ...header, type: fc.constantFrom(MsgType.TELEMETRY_REQUEST, MsgType.TELEMETRY_RESPONSE), reflect }) as fc.Arbitrary<Message>,
  fc.record({ ...header, type: fc.constant(MsgType.TABLE_UPDATE), records: fc.array(record, { minLength: 1, maxLength: PS_MAX_TABLE_UPDATE_RECORDS }) }) as fc.Arbitrary<Message>,
);

function expectProtocolError(fn: () => unknown, cls: new (...a: never[]) => ProtocolError): ProtocolError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(cls);
    return e as ProtocolError;
  }
  throw new Error(`expected ${cls.name}, nothing was thrown`);
}

// ---------------------------------------------------------------------------

describe('protocol: layout', () => {
  it('puts every header field at the offset DESIGN §3 gives, in network byte order', () => {
    const m = telemetryRequest({
      mode: 0x02,
      ctl: Ctl.BP,
      flags: 0x5a,
      txSport: 10003,
      seq: 0x01020304,
      srcVtep: ipv4ToU32('198.18.0.7'),
      backendId: macToBackendId('02:00:5e:10:20:30'),
      reflect: Buffer.from('abcd'),
    });
    const b = encode(m);
    expect(b.toString('hex')).toBe(
      [
        'ffeedd', // magic
        '7e', // type
        '01', // version
        '02', // mode
        '02', // CTL
        '5a', // flags
        '0020', // data length 32
        '2713', // tx_sport 10003
        '01020304', // seq
        'c6120007', // 198.18.0.7
        '02005e102030', // backend id
        '0000', // reserved
        Buffer.from('abcd').toString('hex'),
      ].join(''),
    );
    expect(PS_HEADER_SIZE).toBe(28);
  });

  it('lays out a table-update record as {u32 peer; u16 base; u8 nports; u8 flags; u64 bitmap} with the end flag on the last', () => {
    const b = encode(
      tableUpdate([
        { peer: ipv4ToU32('198.18.1.2'), base: 10000, nports: 32, flags: 1, bitmap: 0xf0f0_0001n },
        { peer: ipv4ToU32('198.18.1.3'), base: 10000, nports: 64, flags: 0, bitmap: 1n << 63n },
      ]),
    );
    expect(b.length).toBe(28 + 2 * 16);
    expect(b.subarray(28, 44).toString('hex')).toBe('c6120102' + '2710' + '20' + '01' + '00000000f0f00001');
    expect(b.subarray(44, 60).toString('hex')).toBe('c6120103' + '2710' + '40' + '80' + '8000000000000000');
    expect(readTableUpdateRecord(b, 44)).toMatchObject({ end: true, flags: 0, nports: 64 });
    expect(readTableUpdateRecord(b, 28)).toMatchObject({ end: false, flags: 1 });
  });

  it('host reflect data is 16 bytes and round-trips at an offset', () => {
    const v = { probedPort: 10031, portIdx: 31, processId: 4242, txNs: 123_456_789_012_345n };
    const b = Buffer.alloc(5 + HOST_REFLECT_SIZE, 0xaa);
    HostReflectCodec.encode(v, b, 5);
    expect(b.subarray(5).toString('hex')).toBe('272f' + '1f' + '00' + '00001092' + '00007048860ddf79');
    expect(HostReflectCodec.decode(b, 5)).toEqual(v);
    expectProtocolError(() => HostReflectCodec.decode(b, 6), ShortPacketError);
    expectProtocolError(() => HostReflectCodec.decode(Buffer.alloc(17)), LengthMismatchError);
    expectProtocolError(() => HostReflectCodec.encode({ ...v, portIdx: 256 }), InvalidFieldError);
    expectProtocolError(() => HostReflectCodec.encode(v, Buffer.alloc(10)), BufferTooSmallError);
  });

  it('converts addresses and backend ids', () => {
    expect(u32ToIpv4(ipv4ToU32('203.0.113.255'))).toBe('203.0.113.255');
    expect(backendIdToMac(macToBackendId('aa:bb:cc:00:11:22'))).toBe('aa:bb:cc:00:11:22');
    expectProtocolError(() => ipv4ToU32('256.1.1.1'), InvalidFieldError);
    expectProtocolError(() => macToBackendId('aa:bb'), InvalidFieldError);
  });
});

describe('protocol: round trip', () => {
  it('property: decode(encode(m)) == m and encodingLength matches, at any offset', () => {
    fc.assert(
      fc.property(message, fc.integer({ min: 0, max: 40 }), fc.integer({ min: 0, max: 8 }), (m, off, tail) => {
        const n = encodingLength(m);
        const alone = encode(m);
        expect(alone.length).toBe(n);
        const buf = Buffer.alloc(off + n + tail, 0xa5);
        expect(encode(m, buf, off)).toBe(buf);
        expect(buf.subarray(off, off + n)).toEqual(alone);
        const back = decode(buf, off, n);
        expect(back).toEqual(m);
        // re-encoding what was decoded is byte-identical
        expect(encode(back)).toEqual(alone);
      }),
      { numRuns: 500 },
    );
  });

  it('decodes from a Uint8Array view inside a larger ArrayBuffer', () => {
    const m = negotiationRequest({ mode: 0x0f, seq: 7, reflect: Buffer.from([1, 2, 3]) });
    const b = encode(m);
    const ab = new ArrayBuffer(100);
    new Uint8Array(ab, 10, b.length).set(b);
    expect(decode(new Uint8Array(ab, 10, b.length))).toEqual({ ...m, reflect: Buffer.from([1, 2, 3]) });
  });

  it('responseTo answers with the response type, the same seq and the reflect data verbatim', () => {
    const reflectData = HostReflectCodec.encode({ probedPort: 10007, portIdx: 7, processId: 99, txNs: 5n });
    const req = telemetryRequest({ seq: 41, mode: 1, txSport: 10007, srcVtep: ipv4ToU32('198.18.0.1'), reflect: reflectData });
    const res = responseTo(req, { txSport: 10020, srcVtep: ipv4ToU32('198.18.0.2'), backendId: 0x020000000001, ctl: Ctl.BP });
    const back = decode(encode(res));
    expect(back.type).toBe(MsgType.TELEMETRY_RESPONSE);
    expect(back.seq).toBe(41);
    expect(back.ctl).toBe(Ctl.BP);
    expect(back.txSport).toBe(10020);
    expect(HostReflectCodec.decode((back as { reflect: Uint8Array }).reflect)).toEqual({ probedPort: 10007, portIdx: 7, processId: 99, txNs: 5n });
    expect(responseTo(negotiationRequest(), { txSport: 1, srcVtep: 2 }).type).toBe(MsgType.NEGOTIATION_RESPONSE);
  });

  it('batchTableUpdates splits into full packets with consecutive sequence ids', () => {
    const recs = Array.from({ length: 200 }, (_, i) => ({ peer: i, base: 10000, nports: 32, flags: 0, bitmap: BigInt(i) }));
    const msgs = batchTableUpdates(recs, { seq: 10 });
    expect(msgs.map((m) => m.records.length)).toEqual([90, 90, 20]);
    expect(msgs.map((m) => m.seq)).toEqual([10, 11, 12]);
    expect(msgs.flatMap((m) => (decode(encode(m)) as typeof m).records)).toEqual(recs);
    expect(encode(msgs[0]!).length).toBeLessThanOrEqual(PS_MAX_PACKET_SIZE);
  });
});

describe('protocol: typed errors', () => {
  const good = encode(telemetryRequest({ reflect: Buffer.alloc(16, 1) }));
  const tu = encode(
    tableUpdate([
      { peer: 1, base: 10000, nports: 32, flags: 0, bitmap: 0xffn },
      { peer: 2, base: 10000, nports: 8, flags: 0, bitmap: 0x0fn },
    ]),
  );
  const mutate = (b: Buffer, f: (c: Buffer) => void): Buffer => {
    const c = Buffer.from(b);
    f(c);
    return c;
  };

  it('short: every truncation of a packet', () => {
    for (let n = 0; n < good.length; n++) {
      const e = expectProtocolError(() => decode(good.subarray(0, n)), ProtocolError);
      expect(e.code).toBe('SHORT');
    }
  });

  it('oversized: more than the 1472-byte maximum', () => {
    const big = Buffer.alloc(PS_MAX_PACKET_SIZE + 1);
    good.copy(big);
    expectProtocolError(() => decode(big), OversizedPacketError);
    expectProtocolError(() => encode(telemetryRequest({ reflect: Buffer.alloc(PS_MAX_REFLECT_SIZE + 1) })), OversizedPacketError);
    expect(encode(telemetryRequest({ reflect: Buffer.alloc(PS_MAX_REFLECT_SIZE) })).length).toBe(PS_MAX_PACKET_SIZE);
    const recs = Array.from({ length: PS_MAX_TABLE_UPDATE_RECORDS + 1 }, () => ({ peer: 1, base: 1, nports: 1, flags: 0, bitmap: 1n }));
    expectProtocolError(() => encode(tableUpdate(recs)), OversizedPacketError);
  });

  it('wrong magic, wrong version, unknown type', () => {
    const e1 = expectProtocolError(() => decode(mutate(good, (c) => (c[1] = 0xef))), BadMagicError);
    expect(e1.message).toContain('0xffefdd');
    // a short non-pathsteer payload is reported as not ours rather than short
    expectProtocolError(() => decode(Buffer.from('08000000', 'hex')), BadMagicError);
    const e2 = expectProtocolError(() => decode(mutate(good, (c) => (c[4] = 2))), BadVersionError) as BadVersionError;
    expect(e2.version).toBe(2);
    expect(e2.type).toBe(MsgType.TELEMETRY_REQUEST);
    expect(decode(mutate(good, (c) => (c[4] = 2)), 0, undefined, { versions: [1, 2] }).version).toBe(2);
    expectProtocolError(() => decode(good, 0, undefined, { versions: 'x' as unknown as number[] }), InvalidFieldError);
    expectProtocolError(() => decode(mutate(good, (c) => (c[3] = 0x01))), BadTypeError);
    expectProtocolError(() => encode({ ...telemetryRequest(), type: 0x42 } as unknown as Message), BadTypeError);
  });

  it('length mismatch: data length vs bytes present, trailing bytes', () => {
    expectProtocolError(() => decode(Buffer.concat([good, Buffer.alloc(1)])), LengthMismatchError);
    expectProtocolError(() => decode(mutate(good, (c) => c.writeUInt16BE(good.length + 4, 8))), ShortPacketError);
    expectProtocolError(() => decode(mutate(good, (c) => c.writeUInt16BE(27, 8))), LengthMismatchError);
    // a table-update body that is not whole records
    const odd = Buffer.concat([tu, Buffer.alloc(3)]);
    odd.writeUInt16BE(odd.length, 8);
    expectProtocolError(() => decode(odd), LengthMismatchError);
    const empty = Buffer.from(tu.subarray(0, 28));
    empty.writeUInt16BE(28, 8);
    expectProtocolError(() => decode(empty), InvalidFieldError);
  });

  it('malformed table-update records', () => {
    const rec1 = 28 + 16;
    expectProtocolError(() => decode(mutate(tu, (c) => (c[rec1 + 7] = 0))), InvalidFieldError); // no end flag
    expectProtocolError(() => decode(mutate(tu, (c) => (c[28 + 7] = TU_F_END))), InvalidFieldError); // end flag early
    expectProtocolError(() => decode(mutate(tu, (c) => (c[28 + 7] = 0x10))), InvalidFieldError); // unknown flag
    expectProtocolError(() => decode(mutate(tu, (c) => (c[28 + 6] = 0))), InvalidFieldError); // nports 0
    expectProtocolError(() => decode(mutate(tu, (c) => (c[28 + 6] = 65))), InvalidFieldError); // nports 65
    expectProtocolError(() => decode(mutate(tu, (c) => (c[rec1 + 14] = 0x01))), InvalidFieldError); // bit 8 of an 8-port window
    expectProtocolError(() => decode(mutate(tu, (c) => (c[28 + 8] = 0x01))), InvalidFieldError); // bit 56 of a 32-port window
    expect(validateTableUpdate(tu)).toBe(2);
    expectProtocolError(() => validateTableUpdate(good), BadTypeError);
  });

  it('a malformed record is named in the error: index and field', () => {
    const rec1 = 28 + 16;
    const message = (f: (c: Buffer) => void): string => {
      try {
        validateTableUpdate(mutate(tu, f));
      } catch (e) {
        expect(e).toBeInstanceOf(InvalidFieldError);
        return (e as Error).message;
      }
      throw new Error('accepted');
    };
    expect(message((c) => (c[rec1 + 6] = 65))).toContain('records[1].nports');
    expect(message((c) => (c[rec1 + 7] = 0x90))).toContain('records[1].flags');
    expect(message((c) => (c[28 + 7] = TU_F_END))).toMatch(/records\[0\]\.flags.*end flag before/);
    expect(message((c) => (c[rec1 + 7] = 0))).toMatch(/records\[1\]\.flags.*lacks the end flag/);
    expect(message((c) => (c[rec1 + 8] = 0x80))).toMatch(/records\[1\]\.bitmap.*nports 8/);
  });

  it('bad CTL bits and bad arguments', () => {
    expectProtocolError(() => decode(mutate(good, (c) => (c[6] = 8))), InvalidFieldError);
    expectProtocolError(() => encode(telemetryRequest({ ctl: 3 | 8 })), InvalidFieldError);
    expectProtocolError(() => encode(telemetryRequest({ txSport: 65536 })), InvalidFieldError);
    expectProtocolError(() => encode(telemetryRequest({ seq: -1 })), InvalidFieldError);
    expectProtocolError(() => encode(telemetryRequest({ backendId: 2 ** 48 })), InvalidFieldError);
    expectProtocolError(() => encode(tableUpdate([{ peer: 1, base: 1, nports: 8, flags: 0, bitmap: 0x100n }])), InvalidFieldError);
    expectProtocolError(() => encode(tableUpdate([{ peer: 1, base: 1, nports: 8, flags: TU_F_END, bitmap: 1n }])), InvalidFieldError);
    expectProtocolError(() => encode(tableUpdate([])), InvalidFieldError);
    expectProtocolError(() => encode(good as unknown as Message), BadTypeError);
    expectProtocolError(() => encode(null as unknown as Message), InvalidFieldError);
    expectProtocolError(() => encode(telemetryRequest(), Buffer.alloc(40), 20), BufferTooSmallError);
    expectProtocolError(() => decode(good, 5, 100), ShortPacketError);
    expectProtocolError(() => decode(good, -1), InvalidFieldError);
    expectProtocolError(() => decode('nope' as unknown as Buffer), InvalidFieldError);
    expectProtocolError(() => decodeHeader(good, 0, 3), ShortPacketError);
  });
});

describe('protocol: bulk table-update encoding', () => {
  const recs = (n: number): TableUpdateRecord[] =>
    Array.from({ length: n }, (_, i) => ({ peer: (0xc6120000 + i) >>> 0, base: 10000, nports: 32, flags: i % 2, bitmap: BigInt(Math.imul(i + 1, 0x9e3779b1) >>> 0) }));

  it('encodeTableUpdateRecords writes what encode(tableUpdate(slice)) writes, at an offset, for any slice', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 200 }), fc.integer({ min: 0, max: 199 }), fc.integer({ min: 1, max: PS_MAX_TABLE_UPDATE_RECORDS }), fc.integer({ min: 0, max: 2 ** 32 - 1 }), (n, s0, c0, seq) => {
        const all = recs(n);
        const start = s0 % n;
        const count = Math.min(c0, n - start);
        const want = encode(tableUpdate(all.slice(start, start + count), { seq, srcVtep: 0xc612fffe }));
        const buf = Buffer.alloc(want.length + 9, 0xee);
        const wrote = encodeTableUpdateRecords({ seq, srcVtep: 0xc612fffe }, all, start, count, buf, 9);
        expect(wrote).toBe(want.length);
        expect(buf.subarray(9)).toEqual(want);
        expect(buf.subarray(0, 9)).toEqual(Buffer.alloc(9, 0xee));
        expect(validateTableUpdate(buf, 9)).toBe(count);
      }),
      { numRuns: 200 },
    );
  });

  it('encodeTableUpdateRecords refuses what encode refuses, naming the record by its index in the array', () => {
    const all = recs(10);
    const buf = Buffer.alloc(PS_MAX_PACKET_SIZE);
    all[7] = { ...all[7]!, bitmap: 1n << 40n };
    expect(() => encodeTableUpdateRecords({}, all, 5, 4, buf)).toThrow(/records\[7\]\.bitmap: bits set at or above nports 32/);
    expectProtocolError(() => encodeTableUpdateRecords({}, all, 0, 0, buf), InvalidFieldError);
    expectProtocolError(() => encodeTableUpdateRecords({}, all, 8, 5, buf), InvalidFieldError);
    expectProtocolError(() => encodeTableUpdateRecords({}, recs(PS_MAX_TABLE_UPDATE_RECORDS + 1), 0, PS_MAX_TABLE_UPDATE_RECORDS + 1, Buffer.alloc(4096)), OversizedPacketError);
    expectProtocolError(() => encodeTableUpdateRecords({ seq: -1 }, recs(1), 0, 1, buf), InvalidFieldError);
    expectProtocolError(() => encodeTableUpdateRecords({}, recs(3), 0, 3, Buffer.alloc(40)), BufferTooSmallError);
    expectProtocolError(() => encodeTableUpdateRecords({}, recs(3), 0, 3, undefined as unknown as Buffer), InvalidFieldError);
  });
});

describe('protocol: stream framing', () => {
  const msgs: Message[] = [
    negotiationRequest({ mode: 3, seq: 1 }),
    telemetryRequest({ seq: 2, reflect: Buffer.alloc(16, 7) }),
    tableUpdate([{ peer: 9, base: 10000, nports: 4, flags: 0, bitmap: 0b1011n }], { seq: 3 }),
  ];
  const stream = Buffer.concat(msgs.map((m) => encode(m)));
  const expected = msgs.map((m) => decode(encode(m)));

  it('as one chunk', () => {
    const f = new PacketFramer();
    expect(f.push(stream)).toEqual(expected);
    expect(f.pending).toBe(0);
  });

  it('byte by byte', () => {
    const f = new PacketFramer();
    const out: Message[] = [];
    for (const byte of stream) out.push(...f.push(Buffer.from([byte])));
    expect(out).toEqual(expected);
  });

  it('split at every boundary', () => {
    for (let i = 0; i <= stream.length; i++) {
      const f = new PacketFramer();
      expect([...f.push(stream.subarray(0, i)), ...f.push(stream.subarray(i))]).toEqual(expected);
    }
  });

  it('a framing error is typed and sticks until reset', () => {
    const f = new PacketFramer();
    expect(() => f.push(Buffer.from('ffeedc', 'hex'))).toThrow(BadMagicError);
    expect(() => f.push(stream)).toThrow(BadMagicError);
    f.reset();
    expect(f.push(stream)).toHaveLength(3);
  });
});

describe('protocol: fuzz', () => {
  /** xorshift32: deterministic, fast enough for a million inputs. */
  function rng(seed: number): () => number {
    let s = seed >>> 0 || 1;
    return () => {
      s ^= s << 13;
      s >>>= 0;
      s ^= s >>> 17;
      s ^= s << 5;
      s >>>= 0;
      return s;
    };
  }

  it('1,000,000 random and mutated inputs: decode returns a message or throws a ProtocolError, nothing else', () => {
    const next = rng(0x5eed);
    const seeds = fc.sample(message, { numRuns: 300, seed: 42 }).map((m) => encode(m));
    const scratch = Buffer.alloc(PS_MAX_PACKET_SIZE + 64);
    const counts = { ok: 0, byCode: new Map<string, number>() };
    const N = 1_000_000;
    // Stack capture dominates the cost of a thrown error; it is irrelevant to what is tested.
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    try {
      for (let i = 0; i < N; i++) {
        let len: number;
        const r = next();
        if (r % 5 === 0) {
          // pure noise, sometimes with our magic in front
          len = next() % 80;
          for (let k = 0; k < len; k++) scratch[k] = next() & 0xff;
          if (r & 0x100 && len >= 3) scratch.writeUIntBE(0xffeedd, 0, 3);
        } else {
          const s = seeds[next() % seeds.length]!;
          s.copy(scratch);
          len = s.length;
          const muts = 1 + (next() % 3);
          for (let k = 0; k < muts; k++) {
            const m = next() % 6;
            if (m === 0 && len > 0) scratch[next() % len] ^= 1 << (next() % 8);
            else if (m === 1 && len > 0) scratch[next() % len] = next() & 0xff;
            else if (m === 2) len = next() % (len + 1);
            else if (m === 3) {
              const add = next() % 40;
              for (let j = 0; j < add && len < scratch.length; j++) scratch[len++] = next() & 0xff;
            } else if (m === 4 && len >= 10) scratch.writeUInt16BE(next() % 1600, 8);
            else if (m === 5 && len > 28) scratch[28 + (next() % (len - 28))] = next() & 0xff;
          }
        }
        try {
          const msg = decode(scratch, 0, len);
          counts.ok++;
          // what decodes re-encodes to the same bytes (reserved bytes aside)
          const again = encode(msg);
          if (again.length !== len || Buffer.compare(again.subarray(28), scratch.subarray(28, len)) !== 0 || Buffer.compare(again.subarray(0, 26), scratch.subarray(0, 26)) !== 0) {
            throw new Error(`decode/encode not inverse for ${scratch.subarray(0, len).toString('hex')}`);
          }
        } catch (e) {
          if (!(e instanceof ProtocolError)) {
            throw new Error(`non-typed throw for input ${scratch.subarray(0, len).toString('hex')}: ${String(e)}`);
          }
          counts.byCode.set(e.code, (counts.byCode.get(e.code) ?? 0) + 1);
        }
      }
    } finally {
      Error.stackTraceLimit = limit;
    }
    // the generator reaches every rejection path and plenty of valid packets
    for (const code of ['SHORT', 'OVERSIZED', 'BAD_MAGIC', 'BAD_VERSION', 'BAD_TYPE', 'LENGTH_MISMATCH', 'BAD_FIELD']) {
      expect(counts.byCode.get(code) ?? 0, code).toBeGreaterThan(100);
    }
    expect(counts.ok).toBeGreaterThan(10_000);
  });

  it('property: arbitrary bytes never make decode throw anything but a ProtocolError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.boolean(), (a, magic) => {
        const b = Buffer.from(a);
        if (magic && b.length >= 5) {
          b.writeUIntBE(0xffeedd, 0, 3);
          b[4] = 1;
        }
        try {
          decode(b);
        } catch (e) {
          expect(e).toBeInstanceOf(ProtocolError);
        }
      }),
      { numRuns: 2000 },
    );
  });
});

describe('protocol: misuse', () => {
  it('every exported function given garbage returns or throws a ProtocolError, nothing else', async () => {
    const api = (await import('../../src/protocol/index.js')) as unknown as Record<string, unknown>;
    const garbage: unknown[] = [undefined, null, 0, -1, 1.5, 2 ** 53, NaN, 'x', {}, [], Buffer.alloc(3), new Uint8Array(40), 10n, { type: 0x05, records: [null] }, { type: 0x7e, reflect: 'no' }];
    let calls = 0;
    const fns = Object.entries(api).concat(Object.entries(HostReflectCodec).map(([k, v]) => [`HostReflectCodec.${k}`, v]));
    for (const [name, fn] of fns) {
      if (typeof fn !== 'function' || /Error$/.test(name) || name === 'PacketFramer') continue;
      for (const a of garbage) {
        for (const b of [undefined, ...garbage.slice(0, 6)]) {
          for (const rest of [[], [undefined, { versions: 'x' }], [-3, 7], [{}, null]]) {
            calls++;
            try {
              (fn as (...x: unknown[]) => unknown)(a, b, ...rest);
            } catch (e) {
              expect(e, `${name}(${String(a)}, ${String(b)}, ${rest.map(String).join(', ')})`).toBeInstanceOf(ProtocolError);
            }
          }
        }
      }
    }
    const f = new PacketFramer();
    for (const a of garbage) {
      try {
        f.push(a as Uint8Array);
      } catch (e) {
        expect(e).toBeInstanceOf(ProtocolError);
      }
      f.reset();
    }
    expect(calls).toBeGreaterThan(500);
  });
});

// keep the record size constant honest
it('record size constant', () => expect(PS_TABLE_UPDATE_RECORD_SIZE).toBe(16));
