import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  DuplicateEntryError,
  EntryNotFoundError,
  ExactIndex32,
  estimate,
  fit,
  GatewaySimError,
  InvalidEntryError,
  Pipeline,
  RegisterArray,
  RegisterError,
  ResourceError,
  Table,
  TableFullError,
  TOFINO1,
  usageOf,
  type Program,
} from '../../gateway-sim/index.js';

const acl = (): Table =>
  new Table({
    name: 'acl',
    key: [
      { name: 'dst', bits: 32, match: 'ternary' },
      { name: 'dport', bits: 16, match: 'range' },
    ],
    actions: [{ name: 'deny' }, { name: 'permit' }, { name: 'mark', params: [{ name: 'dscp', bits: 6 }] }],
    defaultAction: { action: 'permit' },
    size: 16,
    counters: true,
  });

describe('gateway-sim tables: exact', () => {
  const mk = (size = 4): Table =>
    new Table({
      name: 'fib',
      key: [
        { name: 'vni', bits: 24, match: 'exact' },
        { name: 'peer', bits: 32, match: 'exact' },
      ],
      actions: [{ name: 'set_nhop', params: [{ name: 'port', bits: 9 }] }],
      size,
    });

  it('matches a key exactly, misses take the default action', () => {
    const t = mk();
    t.insert({ match: { vni: { exact: 7 }, peer: { exact: 0xc6120001 } }, action: 'set_nhop', params: { port: 3 } });
    expect(t.lookup([7, 0xc6120001])).toMatchObject({ hit: true, action: 'set_nhop', params: [3] });
    expect(t.lookup([7, 0xc6120002])).toMatchObject({ hit: false, action: 'NoAction', handle: -1 });
    expect(t.lookup([8, 0xc6120001]).hit).toBe(false);
  });

  it('insert of an existing key is ALREADY_EXISTS, modify/delete of a missing one NOT_FOUND', () => {
    const t = mk();
    const e = { match: { vni: { exact: 1 }, peer: { exact: 2 } }, action: 'set_nhop', params: { port: 1 } };
    t.insert(e);
    expect(() => t.insert(e)).toThrow(DuplicateEntryError);
    t.modify({ ...e, params: { port: 9 } });
    expect(t.lookup([1, 2]).params).toEqual([9]);
    t.delete(e);
    expect(t.lookup([1, 2]).hit).toBe(false);
    expect(() => t.delete(e)).toThrow(EntryNotFoundError);
    expect(() => t.modify(e)).toThrow(EntryNotFoundError);
  });

  it('refuses entries beyond its declared size, and frees room on delete', () => {
    const t = mk(2);
    const e = (p: number) => ({ match: { vni: { exact: 1 }, peer: { exact: p } }, action: 'set_nhop', params: { port: 1 } });
    t.insert(e(1));
    t.insert(e(2));
    const err = (() => {
      try {
        t.insert(e(3));
      } catch (x) {
        return x as TableFullError;
      }
    })();
    expect(err).toBeInstanceOf(TableFullError);
    expect(err?.message).toContain('fib');
    t.delete(e(1));
    t.insert(e(3));
    expect(t.count).toBe(2);
  });

  it('rejects what the definition does not allow', () => {
    const t = mk();
    const bad = [
      { match: { vni: { exact: 1 << 24 }, peer: { exact: 1 } }, action: 'set_nhop', params: { port: 1 } }, // wider than 24 bits
      { match: { vni: { exact: 1 } }, action: 'set_nhop', params: { port: 1 } }, // exact field missing
      { match: { vni: { exact: 1 }, peer: { exact: 1 } }, action: 'drop' }, // unknown action
      { match: { vni: { exact: 1 }, peer: { exact: 1 } }, action: 'set_nhop' }, // param missing
      { match: { vni: { exact: 1 }, peer: { exact: 1 } }, action: 'set_nhop', params: { port: 1, x: 2 } }, // extra param
      { match: { vni: { exact: 1 }, peer: { exact: 1 } }, action: 'set_nhop', params: { port: 512 } }, // param too wide
      { match: { vni: { exact: 1 }, peer: { exact: 1 } }, priority: 5, action: 'set_nhop', params: { port: 1 } }, // priority on exact
      { match: { vni: { ternary: { value: 1, mask: 1 } }, peer: { exact: 1 } }, action: 'set_nhop', params: { port: 1 } }, // wrong match kind
      { match: { vni: { exact: 1 }, peer: { exact: 1 }, nope: { exact: 1 } }, action: 'set_nhop', params: { port: 1 } }, // unknown field
    ];
    for (const e of bad) expect(() => t.insert(e as never), JSON.stringify(e)).toThrow(InvalidEntryError);
    expect(t.count).toBe(0);
  });
});

