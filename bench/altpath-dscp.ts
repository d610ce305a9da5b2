/**
 * `pathsteer bench altpath-dscp`: the cost of altpath_dscp per packet,
 * measured by BPF_PROG_TEST_RUN (repeat >= 1e6) against an empty TC program
 * on the same packet, for the three paths a packet takes: a flow the rules
 * select (DSCP written, IPv4 header checksum updated, exclusion trie looked
 * up), a flow they do not select (hash and rule walk only; ~99% of flows
 * with Edge Fabric's 0.75%/0.25%), and a selected flow to an excluded
 * destination (trie hit, nothing written). Configuration: 0.75% -> 12,
 * 0.25% -> 24, and an exclusion list of 64 prefixes.
 *
 * A test run repeats the program on one skb, so a marked packet would carry
 * its DSCP from the second run on; the marked figure therefore comes from
 * the test-only bpf/testing/altpath_bench.bpf.c: altpath_remark clears the
 * DSCP and runs altpath_dscp's code (helpers/altpath_mark.h), altpath_unmark
 * only clears it, and marked = empty + (remark - unmark), each the best of
 * its rounds.
 *
 * As attached, the program answers every packet of a flow after the first
 * from its per-CPU flow cache (ps_altpath_cache), as within any flow between
 * two configuration changes; the *_uncached figures are the same paths in
 * the build without the cache (every packet decided afresh: jhash, rules,
 * exclusion trie), i.e. what a flow's first packet costs. Rounds are
 * interleaved and the best of each taken (the one least disturbed by other
 * load), as in bench/dataplane.ts. The kernel reports whole nanoseconds.
 */
import { altpathDecide, type AltpathFlow } from '../src/altpath/flow-hash.js';
import { PrefixSet } from '../src/common/net.js';
import { BpfObject, testRun } from '../src/loader/index.js';
import type { Altpath } from '../src/maps/altpath.js';
import { ALTPATH_NO_CACHE, AltpathTables } from '../src/maps/altpath-dataplane.js';
import { BpfObjects, ProgName } from '../src/maps/names.generated.js';
import { objectPath } from '../src/maps/objects.js';
import { ethIpv4Frame } from './packets.js';

export interface AltpathDscpBenchOptions {
  /** Test-run repetitions per measurement. @default 1_000_000 */
  repeat?: number;
  /** Interleaved rounds; the best is reported. @default 5 */
  rounds?: number;
  progress?: (line: string) => void;
}

export interface AltpathDscpBenchResult {
  /** ns per packet, empty TC program. */
  empty_ns: number;
  /** ns per packet, a selected flow arriving unmarked: DSCP written, checksum updated (empty + remark - unmark). */
  marked_ns: number;
  /** ns per packet, test-only: clear the DSCP, then altpath_dscp's code. */
  remark_ns: number;
  /** ns per packet, test-only: clear the DSCP only. */
  unmark_ns: number;
  /** The same three built without the flow cache: what the first packet of a flow (a cache miss) costs. */
  marked_uncached_ns: number;
  unselected_uncached_ns: number;
  excluded_uncached_ns: number;
  /** The worst uncached figure / empty_ns. */
  ratio_uncached: number;
  /** ns per packet, a flow no rule selects. */
  unselected_ns: number;
  /** ns per packet, a selected flow to an excluded destination. */
  excluded_ns: number;
  /** marked_ns / empty_ns (target <= 1.5). */
  ratio_marked: number;
  ratio_unselected: number;
  ratio_excluded: number;
  /** The worst of the three ratios (what the target is checked against). */
  ratio: number;
  /** Prefixes in ps_altpath_exclude during the run. */
  exclusions: number;
  repeat: number;
  rounds: number;
}

