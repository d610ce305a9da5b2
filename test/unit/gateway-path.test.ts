/**
 * Path tables: PBM (and the naive and stateful tables) choose exactly what the
 * host's selectPort chooses; HI follows the paper's fill rules.
 */
import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { selectPort } from '../../src/agent/select-port.js';
import { PS_F_STATEFUL as AGENT_STATEFUL, pathEntry } from '../../src/maps/path-entry.js';
import {
  fromBitString,
  HI_EMPTY,
  HI_NONE,
  hiFill,
  HiPathTable,
  NaivePathTable,
  PbmPathTable,
  PS_F_STATEFUL,
  StatefulPathTable,
  UpdateRejectedError,
} from '../../gateway-sim/index.js';
import { generate, type PortSelectionCase } from '../fixtures/port-selection.mjs';

const FIXTURES = JSON.parse(readFileSync(new URL('../fixtures/port-selection.json', import.meta.url), 'utf8')) as PortSelectionCase[];
const PEER = 0xc6120001;
const u32 = fc.integer({ min: 0, max: 0xffff_ffff });

/** One PBM table per window size, each holding one peer whose bitmap the test sets. */
const pbms = new Map<number, PbmPathTable>();
function pbmFor(np: number, base: number): PbmPathTable {
  const key = np * 65536 + base;
  let t = pbms.get(key);
  if (!t) pbms.set(key, (t = new PbmPathTable({ np, basePort: base, capacity: 1 })));
  return t;
}
function pbmChoice(np: number, base: number, bitmap: bigint, hash: number): number | undefined {
  const t = pbmFor(np, base);
  t.apply({ peer: PEER, base, nports: np, flags: 0, bitmap });
  return t.select(PEER, hash)?.idx;
}

describe('PBM equals selectPort', () => {
  it('the shared fixtures are what their generator produces', () => {
    expect(FIXTURES).toEqual(generate());
    expect(FIXTURES.length).toBe(2000);
  });

  it('on every fixture case (PBM, the naive table and selectPort agree with the expected index)', () => {
    for (const c of FIXTURES) {
      const bitmap = BigInt(c.bitmap);
      const expected = c.expected ?? undefined;
      expect(pbmChoice(c.nports, c.base, bitmap, c.hash), c.description).toBe(expected);
      expect(selectPort(pathEntry({ basePort: c.base, nports: c.nports, healthy: bitmap }), c.hash)?.idx, c.description).toBe(expected);
    }
    // the naive table on a sample (it precomputes one entry per slot)
    for (const c of FIXTURES.slice(0, 300)) {
      const t = new NaivePathTable({ np: c.nports, basePort: c.base, capacity: 1 });
      t.apply({ peer: PEER, base: c.base, nports: c.nports, flags: 0, bitmap: BigInt(c.bitmap) });
      expect(t.select(PEER, c.hash)?.idx, c.description).toBe(c.expected ?? undefined);
    }
  });

  it('property: 10,000 random (Np, bitmap, hash) cases', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 64 }), fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), u32, fc.integer({ min: 0, max: 3 }), (np, raw, hash, sparsity) => {
        let bitmap = raw & ((1n << BigInt(np)) - 1n);
        // thin some bitmaps out so sparse and empty windows are common
        for (let s = 0; s < sparsity; s++) bitmap &= raw >> BigInt(s + 1);
        const want = selectPort(pathEntry({ basePort: 10000, nports: np, healthy: bitmap }), hash);
        const got = pbmChoice(np, 10000, bitmap, hash);
        expect(got).toBe(want?.idx);
        if (got !== undefined) expect(pbmFor(np, 10000).select(PEER, hash)?.port).toBe(want?.port);
      }),
      { numRuns: 10_000 },
    );
  });

  it("ZooRoute Fig. 11: Np = 4, group G3's masks in circular-shift priority order", () => {
    // Reconstructed from §5.1's text: dstIP_2 probes 10001-10004 and gets 1011 (10002 down);
    // a flow hashed to G3 matches its top mask **1* and leaves on 10003; when 10003 fails
    // (1001) the next mask in G3, ***1, gives 10004. G3 is the third group: hash % 4 == 2.
    const t = new PbmPathTable({ np: 4, basePort: 10001, capacity: 4 });
    t.apply({ peer: PEER, base: 10001, nports: 4, flags: 0, bitmap: fromBitString('1011') });
    expect(t.select(PEER, 2)?.port).toBe(10003);
    t.apply({ peer: PEER, base: 10001, nports: 4, flags: 0, bitmap: fromBitString('1001') });
    expect(t.select(PEER, 2)?.port).toBe(10004);
    // the shared table: group G3 holds **1*, ***1, 1***, *1** in falling priority
    const g3 = t.priority.dump().filter((e) => e.match.group === '0x2');
    expect(g3.map((e) => [e.match.bitmap, e.priority])).toEqual([
      ['0x4&&&0x4', 4],
      ['0x8&&&0x8', 3],
      ['0x1&&&0x1', 2],
      ['0x2&&&0x2', 1],
    ]);
    expect(t.priority.count).toBe(16); // Np groups × Np masks
  });

  it('rejects updates outside the gateway window', () => {
    const t = new PbmPathTable({ np: 32, capacity: 2 });
    expect(() => t.apply({ peer: PEER, base: 10000, nports: 16, flags: 0, bitmap: 1n })).toThrow(UpdateRejectedError);
    expect(() => t.apply({ peer: PEER, base: 20000, nports: 32, flags: 0, bitmap: 1n })).toThrow(UpdateRejectedError);
    expect(() => t.apply({ peer: PEER, base: 10000, nports: 32, flags: 0, bitmap: 1n << 32n })).toThrow(UpdateRejectedError);
  });
});