describe('gateway-sim tables: ternary, range, lpm, priorities, defaults, counters', () => {
  it('the highest priority among matching entries wins (larger is higher, as in P4Runtime)', () => {
    const t = acl();
    t.insert({ match: { dst: { ternary: { value: 0xc6120000, mask: 0xffff0000 } } }, priority: 10, action: 'deny' });
    t.insert({ match: { dst: { ternary: { value: 0xc6120100, mask: 0xffffff00 } } }, priority: 20, action: 'mark', params: { dscp: 46 } });
    expect(t.lookup([0xc6120105, 80])).toMatchObject({ action: 'mark', params: [46] });
    expect(t.lookup([0xc6120205, 80]).action).toBe('deny');
    expect(t.lookup([0xcb007101, 80])).toMatchObject({ hit: false, action: 'permit' });
  });

  it('equal priorities: the entry inserted first wins; deleting it exposes the next', () => {
    const t = acl();
    const a = { match: { dst: { ternary: { value: 0, mask: 0 } } }, priority: 5, action: 'deny' };
    const b = { match: { dport: { range: { low: 0, high: 1023 } } }, priority: 5, action: 'mark', params: { dscp: 8 } };
    t.insert(a);
    t.insert(b);
    expect(t.lookup([1, 22]).action).toBe('deny');
    t.delete(a);
    expect(t.lookup([1, 22]).action).toBe('mark');
    expect(t.lookup([1, 1024]).action).toBe('permit');
  });

  it('ranges are inclusive at both ends', () => {
    const t = acl();
    t.insert({ match: { dport: { range: { low: 1000, high: 2000 } } }, priority: 1, action: 'deny' });
    expect([999, 1000, 2000, 2001].map((p) => t.lookup([0, p]).action)).toEqual(['permit', 'deny', 'deny', 'permit']);
  });

  it('ternary/range tables need priority > 0; bits outside the mask and low > high are invalid', () => {
    const t = acl();
    expect(() => t.insert({ match: { dst: { ternary: { value: 1, mask: 1 } } }, action: 'deny' })).toThrow(InvalidEntryError);
    expect(() => t.insert({ match: { dst: { ternary: { value: 3, mask: 1 } } }, priority: 1, action: 'deny' })).toThrow(InvalidEntryError);
    expect(() => t.insert({ match: { dport: { range: { low: 5, high: 4 } } }, priority: 1, action: 'deny' })).toThrow(InvalidEntryError);
  });

  it('lpm: the longest matching prefix wins', () => {
    const t = new Table({
      name: 'routes',
      key: [{ name: 'dst', bits: 32, match: 'lpm' }],
      actions: [{ name: 'via', params: [{ name: 'nh', bits: 8 }] }],
      size: 8,
    });
    t.insert({ match: { dst: { lpm: { value: 0xcb007100, prefixLen: 24 } } }, action: 'via', params: { nh: 24 } });
    t.insert({ match: { dst: { lpm: { value: 0, prefixLen: 0 } } }, action: 'via', params: { nh: 0 } });
    t.insert({ match: { dst: { lpm: { value: 0xcb007180, prefixLen: 25 } } }, action: 'via', params: { nh: 25 } });
    expect(t.lookup([0xcb0071ff]).params).toEqual([25]);
    expect(t.lookup([0xcb007101]).params).toEqual([24]);
    expect(t.lookup([0xc6336401]).params).toEqual([0]);
    expect(() => t.insert({ match: { dst: { lpm: { value: 0xcb007101, prefixLen: 24 } } }, action: 'via', params: { nh: 1 } })).toThrow(InvalidEntryError);
    expect(() => t.insert({ match: { dst: { lpm: { value: 0, prefixLen: 33 } } }, action: 'via', params: { nh: 1 } })).toThrow(InvalidEntryError);
    expect(() => t.insert({ match: { dst: { lpm: { value: 0, prefixLen: 8 } } }, priority: 1, action: 'via', params: { nh: 1 } })).toThrow(InvalidEntryError);
  });

  it('default action can change; per-entry counters count packets and bytes, misses count separately', () => {
    const t = acl();
    const e = { match: { dst: { ternary: { value: 0xc6120001, mask: 0xffffffff } } }, priority: 1, action: 'deny' };
    t.insert(e);
    t.apply([0xc6120001, 1], 100);
    t.apply([0xc6120001, 2], 50);
    t.apply([0xc6120002, 2], 70);
    expect(t.counter(e)).toEqual({ packets: 2, bytes: 150 });
    expect(t.missCounter).toEqual({ packets: 1, bytes: 70 });
    t.setDefaultAction('mark', { dscp: 10 });
    expect(t.apply([9, 9])).toMatchObject({ hit: false, action: 'mark', params: [10] });
    expect(() => t.setDefaultAction('nope')).toThrow(InvalidEntryError);
    // lookup() does not count
    t.lookup([0xc6120001, 1]);
    expect(t.counter(e).packets).toBe(2);
    const plain = new Table({ name: 'plain', key: [{ name: 'k', bits: 8, match: 'exact' }], actions: [], size: 1 });
    expect(() => plain.missCounter).toThrow(GatewaySimError);
  });

  it('dump lists entries in match order with their counters', () => {
    const t = acl();
    t.insert({ match: { dport: { range: { low: 1, high: 2 } } }, priority: 1, action: 'deny' });
    t.insert({ match: { dst: { ternary: { value: 0x10, mask: 0xf0 } } }, priority: 9, action: 'mark', params: { dscp: 3 } });
    expect(t.dump()).toEqual([
      { match: { dst: '0x10&&&0xf0' }, priority: 9, action: 'mark', params: { dscp: '3' }, counter: { packets: 0, bytes: 0 } },
      { match: { dport: '0x1..0x2' }, priority: 1, action: 'deny', params: {}, counter: { packets: 0, bytes: 0 } },
    ]);
  });
});

