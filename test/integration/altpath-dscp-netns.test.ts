/**
 * altpath_dscp on a real interface, attached by the real CLI
 * (`pathsteer altpath sampler`) in a server namespace, marking UDP flows that
 * leave it; a client namespace reads each flow's DSCP with nftables (a set of
 * flows per DSCP value, so a flow whose packets carried two marks would show
 * twice):
 *
 *   s (server) s0 198.18.61.1 / 2001:db8:61::1 ---- c0 198.18.61.2, .3 / 2001:db8:61::2 c (client)
 *
 * 20,000 IPv4 and 5,000 IPv6 flows (distinct source/destination port pairs,
 * two packets each): each arrives with the DSCP the TypeScript reference of
 * the hash gives it (0 mismatches), the share per DSCP is within 4 binomial
 * sigma of the configuration, flows to the excluded address are never
 * marked; after SIGHUP with a changed config file the same flows follow the
 * new shares. Then the sampler shares s0's egress with vxlan_sport
 * (`pathsteer attach`) in both attach orders, and SIGTERM removes only its
 * own filter.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { altpathDecide, type AltpathFlow } from '../../src/altpath/flow-hash.js';
import { run } from '../../src/common/exec.js';
import { PrefixSet } from '../../src/common/net.js';
import { BpfMap } from '../../src/loader/index.js';
import { AltpathCodec, type Altpath } from '../../src/maps/altpath.js';
import { MapName } from '../../src/maps/names.generated.js';
import { U32Codec } from '../../src/maps/scalar.js';
import { TypedMap } from '../../src/maps/typed-map.js';
import { cleanupPrefix, nsName, runPrefix } from '../../src/testbed/netns.js';
import { addServerClientPair, cliOkIn, nsenter, removePathsteerState, runCliIn, stopChild } from '../support/netns.js';
import { canLoadBpf, canUseNetns } from '../support/privileged.js';
import { dropCounters, installDscpCounter, readDscpCounter, resetDscpCounter, startSampler, stopSampler, waitLine, type RunningSampler } from '../support/sampler.js';

const CONN_HELPER = new URL('../support/conn-helper.mjs', import.meta.url).pathname;
const S4 = '198.18.61.1';
const C4 = '198.18.61.2';
const C4X = '198.18.61.3'; // excluded
const S6 = '2001:db8:61::1';
const C6 = '2001:db8:61::2';
const SEED = 0xa17a17;
const range = (from: number, n: number): number[] => Array.from({ length: n }, (_, i) => from + i);
const DPORTS = range(20000, 500);
const SPORTS4 = range(30000, 40); // x 500 = 20,000 flows
const SPORTS4X = range(30100, 4); // x 500 = 2,000 flows to the excluded address
const SPORTS6 = range(30200, 10); // x 500 = 5,000 flows

interface Phase {
  rules: string[];
  /** DSCP -> configured share. */
  shares: Record<number, number>;
}
const PHASE1: Phase = { rules: ['20%:12', '10%:24'], shares: { 12: 0.2, 24: 0.1 } };
const PHASE2: Phase = { rules: ['5%:12', '30%:46'], shares: { 12: 0.05, 46: 0.3 } };

const altpathOf = (p: Phase): Altpath => ({
  seed: SEED,
  onlyUnmarked: true,
  rules: p.rules.map((r) => {
    const [pct, dscp] = r.split(':');
    return { dscp: Number(dscp), basisPoints: Math.round(Number(pct!.replace('%', '')) * 100) };
  }),
});

