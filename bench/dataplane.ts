/**
 * `pathsteer bench dataplane`: the cost of vxlan_sport per packet, measured by
 * BPF_PROG_TEST_RUN (repeat >= 1e6) on the same VXLAN packet through an empty
 * TC program and through vxlan_sport (entry present, flow pinned; and an entry
 * with stateful middlebox groups), as attached (with the per-CPU flow cache:
 * every packet after the first is a cache hit, as within any flow between two
 * table changes) and built without the cache (every packet takes the full
 * path: ps_path, ps_pin, choice, ps_activity, what a cache miss costs).
 * Rounds are interleaved and the best of each taken (the one least disturbed
 * by other load); the kernel's own timer leaves out time the CPU spent
 * elsewhere. The kernel reports whole nanoseconds.
 */
import { BpfObject, testRun } from '../src/loader/index.js';
import { NO_FLOW_CACHE, sportProgram } from '../src/maps/dataplane.js';
import { PS_FLOW_CACHE_SLOTS } from '../src/maps/flow-cache.js';
import { BpfObjects, MapName } from '../src/maps/names.generated.js';
import { objectPath } from '../src/maps/objects.js';
import { PathEntryCodec, pathEntry, PS_F_PIN, PS_F_STATEFUL } from '../src/maps/path-entry.js';
import { PathGen } from '../src/maps/path-gen.js';
import { PeerCodec } from '../src/maps/scalar.js';
import { udp4Frame } from './packets.js';
import { TypedMap } from '../src/maps/typed-map.js';

export interface DataplaneBenchOptions {
  /** Test-run repetitions per measurement. @default 1_000_000 */
  repeat?: number;
  /** Interleaved rounds; the best is reported. @default 5 */
  rounds?: number;
  progress?: (line: string) => void;
}

export interface DataplaneBenchResult {
  /** ns per packet, empty TC program. */
  empty_ns: number;
  /** ns per packet, vxlan_sport as attached (flow cache hit): entry present, flow pinned, checksum updated. */
  vxlan_sport_ns: number;
  /** ns per packet, vxlan_sport as attached: stateful entry with 4 middlebox groups, pinned. */
  vxlan_sport_stateful_ns: number;
  /** vxlan_sport_ns / empty_ns (target <= 2.5). */
  ratio: number;
  /** vxlan_sport_stateful_ns / empty_ns. */
  ratio_stateful: number;
  /** ns per packet, vxlan_sport built without the flow cache (the full path every packet; what a miss costs). */
  vxlan_sport_uncached_ns: number;
  /** Same, stateful entry. */
  vxlan_sport_stateful_uncached_ns: number;
  /** vxlan_sport_uncached_ns / empty_ns. */
  ratio_uncached: number;
  /** ps_flow_cache slots per CPU. */
  flow_cache_slots: number;
  repeat: number;
  rounds: number;
  program: string;
}

/** Ethernet + IPv4 + UDP(4789, checksum) + VXLAN + a 64-byte inner frame; network order. */
export function vxlanPacket(saddr: string, daddr: string, sport: number): Buffer {
  const inner = Buffer.alloc(64, 0x5a);
  inner.writeUInt16BE(0x0800, 12);
  const vx = Buffer.alloc(8 + inner.length);
  vx[0] = 0x08; // VXLAN flags: VNI present
  vx.writeUIntBE(100, 4, 3);
  inner.copy(vx, 8);
  return udp4Frame(saddr, daddr, sport, 4789, vx);
}

const best = (xs: number[]): number => Math.min(...xs);