describe('gateway-sim tables: the int32 exact-match index', () => {
  // keys from a few neighbourhoods (same 8-key group, same hash home, high bits only) so probe runs collide and wrap
  const key = fc.oneof(
    fc.integer({ min: 0, max: 40 }),
    fc.integer({ min: 0, max: 40 }).map((i) => (0xc6120000 + i) | 0),
    fc.integer({ min: 0, max: 15 }).map((i) => (i << 28) | 5),
    fc.integer({ min: -0x8000_0000, max: 0x7fff_ffff }),
  );
  const op = fc.oneof(
    { arbitrary: fc.record({ op: fc.constant('set' as const), key, handle: fc.integer({ min: 0, max: 1000 }) }), weight: 12 },
    { arbitrary: fc.record({ op: fc.constant('delete' as const), key }), weight: 6 },
    { arbitrary: fc.record({ op: fc.constant('clear' as const) }), weight: 1 },
  );

  it('agrees with a Map through inserts, replacements, deletions (backward shift), growth and clear', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 300 }), (ops) => {
        const ix = new ExactIndex32();
        const model = new Map<number, number>();
        for (const o of ops) {
          if (o.op === 'set') {
            ix.set(o.key, o.handle);
            model.set(o.key, o.handle);
          } else if (o.op === 'delete') expect(ix.delete(o.key)).toBe(model.delete(o.key));
          else {
            ix.clear();
            model.clear();
          }
          expect(ix.size).toBe(model.size);
        }
        for (const [k, h] of model) expect(ix.get(k)).toBe(h);
        for (const o of ops) if (o.op !== 'clear' && !model.has(o.key)) expect(ix.get(o.key)).toBe(-1);
      }),
      { numRuns: 1000 },
    );
  });

  it('takes keys as int32 (an unsigned IPv4 address and its int32 form are the same key)', () => {
    const ix = new ExactIndex32();
    ix.set(0xc6120001, 7);
    expect(ix.get(0xc6120001 | 0)).toBe(7);
    expect(ix.get(0xc6120001)).toBe(7);
    expect(() => ix.set(1, -1)).toThrow(RangeError);
  });

  it('a table keyed by one 32-bit field answers lookupHandle1/applyHandle1 like lookup/apply, counting hits and misses', () => {
    const t = new Table({ name: 'peers', key: [{ name: 'peer', bits: 32, match: 'exact' }], actions: [{ name: 'a' }], size: 64, counters: true });
    const peers = Array.from({ length: 40 }, (_, i) => 0xc6120000 + i * 3);
    for (const p of peers) t.insert({ match: { peer: { exact: p } }, action: 'a' });
    t.delete({ match: { peer: { exact: peers[5]! } } });
    for (const [i, p] of peers.entries()) {
      const want = i === 5 ? -1 : t.lookup([p]).handle;
      expect(t.lookupHandle1(p)).toBe(want);
      expect(t.applyHandle1(p, 100)).toBe(want);
      expect(t.lookup1(p).handle).toBe(want);
    }
    expect(t.counter({ match: { peer: { exact: peers[0]! } } })).toEqual({ packets: 1, bytes: 100 });
    expect(t.missCounter).toEqual({ packets: 1, bytes: 100 });
    // a table that is not keyed by one 32-bit field takes the general path
    const wide = new Table({ name: 'w', key: [{ name: 'k', bits: 40, match: 'exact' }], actions: [{ name: 'a' }], size: 2 });
    const h = wide.insert({ match: { k: { exact: 2 ** 33 } }, action: 'a' }).handle;
    expect(wide.lookupHandle1(2 ** 33)).toBe(h);
    expect(wide.applyHandle1(5)).toBe(-1);
    t.clear();
    expect(t.lookupHandle1(peers[0]!)).toBe(-1);
  });
});

