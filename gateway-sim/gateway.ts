/**
 * A Tofino gateway modelled as one pipeline program:
 *
 *   parse IPv4/UDP to the VXLAN port
 *   ├─ pathsteer table update (type 0x05, from the CPU port only): check the whole
 *   │  packet, then apply one record per pass, strip it and recirculate until the
 *   │  record with the end flag (ZooRoute §5.2, Fig. 13b)
 *   ├─ other pathsteer packets (probes, negotiation): to the CPU
 *   └─ VXLAN: hash the inner flow, look the peer (outer destination) up in the
 *      stateful vIP table, else in the path table (naive, PBM or HI), and write
 *      the chosen outer source port (UDP checksum updated incrementally)
 *   anything else passes untouched.
 *
 * Control-plane updates (`apply`) write the tables directly, one write per PCIe
 * transaction; PcieChannel paces them. The process mode (a VTEP in the testbed)
 * sits on top of `simulate` and `apply`.
 */
import { TU_F_END, MsgType, OFF, PS_HEADER_SIZE, PS_TABLE_UPDATE_RECORD_SIZE, REC_OFF, hasMagic, validateTableUpdate } from '../src/protocol/index.js';
import { UpdateRejectedError } from './p4/errors.js';
import { CPU_PORT, Pipeline, type PassContext, type Program, type SimResult } from './p4/pipeline.js';
import { TOFINO1, type PlacedObject, type ResourceReport, type Target } from './p4/resources.js';
import { checksumReplace16, innerFlowHash, IPPROTO_UDP, u16, u32, UDP_HEADER_SIZE, VXLAN_PORT, w16 } from './packet.js';
import { HiPathTable } from './path/hi.js';
import { NaivePathTable } from './path/naive.js';
import { PbmPathTable } from './path/pbm.js';
import { PS_F_STATEFUL, StatefulPathTable } from './path/stateful.js';
import type { PathTable, PeerState, PortChoice, RecordHead } from './path/types.js';

export interface GatewayOptions {
  /** Path table of ordinary peers. @default 'pbm' */
  scheme?: 'naive' | 'pbm' | 'hi';
  /** Ports per peer window. @default 64 for PBM (G-G), 32 otherwise */
  np?: number;
  /** HI ports per group. @default 8 */
  m?: number;
  /** @default 10000 */
  basePort?: number;
  /** Ordinary peers the tables are sized for. @default 1024 */
  peers?: number;
  /** Stateful vIPs the uncompressed tables are sized for. @default 16 */
  vips?: number;
  /** Entries of stateful_path. @default vips × Np */
  vipEntries?: number;
  /** @default 4789 */
  vxlanPort?: number;
  /** @default TOFINO1 */
  target?: Target;
  /** @default 256 */
  maxPasses?: number;
}

export interface GatewayStats {
  updatePackets: number;
  updateRecords: number;
  updatesRejected: number;
  rewritten: number;
  unchanged: number;
  toCpu: number;
}

// Layout numbers the per-pass path uses, as module constants (checked against src/protocol below).
const RECORD = 16; // PS_TABLE_UPDATE_RECORD_SIZE
const REC_PEER = 0;
const REC_BASE = 4;
const REC_NPORTS = 6;
const REC_FLAGS = 7;
const OFF_DATA_LENGTH = 8; // OFF.dataLength
const UDP_PS_HEADERS = 36; // UDP_HEADER_SIZE + PS_HEADER_SIZE
if (
  RECORD !== PS_TABLE_UPDATE_RECORD_SIZE ||
  REC_PEER !== REC_OFF.peer ||
  REC_BASE !== REC_OFF.base ||
  REC_NPORTS !== REC_OFF.nports ||
  REC_FLAGS !== REC_OFF.flags ||
  OFF_DATA_LENGTH !== OFF.dataLength ||
  UDP_PS_HEADERS !== UDP_HEADER_SIZE + PS_HEADER_SIZE
) {
  throw new Error('gateway-sim: table-update layout constants disagree with src/protocol');
}

/** Bridged metadata of a table-update packet across its passes. */
interface UpdateWalk {
  records: number;
  applied: number;
  seq: number;
  /** The packet's whole ArrayBuffer as 32-bit words (little-endian host, 4-byte aligned packet): the deparser's word path. */
  words: Uint32Array | undefined;
  /** Word index of the packet's byte 0 in `words`. */
  word0: number;
}

