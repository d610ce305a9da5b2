import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { firstSetFrom, flowHash, selectPort, validWindow } from '../../src/agent/select-port.js';
import { PathEntryCodec, PS_F_PREFER, PS_F_STATEFUL, pathEntry } from '../../src/maps/path-entry.js';

describe('selectPort', () => {
  it('picks the first healthy port at or after hash % nports, cyclically', () => {
    const e = pathEntry({ basePort: 40000, nports: 8, healthy: 0b1000_0100n });
    expect(selectPort(e, 0)?.port).toBe(40002);
    expect(selectPort(e, 3)?.port).toBe(40007);
    expect(selectPort(e, 8 + 3)?.port).toBe(40007);
    expect(selectPort(e, 7 + 8 * 5)?.port).toBe(40007);
    // wraps around past the top of the window
    expect(selectPort(pathEntry({ basePort: 1000, nports: 8, healthy: 0b0000_0010n }), 5)?.idx).toBe(1);
  });

  it('returns undefined when nothing is healthy', () => {
    expect(selectPort(pathEntry({ basePort: 1000, nports: 16, healthy: 0n }), 3)).toBeUndefined();
    // bits outside the window do not count
    expect(selectPort(pathEntry({ basePort: 1000, nports: 4, healthy: 0xf0n }), 3)).toBeUndefined();
  });

  it('keeps a pin while its port is healthy, and only then', () => {
    const e = pathEntry({ basePort: 1000, nports: 8, healthy: 0xffn });
    expect(selectPort(e, 0, 5)).toEqual({ idx: 5, port: 1005, pinned: true });
    const broken = { ...e, healthy: 0xffn & ~(1n << 5n) };
    expect(selectPort(broken, 0, 5)).toEqual({ idx: 0, port: 1000, pinned: false });
  });

  it('prefers preferred & healthy when PS_F_PREFER is set', () => {
    const e = pathEntry({ basePort: 1000, nports: 8, healthy: 0xffn, preferred: 0b0100_0000n, flags: PS_F_PREFER });
    expect(selectPort(e, 0)?.idx).toBe(6);
    expect(selectPort({ ...e, flags: 0 }, 0)?.idx).toBe(0);
    // preferred but unhealthy: fall back to healthy
    expect(selectPort({ ...e, healthy: 0b1n }, 3)?.idx).toBe(0);
  });

  it('keeps a stateful flow within its group, falling back to any healthy port', () => {
    const e = pathEntry({
      basePort: 1000,
      nports: 8,
      healthy: 0xffn,
      flags: PS_F_STATEFUL,
      ngroups: 2,
      groupMask: [0x0fn, 0xf0n],
    });
    expect(selectPort(e, 1)?.idx).toBe(4); // group 1, start 1 -> first of 0xf0
    expect(selectPort(e, 2)?.idx).toBe(2); // group 0, start 2
    expect(selectPort({ ...e, healthy: 0x0fn }, 1)?.idx).toBe(1); // group 1 dead -> any healthy
  });

  it('full 64-port windows work', () => {
    const e = pathEntry({ basePort: 1, nports: 64, healthy: 1n << 63n });
    expect(selectPort(e, 0)?.idx).toBe(63);
    expect(selectPort(e, 63)?.idx).toBe(63);
    expect(firstSetFrom(1n, 63, 64)).toBe(0);
  });

  it('property: the choice is healthy, and equals a linear scan', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 64 }), fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), fc.nat(), (n, healthy, h) => {
        const e = pathEntry({ basePort: 20000, nports: n, healthy });
        const got = selectPort(e, h);
        let expected: number | undefined;
        for (let k = 0; k < n; k++) {
          const i = (h % n + k) % n;
          if ((healthy >> BigInt(i)) & 1n) {
            expected = i;
            break;
          }
        }
        expect(got?.idx).toBe(expected);
      }),
      { numRuns: 2000 },
    );
  });

  it('codec round-trips at an offset', () => {
    fc.assert(
      fc.property(
        fc.record({
          basePort: fc.integer({ min: 0, max: 65535 }),
          nports: fc.integer({ min: 1, max: 64 }),
          flags: fc.integer({ min: 0, max: 7 }),
          ngroups: fc.integer({ min: 0, max: 8 }),
          healthy: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
          preferred: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
          groupMask: fc.array(fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), { minLength: 8, maxLength: 8 }),
        }),
        fc.integer({ min: 0, max: 16 }),
        (v, off) => {
          const buf = Buffer.alloc(off + PathEntryCodec.size);
          PathEntryCodec.encode(v, buf, off);
          expect(PathEntryCodec.decode(buf, off)).toEqual(v);
        },
      ),
    );
  });
});

describe('flowHash and window validity', () => {
  it('flowHash is a u32 that depends on the seed (C mirror checked in the differential test)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 65535 }), fc.integer({ min: 0, max: 0xffffffff }), (sport, seed) => {
        const h = flowHash(sport, seed);
        expect(Number.isInteger(h) && h >= 0 && h <= 0xffffffff).toBe(true);
      }),
    );
    const hs = new Set(Array.from({ length: 1000 }, (_, i) => flowHash(32768 + i, 7) % 64));
    expect(hs.size).toBe(64); // spreads over a 64-port window
    expect(flowHash(40000, 1)).not.toBe(flowHash(40000, 2));
  });

  it('a window that runs past port 65535 is not used', () => {
    expect(validWindow({ basePort: 65472, nports: 64 })).toBe(true);
    expect(validWindow({ basePort: 65473, nports: 64 })).toBe(false);
    expect(selectPort(pathEntry({ basePort: 65530, nports: 16, healthy: 0xffffn }), 3)).toBeUndefined();
    expect(validWindow({ basePort: 1000, nports: 0 })).toBe(false);
    expect(validWindow({ basePort: 1000, nports: 65 })).toBe(false);
  });
});
