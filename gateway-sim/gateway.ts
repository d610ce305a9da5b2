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
import { checksumReplace16, innerFlowHash, IPPROTO_UDP, u16, u32, VXLAN_PORT, w16 } from './packet.js';
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

interface UpdateWalk {
  records: number;
  applied: number;
  seq: number;
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
    const program: Program = {
      name: `gateway-${scheme}`,
      objects: (): PlacedObject[] => [...this.stateful.objects(), ...this.path.objects()],
      pass: (ctx) => this.pass(ctx),
    };
    this.pipeline = new Pipeline(program, { target: opts.target ?? TOFINO1, maxPasses: opts.maxPasses ?? 256 });
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

  private pass(ctx: PassContext): void {
    const walk = ctx.meta.update as UpdateWalk | undefined;
    if (walk) return this.updatePass(ctx, walk);
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

  private recordTable(r: RecordHead): PathTable {
    return r.flags & PS_F_STATEFUL || this.stateful.has(r.peer) ? this.stateful : this.path;
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
      for (let i = 0, at = pl + PS_HEADER_SIZE; i < n; i++, at += PS_TABLE_UPDATE_RECORD_SIZE) {
        head.peer = u32(p, at + REC_OFF.peer);
        head.base = u16(p, at + REC_OFF.base);
        head.nports = p[at + REC_OFF.nports]!;
        head.flags = p[at + REC_OFF.flags]! & ~TU_F_END;
        const why = this.recordTable(head).checkRecord(head);
        if (why) throw new UpdateRejectedError(why, i);
      }
    } catch (e) {
      this.stats.updatesRejected++;
      throw e;
    }
    this.stats.updatePackets++;
    const walk: UpdateWalk = { records: n, applied: 0, seq: u32(p, pl + OFF.seq) };
    ctx.meta.update = walk;
    this.updatePass(ctx, walk);
  }

  /** One pass of a checked update packet: apply its first record, then strip it and recirculate, or stop at the end flag. */
  private updatePass(ctx: PassContext, walk: UpdateWalk): void {
    const p = ctx.pkt;
    const ihl = (p[0]! & 0x0f) * 4;
    const pl = ihl + 8;
    const at = pl + PS_HEADER_SIZE;
    this.path.applyRecord(p, at);
    walk.applied++;
    this.stats.updateRecords++;
    if (p[at + REC_OFF.flags]! & TU_F_END) {
      ctx.verdict = 'drop';
      ctx.reason = `table update applied: ${walk.applied} record(s) in ${ctx.pass} pass(es)`;
      return;
    }
    // deparse without the processed record: move the headers over it, fix the lengths
    p.copyWithin(PS_TABLE_UPDATE_RECORD_SIZE, 0, at);
    const q = p.subarray(PS_TABLE_UPDATE_RECORD_SIZE);
    const R = PS_TABLE_UPDATE_RECORD_SIZE;
    const total = u16(q, 2);
    w16(q, 2, total - R);
    w16(q, 10, checksumReplace16(u16(q, 10), total, total - R));
    w16(q, ihl + 4, u16(q, ihl + 4) - R);
    w16(q, ihl + 6, 0);
    w16(q, pl + OFF.dataLength, u16(q, pl + OFF.dataLength) - R);
    ctx.recirculate = q;
  }
}
