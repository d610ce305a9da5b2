import { isIPv4, isIPv6 } from 'node:net';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  AddressError,
  formatIpv4,
  formatIpv6,
  ipv4InPrefix,
  ipv4Value,
  parseIpv4,
  parseIpv4Prefix,
  parseIpv6,
  parsePrefix,
  prefixWithin,
  PrefixSet,
  zip,
} from '../../src/common/net.js';

describe('common/net: the one address parser', () => {
  it('accepts exactly what net.isIPv4 accepts (random strings and near-misses)', () => {
    const octet = fc.oneof(fc.integer({ min: 0, max: 300 }).map(String), fc.constantFrom('00', '01', '007', '', ' 1', '1 ', '-1', '0x1'));
    const near = fc.array(octet, { minLength: 1, maxLength: 6 }).map((a) => a.join('.'));
    fc.assert(
      fc.property(fc.oneof(near, fc.string()), (s) => {
        expect(ipv4Value(s) >= 0).toBe(isIPv4(s));
      }),
      { numRuns: 5000 },
    );
  });

  it('round-trips every u32', () => {
    fc.assert(fc.property(fc.tuple(fc.integer({ min: 0, max: 0xffff }), fc.integer({ min: 0, max: 0xffff })).map(([h, l]) => h * 65536 + l), (v) => {
        expect(parseIpv4(formatIpv4(v))).toBe(v);
      }),
    );
  });

  it('rejects with a typed error naming the text', () => {
    expect(() => parseIpv4('198.18.0.256')).toThrow(AddressError);
    expect(() => parseIpv4('198.18.0.256')).toThrow('"198.18.0.256" is not an IPv4 address');
  });

  it('parses IPv4 prefixes and refuses lengths above 32 with the reason', () => {
    const p = parseIpv4Prefix('198.18.7.9/16');
    expect(p.text).toBe('198.18.0.0/16');
    expect(ipv4InPrefix(parseIpv4('198.18.200.1'), p)).toBe(true);
    expect(ipv4InPrefix(parseIpv4('198.19.0.1'), p)).toBe(false);
    expect(parseIpv4Prefix('192.0.2.1').len).toBe(32);
    expect(parseIpv4Prefix('0.0.0.0/0').net).toBe(0);
    expect(() => parseIpv4Prefix('10.0.0.0/33')).toThrow('prefix length 33 is above 32');
    for (const bad of ['10.0.0/8', '10.0.0.0/', '10.0.0.0/-1', '10.0.0.0/8/8', '10.0.0.0/x', 'fe80::/10'])
      expect(() => parseIpv4Prefix(bad), bad).toThrow(AddressError);
    expect(() => parseIpv4Prefix('10.0.0.1/8', { allowHostBits: false })).toThrow('did you mean 10.0.0.0/8');
  });

  it('parses and formats IPv6 like net.isIPv6 and RFC 5952', () => {
    for (const [t, canon] of [
      ['2001:db8::1', '2001:db8::1'],
      ['2001:DB8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
      ['::', '::'],
      ['::ffff:192.0.2.1', '::ffff:c000:201'],
      ['1:2:3:4:5:6:7:8', '1:2:3:4:5:6:7:8'],
      ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'],
    ] as const) {
      expect(isIPv6(t)).toBe(true);
      expect(formatIpv6(parseIpv6(t))).toBe(canon);
    }
    expect(() => parseIpv6('2001:db8:::1')).toThrow(AddressError);
    const p = parsePrefix('2001:db8:abcd::1/33');
    expect(p.text).toBe('2001:db8:8000::/33');
    expect(() => parsePrefix('2001:db8::/129')).toThrow('prefix length 129 is above 128');
  });

  it('prefix containment and sets', () => {
    expect(prefixWithin('203.0.113.128/25', '203.0.113.0/24')).toBe(true);
    expect(prefixWithin('203.0.112.0/23', '203.0.113.0/24')).toBe(false);
    expect(prefixWithin('2001:db8:1::/48', '2001:db8::/32')).toBe(true);
    expect(prefixWithin('2001:db8::/32', '198.51.100.0/24')).toBe(false);
    const s = new PrefixSet(['198.51.100.0/24', '2001:db8::/32']);
    expect(s.has('198.51.100.77')).toBe(true);
    expect(s.has('203.0.113.1')).toBe(false);
    expect(s.has('2001:db8::5')).toBe(true);
  });

  it('zod schemas give a one-line reason', () => {
    const r = zip.ipv4Prefix().safeParse('10.0.0.0/33');
    expect(r.success).toBe(false);
    expect(r.error?.issues[0]?.message).toMatch(/not an IPv4 prefix .*33 is above 32/);
    expect(zip.ipv4().safeParse('198.18.0.1').success).toBe(true);
    expect(zip.ipv4().safeParse('198.18.0.01').success).toBe(false);
  });
});