/**
 * The gateway as the pipeline's Program. A class, not an object literal with
 * closures: every gateway's pipeline then calls the same `pass` function, which
 * the compiler inlines into the pass loop, and a recirculated table update
 * goes straight to its pass.
 */
class GatewayProgram implements Program {
  constructor(
    readonly name: string,
    private readonly gw: Gateway,
  ) {}

  objects(): PlacedObject[] {
    return [...this.gw.stateful.objects(), ...this.gw.path.objects()];
  }

  pass(ctx: PassContext): void {
    const walk = ctx.meta.update as UpdateWalk | undefined;
    if (walk !== undefined) this.gw.updatePass(ctx, walk);
    else this.gw.pass(ctx);
  }
}

export class Gateway {
  readonly path: PathTable;
  readonly stateful: StatefulPathTable;
  readonly pipeline: Pipeline;
  readonly vxlanPort: number;
  readonly stats: GatewayStats = { updatePackets: 0, updateRecords: 0, updatesRejected: 0, rewritten: 0, unchanged: 0, toCpu: 0 };

  constructor(opts: GatewayOptions = {}) {
    const scheme = opts.scheme ?? 'pbm';
    const np = opts.np ?? (scheme === 'pbm' ? 64 : 32);
    const basePort = opts.basePort ?? 10000;
    const capacity = opts.peers ?? 1024;
    this.vxlanPort = opts.vxlanPort ?? VXLAN_PORT;
    this.path =
      scheme === 'pbm'
        ? new PbmPathTable({ np, basePort, capacity })
        : scheme === 'hi'
          ? new HiPathTable({ np, m: opts.m ?? 8, basePort, capacity })
          : new NaivePathTable({ np, basePort, capacity });
    const vips = opts.vips ?? 16;
    this.stateful = new StatefulPathTable({ np, basePort, capacity: vips, entries: opts.vipEntries ?? vips * np });
    this.pipeline = new Pipeline(new GatewayProgram(`gateway-${scheme}`, this), { target: opts.target ?? TOFINO1, maxPasses: opts.maxPasses ?? 256 });
  }

  get resources(): ResourceReport {
    return this.pipeline.resources;
  }

  /** The port the data plane picks for a flow to `peer` with inner-flow hash `flowHash`. */
  select(peer: number, flowHash: number): PortChoice | undefined {
    return this.stateful.has(peer) ? this.stateful.select(peer, flowHash) : this.path.select(peer, flowHash);
  }

  /** Control-plane update of one peer; returns table writes (PCIe transactions). */
  apply(u: PeerState): number {
    if (u.flags & PS_F_STATEFUL) return this.path.remove(u.peer) + this.stateful.apply(u);
    return this.stateful.remove(u.peer) + this.path.apply(u);
  }

  remove(peer: number): number {
    return this.stateful.remove(peer) + this.path.remove(peer);
  }

  /** Run a packet (an IPv4 packet) through the pipeline. Table updates are taken from CPU_PORT only. */
  simulate(pkt: Uint8Array, opts: { ingressPort?: number; trace?: (pass: number, pkt: Buffer) => void } = {}): SimResult {
    return this.pipeline.simulate(pkt, opts);
  }

  // -------------------------------------------------------------------------
  // the program

