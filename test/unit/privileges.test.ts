import { describe, expect, it } from 'vitest';
import { PrivilegeError } from '../../src/common/errors.js';
import { CAPS, effectiveCaps, missingCaps, requireCaps } from '../../src/common/privileges.js';

describe('privileges', () => {
  it('parses CapEff', () => {
    expect(effectiveCaps('Name:\tx\nCapEff:\t000001ffffffffff\n')).toBe(0x1ffffffffffn);
  });
  it('names every missing capability', () => {
    const onlyNetAdmin = 1n << BigInt(CAPS.CAP_NET_ADMIN);
    expect(missingCaps(['CAP_BPF', 'CAP_NET_ADMIN'], onlyNetAdmin)).toEqual(['CAP_BPF']);
    expect(() => requireCaps(['CAP_BPF', 'CAP_NET_ADMIN'], 'attach', 0n)).toThrow(PrivilegeError);
    expect(() => requireCaps(['CAP_BPF', 'CAP_NET_ADMIN'], 'attach', 0n)).toThrow(/CAP_BPF and CAP_NET_ADMIN/);
  });
  it('CAP_SYS_ADMIN stands in for CAP_BPF', () => {
    expect(missingCaps(['CAP_BPF'], 1n << BigInt(CAPS.CAP_SYS_ADMIN))).toEqual([]);
  });
});
