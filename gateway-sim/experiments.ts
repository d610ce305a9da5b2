/**
 * The two experiments of ZooRoute §7.1, on the gateway model:
 *
 * - memoryExperiment (Fig. 17): path-table memory of PBM and HI relative to the
 *   naive baseline for populations of peers with a share of unavailable ports and
 *   of stateful vIPs (kept uncompressed), from the resource model's packed bits.
 * - updateExperiment (Fig. 18): a gateway with N peers whose every port changes
 *   state; completion time over PCIe (transactions on the virtual clock) and with
 *   packet-triggered updates (real type-0x05 packets through the pipeline: the
 *   passes and the CPU's encoding each timed), for PBM and HI.
 */
import { fit, TOFINO1, type Target } from './p4/resources.js';
import { ResourceError } from './p4/errors.js';
import { Gateway } from './gateway.js';
import { PacketChannel, PcieChannel, DEFAULT_PCIE_RATE } from './channels.js';
import { HiPathTable } from './path/hi.js';
import { NaivePathTable } from './path/naive.js';
import { PbmPathTable } from './path/pbm.js';
import { PS_F_STATEFUL, StatefulPathTable } from './path/stateful.js';
import type { PathTable, PeerState } from './path/types.js';
import { randomBitmap, rng } from './random.js';

const BASE = 10000;
const PEER0 = 0xc6120000; // 198.18.0.0: peers are numbered upward from here

export interface MemoryExperimentOptions {
  /** Peer populations. @default [10000, 50000, 100000] */
  populations?: number[];
  /** Np of intra-region (H-G) peers, the HI case. @default 32 */
  npHG?: number;
  /** Np of cross-region (G-G) peers, the PBM case. @default 64 */
  npGG?: number;
  /** HI group size. @default 8 */
  m?: number;
  /** Share of peers that are stateful vIPs. @default 0.002 */
  vipShare?: number;
  /** Probability that a port is unavailable. @default 0.03 */
  badShare?: number;
  /** @default 1 */
  seed?: number;
  target?: Target;
  progress?: (line: string) => void;
}

export interface SchemeMemory {
  bits: number;
  bits_per_peer: number;
  sram_blocks: number;
  tcam_blocks: number;
  fits: boolean;
  /** The resource model's refusal when it does not fit. */
  refusal?: string;
}

export interface MemoryRow {
  peers: number;
  vips: number;
  np: number;
  naive: SchemeMemory;
  /** PBM (np = npGG) or HI (np = npHG), each with the vIPs' uncompressed tables. */
  compressed: SchemeMemory & { scheme: 'pbm' | 'hi'; stateful_bits: number };
  ratio: number;
  /** Mean available ports per ordinary peer, and what the scheme lets flows use. */
  ports_available: number;
  ports_usable: number;
  /** Random (peer, hash) lookups that returned an available port / all lookups. */
  selection_ok: string;
}

export interface MemoryResult {
  pbm_ratio: number;
  hi_ratio: number;
  /** PBM at Np = npHG too, for comparison with HI on the same window. */
  pbm_ratio_np32: number;
  paper: { pbm_ratio: number; hi_ratio: number };
  params: { populations: number[]; npHG: number; npGG: number; m: number; vip_share: number; bad_share: number; target: string };
  rows: MemoryRow[];
  /** Resource usage per table at the largest population. */
  tables: Array<{ name: string; match: string; size: number; entry_bits: number; entries_per_word?: number; sram_blocks: number; tcam_blocks: number; bits: number }>;
}

function schemeMemory(tables: PathTable[], target: Target): SchemeMemory {
  const objects = tables.flatMap((t) => t.objects());
  const bits = tables.reduce((s, t) => s + t.memory(target).bits, 0);
  const peers = tables.reduce((s, t) => s + t.capacity, 0);
  let fits = true;
  let refusal: string | undefined;
  try {
    fit(objects, target);
  } catch (e) {
    if (!(e instanceof ResourceError)) throw e;
    fits = false;
    refusal = e.message;
  }
  return {
    bits,
    bits_per_peer: bits / peers,
    sram_blocks: tables.reduce((s, t) => s + t.memory(target).sramBlocks, 0),
    tcam_blocks: tables.reduce((s, t) => s + t.memory(target).tcamBlocks, 0),
    fits,
    ...(refusal ? { refusal } : {}),
  };
}

function popcount(b: bigint): number {
  let n = 0;
  for (let x = b; x; x &= x - 1n) n++;
  return n;
}

