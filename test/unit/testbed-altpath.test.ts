import { describe, expect, it } from 'vitest';
import { DEFAULT_PROVIDERS, prBgpConfig, providerBgpConfig, providerInfo } from '../../src/testbed/altpath.js';

describe('AltPath testbed FRR configs', () => {
  const providers = providerInfo('ap1', DEFAULT_PROVIDERS);

  it('addresses come from the test ranges and each provider has its own AS', () => {
    expect(providers.map((p) => [p.asn, p.address, p.prAddress, p.netns])).toEqual([
      [65001, '198.18.11.6', '198.18.11.5', 'ap1-p1'],
      [65002, '198.18.11.10', '198.18.11.9', 'ap1-p2'],
      [65003, '198.18.11.14', '198.18.11.13', 'ap1-p3'],
    ]);
  });

  it('the peering router monitors pre- and post-policy over BMP and announces nothing to its providers', () => {
    const c = prBgpConfig(providers, { bmpPort: 4000, ipv6: true, timers: [1, 3] });
    expect(c).toContain('bmp connect 127.0.0.1 port 4000');
    for (const af of ['ipv4', 'ipv6']) for (const pol of ['pre-policy', 'post-policy']) expect(c).toContain(`bmp monitor ${af} unicast ${pol}`);
    for (const p of providers) {
      expect(c).toContain(`neighbor ${p.address} remote-as ${p.asn}`);
      expect(c).toContain(`neighbor ${p.address} route-map NONE out`);
      expect(c).toContain(`neighbor ${p.address} soft-reconfiguration inbound`);
    }
    expect(prBgpConfig(providers, { timers: [1, 3] })).not.toContain('bmp');
  });

  it('providers prepend their AS per prefix as configured', () => {
    const p3 = providerBgpConfig(providers[2]!, { timers: [1, 3] });
    // 203.0.113.0/24: 2 extra copies; 198.51.100.0/24: none
    expect(p3).toMatch(/match ip address prefix-list PL0\n set as-path prepend 65003 65003\n/);
    expect(p3).toMatch(/match ip address prefix-list PL1\nexit/);
    expect(p3).toContain('network 203.0.113.0/24');
    expect(p3).not.toContain('2001:db8');
  });
});
