import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/common/errors.js';
import { loadSpec, parseSpec, prefixWithin } from '../../src/testbed/spec.js';

const base = {
  name: 't',
  spines: ['spine1', 'spine2'],
  leaves: ['leaf1', 'leaf2'],
  hosts: [
    { name: 'host1', leaf: 'leaf1', vms: ['vm1'] },
    { name: 'host2', leaf: 'leaf2', vms: ['vm2'] },
  ],
};

function problems(input: unknown): string {
  try {
    parseSpec(input);
  } catch (e) {
    expect(e).toBeInstanceOf(UsageError);
    return (e as Error).message;
  }
  throw new Error('spec was accepted');
}

describe('testbed spec', () => {
  it('loads the shipped examples with defaults filled in', () => {
    const s = loadSpec('examples/testbed/clos-2x2.json');
    expect(s.tunnel).toEqual({ type: 'vxlan', port: 4789, vni: 100, device: 'vxlan0' });
    expect(s.spines.map((x) => x.name)).toEqual(['spine1', 'spine2']);
    expect(s.underlayMtu).toBe(1600);
    expect(loadSpec('examples/testbed/two-region.json').wan).toHaveLength(2);
    const s4 = loadSpec('examples/testbed/clos-4x4.json');
    expect(s4.spines).toHaveLength(4);
    expect(s4.hosts).toHaveLength(4);
  });

  it('fills tunnel defaults per type: flannel is VXLAN on 8472 with VNI 1, geneve 6081', () => {
    expect(parseSpec({ ...base, tunnel: { type: 'flannel' } }).tunnel).toEqual({ type: 'flannel', port: 8472, vni: 1, device: 'flannel.1' });
    expect(parseSpec({ ...base, tunnel: { type: 'geneve' } }).tunnel.port).toBe(6081);
  });

  it('names every bad field in one error', () => {
    const m = problems({ ...base, hosts: [{ name: 'host1', leaf: 'leaf9' }, { name: 'Host2', leaf: 'leaf1' }], extra: 1 });
    expect(m).toMatch(/hosts\.1\.name/);
    expect(m).toMatch(/Unrecognized key.*extra|extra/);
  });

  it('rejects references to unknown leaves and duplicate names', () => {
    expect(problems({ ...base, hosts: [{ name: 'host1', leaf: 'leaf9', vms: [] }] })).toMatch(/hosts\.0\.leaf: no leaf named "leaf9"/);
    expect(problems({ ...base, hosts: [{ name: 'host1', leaf: 'leaf1', vms: ['spine1'] }] })).toMatch(/already used by spines\.0/);
  });

  it('rejects names that would clash with interfaces the testbed creates', () => {
    expect(problems({ ...base, hosts: [{ name: 'br0', leaf: 'leaf1' }] })).toMatch(/reserved/);
  });

  it('rejects an MTU pair that leaves no room for the VXLAN header', () => {
    expect(problems({ ...base, underlayMtu: 1500, tenantMtu: 1500 })).toMatch(/exceeds underlayMtu 1500/);
  });

  it('keeps gateways to the documented Internet test ranges', () => {
    expect(problems({ ...base, gateways: [{ name: 'gw1', leaf: 'leaf2', prefixes: ['8.8.8.0/24'] }] })).toMatch(/outside the test ranges/);
    expect(parseSpec({ ...base, gateways: [{ name: 'gw1', leaf: 'leaf2', prefixes: ['198.51.100.0/25'] }] }).gateways).toHaveLength(1);
  });

  it('requires every region to be reachable', () => {
    const twoRegions = {
      ...base,
      spines: ['spine1', { name: 'rspine1', region: 'west' }],
      leaves: ['leaf1', { name: 'rleaf1', region: 'west' }],
      hosts: [
        { name: 'host1', leaf: 'leaf1' },
        { name: 'host2', leaf: 'rleaf1' },
      ],
    };
    expect(problems(twoRegions)).toMatch(/cannot reach/);
    expect(parseSpec({ ...twoRegions, wan: [{ a: 'spine1', b: 'rspine1', delayMs: 20 }] }).wan).toHaveLength(1);
  });

  it('reports unreadable and malformed files as usage errors', () => {
    expect(() => loadSpec('/nonexistent/spec.json')).toThrow(/cannot read testbed spec/);
    expect(() => loadSpec('package-lock.json')).toThrow(UsageError);
  });

  it('prefixWithin matches CIDR containment', () => {
    expect(prefixWithin('203.0.113.128/25', '203.0.113.0/24')).toBe(true);
    expect(prefixWithin('203.0.112.0/23', '203.0.113.0/24')).toBe(false);
    expect(prefixWithin('198.51.100.7/32', '198.51.100.0/24')).toBe(true);
  });
});