function vipGroups(next: () => number): number {
  return 2 + Math.floor(next() * 7); // 2..8 middlebox instances behind a vIP
}

function groupMasks(next: () => number, np: number, ngroups: number): bigint[] {
  // each port reaches one instance (what middlebox sensing learns from backend ids)
  const masks = new Array<bigint>(ngroups).fill(0n);
  for (let i = 0; i < np; i++) masks[Math.floor(next() * ngroups)] |= 1n << BigInt(i);
  return masks;
}

export function memoryExperiment(o: MemoryExperimentOptions = {}): MemoryResult {
  const populations = o.populations ?? [10_000, 50_000, 100_000];
  const npHG = o.npHG ?? 32;
  const npGG = o.npGG ?? 64;
  const m = o.m ?? 8;
  const vipShare = o.vipShare ?? 0.002;
  const badShare = o.badShare ?? 0.03;
  const target = o.target ?? TOFINO1;
  const rows: MemoryRow[] = [];
  const tables: MemoryResult['tables'] = [];
  for (const N of populations) {
    const vips = Math.round(N * vipShare);
    const ordinary = N - vips;
    for (const [scheme, np] of [
      ['pbm', npGG],
      ['hi', npHG],
      ['pbm', npHG],
    ] as const) {
      o.progress?.(`memory: ${N} peers, ${scheme.toUpperCase()} Np=${np}`);
      const next = rng((o.seed ?? 1) * 1_000_003 + N + np);
      // vIPs first: their group counts size the uncompressed table
      const vipStates: PeerState[] = [];
      for (let i = 0; i < vips; i++) {
        const ngroups = vipGroups(next);
        vipStates.push({
          peer: PEER0 + ordinary + i,
          base: BASE,
          nports: np,
          flags: PS_F_STATEFUL,
          bitmap: randomBitmap(next, np, badShare),
          ngroups,
          groupMask: groupMasks(next, np, ngroups),
        });
      }
      const stateful = new StatefulPathTable({ np, basePort: BASE, capacity: Math.max(1, vips), entries: Math.max(1, vipStates.reduce((s, v) => s + spanOf(np, v.ngroups!), 0)) });
      const table: PathTable =
        scheme === 'pbm' ? new PbmPathTable({ np, basePort: BASE, capacity: ordinary }) : new HiPathTable({ np, m, basePort: BASE, capacity: ordinary });
      const naive = new NaivePathTable({ np, basePort: BASE, capacity: N });
      // populate the compressed tables (the naive one's memory is its declared size; filling 3.2M entries would measure JavaScript, not the model)
      let avail = 0;
      let usable = 0;
      const bitmaps: bigint[] = [];
      for (let i = 0; i < ordinary; i++) {
        const bitmap = randomBitmap(next, np, badShare);
        bitmaps.push(bitmap);
        table.apply({ peer: PEER0 + i, base: BASE, nports: np, flags: 0, bitmap });
        avail += popcount(bitmap);
        usable += table instanceof HiPathTable ? table.usablePorts(PEER0 + i).length : popcount(bitmap);
      }
      for (const v of vipStates) stateful.apply(v);
      // every lookup lands on an available port
      let ok = 0;
      const checks = 20_000;
      for (let k = 0; k < checks; k++) {
        const i = Math.floor(next() * N);
        const peer = PEER0 + i;
        const t: PathTable = i < ordinary ? table : stateful;
        const h = Math.floor(next() * 2 ** 32);
        const c = t.select(peer, h);
        const bm = i < ordinary ? bitmaps[i]! : vipStates[i - ordinary]!.bitmap;
        if (c ? (bm >> BigInt(c.idx)) & 1n : bm === 0n) ok++;
      }
      const naiveMem = schemeMemory([naive], target);
      const comp = schemeMemory([stateful, table], target);
      const statefulBits = stateful.memory(target).bits;
      const row: MemoryRow = {
        peers: N,
        vips,
        np,
        naive: naiveMem,
        compressed: { scheme, ...comp, stateful_bits: statefulBits },
        ratio: naiveMem.bits / comp.bits,
        ports_available: avail / ordinary,
        ports_usable: usable / ordinary,
        selection_ok: `${ok}/${checks}`,
      };
      rows.push(row);
      if (N === populations[populations.length - 1]) {
        // resource use of each table at the largest population, once per (table, Np)
        for (const u of [naive, stateful, table].flatMap((t) => t.memory(target).objects)) {
          const name = `${u.name}@Np${np}`;
          if (tables.some((x) => x.name === name)) continue;
          tables.push({
            name,
            match: u.match + (u.attached ? ` + ${u.attached.join(', ')}` : ''),
            size: u.size,
            entry_bits: u.entryBits,
            ...(u.entriesPerWord !== undefined ? { entries_per_word: u.entriesPerWord } : {}),
            sram_blocks: u.sramBlocks,
            tcam_blocks: u.tcamBlocks,
            bits: u.bits,
          });
        }
      }
    }
  }
  const minRatio = (scheme: string, np: number): number => Math.min(...rows.filter((r) => r.compressed.scheme === scheme && r.np === np).map((r) => r.ratio));
  return {
    pbm_ratio: minRatio('pbm', npGG),
    hi_ratio: minRatio('hi', npHG),
    pbm_ratio_np32: minRatio('pbm', npHG),
    paper: { pbm_ratio: 15, hi_ratio: 25 },
    params: { populations, npHG, npGG, m, vip_share: vipShare, bad_share: badShare, target: target.name },
    rows,
    tables,
  };
}