export const BENCH_ALTPATH: Altpath = { seed: 0x12345678, onlyUnmarked: true, rules: [{ dscp: 12, basisPoints: 75 }, { dscp: 24, basisPoints: 25 }] };
const LOCAL = '198.18.0.1';
/** 64 exclusions: /24s of 198.51.100.0/22-ish space around the excluded destination, plus others. */
function exclusions(): string[] {
  const out = ['198.51.100.0/24'];
  for (let i = 0; out.length < 64; i++) out.push(`198.${18 + (i & 1)}.${100 + (i >> 1)}.0/24`);
  return out;
}

/** Ethernet + IPv4 + TCP (20-byte header, 64 bytes of payload), DSCP 0; network order. */
export function tcp4Packet(saddr: string, daddr: string, sport: number, dport: number): Buffer {
  const p = ethIpv4Frame(saddr, daddr, 6, 20 + 64);
  p.fill(0x5a, 14 + 20 + 20);
  p.writeUInt16BE(sport, 34);
  p.writeUInt16BE(dport, 36);
  p[46] = 5 << 4;
  p[47] = 0x10;
  return p;
}

/** A flow (to daddr, from port 443) whose decision under BENCH_ALTPATH is `want`. */
function flowTo(daddr: string, want: 'MARKED' | 'UNSELECTED' | 'EXCLUDED', excl: PrefixSet): AltpathFlow {
  for (let dport = 40000; dport < 65536; dport++) {
    const f: AltpathFlow = { family: 4, saddr: LOCAL, daddr, sport: 443, dport, proto: 6 };
    if (altpathDecide(BENCH_ALTPATH, excl, f).outcome === want) return f;
  }
  throw new Error(`no flow to ${daddr} is ${want}`);
}

const best = (xs: number[]): number => Math.min(...xs);
const ratio = (x: number, e: number): number => Math.round((x / e) * 100) / 100;