describe('stateful vIPs: uncompressed, with their groups, equal to selectPort', () => {
  it('property: random windows, group counts and masks', () => {
    const tables = new Map<number, StatefulPathTable>();
    fc.assert(
      fc.property(
        fc.constantFrom(4, 8, 16, 32, 64, 12, 5),
        fc.integer({ min: 1, max: 8 }),
        fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
        fc.array(fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), { minLength: 8, maxLength: 8 }),
        u32,
        (np, ngroups, raw, masks, hash) => {
          let t = tables.get(np);
          if (!t) tables.set(np, (t = new StatefulPathTable({ np, capacity: 1, entries: 8 * 64 })));
          const win = (1n << BigInt(np)) - 1n;
          const bitmap = raw & win;
          const groupMask = masks.map((m) => m & win);
          t.apply({ peer: PEER, base: 10000, nports: np, flags: PS_F_STATEFUL, bitmap, ngroups, groupMask });
          const want = selectPort(pathEntry({ basePort: 10000, nports: np, healthy: bitmap, flags: AGENT_STATEFUL, ngroups, groupMask }), hash);
          expect(t.select(PEER, hash)?.idx).toBe(want?.idx);
        },
      ),
      { numRuns: 1500 },
    );
  });

  it('a flow keeps to its group while the group has an available port, then moves to another', () => {
    const t = new StatefulPathTable({ np: 8, capacity: 1, entries: 64 });
    const groupMask = [fromBitString('11110000'), fromBitString('00001111')];
    t.apply({ peer: PEER, base: 10000, nports: 8, flags: PS_F_STATEFUL, bitmap: fromBitString('11111111'), ngroups: 2, groupMask });
    // hash 5: group 1 (ports 4..7), start 5 -> 5
    expect(t.select(PEER, 5)?.idx).toBe(5);
    // 5 fails: the next port of the same group, not the next available one
    t.apply({ peer: PEER, base: 10000, nports: 8, flags: PS_F_STATEFUL, bitmap: fromBitString('11111011'), ngroups: 2, groupMask });
    expect(t.select(PEER, 5)?.idx).toBe(6);
    // the whole group fails: any available port
    t.apply({ peer: PEER, base: 10000, nports: 8, flags: PS_F_STATEFUL, bitmap: fromBitString('11110000'), ngroups: 2, groupMask });
    expect(t.select(PEER, 5)?.idx).toBe(0);
    // 3 groups over 8 ports: lcm(3, 8) = 24 entries
    t.apply({ peer: PEER, base: 10000, nports: 8, flags: PS_F_STATEFUL, bitmap: 0xffn, ngroups: 3, groupMask: [0x07n, 0x38n, 0xc0n] });
    expect(t.view(PEER)?.span).toBe(24);
    expect(t.pathTable.count).toBe(24);
  });
});

