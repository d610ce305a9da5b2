/**
 * The two ways a gateway's path table gets updated (ZooRoute §3.3, §5.2, Fig. 13):
 *
 * - PcieChannel: the CPU writes tables over PCIe, one transaction per table
 *   write, at a fixed rate (default 10,000/s, ZooRoute's stress-test figure). On
 *   a virtual clock (benchmarks: modelled time, no waiting) or enforced in real
 *   time (process use).
 * - PacketChannel: the CPU encodes type-0x05 table-update packets (batches of
 *   records) and injects them into the pipeline from the CPU port; the pipeline
 *   applies one record per pass and recirculates to the end flag. Passes are
 *   counted, and the encoding (the CPU's share) and the passes (the pipeline's
 *   share) are timed separately.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { encodeTableUpdateRecords, InvalidFieldError, PS_HEADER_SIZE, PS_MAX_TABLE_UPDATE_RECORDS, PS_TABLE_UPDATE_RECORD_SIZE, type TableUpdateRecord } from '../src/protocol/index.js';
import type { Gateway } from './gateway.js';
import { GatewaySimError } from './p4/errors.js';
import { CPU_PORT } from './p4/pipeline.js';
import { IPV4_HEADER_SIZE, UDP_HEADER_SIZE, writeIpv4UdpHeaders } from './packet.js';
import type { PeerState } from './path/types.js';

export const DEFAULT_PCIE_RATE = 10_000;

export interface PcieOptions {
  /** Transactions per second. @default 10000 */
  rate?: number;
  /** Pace writes in real time instead of on the virtual clock. @default false */
  realtime?: boolean;
  signal?: AbortSignal;
}

export interface PcieReport {
  updates: number;
  transactions: number;
  /** transactions / rate: the time the writes take over PCIe. */
  modelledSeconds: number;
  /** Time this call took (the model's own cost on the virtual clock; ≥ modelled in real time). */
  wallSeconds: number;
}

export class PcieChannel {
  readonly rate: number;
  readonly realtime: boolean;
  private readonly signal: AbortSignal | undefined;
  /** Transactions so far (the virtual clock is transactions / rate). */
  transactions = 0;

  constructor(o: PcieOptions = {}) {
    this.rate = o.rate ?? DEFAULT_PCIE_RATE;
    if (!(this.rate > 0)) throw new GatewaySimError(`PCIe rate ${this.rate} must be positive`);
    this.realtime = o.realtime ?? false;
    this.signal = o.signal;
  }

  /** Virtual clock: seconds of PCIe time used so far. */
  get seconds(): number {
    return this.transactions / this.rate;
  }

  /** Apply updates on the virtual clock. */
  sendSync(gw: Gateway, updates: readonly PeerState[]): PcieReport {
    if (this.realtime) throw new GatewaySimError('sendSync runs on the virtual clock; this channel enforces real time (use send)');
    const t0 = process.hrtime.bigint();
    let tx = 0;
    for (const u of updates) tx += gw.apply(u);
    this.transactions += tx;
    return { updates: updates.length, transactions: tx, modelledSeconds: tx / this.rate, wallSeconds: Number(process.hrtime.bigint() - t0) / 1e9 };
  }

  /** Apply updates; in real-time mode each update waits until the channel has had time for the writes before it. */
  async send(gw: Gateway, updates: readonly PeerState[]): Promise<PcieReport> {
    if (!this.realtime) return this.sendSync(gw, updates);
    const t0 = process.hrtime.bigint();
    const nowMs = (): number => Number(process.hrtime.bigint() - t0) / 1e6;
    // timers may fire a little early: sleep again until the due time has really passed
    const until = async (dueMs: number): Promise<void> => {
      for (let left = dueMs - nowMs(); left > 0; left = dueMs - nowMs()) {
        await sleep(Math.max(1, Math.ceil(left)), undefined, { signal: this.signal });
      }
    };
    let tx = 0;
    for (const u of updates) {
      await until((tx / this.rate) * 1000);
      tx += gw.apply(u);
    }
    await until((tx / this.rate) * 1000);
    this.transactions += tx;
    return { updates: updates.length, transactions: tx, modelledSeconds: tx / this.rate, wallSeconds: Number(process.hrtime.bigint() - t0) / 1e9 };
  }
}

export interface PacketChannelOptions {
  /** Records per packet (1..90). @default 90 */
  perPacket?: number;
  /** Source address of the update packets (the gateway's CPU). @default 198.18.255.254 */
  cpu?: number;
  /** Destination address (the gateway). @default 198.18.255.1 */
  gateway?: number;
  /** First sequence id. @default 0 */
  seq?: number;
}