function spanOf(np: number, ngroups: number): number {
  const g = Math.max(1, Math.min(ngroups, 8));
  let a = g;
  let b = np;
  while (b) [a, b] = [b, a % b];
  return (g * np) / a;
}

// ---------------------------------------------------------------------------

export interface UpdateExperimentOptions {
  /** @default 50000 */
  peers?: number;
  /** @default 32 */
  ports?: number;
  /** HI group size. @default 8 */
  m?: number;
  /** PCIe transactions per second. @default 10000 */
  pcieRate?: number;
  /** Measured runs of the packet path (after the warm-up); the median (and the minimum) is reported. @default 5 */
  runs?: number;
  /** Unmeasured runs first, so the measured ones run compiled code (about six runs until the times settle here). @default 8 */
  warmup?: number;
  /**
   * Order of the update records: by peer address (the control plane walking its
   * peer list; consecutive records hit neighbouring table entries) or shuffled
   * (no locality between consecutive records). @default 'address'
   */
  order?: 'address' | 'random';
  /** Records per packet. @default 90 */
  perPacket?: number;
  /** Recirculation bandwidth for the modelled pipeline time, Gbit/s. @default 100 */
  recircGbps?: number;
  /** Peers of the naive table's PCIe run (scaled to `peers`). @default 2000 */
  naiveSample?: number;
  /** @default 1 */
  seed?: number;
  progress?: (line: string) => void;
}

export interface SchemeUpdate {
  pcie_transactions: number;
  pcie_s: number;
  packets: number;
  passes: number;
  /** Median measured time of every pipeline pass of every packet (the packets encoded beforehand): the emulated ASIC's share. */
  packet_s: number;
  packet_s_min: number;
  packet_s_runs: number[];
  /** Median measured time to encode the packets: the CPU's share. */
  encode_s: number;
  encode_s_runs: number[];
  /** Median of encode + passes of the same run, one after the other on one thread (no overlap of CPU and pipeline). */
  serial_s: number;
  serial_s_min: number;
  /** Passes' bytes through a recirculation port of recircGbps (what the ASIC would take). */
  pipeline_model_s: number;
  /**
   * CPU time (user + system of this process, median of the runs) of the
   * encoding, of the passes and of both: what they take on a core of their
   * own. On a shared machine the wall times above also hold time spent
   * waiting for a CPU.
   */
  cpu_encode_s: number;
  cpu_packet_s: number;
  cpu_serial_s: number;
  cpu_serial_s_runs: number[];
  /** Headline: pcie_s / cpu_serial_s (encoding the packets and every pipeline pass, in series). */
  speedup: number;
  /** pcie_s / serial_s: the same from wall-clock times. */
  wall_speedup: number;
  /** pcie_s / cpu_packet_s: the pipeline passes alone (the packets encoded beforehand). */
  pipeline_speedup: number;
  /** pcie_s / max(cpu_encode_s, pipeline_model_s): CPU and ASIC working concurrently. */
  modelled_speedup: number;
  /** PCIe-updated and packet-updated tables ended identical. */
  tables_equal: boolean;
}

