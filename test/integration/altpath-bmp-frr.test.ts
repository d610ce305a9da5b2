/**
 * The BMP collector against real FRR 8.4 (`bgpd -M bmp`): the AltPath testbed's
 * peering router has eBGP sessions to three providers announcing
 * 203.0.113.0/24, 198.51.100.0/24 and 2001:db8:100::/48 with different
 * AS-path lengths; `pathsteer altpath collector` runs inside the router's
 * namespace and `pathsteer altpath status` reads its RIB.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AltpathTestbed, DEFAULT_PROVIDERS, IPV6_PREFIX, PREFIXES } from '../../src/testbed/altpath.js';
import { nsenterArgv } from '../../src/testbed/netns.js';
import { CLI } from '../support/cli.js';
import { cliOkIn, stopChild } from '../support/netns.js';
import { canUseNetns } from '../support/privileged.js';

interface RibRoute {
  rank: number | null;
  peer: string;
  peer_asn: number;
  policy: 'pre' | 'post';
  next_hop: string | null;
  as_path: string;
}
interface CollectorStatus {
  schema: string;
  sessions: Array<{ sysName?: string; peers: Array<{ address: string; asn: number; localAsn?: number; up: boolean; endOfRib: string[] }> }>;
  counters: { messages: Record<string, number>; skipped: Record<string, number> };
  rib: Array<{ prefix: string; routes: RibRoute[] }>;
}

const expectedPath = (provider: number, prefix: string): string => {
  const asn = 65000 + provider;
  const n = DEFAULT_PROVIDERS[provider - 1]!.prepend[prefix as keyof (typeof DEFAULT_PROVIDERS)[0]['prepend']] ?? 0;
  return Array(n + 1).fill(asn).join(' ');
};

describe.runIf(canUseNetns)('BMP collector with FRR 8.4 bgpd -M bmp (three eBGP providers)', () => {
  let tb: AltpathTestbed;
  let collector: ChildProcess;
  let http = '';

  async function status(): Promise<CollectorStatus> {
    const out = await cliOkIn(tb.ns.pr, ['altpath', 'status', '--controller', `http://${http}`, '--json']);
    return JSON.parse(out) as CollectorStatus;
  }

  async function until(what: string, pred: (s: CollectorStatus) => boolean, timeoutMs = 20_000): Promise<CollectorStatus> {
    const deadline = Date.now() + timeoutMs;
    let s = await status();
    while (!pred(s)) {
      if (Date.now() > deadline) throw new Error(`${what} not seen in ${timeoutMs} ms; RIB: ${JSON.stringify(s.rib)}; counters ${JSON.stringify(s.counters)}`);
      await new Promise((r) => setTimeout(r, 250));
      s = await status();
    }
    return s;
  }

  const routesOf = (s: CollectorStatus, prefix: string): RibRoute[] => s.rib.find((p) => p.prefix === prefix)?.routes ?? [];

  beforeAll(async () => {
    tb = await AltpathTestbed.up({ ipv6: true });
    const argv = nsenterArgv(tb.ns.pr, ['node', CLI, 'altpath', 'collector', '--listen', '127.0.0.1:0', '--http', '127.0.0.1:0']);
    collector = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'inherit'] });
    const ready = await new Promise<{ bmp: string; http: string }>((resolve, reject) => {
      let buf = '';
      collector.stdout!.on('data', (d: Buffer) => {
        buf += d.toString();
        const line = buf.split('\n').find((l) => l.startsWith('{'));
        if (line) resolve(JSON.parse(line) as { bmp: string; http: string });
      });
      collector.on('exit', (c) => reject(new Error(`collector exited ${c}`)));
    });
    http = ready.http;
    await tb.startBgp({ bmpPort: Number(ready.bmp.split(':').pop()) });
  });

  afterAll(async () => {
    if (collector) stopChild(collector);
    await tb?.down();
  });

  it("shows every peer's routes, pre- and post-policy, with the AS paths they were announced with", async () => {
    const all = [...PREFIXES, IPV6_PREFIX];
    const s = await until('3 providers x 3 prefixes x 2 policies', (x) => all.every((p) => routesOf(x, p).length === 6));
    for (const prefix of all) {
      const routes = routesOf(s, prefix);
      for (const p of tb.providers) {
        const mine = routes.filter((r) => r.peer === p.address);
        expect(mine.map((r) => r.policy).sort(), `${prefix} from ${p.name}`).toEqual(['post', 'pre']);
        for (const r of mine) {
          expect(r.peer_asn).toBe(p.asn);
          expect(r.as_path, `${prefix} from ${p.name} (${r.policy})`).toBe(expectedPath(p.index, prefix));
          // IPv4 next hop, or the IPv4-mapped address FRR uses for IPv6 routes over an IPv4 session
          expect(r.next_hop).toMatch(prefix.includes(':') ? /^::ffff:/ : new RegExp(`^${p.address.replace(/\./g, '\\.')}$`));
        }
      }
      // ranks follow the AS-path lengths (shortest first)
      const ranked = routes.filter((r) => r.rank !== null).sort((a, b) => a.rank! - b.rank!);
      const lens = ranked.map((r) => r.as_path.split(' ').length);
      expect(lens, prefix).toEqual([...lens].sort((a, b) => a - b));
      expect(ranked.length).toBe(3);
    }
    const peers = s.sessions[0]!.peers;
    expect(peers.map((p) => p.address).sort()).toEqual(tb.providers.map((p) => p.address).sort());
    for (const p of peers) {
      expect(p.localAsn).toBe(65000);
      expect(p.up).toBe(true);
    }
    expect(s.counters.messages['peer-up']).toBe(3);
  });

  it('a withdraw at a provider removes its route (both policies); others keep theirs', async () => {
    await tb.withdraw(2, '203.0.113.0/24');
    const s = await until('p2 withdrew 203.0.113.0/24', (x) => !routesOf(x, '203.0.113.0/24').some((r) => r.peer === tb.providers[1]!.address));
    expect(routesOf(s, '203.0.113.0/24').map((r) => r.peer).sort()).toEqual([tb.providers[0]!.address, tb.providers[0]!.address, tb.providers[2]!.address, tb.providers[2]!.address].sort());
    expect(routesOf(s, '198.51.100.0/24').length).toBe(6);
    await tb.announce(2, '203.0.113.0/24');
    await until('p2 re-announced', (x) => routesOf(x, '203.0.113.0/24').length === 6);
  });

  it('a peer session going down produces Peer Down and clears that peer', async () => {
    const p3 = tb.providers[2]!;
    await tb.shutdownSession(3);
    const s = await until('Peer Down of p3', (x) => x.rib.every((p) => !p.routes.some((r) => r.peer === p3.address)));
    expect(s.counters.messages['peer-down']).toBeGreaterThanOrEqual(1);
    expect(s.sessions[0]!.peers.find((p) => p.address === p3.address)?.up).toBe(false);
    for (const prefix of [...PREFIXES, IPV6_PREFIX]) expect(routesOf(s, prefix).length, prefix).toBe(4);
    await tb.shutdownSession(3, false);
    await until('p3 back', (x) => x.rib.every((p) => p.routes.length === 6), 30_000);
  });
});