describe('gateway-sim registers', () => {
  it('have Tofino cell widths, bounds-checked indices and values', () => {
    expect(() => new RegisterArray({ name: 'r', width: 12, size: 4 })).toThrow(RegisterError);
    const r = new RegisterArray({ name: 'r', width: 64, size: 4 });
    r.write(3, (1n << 64n) - 1n);
    expect(r.read(3)).toBe((1n << 64n) - 1n);
    expect(() => r.write(4, 1n)).toThrow(RegisterError);
    expect(() => r.write(0, 1n << 64n)).toThrow(RegisterError);
    const s = new RegisterArray({ name: 's', width: 8, size: 2 });
    expect(() => s.writeNumber(0, 256)).toThrow(RegisterError);
    s.writeNumber(1, 255);
    expect(s.read(1)).toBe(255n);
  });

  it('expose their cells to the data plane: low halves in cells, high halves of 64-bit cells in cellsHi', () => {
    const r = new RegisterArray({ name: 'r', width: 64, size: 2 });
    r.write(1, 0x1234_5678_9abc_def0n);
    expect([r.cells[1], r.cellsHi![1]]).toEqual([0x9abc_def0, 0x1234_5678]);
    r.cells[0] = 0xffff_ffff;
    r.cellsHi![0] = 1;
    expect(r.read(0)).toBe(0x1_ffff_ffffn);
    const n = new RegisterArray({ name: 'n', width: 16, size: 1 });
    expect(n.cellsHi).toBeUndefined();
    expect(n.mask).toBe(0xffff);
    expect(new RegisterArray({ name: 'w', width: 32, size: 1 }).mask).toBe(0xffff_ffff);
    n.cells[0] = 0xbeef & n.mask;
    expect(n.readNumber(0)).toBe(0xbeef);
  });

  it('a direct register is reset when its table reuses an entry handle', () => {
    const t = new Table({ name: 't', key: [{ name: 'k', bits: 32, match: 'exact' }], actions: [{ name: 'a' }], size: 2 });
    const r = new RegisterArray({ name: 'r', width: 32, size: 2, direct: 't' });
    t.attach(r);
    const h = t.insert({ match: { k: { exact: 1 } }, action: 'a' }).handle;
    r.writeNumber(h, 77);
    t.delete({ match: { k: { exact: 1 } } });
    const h2 = t.insert({ match: { k: { exact: 2 } }, action: 'a' }).handle;
    expect(h2).toBe(h);
    expect(r.readNumber(h2)).toBe(0);
    expect(() => t.attach(new RegisterArray({ name: 'x', width: 8, size: 3 }))).toThrow(InvalidEntryError);
  });
});