describe('HI fill rules (ZooRoute §5.1, Fig. 12)', () => {
  // Fig. 12 is not in the text extraction. Reconstructed from §5.1: Np = 32, M = 4, the M ports
  // of a group taken at a stride of Np/M = 8 ("source port 1, 9, 17 ... are grouped together"),
  // and the three colours of the figure: a group whose ports all work stays empty (red); a group
  // with a bad port holds a working port of the same group (green); a group whose ports are all
  // bad holds a working port of another group (blue). Ports are numbered 1..32 as in the figure.
  const np = 32;
  const m = 4;
  const port = (p: number): number => p - 1;
  const bitmapWithout = (...bad: number[]): bigint => bad.reduce((b, p) => b & ~(1n << BigInt(port(p))), (1n << 32n) - 1n);

  it('Fig. 12: group {1,9,17,25} all good -> empty; {2,10,18,26} with 10 bad -> 2, 18 or 26; {3,11,19,27} all bad -> a working port of another group', () => {
    const t = new HiPathTable({ np, m, basePort: 1, capacity: 4 });
    expect(t.groups).toBe(8);
    const bitmap = bitmapWithout(10, 3, 11, 19, 27);
    t.apply({ peer: PEER, base: 1, nports: np, flags: 0, bitmap });
    const slots = t.slotsOf(PEER)!;
    expect(slots[0]).toBe(HI_EMPTY); // red
    expect([2, 18, 26].map((p) => port(p) + 1)).toContain(slots[1]); // green: stored index + 1
    const blue = slots[2]! - 1;
    expect(blue % 8).not.toBe(2); // another group ...
    expect((bitmap >> BigInt(blue)) & 1n).toBe(1n); // ... and a working port
    expect(slots.slice(3)).toEqual([0, 0, 0, 0, 0]);
    // data plane: an empty group spreads flows over all its M ports; a filled one uses the stored port
    const seen = new Set<number>();
    for (let h = 0; h < 8 * 4 * 8; h += 8) seen.add(t.select(PEER, h)!.port);
    expect([...seen].sort((a, b) => a - b)).toEqual([1, 9, 17, 25]);
    for (let h = 1; h < 400; h += 8) expect(t.select(PEER, h)!.port).toBe(slots[1]!); // group 1
    for (let h = 2; h < 400; h += 8) expect(t.select(PEER, h)!.idx).toBe(blue); // group 2
  });

  it('rule 2 and 3 pick among the right ports, and the pick is reproducible', () => {
    // every possible single bad port of group 1: the fill is always a working member of group 1
    for (const bad of [2, 10, 18, 26]) {
      const s = hiFill(PEER, Number(bitmapWithout(bad) & 0xffffffffn), 0, np, m, new Array(8).fill(0));
      expect([2, 10, 18, 26].filter((p) => p !== bad).map((p) => port(p) + 1)).toContain(s[1]);
    }
    // the random choice depends on (peer, group, bitmap) only
    const a = hiFill(PEER, 0x0f0f0f0f, 0, np, m, new Array(8).fill(0));
    expect(hiFill(PEER, 0x0f0f0f0f, 0, np, m, new Array(8).fill(0))).toEqual(a);
    // across peers the choice spreads over the candidates
    const picks = new Set<number>();
    for (let p = 0; p < 200; p++) picks.add(hiFill(p, Number(bitmapWithout(10) & 0xffffffffn), 0, np, m, new Array(8).fill(0))[1]!);
    expect(picks.size).toBe(3);
  });

  it('a stored port that still satisfies its rule is kept (flows move only when their port fails)', () => {
    const t = new HiPathTable({ np, m, basePort: 1, capacity: 2 });
    t.apply({ peer: PEER, base: 1, nports: np, flags: 0, bitmap: bitmapWithout(10) });
    const first = t.slotsOf(PEER)![1]!;
    // another port of the group fails too: the stored one is still fine, keep it
    const other = [2, 18, 26].find((p) => p !== first)!;
    expect(t.apply({ peer: PEER, base: 1, nports: np, flags: 0, bitmap: bitmapWithout(10, other) })).toBe(0);
    expect(t.slotsOf(PEER)![1]).toBe(first);
    // the stored port itself fails: refilled with a working one
    t.apply({ peer: PEER, base: 1, nports: np, flags: 0, bitmap: bitmapWithout(10, other, first) });
    const now = t.slotsOf(PEER)![1]!;
    expect(now).not.toBe(first);
    expect([2, 18, 26].filter((p) => p !== other && p !== first)).toContain(now);
    // all recover: empty again
    t.apply({ peer: PEER, base: 1, nports: np, flags: 0, bitmap: bitmapWithout() });
    expect(t.slotsOf(PEER)![1]).toBe(HI_EMPTY);
  });

  it('no port available at all: no slot steers (the packet keeps its port)', () => {
    const t = new HiPathTable({ np, m, capacity: 1 });
    t.apply({ peer: PEER, base: 10000, nports: np, flags: 0, bitmap: 0n });
    expect(t.slotsOf(PEER)).toEqual(new Array(8).fill(HI_NONE));
    expect(t.select(PEER, 123)).toBeUndefined();
  });

  it('worst case (§5.1): exactly one bad port per group leaves flows one port per group, where PBM keeps M-1', () => {
    const t = new HiPathTable({ np: 32, m: 8, capacity: 1 });
    const bitmap = bitmapWithout(1, 2, 3, 4); // ports 1..4 are in groups 0..3 (stride 4)
    t.apply({ peer: PEER, base: 10000, nports: 32, flags: 0, bitmap });
    expect(t.usablePorts(PEER)).toHaveLength(4);
    expect(t.usablePorts(PEER).every((i) => (bitmap >> BigInt(i)) & 1n)).toBe(true);
    const pbm = new PbmPathTable({ np: 32, capacity: 1 });
    pbm.apply({ peer: PEER, base: 10000, nports: 32, flags: 0, bitmap });
    const used = new Set<number>();
    for (let h = 0; h < 32; h++) used.add(pbm.select(PEER, h)!.idx);
    expect(used.size).toBe(28);
  });

  it('property: every HI choice is an available port when one exists', () => {
    const t = new HiPathTable({ np: 64, m: 8, capacity: 1 });
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), u32, (bitmap, hash) => {
        t.apply({ peer: PEER, base: 10000, nports: 64, flags: 0, bitmap });
        const c = t.select(PEER, hash);
        if (bitmap === 0n) expect(c).toBeUndefined();
        else expect((bitmap >> BigInt(c!.idx)) & 1n).toBe(1n);
      }),
      { numRuns: 3000 },
    );
  });

  it('property: hiFill equals a port-by-port reading of the fill rules, for every (Np, M) and any current slots', () => {
    // the rules as written: the "random" pick is mix(seed + g) mod (candidates), counted port by port
    const mix = (x: number): number => {
      x ^= x >>> 16;
      x = Math.imul(x, 0x85ebca6b);
      x ^= x >>> 13;
      x = Math.imul(x, 0xc2b2ae35);
      x ^= x >>> 16;
      return x >>> 0;
    };
    const reference = (peer: number, bitmap: bigint, np: number, m: number, current: number[]): number[] => {
      const G = np / m;
      const lo = Number(bitmap & 0xffff_ffffn);
      const hi = Number(bitmap >> 32n);
      const up = (i: number): boolean => ((bitmap >> BigInt(i)) & 1n) === 1n && i < np;
      const ports = Array.from({ length: np }, (_, i) => i);
      const seed = mix(peer ^ mix(lo ^ mix(hi)));
      return Array.from({ length: G }, (_, g) => {
        if (!ports.some(up)) return HI_NONE;
        const group = ports.filter((i) => i % G === g);
        const good = group.filter(up);
        if (good.length === m) return HI_EMPTY; // rule 1
        const cur = current[g]! - 1; // a stored port, if any
        const stored = current[g] !== HI_EMPTY && current[g] !== HI_NONE && cur < np;
        const candidates = good.length > 0 ? good : ports.filter(up); // rule 2, else rule 3
        if (stored && candidates.includes(cur)) return cur + 1; // keep a port that still qualifies
        return candidates[mix(seed + g) % candidates.length]! + 1;
      });
    };
    const configs: Array<[number, number]> = [];
    for (let np = 1; np <= 64; np++) for (let m = 1; m <= np; m++) if (np % m === 0) configs.push([np, m]);
    fc.assert(
      fc.property(
        fc.constantFrom(...configs),
        u32,
        fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
        fc.boolean(),
        fc.array(fc.integer({ min: 0, max: 0xff }), { minLength: 64, maxLength: 64 }),
        ([np, m], peer, raw, sparse, slots) => {
          // window bitmaps as the data plane sees them (bits beyond Np clear), often with whole groups up or down
          let bitmap = raw & ((1n << BigInt(np)) - 1n);
          if (sparse) bitmap &= bitmap >> 1n;
          const current = slots.slice(0, np / m).map((v) => (v < 0x80 ? v % (np + 2) : v));
          const want = reference(peer, bitmap, np, m, current);
          const lo = Number(bitmap & 0xffff_ffffn);
          const hi = Number(bitmap >> 32n);
          expect(hiFill(peer, lo, hi, np, m, current)).toEqual(want);
          // the per-pass form: the halves and the peer as int32
          expect(hiFill(peer | 0, lo | 0, hi | 0, np, m, current)).toEqual(want);
        },
      ),
      { numRuns: 5000 },
    );
  });

  it('M must divide Np', () => {
    expect(() => new HiPathTable({ np: 32, m: 5, capacity: 1 })).toThrow(UpdateRejectedError);
  });
});
