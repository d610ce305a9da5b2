/**
 * `pathsteer bench dataplane`: the cost of vxlan_sport per packet, measured by
 * BPF_PROG_TEST_RUN (repeat >= 1e6) on the same VXLAN packet through an empty
 * TC program and through vxlan_sport (entry present, flow pinned; and an entry
 * with stateful middlebox groups). Rounds are interleaved and the best of each
 * taken (the one least disturbed by other load); the kernel's own timer leaves
 * out time the CPU spent elsewhere. The kernel reports whole nanoseconds.
 */
import { BpfObject, testRun } from '../src/loader/index.js';
import { ConfigCodec } from '../src/maps/config.js';
import { BpfObjects, MapName } from '../src/maps/names.generated.js';
import { objectPath } from '../src/maps/objects.js';
import { PathEntryCodec, pathEntry, PS_F_PIN, PS_F_STATEFUL } from '../src/maps/path-entry.js';
import { ipv4Bytes, U32Codec } from '../src/maps/scalar.js';
import { sportProgram } from '../src/maps/dataplane.js';
import { TypedMap } from '../src/maps/typed-map.js';
import { PeerCodec } from '../src/maps/scalar.js';

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
  /** ns per packet, vxlan_sport: entry present, flow pinned, checksum updated. */
  vxlan_sport_ns: number;
  /** ns per packet, vxlan_sport: stateful entry with 4 middlebox groups, pinned. */
  vxlan_sport_stateful_ns: number;
  /** vxlan_sport_ns / empty_ns (target <= 2.5). */
  ratio: number;
  /** vxlan_sport_stateful_ns / empty_ns. */
  ratio_stateful: number;
  repeat: number;
  rounds: number;
  program: string;
}

/** Ethernet + IPv4 + UDP(4789, checksum) + VXLAN + a 64-byte inner frame; network order. */
export function vxlanPacket(saddr: string, daddr: string, sport: number): Buffer {
  const inner = Buffer.alloc(64, 0x5a);
  inner.writeUInt16BE(0x0800, 12);
  const udpLen = 8 + 8 + inner.length;
  const p = Buffer.alloc(14 + 20 + udpLen);
  p.writeUInt16BE(0x0800, 12);
  p[14] = 0x45;
  p.writeUInt16BE(20 + udpLen, 16);
  p.writeUInt16BE(0x4000, 20);
  p[22] = 64;
  p[23] = 17;
  ipv4Bytes(saddr, p, 26);
  ipv4Bytes(daddr, p, 30);
  let s = 0;
  for (let i = 14; i < 34; i += 2) s += p.readUInt16BE(i);
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  p.writeUInt16BE(~s & 0xffff, 24);
  p.writeUInt16BE(sport, 34);
  p.writeUInt16BE(4789, 36);
  p.writeUInt16BE(udpLen, 38);
  p[42] = 0x08; // VXLAN flags: VNI present
  p.writeUIntBE(100, 46, 3);
  inner.copy(p, 50);
  // UDP checksum over pseudo header + datagram
  let c = 17 + udpLen;
  for (let i = 26; i < 34; i += 2) c += p.readUInt16BE(i);
  for (let i = 34; i < p.length; i += 2) c += i + 1 < p.length ? p.readUInt16BE(i) : p[i]! << 8;
  while (c > 0xffff) c = (c & 0xffff) + (c >>> 16);
  p.writeUInt16BE(~c & 0xffff || 0xffff, 40);
  return p;
}

const best = (xs: number[]): number => Math.min(...xs);

export function benchDataplane(o: DataplaneBenchOptions = {}): DataplaneBenchResult {
  const repeat = o.repeat ?? 1_000_000;
  const rounds = o.rounds ?? 5;
  const program = sportProgram();
  const empty = BpfObject.open(objectPath('empty')).load();
  const sport = BpfObject.open(objectPath('vxlanSport'));
  try {
    for (const p of sport.programNames()) sport.setAutoload(p, p === program);
    sport.load();
    new TypedMap(sport.map(MapName.config), U32Codec, ConfigCodec).set(0, {
      vxlanPort: 4789,
      genevePort: 0,
      agentPort: 0,
      flags: 0,
      hashSeed: 0x12345678,
    });
    const path = new TypedMap(sport.map(MapName.path), PeerCodec, PathEntryCodec);
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
    const pinned = vxlanPacket('198.18.0.1', '198.18.0.2', 51234);
    const stateful = vxlanPacket('198.18.0.1', '198.18.0.3', 51234);
    const emptyFd = empty.program(BpfObjects.empty.programs[0]).fd;
    const sportFd = sport.program(program).fd;
    // first packets pin the flows; from then on every run is the pinned path
    testRun(sportFd, { data: Buffer.from(pinned) });
    testRun(sportFd, { data: Buffer.from(stateful) });
    const samples = { empty: [] as number[], pinned: [] as number[], stateful: [] as number[] };
    for (let r = 0; r < rounds; r++) {
      samples.empty.push(testRun(emptyFd, { data: Buffer.from(pinned), repeat }).durationNs);
      samples.pinned.push(testRun(sportFd, { data: Buffer.from(pinned), repeat }).durationNs);
      samples.stateful.push(testRun(sportFd, { data: Buffer.from(stateful), repeat }).durationNs);
      o.progress?.(`round ${r + 1}/${rounds}: empty ${samples.empty[r]} ns, vxlan_sport ${samples.pinned[r]} ns, stateful ${samples.stateful[r]} ns`);
    }
    const e = Math.max(1, best(samples.empty));
    const p = best(samples.pinned);
    const s = best(samples.stateful);
    return {
      empty_ns: e,
      vxlan_sport_ns: p,
      vxlan_sport_stateful_ns: s,
      ratio: Math.round((p / e) * 100) / 100,
      ratio_stateful: Math.round((s / e) * 100) / 100,
      repeat,
      rounds,
      program,
    };
  } finally {
    sport.close();
    empty.close();
  }
}