describe.runIf(canLoadBpf && canUseNetns)('altpath_dscp marks the configured share of real flows (namespaces, CLI sampler, nftables at the receiver)', () => {
  const prefix = runPrefix('ad');
  const ns = { s: nsName(prefix, 's'), c: nsName(prefix, 'c') };
  const children: ChildProcess[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'ps-altpath-netns-'));
  const configFile = join(dir, 'sampler.json');
  const exclude = [`${C4X}/32`];
  let sampler: RunningSampler | undefined;

  const writeConfig = (p: Phase): void => {
    writeFileSync(configFile, JSON.stringify({ iface: 's0', rules: p.rules, exclude, seed: SEED, sampleRate: 1000, out: join(dir, 'samples.jsonl') }));
  };

  let argsFiles = 0;
  const sendFlows = async (src: string, dst: string, flows: { sports: number[]; dports: number[] } | { pairs: Array<[number, number]> }, packets = 2): Promise<void> => {
    const file = join(dir, `flows-${++argsFiles}.json`);
    writeFileSync(file, JSON.stringify({ src, dst, ...flows, packets }));
    const r = await nsenter(ns.s, ['node', CONN_HELPER, 'udp-flows', `@${file}`], 240_000);
    expect(r.code, r.stderr).toBe(0);
  };
  const TARGETS = [
    ['v4', S4, C4, SPORTS4],
    ['v4', S4, C4X, SPORTS4X],
    ['v6', S6, C6, SPORTS6],
  ] as const;

  /**
   * Send every flow (two datagrams each); then resend the flows of which no
   * datagram arrived (on this shared 2-core machine a loaded receiver's
   * backlog drops some), at most three times. Returns how many were resent.
   */
  const sendAll = async (): Promise<number> => {
    await Promise.all(TARGETS.map(([, src, dst, sports]) => sendFlows(src, dst, { sports, dports: DPORTS })));
    let resent = 0;
    for (let round = 0; round < 3; round++) {
      const seen = await readDscpCounter(ns.c);
      const have = new Set<string>();
      for (const [k, v] of Object.entries(seen)) if (Array.isArray(v)) for (const f of v) have.add(`${k.slice(0, 2)}|${f}`);
      let missing = 0;
      for (const [fam, src, dst, sports] of TARGETS) {
        const pairs: Array<[number, number]> = [];
        for (const sp of sports) for (const dp of DPORTS) if (!have.has(`${fam}|${dst}|${sp}|${dp}`)) pairs.push([sp, dp]);
        missing += pairs.length;
        if (pairs.length) await sendFlows(src, dst, { pairs });
      }
      resent += missing;
      if (missing === 0) break;
      process.stderr.write(`${missing} flows lost; drops s ${JSON.stringify(await dropCounters(ns.s))} c ${JSON.stringify(await dropCounters(ns.c))}\n`);
    }
    return resent;
  };

  beforeAll(async () => {
    await cleanupPrefix(prefix);
    await addServerClientPair(ns, { s: [`${S4}/24`, `${S6}/64`], c: [`${C4}/24`, `${C4X}/24`, `${C6}/64`] });
    await installDscpCounter(ns.c, 'c0');
    // neighbours first, so no flow's first datagram waits for ARP/ND
    for (const a of [C4, C4X, C6]) await nsenter(ns.s, ['ping', '-c', '1', '-W', '2', a]);
  });

  afterAll(async () => {
    if (sampler) await stopSampler(sampler).catch(() => undefined);
    for (const c of children) stopChild(c);
    await runCliIn(ns.s, ['detach', '--iface', 's0']);
    await cleanupPrefix(prefix);
    removePathsteerState([ns.s, ns.c]);
    rmSync(dir, { recursive: true, force: true });
  });

  /** Every flow's DSCP as seen by c, checked against the reference and the configured shares. */
  const check = async (p: Phase): Promise<string> => {
    const seen = await readDscpCounter(ns.c);
    const cfg = altpathOf(p);
    const excl = new PrefixSet(exclude);
    const dscpOf = new Map<string, number[]>();
    for (const fam of ['v4', 'v6']) {
      for (const d of [0, 12, 24, 46]) for (const k of seen[`${fam}_${d}`] ?? []) dscpOf.set(`${fam}|${k}`, [...(dscpOf.get(`${fam}|${k}`) ?? []), d]);
    }
    expect(seen.other).toEqual({ v4: 0, v6: 0 });
    const summary: string[] = [];
    for (const [fam, src, dst, sports] of TARGETS) {
      const mismatches: string[] = [];
      const per = new Map<number, number>();
      let n = 0;
      for (const sport of sports) {
        for (const dport of DPORTS) {
          n++;
          const got = dscpOf.get(`${fam}|${dst}|${sport}|${dport}`) ?? [];
          const flow: AltpathFlow = { family: fam === 'v4' ? 4 : 6, saddr: src, daddr: dst, sport, dport, proto: 17 };
          const want = altpathDecide(cfg, excl, flow).dscp;
          if ((got.length !== 1 || got[0] !== want) && mismatches.length < 5) mismatches.push(`${dst} ${sport}->${dport}: seen ${JSON.stringify(got)}, want ${want}`);
          if (got.length === 1) per.set(got[0]!, (per.get(got[0]!) ?? 0) + 1);
        }
      }
      expect(mismatches, `${fam} flows to ${dst}`).toEqual([]);
      const line: string[] = [];
      for (const [d, share] of Object.entries(p.shares)) {
        const got = per.get(Number(d)) ?? 0;
        const expected = dst === C4X ? 0 : n * share;
        const tol = 4 * Math.sqrt(n * share * (1 - share));
        line.push(`DSCP ${d} ${got}/${n} = ${((100 * got) / n).toFixed(2)}% (configured ${(share * 100).toFixed(0)}%${dst === C4X ? ', excluded: 0' : `, +-${((100 * tol) / n).toFixed(2)}%`})`);
        if (dst === C4X) expect(got).toBe(0);
        else expect(Math.abs(got - expected), `${fam} DSCP ${d}: ${got} of ${n}, expected ${expected} +- ${tol.toFixed(0)}`).toBeLessThanOrEqual(tol);
      }
      summary.push(`${fam} to ${dst}: ${line.join(', ')}`);
    }
    return summary.join('; ');
  };

  it('marks each flow as the reference says, the shares within 4 binomial sigma, never to excluded destinations; a SIGHUP config change moves the same flows to the new shares', async () => {
    writeConfig(PHASE1);
    sampler = await startSampler(ns.s, ['--config', configFile], children);
    const lost1 = await sendAll();
    const s1 = await check(PHASE1);

    // live change: new shares and a new DSCP, same seed, same flows
    writeConfig(PHASE2);
    const before = sampler.stderr.length;
    process.kill(sampler.child.pid!, 'SIGHUP');
    await waitLine(sampler.stderr, /configuration reloaded/, 10_000, before);
    const pinned = BpfMap.fromPin(`/sys/fs/bpf/pathsteer/ns/${ns.s}/altpath/${MapName.altpath}`);
    try {
      const a = new TypedMap(pinned, U32Codec, AltpathCodec).get(0)!;
      expect({ seed: a.seed, rules: a.rules }).toEqual({ seed: SEED, rules: altpathOf(PHASE2).rules });
    } finally {
      pinned.close();
    }
    await resetDscpCounter(ns.c);
    const lost2 = await sendAll();
    const s2 = await check(PHASE2);
    process.stderr.write(
      `altpath_dscp netns fractions, phase 1 (${PHASE1.rules.join(', ')}): ${s1}\nphase 2 after SIGHUP (${PHASE2.rules.join(', ')}): ${s2}\nflows resent because none of their datagrams arrived: ${lost1}, ${lost2}\n`,
    );
  });

  it('shares s0 egress with vxlan_sport in either attach order (altpath_dscp first, both run); SIGTERM removes only the sampler filter', async () => {
    // a VXLAN-port datagram: vxlan_sport gives it a port from the path table, altpath_dscp (100% -> 46) marks it
    writeConfig({ rules: ['100%:46'], shares: {} });
    const vx = async (): Promise<{ sports: string[]; dscp46: number }> => {
      await resetDscpCounter(ns.c);
      let seen = await readDscpCounter(ns.c);
      for (let i = 0; i < 3 && Object.entries(seen).every(([k, v]) => !k.startsWith('v4_') || (v as string[]).length === 0); i++) {
        await sendFlows(S4, C4, { sports: [31000], dports: [4789] }, 3);
        seen = await readDscpCounter(ns.c);
      }
      const all = Object.entries(seen)
        .filter(([k]) => k.startsWith('v4_'))
        .flatMap(([k, v]) => (v as string[]).map((f) => `${k}:${f}`));
      return { sports: all.map((x) => x.split('|')[1]!), dscp46: (seen.v4_46 ?? []).length };
    };
    const filters = async (): Promise<string> => (await run(['ip', 'netns', 'exec', ns.s, 'tc', 'filter', 'show', 'dev', 's0', 'egress'])).stdout;
    const pathSet = async (): Promise<void> => {
      await cliOkIn(ns.s, ['path', 'set', C4, '--iface', 's0', '--base', '41000', '--nports', '1', '--healthy', '1']);
    };

    if (sampler) await stopSampler(sampler);
    // order 1: the sampler first, then pathsteer attach
    sampler = await startSampler(ns.s, ['--config', configFile], children);
    await cliOkIn(ns.s, ['attach', '--iface', 's0', '--no-ingress']);
    await pathSet();
    let f = await filters();
    expect(f).toMatch(/pref 256 bpf .*altpath_dscp/);
    expect(f).toMatch(/vxlan_sport/);
    let r = await vx();
    expect(r).toEqual({ sports: ['41000'], dscp46: 1 });

    // SIGTERM: the sampler's filter goes, vxlan_sport (and the clsact hook) stay
    expect(await stopSampler(sampler)).toBe(0);
    sampler = undefined;
    f = await filters();
    expect(f).not.toMatch(/altpath_dscp/);
    expect(f).toMatch(/vxlan_sport/);
    r = await vx();
    expect(r).toEqual({ sports: ['41000'], dscp46: 0 });

    // order 2: vxlan_sport already there, the sampler joins ahead of it
    sampler = await startSampler(ns.s, ['--config', configFile], children);
    f = await filters();
    expect(f).toMatch(/pref 256 bpf .*altpath_dscp/);
    r = await vx();
    expect(r).toEqual({ sports: ['41000'], dscp46: 1 });
    expect(await stopSampler(sampler)).toBe(0);
    sampler = undefined;
    await cliOkIn(ns.s, ['detach', '--iface', 's0']);
    expect(await filters()).toBe('');
  });
});