export interface UpdateResult {
  peers: number;
  ports: number;
  m: number;
  pcie_rate: number;
  records_per_packet: number;
  order: 'address' | 'random';
  runs: number;
  /** What the headline compares. */
  baseline: string;
  /** PBM's figures (the fastest PCIe case, so the hardest speedup). */
  pcie_s: number;
  packet_s: number;
  encode_s: number;
  serial_s: number;
  /** Headline: worst of PBM's and HI's speedups with the packets' encoding (the host CPU's work) in series with the passes. */
  speedup: number;
  /** The headline from wall-clock times (worst of PBM and HI). */
  wall_speedup: number;
  /** Worst of PBM's and HI's speedups of the pipeline passes alone. */
  pipeline_speedup: number;
  /** Worst of PBM's and HI's modelled speedups (CPU encoding overlapped with the ASIC's passes). */
  modelled_speedup: number;
  target_speedup: number;
  hi_pcie_vs_pbm: number;
  pbm: SchemeUpdate;
  hi: SchemeUpdate;
  naive: { sample_peers: number; transactions_per_peer: number; pcie_s: number; packet_updates: false };
}

/**
 * Availability bitmaps where every HI group has some ports available and some
 * not; the update flips every port (the complement), so every port of every
 * peer changes state: PBM rewrites each bitmap, HI each group's slot, the naive
 * table each of its Np entries.
 */
