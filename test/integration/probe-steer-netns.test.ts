/**
 * probe_steer in the kernel, in namespaces (issue 4 item 2): hosts a and b,
 * VXLAN between them (udpcsum and noudpcsum) across router r, both programs
 * attached by the real CLI on both hosts' underlay interfaces. An ordinary UDP
 * socket on the agent port (test/support/net-helper.mjs `agent`) in a sends
 * probes to b's tunnel port; they must reach b's agent socket with the outer
 * source port a's vxlan_sport stamped from the header and the arrival TTL in
 * bytes 26/27, and b's answers must come back to a's socket the same way;
 * tenant TCP over the tunnels keeps working.
 *
 * Each case makes the probes arrive in a different ip_summed state, which a
 * test-only observer ahead of probe_steer (bpf/testing/csum_state.bpf.c)
 * confirms. Plain veth delivers what the sender left: PARTIAL (TX offload on)
 * or NONE (off); GRO on the receiving veth turns a verified NONE into
 * UNNECESSARY; forwarding (IP or bridge) turns COMPLETE into NONE, so
 * COMPLETE comes from a nested VXLAN underlay (ul0), whose decapsulation
 * verifies the outer checksum in software and keeps skb->csum for the inner
 * frame. With NONE and COMPLETE the receiving kernel verifies the UDP checksum
 * after our rewrite (from the bytes, or from skb->csum, which must therefore
 * follow them); a wrong one is dropped and counted in UdpInCsumErrors. With
 * UNNECESSARY and PARTIAL it trusts the skb; the bytes are held to account by
 * the BPF_PROG_TEST_RUN fixtures.
 *
 *   a up0 .21.2 -- .21.1 a0 r b0 .22.1 -- .22.2 up0 b        (198.18.x.y/30)
 *   a ul0 198.18.40.1 ==== vxlan 900, port 4790, over up0 ==== 198.18.40.2 ul0 b
 *   tenant vxlans (4789): vxc/vxn over up0, vyc/vyn over ul0 (udpcsum/noudpcsum)
 */
import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunResult } from '../../src/common/exec.js';
import { BpfMap } from '../../src/loader/index.js';
import { MapName } from '../../src/maps/names.generated.js';
import { U32Codec, U64Codec } from '../../src/maps/scalar.js';
import { readStats, type StatCounts } from '../../src/maps/stats.js';
import { TypedMap } from '../../src/maps/typed-map.js';
import { addNetns, addVeth, cleanupPrefix, nsName, nsRun, runPrefix, sysctl } from '../../src/testbed/netns.js';
import { cliOkIn, HELPER, nsenter, removePathsteerState, runCliIn, startHelper, stopChild, udpInCsumErrors } from '../support/netns.js';
import { canLoadBpf, canUseNetns } from '../support/privileged.js';

const OBSERVER = new URL('../support/tc-observer.mjs', import.meta.url).pathname;
type Host = 'a' | 'b';
type Iface = 'up0' | 'ul0';
const ADDR: Record<Iface, Record<Host, string>> = {
  up0: { a: '198.18.21.2', b: '198.18.22.2' },
  ul0: { a: '198.18.40.1', b: '198.18.40.2' },
};
/** Tenant VXLAN devices: underlay interface, VNI, checksum, tenant addresses. */
const TENANTS = [
  { dev: 'vxc', over: 'up0', vni: '100', csum: 'udpcsum', a: '192.0.2.1', b: '192.0.2.2' },
  { dev: 'vxn', over: 'up0', vni: '200', csum: 'noudpcsum', a: '192.0.2.65', b: '192.0.2.66' },
  { dev: 'vyc', over: 'ul0', vni: '300', csum: 'udpcsum', a: '192.0.2.129', b: '192.0.2.130' },
  { dev: 'vyn', over: 'ul0', vni: '400', csum: 'noudpcsum', a: '192.0.2.193', b: '192.0.2.194' },
] as const;
const AGENT_PORT = 14789;
const BASE = 20000;
const REPLY_OFFSET = 100;
/** ip_summed values (include/linux/skbuff.h). */
const SUMMED = { NONE: 0, UNNECESSARY: 1, COMPLETE: 2, PARTIAL: 3 } as const;