export function benchAltpathDscp(o: AltpathDscpBenchOptions = {}): AltpathDscpBenchResult {
  const repeat = o.repeat ?? 1_000_000;
  const rounds = o.rounds ?? 5;
  const objs: BpfObject[] = [];
  try {
    const empty = BpfObject.open(objectPath('empty')).load();
    objs.push(empty);
    const ap = BpfObject.open(objectPath('altpathDscp')).load();
    objs.push(ap);
    const t = new AltpathTables((n) => ap.map(n));
    const ex = exclusions();
    t.setExclusions(ex);
    t.writeConfig(BENCH_ALTPATH);
    // the same program without its flow cache, sharing the maps
    const apU = BpfObject.open(objectPath('altpathDscp'));
    objs.push(apU);
    apU.setGlobal(ALTPATH_NO_CACHE, 1);
    for (const [name, map] of t.maps()) apU.reuseMap(name, map);
    apU.load();
    const excl = new PrefixSet(ex);
    const pkt = (f: AltpathFlow): Buffer => tcp4Packet(f.saddr, f.daddr, f.sport, f.dport);
    const packets = {
      marked: pkt(flowTo('203.0.113.10', 'MARKED', excl)),
      unselected: pkt(flowTo('203.0.113.10', 'UNSELECTED', excl)),
      excluded: pkt(flowTo('198.51.100.10', 'EXCLUDED', excl)),
    };
    const emptyFd = empty.program(BpfObjects.empty.programs[0]).fd;
    const fd = ap.program(ProgName.altpathDscp).fd;
    const fdU = apU.program(ProgName.altpathDscp).fd;
    // the test-only wrapper shares the maps of the real program (one build with the cache, one without)
    const wrapper = (noCache: boolean): { unmark: number; remark: number } => {
      const w = BpfObject.open(objectPath('altpathBench'));
      objs.push(w);
      w.setGlobal(ALTPATH_NO_CACHE, noCache ? 1 : 0);
      for (const [name, map] of t.maps()) w.reuseMap(name, map);
      w.load();
      const [unmarkProg, remarkProg] = BpfObjects.altpathBench.programs;
      return { unmark: w.program(unmarkProg).fd, remark: w.program(remarkProg).fd };
    };
    const { unmark: unmarkFd, remark: remarkFd } = wrapper(false);
    const { remark: remarkUFd } = wrapper(true);
    // check once that each packet takes the path it is meant to
    const expectPath = (f: number, p: Buffer, key: 'MARKED' | 'UNSELECTED' | 'EXCLUDED', times: number): void => {
      t.resetCounts();
      testRun(f, { data: Buffer.from(p), repeat: times });
      const c = t.counts();
      if (c[key] !== BigInt(times)) {
        throw new Error(`benchmark packet did not take the ${key} path ${times} times: ${JSON.stringify(c, (_k, v: unknown) => (typeof v === 'bigint' ? Number(v) : v))}`);
      }
    };
    expectPath(fd, packets.marked, 'MARKED', 1);
    expectPath(remarkFd, packets.marked, 'MARKED', 100); // marked again on every repetition
    expectPath(fd, packets.unselected, 'UNSELECTED', 100);
    expectPath(fd, packets.excluded, 'EXCLUDED', 100);
    expectPath(remarkUFd, packets.marked, 'MARKED', 100);
    expectPath(fdU, packets.unselected, 'UNSELECTED', 100);
    expectPath(fdU, packets.excluded, 'EXCLUDED', 100);
    const samples = {
      empty: [] as number[],
      remark: [] as number[],
      unmark: [] as number[],
      unselected: [] as number[],
      excluded: [] as number[],
      remarkU: [] as number[],
      unselectedU: [] as number[],
      excludedU: [] as number[],
    };
    const run = (f: number, p: Buffer): number => testRun(f, { data: Buffer.from(p), repeat }).durationNs;
    for (let r = 0; r < rounds; r++) {
      samples.empty.push(run(emptyFd, packets.marked));
      samples.unmark.push(run(unmarkFd, packets.marked));
      samples.remark.push(run(remarkFd, packets.marked));
      samples.unselected.push(run(fd, packets.unselected));
      samples.excluded.push(run(fd, packets.excluded));
      samples.remarkU.push(run(remarkUFd, packets.marked));
      samples.unselectedU.push(run(fdU, packets.unselected));
      samples.excludedU.push(run(fdU, packets.excluded));
      o.progress?.(
        `round ${r + 1}/${rounds}: empty ${samples.empty[r]} ns, unmark ${samples.unmark[r]} ns, unmark+mark ${samples.remark[r]} ns, unselected ${samples.unselected[r]} ns, excluded ${samples.excluded[r]} ns; uncached: unmark+mark ${samples.remarkU[r]} ns, unselected ${samples.unselectedU[r]} ns, excluded ${samples.excludedU[r]} ns`,
      );
    }
    const e = Math.max(1, best(samples.empty));
    const rm = best(samples.remark);
    const um = best(samples.unmark);
    // the best of each (the runs least disturbed by other load), as for every other figure
    const m = Math.max(e, e + rm - um);
    const u = best(samples.unselected);
    const x = best(samples.excluded);
    const mU = Math.max(e, e + best(samples.remarkU) - um);
    const uU = best(samples.unselectedU);
    const xU = best(samples.excludedU);
    return {
      empty_ns: e,
      marked_ns: m,
      unselected_ns: u,
      excluded_ns: x,
      ratio_marked: ratio(m, e),
      ratio_unselected: ratio(u, e),
      ratio_excluded: ratio(x, e),
      ratio: ratio(Math.max(m, u, x), e),
      remark_ns: rm,
      unmark_ns: um,
      marked_uncached_ns: mU,
      unselected_uncached_ns: uU,
      excluded_uncached_ns: xU,
      ratio_uncached: ratio(Math.max(mU, uU, xU), e),
      exclusions: ex.length,
      repeat,
      rounds,
    };
  } finally {
    for (const obj of objs.reverse()) obj.close();
  }
}