describe('gateway-sim resource model', () => {
  it('packs exact-match entries into 128-bit words and counts TCAM blocks by width and depth', () => {
    const peers = new Table({ name: 'peers', key: [{ name: 'peer', bits: 32, match: 'exact' }], actions: [{ name: 'a' }], size: 3000 });
    const u = usageOf(peers);
    expect(u.entryBits).toBe(36); // 32 key + 4 overhead
    expect(u.entriesPerWord).toBe(3);
    expect(u.sramWords).toBe(1000);
    expect(u.sramBlocks).toBe(1);
    expect(u.bits).toBe(128_000);
    const wide = new Table({
      name: 'wide',
      key: [{ name: 'k', bits: 100, match: 'exact' }],
      actions: [{ name: 'set', params: [{ name: 'v', bits: 64 }] }, { name: 'other' }],
      size: 10,
    });
    expect(usageOf(wide).entryBits).toBe(100 + 64 + 1 + 4);
    expect(usageOf(wide).sramWords).toBe(20); // 169 bits: two words each
    const tcam = usageOf(acl());
    expect(tcam.entryBits).toBe(32 + 2 * 16); // a range costs twice its width
    expect(tcam.tcamWidthBlocks).toBe(2);
    expect(tcam.tcamBlocks).toBe(2);
    expect(tcam.tcamBits).toBe(16 * 2 * 44);
    expect(tcam.attached).toEqual(['counters']);
  });

  it('fits a program stage by stage, after its dependencies', () => {
    const a = new Table({ name: 'a', key: [{ name: 'k', bits: 32, match: 'exact' }], actions: [{ name: 'x' }], size: 3 * 1024 * 100 });
    const b = new Table({ name: 'b', key: [{ name: 'k', bits: 32, match: 'exact' }], actions: [{ name: 'x' }], size: 10 });
    const r = new RegisterArray({ name: 'r', width: 32, size: 1000 });
    const rep = fit([{ object: a }, { object: b, after: ['a'] }, { object: r }]);
    const byName = Object.fromEntries(rep.objects.map((u) => [u.name, u]));
    expect(byName.a!.sramBlocks).toBe(100);
    expect(byName.a!.stages).toEqual([0, 1]); // 100 blocks: stage 0 (80) + stage 1 (20)
    expect(byName.b!.stages).toEqual([2, 2]);
    expect(byName.r!.stages).toEqual([1, 1]);
    expect(rep.stagesUsed).toBe(3);
  });

  it('refuses a program that does not fit, naming the table', () => {
    // the naive baseline at 100k peers × 32 ports needs more SRAM than 12 stages have
    const naive = new Table({
      name: 'naive_path',
      key: [
        { name: 'peer', bits: 32, match: 'exact' },
        { name: 'slot', bits: 5, match: 'exact' },
      ],
      actions: [{ name: 'set_sport', params: [{ name: 'port', bits: 16 }] }, { name: 'keep_sport' }],
      size: 3_200_000,
    });
    expect(estimate([{ object: naive }]).sramBlocks).toBe(1563);
    expect(() => fit([{ object: naive }])).toThrow(ResourceError);
    expect(() => fit([{ object: naive }])).toThrow(/table naive_path does not fit Tofino-1: needs 1563 SRAM block/);
    const bigReg = new RegisterArray({ name: 'huge_reg', width: 64, size: 2_000_000 });
    expect(() => fit([{ object: bigReg }])).toThrow(/register huge_reg does not fit/);
    const tcam = new Table({ name: 'big_acl', key: [{ name: 'k', bits: 44, match: 'ternary' }], actions: [], size: 512 * 24 * 12 + 1 });
    expect(() => fit([{ object: tcam }])).toThrow(/big_acl/);
    expect(() => fit([{ object: new Table({ name: 'c', key: [{ name: 'k', bits: 8, match: 'exact' }], actions: [], size: 1 }), after: ['nothing'] }])).toThrow(ResourceError);
    expect(TOFINO1.stages * TOFINO1.sramBlocksPerStage).toBe(960);
  });

  it('a pipeline refuses to build a program that does not fit', () => {
    const big = new Table({ name: 'too_big', key: [{ name: 'k', bits: 120, match: 'exact' }], actions: [], size: 2_000_000 });
    const program: Program = { name: 'p', objects: () => [{ object: big }], pass: () => undefined };
    expect(() => new Pipeline(program)).toThrow(/too_big/);
  });
});