interface ProbeSeen {
  from: string;
  fromPort: number;
  type: number;
  txSport: number;
  ttl: number;
  ttlValid: number;
}

interface Case {
  state: keyof typeof SUMMED;
  /** The interface probes and tenant traffic use (pathsteer is attached to both). */
  via: Iface;
  /** TX checksum offload of the hosts' up0 and ul0 (off: the sender computes full checksums). */
  tx: 'on' | 'off';
  /** GRO on the hosts' up0 (veth NAPI): a verified CHECKSUM_NONE becomes _UNNECESSARY. */
  gro: 'on' | 'off';
  /** TTL the probes arrive with: r routes up0 traffic; ul0 is one hop. */
  ttl: number;
  counter: 'RX_CSUM_SEED' | 'RX_CSUM_FIXED';
}

const CASES: Case[] = [
  { state: 'PARTIAL', via: 'up0', tx: 'on', gro: 'off', ttl: 63, counter: 'RX_CSUM_SEED' },
  { state: 'UNNECESSARY', via: 'up0', tx: 'off', gro: 'on', ttl: 63, counter: 'RX_CSUM_FIXED' },
  { state: 'NONE', via: 'up0', tx: 'off', gro: 'off', ttl: 63, counter: 'RX_CSUM_FIXED' },
  { state: 'COMPLETE', via: 'ul0', tx: 'off', gro: 'off', ttl: 64, counter: 'RX_CSUM_FIXED' },
];