/** vxlan_sport loaded (not attached) with the two benchmark peers; path writes advance path_gen as everywhere. */
function loadSport(program: string, flowCache: boolean): BpfObject {
  const obj = BpfObject.open(objectPath('vxlanSport'));
  try {
    for (const p of obj.programNames()) obj.setAutoload(p, p === program);
    obj.setGlobal(NO_FLOW_CACHE, flowCache ? 0 : 1);
    obj.load();
    const gen = PathGen.open(obj.map(MapName.config), obj.map(MapName.stats));
    try {
      gen.writeConfig({ vxlanPort: 4789, genevePort: 0, agentPort: 0, flags: 0, hashSeed: 0x12345678, pathGen: 0 });
      const path = new TypedMap(obj.map(MapName.path), PeerCodec, PathEntryCodec, { onChange: () => gen.bump() });
      path.set('198.18.0.2', pathEntry({ basePort: 40000, nports: 64, healthy: 0xffff_ffff_0000_ffffn, flags: PS_F_PIN }));
      path.set(
        '198.18.0.3',
        pathEntry({
          basePort: 40000,
          nports: 64,
          healthy: 0xffff_ffff_0000_ffffn,
          flags: PS_F_PIN | PS_F_STATEFUL,
          ngroups: 4,
          groupMask: [0xffffn, 0xffff_0000n, 0xffff_0000_0000n, 0xffff_0000_0000_0000n],
        }),
      );
    } finally {
      gen.close();
    }
    return obj;
  } catch (e) {
    obj.close();
    throw e;
  }
}

const ratio = (x: number, e: number): number => Math.round((x / e) * 100) / 100;

export function benchDataplane(o: DataplaneBenchOptions = {}): DataplaneBenchResult {
  const repeat = o.repeat ?? 1_000_000;
  const rounds = o.rounds ?? 5;
  const program = sportProgram();
  const objs: BpfObject[] = [];
  try {
    const empty = BpfObject.open(objectPath('empty')).load();
    objs.push(empty);
    const cached = loadSport(program, true);
    objs.push(cached);
    const uncached = loadSport(program, false);
    objs.push(uncached);
    const pinned = vxlanPacket('198.18.0.1', '198.18.0.2', 51234);
    const stateful = vxlanPacket('198.18.0.1', '198.18.0.3', 51234);
    const emptyFd = empty.program(BpfObjects.empty.programs[0]).fd;
    const fd = { cached: cached.program(program).fd, uncached: uncached.program(program).fd };
    // first packets pin the flows (and fill the cache); from then on every run is the pinned path
    for (const f of [fd.cached, fd.uncached]) for (const p of [pinned, stateful]) testRun(f, { data: Buffer.from(p) });
    const samples = { empty: [] as number[], pinned: [] as number[], stateful: [] as number[], pinnedU: [] as number[], statefulU: [] as number[] };
    const run = (f: number, p: Buffer): number => testRun(f, { data: Buffer.from(p), repeat }).durationNs;
    for (let r = 0; r < rounds; r++) {
      samples.empty.push(run(emptyFd, pinned));
      samples.pinned.push(run(fd.cached, pinned));
      samples.stateful.push(run(fd.cached, stateful));
      samples.pinnedU.push(run(fd.uncached, pinned));
      samples.statefulU.push(run(fd.uncached, stateful));
      o.progress?.(
        `round ${r + 1}/${rounds}: empty ${samples.empty[r]} ns, vxlan_sport ${samples.pinned[r]} ns (stateful ${samples.stateful[r]}), uncached ${samples.pinnedU[r]} ns (stateful ${samples.statefulU[r]})`,
      );
    }
    const e = Math.max(1, best(samples.empty));
    const p = best(samples.pinned);
    const s = best(samples.stateful);
    const pu = best(samples.pinnedU);
    return {
      empty_ns: e,
      vxlan_sport_ns: p,
      vxlan_sport_stateful_ns: s,
      ratio: ratio(p, e),
      ratio_stateful: ratio(s, e),
      vxlan_sport_uncached_ns: pu,
      vxlan_sport_stateful_uncached_ns: best(samples.statefulU),
      ratio_uncached: ratio(pu, e),
      flow_cache_slots: PS_FLOW_CACHE_SLOTS,
      repeat,
      rounds,
      program,
    };
  } finally {
    for (const obj of objs.reverse()) obj.close();
  }
}