describe('gateway-sim pipeline', () => {
  it('recirculates while the program asks, counts passes, and stops at the limit', () => {
    const program: Program = {
      name: 'countdown',
      objects: () => [],
      pass(ctx) {
        const left = ctx.pkt[0]!;
        if (left === 0) {
          ctx.verdict = 'forward';
          ctx.output = ctx.pkt;
          return;
        }
        const q = Buffer.from(ctx.pkt);
        q[0] = left - 1;
        ctx.recirculate = q;
      },
    };
    const p = new Pipeline(program, { maxPasses: 10 });
    const input = Buffer.from([3, 0xaa]);
    const r = p.simulate(input);
    expect(r).toMatchObject({ verdict: 'forward', passes: 4 });
    expect(r.output).toEqual(Buffer.from([0, 0xaa]));
    expect(input[0]).toBe(3); // the caller's buffer is untouched
    const stuck = p.simulate(Buffer.from([200]));
    expect(stuck).toMatchObject({ verdict: 'drop', passes: 10 });
    expect(stuck.reason).toMatch(/recirculation limit/);
    expect(p.stats).toMatchObject({ packets: 2, passes: 14, drops: 1 });
  });

  it('recirculates in place: the program moves off/len and the next pass sees pkt[off, off + len)', () => {
    const seen: number[][] = [];
    const program: Program = {
      name: 'strip',
      objects: () => [],
      pass(ctx) {
        seen.push([...ctx.pkt.subarray(ctx.off, ctx.off + ctx.len)]);
        if (ctx.len === 1) {
          ctx.verdict = 'forward';
          ctx.output = ctx.pkt.subarray(ctx.off, ctx.off + ctx.len);
          return;
        }
        // strip the byte after the 1-byte header: the header moves over it
        ctx.pkt[ctx.off + 1] = ctx.pkt[ctx.off]!;
        ctx.off += 1;
        ctx.len -= 1;
        ctx.recirculate = true;
      },
    };
    const traced: number[][] = [];
    const r = new Pipeline(program).simulate(Buffer.from([9, 1, 2, 3]), { trace: (_p, pkt) => traced.push([...pkt]) });
    expect(r).toMatchObject({ verdict: 'forward', passes: 4 });
    expect(seen).toEqual([
      [9, 1, 2, 3],
      [9, 2, 3],
      [9, 3],
      [9],
    ]);
    expect(traced).toEqual(seen);
    const bad: Program = {
      name: 'bad',
      objects: () => [],
      pass(ctx) {
        ctx.len += 1;
        ctx.recirculate = true;
      },
    };
    expect(() => new Pipeline(bad).simulate(Buffer.alloc(2))).toThrow(/outside its 2-byte buffer/);
  });

  it('a pass without a verdict drops; a typed error drops with the error; a bug propagates', () => {
    const mk = (pass: Program['pass']) => new Pipeline({ name: 'x', objects: () => [], pass });
    expect(mk(() => undefined).simulate(Buffer.alloc(1))).toMatchObject({ verdict: 'drop', reason: 'no verdict' });
    const r = mk(() => {
      throw new InvalidEntryError('t', 'bad');
    }).simulate(Buffer.alloc(1));
    expect(r.verdict).toBe('drop');
    expect(r.error).toBeInstanceOf(InvalidEntryError);
    expect(() =>
      mk(() => {
        throw new TypeError('bug');
      }).simulate(Buffer.alloc(1)),
    ).toThrow(TypeError);
  });
});