describe.runIf(canLoadBpf && canUseNetns)('probe_steer delivers probes to an ordinary UDP socket (real kernel, both programs on both hosts)', () => {
  const prefix = runPrefix('dq');
  const ns = { a: nsName(prefix, 'a'), r: nsName(prefix, 'r'), b: nsName(prefix, 'b') };
  const children: ChildProcess[] = [];
  const pinDir = (h: Host, i: Iface): string => `/sys/fs/bpf/pathsteer/ns/${ns[h]}/${i}`;
  const observerPin = (h: Host, i: Iface): string => `/sys/fs/bpf/pathsteer/ns/${ns[h]}/csum_state_${i}`;

  const cli = (h: Host, ...args: string[]): Promise<string> => cliOkIn(ns[h], args);
  const ip = (h: keyof typeof ns, ...argv: string[]): Promise<RunResult> => nsRun(ns[h], ['ip', ...argv]);
  const ethtool = (h: keyof typeof ns, dev: string, ...features: string[]): Promise<RunResult> => nsRun(ns[h], ['ethtool', '-K', dev, ...features]);

  const stats = (h: Host, i: Iface): StatCounts => {
    const m = BpfMap.fromPin(`${pinDir(h, i)}/${MapName.stats}`);
    try {
      return readStats(m);
    } finally {
      m.close();
    }
  };
  const observed = (h: Host, i: Iface): bigint[] => {
    const m = BpfMap.fromPin(observerPin(h, i));
    try {
      const t = new TypedMap(m, U32Codec, U64Codec);
      return [0, 1, 2, 3].map((s) => t.get(s) ?? 0n);
    } finally {
      m.close();
    }
  };
  const csumErrors = (h: Host): Promise<number> => udpInCsumErrors(ns[h]);

  /** A long-lived helper process in a namespace; resolves once it printed 'ready'. */
  const start = (h: Host, mode: string, args: unknown): Promise<{ child: ChildProcess; lines: string[] }> => startHelper(ns[h], mode, args, children);

  /** a's agent socket probes b (address on `via`) on each tx port; b answers on tx port + REPLY_OFFSET. */
  const exchange = async (via: Iface, txSports: number[]): Promise<{ atB: ProbeSeen[]; atA: ProbeSeen[] }> => {
    const b = await start('b', 'agent', { port: AGENT_PORT, replyOffset: REPLY_OFFSET });
    let a: { child: ChildProcess; lines: string[] } | undefined;
    try {
      a = await start('a', 'agent', { port: AGENT_PORT, send: { dst: ADDR[via].b, dport: 4789, txSports } });
      const deadline = Date.now() + 10_000;
      while ((a.lines.length < txSports.length || b.lines.length < txSports.length) && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 20));
      }
      const parse = (ls: string[]): ProbeSeen[] => ls.map((l) => JSON.parse(l) as ProbeSeen).sort((x, y) => x.txSport - y.txSport);
      return { atB: parse(b.lines), atA: parse(a.lines) };
    } finally {
      stopChild(b.child);
      if (a) stopChild(a.child);
    }
  };

  beforeAll(async () => {
    await Promise.all(Object.values(ns).map((n) => addNetns(n)));
    const quiet = { 'net.ipv6.conf.all.disable_ipv6': 1, 'net.ipv6.conf.default.disable_ipv6': 1, 'net.ipv4.conf.all.rp_filter': 0, 'net.ipv4.conf.default.rp_filter': 0 };
    await Promise.all([sysctl(ns.a, quiet), sysctl(ns.b, quiet), sysctl(ns.r, { ...quiet, 'net.ipv4.ip_forward': 1 })]);
    await addVeth({ ns: ns.r, ifname: 'a0' }, { ns: ns.a, ifname: 'up0' });
    await addVeth({ ns: ns.r, ifname: 'b0' }, { ns: ns.b, ifname: 'up0' });
    await Promise.all([
      ip('r', 'addr', 'add', '198.18.21.1/30', 'dev', 'a0'),
      ip('r', 'addr', 'add', '198.18.22.1/30', 'dev', 'b0'),
      ip('a', 'addr', 'add', `${ADDR.up0.a}/30`, 'dev', 'up0'),
      ip('b', 'addr', 'add', `${ADDR.up0.b}/30`, 'dev', 'up0'),
      // veth hands a packet to the peer's GRO only when the sender does no TSO (veth_skb_is_eligible_for_gro)
      ethtool('r', 'a0', 'tso', 'off'),
      ethtool('r', 'b0', 'tso', 'off'),
    ]);
    await Promise.all([ip('a', 'route', 'add', 'default', 'via', '198.18.21.1'), ip('b', 'route', 'add', 'default', 'via', '198.18.22.1')]);
    const other = (h: Host): Host => (h === 'a' ? 'b' : 'a');
    const mac = (h: Host, i: number): string => `02:00:00:00:0${h === 'a' ? 1 : 2}:0${i}`;
    const host = async (h: Host): Promise<void> => {
      await ip(h, 'link', 'add', 'ul0', 'type', 'vxlan', 'id', '900', 'local', ADDR.up0[h], 'remote', ADDR.up0[other(h)], 'dstport', '4790', 'dev', 'up0', 'udpcsum');
      await ip(h, 'addr', 'add', `${ADDR.ul0[h]}/24`, 'dev', 'ul0');
      await ip(h, 'link', 'set', 'ul0', 'up');
      for (const [i, t] of TENANTS.entries()) {
        await ip(h, 'link', 'add', t.dev, 'type', 'vxlan', 'id', t.vni, 'local', ADDR[t.over][h], 'remote', ADDR[t.over][other(h)], 'dstport', '4789', 'dev', t.over, t.csum);
        await ip(h, 'link', 'set', t.dev, 'address', mac(h, i));
        await ip(h, 'addr', 'add', `${t[h]}/26`, 'dev', t.dev);
        await ip(h, 'link', 'set', t.dev, 'up');
        // static neighbours: no ARP rides the tunnels
        await ip(h, 'neigh', 'replace', t[other(h)], 'lladdr', mac(other(h), i), 'dev', t.dev, 'nud', 'permanent');
      }
      for (const i of ['up0', 'ul0'] as const) {
        await cli(h, 'attach', '--iface', i);
        await cli(h, 'path', 'set', ADDR[i][other(h)], '--iface', i, '--base', String(BASE), '--nports', '8', '--healthy', 'ff');
        const r = await nsenter(ns[h], ['node', OBSERVER, JSON.stringify({ ifname: i, pin: observerPin(h, i) })]);
        expect(r.code, r.stderr).toBe(0);
      }
    };
    await Promise.all([host('a'), host('b')]);
    await Promise.all(TENANTS.map((t) => start('b', 'tcp-server', { addr: t.b, port: 5001 })));
  }, 60_000);

  afterAll(async () => {
    for (const c of children) stopChild(c);
    for (const h of ['a', 'b'] as const) for (const i of ['up0', 'ul0']) await runCliIn(ns[h], ['detach', '--iface', i]);
    await cleanupPrefix(prefix);
    removePathsteerState([ns.a, ns.b]);
  });

  it.each(CASES.map((c) => [c.state, c] as const))(
    'probes arriving CHECKSUM_%s reach the agent socket with the stamped source port, and so do the answers (with their arrival TTL); tenant TCP works over udpcsum and noudpcsum tunnels',
    async (_s, c) => {
      for (const h of ['a', 'b'] as const) {
        await ethtool(h, 'up0', 'tx', c.tx, 'gro', c.gro);
        await ethtool(h, 'ul0', 'tx', c.tx);
      }
      const v = c.via;
      const before = { a: stats('a', v), b: stats('b', v), obsA: observed('a', v), obsB: observed('b', v), errA: await csumErrors('a'), errB: await csumErrors('b') };
      const txSports = [BASE + 1, BASE + 2, BASE + 3];
      const { atB, atA } = await exchange(v, txSports);

      // b's socket got a's requests from the port in their header, reserved word as sent (no TTL: requests keep it for a reply-port hint)
      expect(atB).toEqual(txSports.map((p) => expect.objectContaining({ from: ADDR[v].a, fromPort: p, type: 0x7e, txSport: p, ttl: 0, ttlValid: 0 })));
      // and a's socket got b's answers the same way
      expect(atA).toEqual(
        txSports.map((p) => expect.objectContaining({ from: ADDR[v].b, fromPort: p + REPLY_OFFSET, type: 0x7f, txSport: p + REPLY_OFFSET, ttl: c.ttl, ttlValid: 1 })),
      );
      // they really arrived in the state this case is about
      const delta = (now: bigint[], then: bigint[]): number[] => now.map((x, i) => Number(x - then[i]!));
      const want = [0, 0, 0, 0].map((_, i) => (i === SUMMED[c.state] ? txSports.length : 0));
      expect(delta(observed('b', v), before.obsB), 'ip_summed of the requests at b').toEqual(want);
      expect(delta(observed('a', v), before.obsA), 'ip_summed of the answers at a').toEqual(want);
      for (const h of ['a', 'b'] as const) {
        const now = stats(h, v);
        expect(Number(now.PROBE_RX - before[h].PROBE_RX), `${h} probe_rx`).toBe(txSports.length);
        expect(Number(now[c.counter] - before[h][c.counter]), `${h} ${c.counter}`).toBe(txSports.length);
        expect(Number(now.PROBE_STAMPED - before[h].PROBE_STAMPED), `${h} probe_stamped`).toBe(txSports.length);
      }

      // tenant TCP across the tunnels on this interface, vxlan_sport rewriting and probe_steer watching ingress
      for (const t of TENANTS.filter((x) => x.over === v)) {
        const r = await nsenter(ns.a, ['node', HELPER, 'tcp-client', JSON.stringify({ addr: t.b, port: 5001, bytes: 1 << 19, timeoutMs: 20_000 })]);
        expect(r.code, `TCP over ${t.dev} (${t.csum}, ${c.state}): ${r.stdout} ${r.stderr}`).toBe(0);
      }
      expect(Number(stats('a', v).REWRITTEN - before.a.REWRITTEN)).toBeGreaterThan(0);
      expect(await csumErrors('a')).toBe(before.errA);
      expect(await csumErrors('b')).toBe(before.errB);
    },
    60_000,
  );
});