export interface PacketReport {
  records: number;
  packets: number;
  /** Pipeline passes (one per record). */
  passes: number;
  bytes: number;
  /** Encoding the packets (the CPU's share), measured; 0 for inject(). */
  encodeSeconds: number;
  /** Every pipeline pass of every packet (the emulated ASIC's share), measured. */
  pipelineSeconds: number;
  /** encodeSeconds + pipelineSeconds: both, one after the other, on this thread. */
  wallSeconds: number;
}

export class PacketChannel {
  readonly perPacket: number;
  private readonly cpu: number;
  private readonly gw: number;
  private seq: number;
  /** The send buffer encode() writes frames into (reused). */
  private ring: Buffer = Buffer.alloc(0);

  constructor(
    readonly gateway: Gateway,
    o: PacketChannelOptions = {},
  ) {
    this.perPacket = o.perPacket ?? PS_MAX_TABLE_UPDATE_RECORDS;
    if (!Number.isInteger(this.perPacket) || this.perPacket < 1 || this.perPacket > PS_MAX_TABLE_UPDATE_RECORDS) {
      throw new InvalidFieldError('perPacket', `${this.perPacket} is not in 1..${PS_MAX_TABLE_UPDATE_RECORDS}`);
    }
    this.cpu = o.cpu ?? 0xc612fffe; // 198.18.255.254
    this.gw = o.gateway ?? 0xc612ff01; // 198.18.255.1
    this.seq = o.seq ?? 0;
  }

  /**
   * The IPv4 packets carrying `records` (type 0x05, batches of perPacket,
   * sequence ids counting up), each record written straight into its frame
   * (encodeTableUpdateRecords): what the CPU does before it injects them.
   * The frames are views of the channel's send buffer, which the next
   * encode() reuses, as a host reuses its transmit ring (a fresh buffer every
   * time costs page faults worth more than the encoding): inject or copy them
   * before encoding again.
   */
  encode(records: readonly TableUpdateRecord[]): Buffer[] {
    if (!Array.isArray(records)) throw new InvalidFieldError('records', 'expected an array');
    const per = this.perPacket;
    const n = records.length;
    const head = IPV4_HEADER_SIZE + UDP_HEADER_SIZE + PS_HEADER_SIZE;
    const need = Math.ceil(n / per) * head + n * PS_TABLE_UPDATE_RECORD_SIZE;
    if (this.ring.length < need) this.ring = Buffer.allocUnsafeSlow(Math.max(need, 2 * this.ring.length));
    const ring = this.ring;
    const frames: Buffer[] = [];
    let off = 0;
    for (let k = 0; k < n; k += per) {
      const count = Math.min(per, n - k);
      const seq = (this.seq + frames.length) >>> 0;
      const len = head + count * PS_TABLE_UPDATE_RECORD_SIZE;
      const frame = ring.subarray(off, off + len);
      writeIpv4UdpHeaders(frame, { src: this.cpu, dst: this.gw, sport: 10000 + (seq % 1000), dport: this.gateway.vxlanPort }, len - IPV4_HEADER_SIZE - UDP_HEADER_SIZE);
      encodeTableUpdateRecords({ seq, srcVtep: this.cpu }, records, k, count, frame, IPV4_HEADER_SIZE + UDP_HEADER_SIZE);
      frames.push(frame);
      off += len;
    }
    this.seq = (this.seq + frames.length) >>> 0;
    return frames;
  }

  /**
   * Inject encoded table-update packets from the CPU port, in order; returns
   * passes and the pipeline's time. A rejected packet throws its typed error
   * (ProtocolError / UpdateRejectedError); it changed nothing, and the packets
   * before it were applied. The frames are not modified (the pipeline works on
   * its own copy), so they can be injected again.
   */
  inject(frames: readonly Uint8Array[]): PacketReport {
    let passes = 0;
    let bytes = 0;
    let records = 0;
    const t0 = process.hrtime.bigint();
    for (const f of frames) {
      const r = this.gateway.simulate(f, { ingressPort: CPU_PORT });
      if (r.error) throw r.error;
      const applied = (r.meta.update as { applied?: number } | undefined)?.applied;
      if (r.verdict !== 'drop' || !applied) {
        throw new GatewaySimError(`table update packet was not consumed by the pipeline (${r.verdict}: ${r.reason ?? ''})`);
      }
      passes += r.passes;
      records += applied;
      bytes += f.length;
    }
    const pipelineSeconds = Number(process.hrtime.bigint() - t0) / 1e9;
    return { records, packets: frames.length, passes, bytes, encodeSeconds: 0, pipelineSeconds, wallSeconds: pipelineSeconds };
  }

  /** Encode and inject (see inject()); both parts timed. */
  send(records: readonly TableUpdateRecord[]): PacketReport {
    const t0 = process.hrtime.bigint();
    const frames = this.encode(records);
    const encodeSeconds = Number(process.hrtime.bigint() - t0) / 1e9;
    const r = this.inject(frames);
    return { ...r, encodeSeconds, wallSeconds: encodeSeconds + r.pipelineSeconds };
  }
}