function mixedBitmaps(next: () => number, peers: number, np: number, m: number): bigint[] {
  const G = np / m;
  const out: bigint[] = [];
  for (let p = 0; p < peers; p++) {
    let b = 0n;
    for (let g = 0; g < G; g++) {
      let mask = 0;
      while (mask === 0 || mask === (1 << m) - 1) mask = Math.floor(next() * (1 << m));
      for (let k = 0; k < m; k++) if ((mask >> k) & 1) b |= 1n << BigInt(g + k * G);
    }
    out.push(b);
  }
  return out;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

export function updateExperiment(o: UpdateExperimentOptions = {}): UpdateResult {
  const N = o.peers ?? 50_000;
  const np = o.ports ?? 32;
  const m = o.m ?? 8;
  const rate = o.pcieRate ?? DEFAULT_PCIE_RATE;
  const runs = o.runs ?? 5;
  const warmup = o.warmup ?? 8;
  const order = o.order ?? 'address';
  const perPacket = o.perPacket ?? 90;
  const gbps = o.recircGbps ?? 100;
  const next = rng(o.seed ?? 1);
  if (!Number.isInteger(np / m)) throw new ResourceError('hi', `M ${m} must divide the ${np} ports`);
  const all = (1n << BigInt(np)) - 1n;
  const before = mixedBitmaps(next, N, np, m);
  const initial: PeerState[] = before.map((bitmap, i) => ({ peer: PEER0 + i, base: BASE, nports: np, flags: 0, bitmap }));
  const updates: PeerState[] = initial.map((u) => ({ ...u, bitmap: all ^ u.bitmap }));
  if (order === 'random') {
    for (let i = updates.length - 1; i > 0; i--) {
      const j = Math.floor(next() * (i + 1));
      [updates[i], updates[j]] = [updates[j]!, updates[i]!];
    }
  }

  const run = (scheme: 'pbm' | 'hi'): SchemeUpdate => {
    const make = (): Gateway => {
      const gw = new Gateway({ scheme, np, m, peers: N, vips: 1 });
      new PcieChannel({ rate }).sendSync(gw, initial);
      return gw;
    };
    o.progress?.(`updates: ${scheme.toUpperCase()} over PCIe (${N} peers × ${np} ports)`);
    const viaPcie = make();
    const pcie = new PcieChannel({ rate }).sendSync(viaPcie, updates);
    o.progress?.(`updates: ${scheme.toUpperCase()} with packets, ${warmup} warm-up + ${runs} runs`);
    const walls: number[] = [];
    const encodes: number[] = [];
    const serials: number[] = [];
    const cpuPackets: number[] = [];
    const cpuEncodes: number[] = [];
    const cpuSerials: number[] = [];
    const cpuS = (u: NodeJS.CpuUsage): number => (u.user + u.system) / 1e6;
    let last: ReturnType<PacketChannel['inject']> | undefined;
    const viaPackets = make();
    const ch = new PacketChannel(viaPackets, { perPacket });
    for (let r = -warmup; r < runs; r++) {
      // back to the state before the failure (control plane, not timed)
      if (r > -warmup) new PcieChannel({ rate }).sendSync(viaPackets, initial);
      // the CPU's share, then the pipeline's share (the emulator runs them one after the other)
      const c0 = process.cpuUsage();
      const t0 = process.hrtime.bigint();
      const frames = ch.encode(updates);
      const enc = Number(process.hrtime.bigint() - t0) / 1e9;
      const cEnc = cpuS(process.cpuUsage(c0));
      const c1 = process.cpuUsage();
      last = ch.inject(frames);
      const cPass = cpuS(process.cpuUsage(c1));
      if (r >= 0) {
        cpuEncodes.push(cEnc);
        cpuPackets.push(cPass);
        cpuSerials.push(cEnc + cPass);
        walls.push(last.pipelineSeconds);
        encodes.push(enc);
        serials.push(enc + last.pipelineSeconds);
      }
    }
    // same end state through both channels
    let equal = true;
    for (let i = 0; i < N && equal; i++) {
      equal = JSON.stringify(viaPcie.path.view(PEER0 + i)) === JSON.stringify(viaPackets.path.view(PEER0 + i));
    }
    // bytes through the recirculation port: each pass carries the packet minus the records already stripped, + 38 bytes of Ethernet framing, FCS, preamble and gap
    let bytes = 0;
    for (let k = 0; k < N; k += perPacket) {
      const recs = Math.min(perPacket, N - k);
      for (let j = recs; j >= 1; j--) bytes += 20 + 8 + 28 + 16 * j + 38;
    }
    const pipelineModel = (bytes * 8) / (gbps * 1e9);
    const packetS = median(walls);
    const encodeS = median(encodes);
    const serialS = median(serials);
    const cpuPacketS = median(cpuPackets);
    const cpuEncodeS = median(cpuEncodes);
    const cpuSerialS = median(cpuSerials);
    return {
      pcie_transactions: pcie.transactions,
      pcie_s: pcie.modelledSeconds,
      packets: last!.packets,
      passes: last!.passes,
      packet_s: packetS,
      packet_s_min: Math.min(...walls),
      packet_s_runs: walls,
      encode_s: encodeS,
      encode_s_runs: encodes,
      serial_s: serialS,
      serial_s_min: Math.min(...serials),
      cpu_encode_s: cpuEncodeS,
      cpu_packet_s: cpuPacketS,
      cpu_serial_s: cpuSerialS,
      cpu_serial_s_runs: cpuSerials,
      pipeline_model_s: pipelineModel,
      speedup: pcie.modelledSeconds / cpuSerialS,
      wall_speedup: pcie.modelledSeconds / serialS,
      pipeline_speedup: pcie.modelledSeconds / cpuPacketS,
      modelled_speedup: pcie.modelledSeconds / Math.max(cpuEncodeS, pipelineModel),
      tables_equal: equal,
    };
  };
  const pbm = run('pbm');
  const hi = run('hi');
  o.progress?.('updates: naive table over PCIe (sample)');
  const sample = Math.min(N, o.naiveSample ?? 2000);
  const naive = new Gateway({ scheme: 'naive', np, peers: sample, vips: 1 });
  new PcieChannel({ rate }).sendSync(naive, initial.slice(0, sample));
  const nrep = new PcieChannel({ rate }).sendSync(
    naive,
    initial.slice(0, sample).map((u) => ({ ...u, bitmap: all ^ u.bitmap })),
  );
  const perPeer = nrep.transactions / sample;
  return {
    peers: N,
    ports: np,
    m,
    pcie_rate: rate,
    records_per_packet: perPacket,
    order,
    runs,
    baseline: `PCIe at ${rate} transactions/s (ZooRoute §3.3) vs table-update packets, encoding them on the CPU in series with every pipeline pass`,
    pcie_s: pbm.pcie_s,
    packet_s: pbm.packet_s,
    encode_s: pbm.encode_s,
    serial_s: pbm.serial_s,
    speedup: Math.min(pbm.speedup, hi.speedup),
    wall_speedup: Math.min(pbm.wall_speedup, hi.wall_speedup),
    pipeline_speedup: Math.min(pbm.pipeline_speedup, hi.pipeline_speedup),
    modelled_speedup: Math.min(pbm.modelled_speedup, hi.modelled_speedup),
    target_speedup: 1000,
    hi_pcie_vs_pbm: hi.pcie_s / pbm.pcie_s,
    pbm,
    hi,
    naive: { sample_peers: sample, transactions_per_peer: perPeer, pcie_s: (perPeer * N) / rate, packet_updates: false },
  };
}