  /** The first pass of a packet (GatewayProgram.pass; recirculated table updates go to updatePass). */
  pass(ctx: PassContext): void {
    const walk = ctx.meta.update as UpdateWalk | undefined;
    if (walk) return this.updatePass(ctx, walk);
    // only update packets recirculate here, so a first pass has the packet at offset 0; make sure of it
    if (ctx.off !== 0 || ctx.len !== ctx.pkt.length) {
      ctx.pkt = ctx.pkt.subarray(ctx.off, ctx.off + ctx.len);
      ctx.off = 0;
    }
    const p = ctx.pkt;
    const forward = (reason: string): void => {
      ctx.verdict = 'forward';
      ctx.output = p;
      ctx.reason = reason;
    };
    if (p.length < 20 || p[0]! >> 4 !== 4) return forward('not IPv4: passed untouched');
    const ihl = (p[0]! & 0x0f) * 4;
    const total = p.readUInt16BE(2);
    if (ihl < 20 || total < ihl || total > p.length) {
      ctx.verdict = 'drop';
      ctx.reason = 'malformed IPv4 header';
      return;
    }
    if (p[9] !== IPPROTO_UDP || (p.readUInt16BE(6) & 0x3fff) !== 0 || total < ihl + 8) return forward('not a UDP datagram: passed untouched');
    const udp = ihl;
    if (p.readUInt16BE(udp + 2) !== this.vxlanPort) return forward('not to the tunnel port: passed untouched');
    const udpLen = p.readUInt16BE(udp + 4);
    if (udpLen < 8 || udp + udpLen > total) {
      ctx.verdict = 'drop';
      ctx.reason = 'malformed UDP header';
      return;
    }
    const pl = udp + 8;
    const plen = udpLen - 8;
    if (hasMagic(p, pl, plen)) {
      if (plen > 3 && p[pl + 3] === MsgType.TABLE_UPDATE) return this.startUpdate(ctx, pl, plen);
      this.stats.toCpu++;
      ctx.verdict = 'to_cpu';
      ctx.output = p;
      ctx.reason = 'pathsteer control packet: to the CPU';
      return;
    }
    if (plen < 8 || (p[pl]! & 0x08) === 0) return forward('not VXLAN: passed untouched');
    const peer = p.readUInt32BE(16);
    const h = innerFlowHash(p, pl, pl + plen);
    ctx.meta.flowHash = h;
    const c = this.select(peer, h);
    if (!c) {
      this.stats.unchanged++;
      return forward(this.stateful.has(peer) || this.path.has(peer) ? 'no available port: source port unchanged' : 'peer not in the path table: source port unchanged');
    }
    const old = p.readUInt16BE(udp);
    p.writeUInt16BE(c.port, udp);
    const check = p.readUInt16BE(udp + 6);
    if (check !== 0) {
      const now = checksumReplace16(check, old, c.port);
      p.writeUInt16BE(now === 0 ? 0xffff : now, udp + 6);
    }
    ctx.meta.choice = c;
    this.stats.rewritten++;
    forward(`outer source port ${old} -> ${c.port}`);
  }

  /** A word view of the whole buffer, kept while the pipeline reuses its working buffer (no view per packet). */
  private words: Uint32Array | undefined;

  private wordView(buf: ArrayBufferLike): Uint32Array {
    const w = this.words;
    if (w !== undefined && w.buffer === buf) return w;
    return (this.words = new Uint32Array(buf, 0, buf.byteLength >>> 2));
  }

  private startUpdate(ctx: PassContext, pl: number, plen: number): void {
    const p = ctx.pkt;
    if (ctx.ingressPort !== CPU_PORT) {
      this.stats.updatesRejected++;
      throw new UpdateRejectedError(`table updates are taken from the CPU port only (arrived on port ${ctx.ingressPort})`);
    }
    let n: number;
    try {
      // the whole packet is checked before any record is applied: a bad one changes nothing
      n = validateTableUpdate(p, pl, plen);
      const head: RecordHead = { peer: 0, base: 0, nports: 0, flags: 0 };
      const stateful = this.stateful;
      const path = this.path;
      for (let i = 0, at = pl + PS_HEADER_SIZE; i < n; i++, at += RECORD) {
        // the common case without allocating: a path-table record the table accepts
        if ((p[at + REC_FLAGS]! & PS_F_STATEFUL) === 0 && path.acceptsRecord(p, at)) continue;
        head.peer = u32(p, at + REC_PEER);
        head.base = u16(p, at + REC_BASE);
        head.nports = p[at + REC_NPORTS]!;
        head.flags = p[at + REC_FLAGS]! & ~TU_F_END;
        // a peer is in at most one of the two tables (apply() moves it): ask the path table first, and
        // the stateful one only about a record the path table refuses (to name the reason)
        let why = head.flags & PS_F_STATEFUL ? stateful.checkRecord(head) : path.checkRecord(head);
        if (why !== undefined && stateful.has(head.peer)) why = stateful.checkRecord(head);
        if (why !== undefined) throw new UpdateRejectedError(why, i);
      }
    } catch (e) {
      this.stats.updatesRejected++;
      throw e;
    }
    this.stats.updatePackets++;
    const words = LITTLE_ENDIAN && (p.byteOffset & 3) === 0 ? this.wordView(p.buffer) : undefined;
    const walk: UpdateWalk = { records: n, applied: 0, seq: u32(p, pl + OFF.seq), words, word0: p.byteOffset >>> 2 };
    ctx.meta.update = walk;
    this.updatePass(ctx, walk);
  }

  /**
   * One pass of a checked update packet at pkt[off, off + len): apply its first
   * record, then deparse without it and recirculate, or stop at the end flag.
   * The deparser emits the IPv4, UDP and pathsteer headers (lengths and IPv4
   * checksum updated, RFC 1624; UDP checksum 0, allowed over IPv4) right in
   * front of the next record: the recirculated packet is the RECORD bytes
   * shorter packet at pkt[off + RECORD, off + len), and nothing else is copied.
   */
  /** @internal (GatewayProgram.pass) */
  updatePass(ctx: PassContext, walk: UpdateWalk): void {
    const p = ctx.pkt;
    const off = ctx.off;
    const ihl = (p[off]! & 0x0f) << 2;
    const at = off + ihl + UDP_PS_HEADERS;
    this.path.applyRecord(p, at);
    walk.applied++;
    this.stats.updateRecords++;
    if (p[at + REC_FLAGS]! & TU_F_END) {
      walk.words = undefined; // a view of the pipeline's working buffer: not for the caller
      ctx.verdict = 'drop';
      ctx.reason = `table update applied: ${walk.applied} record(s) in ${ctx.pass} pass(es)`;
      return;
    }
    const words = walk.words;
    if (words !== undefined && ihl === 20) {
      // the common case: a word at a time, the fields updated on the way (whole-word stores only, which the next pass reads back fast)
      deparse56(words, walk.word0 + (off >>> 2));
    } else {
      // headers [off, at) -> [off + RECORD, at + RECORD), over the applied record; then the fields
      p.copyWithin(off + RECORD, off, at);
      const q = off + RECORD;
      const total = u16(p, q + 2);
      w16(p, q + 2, total - RECORD);
      w16(p, q + 10, checksumReplace16(u16(p, q + 10), total, total - RECORD));
      const udp = q + ihl;
      w16(p, udp + 4, u16(p, udp + 4) - RECORD);
      w16(p, udp + 6, 0);
      const dl = udp + UDP_HEADER_SIZE + OFF_DATA_LENGTH;
      w16(p, dl, u16(p, dl) - RECORD);
    }
    const q = off + RECORD;
    ctx.off = q;
    ctx.len -= RECORD;
    ctx.recirculate = true;
  }
}

/** Whether Uint32Array elements are little-endian here (the word path of the deparser needs to know). */
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** The two bytes of a 16-bit value swapped (a big-endian field in a little-endian word, and back). */
function swap16(v: number): number {
  return ((v & 0xff) << 8) | ((v >>> 8) & 0xff);
}

/**
 * Deparse a table-update packet without its first record when its headers are
 * IPv4 without options (20) + UDP (8) + pathsteer (28) = 56 bytes = 14 words at
 * word w of a little-endian word view: each header word moves one record (4
 * words) later, last first (the ranges overlap), and the words holding IPv4
 * total length and checksum (RFC 1624), UDP length and checksum (0) and the
 * data length get their new values as they move.
 */
function deparse56(a: Uint32Array, w: number): void {
  const w0 = a[w]!; // version/ihl, tos, total length
  const w2 = a[w + 2]!; // ttl, protocol, header checksum
  const w6 = a[w + 6]!; // UDP length, UDP checksum
  const w9 = a[w + 9]!; // data length, tx sport
  const total = swap16(w0 >>> 16);
  const check = checksumReplace16(swap16(w2 >>> 16), total, total - RECORD);
  a[w + 17] = a[w + 13]!;
  a[w + 16] = a[w + 12]!;
  a[w + 15] = a[w + 11]!;
  a[w + 14] = a[w + 10]!;
  a[w + 13] = (w9 & 0xffff0000) | swap16(swap16(w9 & 0xffff) - RECORD);
  a[w + 12] = a[w + 8]!;
  a[w + 11] = a[w + 7]!;
  a[w + 10] = swap16(swap16(w6 & 0xffff) - RECORD);
  a[w + 9] = a[w + 5]!;
  a[w + 8] = a[w + 4]!;
  a[w + 7] = a[w + 3]!;
  a[w + 6] = (w2 & 0xffff) | (swap16(check) << 16);
  a[w + 5] = a[w + 1]!;
  a[w + 4] = (w0 & 0xffff) | (swap16(total - RECORD) << 16);
}
