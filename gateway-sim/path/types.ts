/**
 * What every gateway path table (naive, PBM, HI, stateful) offers: the data
 * plane's choice of source port for a peer and flow hash, control-plane updates
 * (each table write is one PCIe transaction), data-plane updates from a
 * table-update record (one pipeline pass), and its memory.
 */
import { estimate, type PlacedObject, type Target, TOFINO1, type Usage } from '../p4/resources.js';
import { REC_OFF } from '../../src/protocol/constants.js';
import { UpdateRejectedError } from '../p4/errors.js';

/**
 * Table-update record offsets for the per-pass path, as plain numbers. (Reading
 * REC_OFF's properties there would do: but V8 shares the hidden class of every
 * {peer, base, ...} object literal, and a peer address above 2^31 in any of
 * them turns REC_OFF.peer into a double, and the pass's index arithmetic with it.)
 */
export const REC_PEER = 0;
export const REC_BASE = 4;
export const REC_NPORTS = 6;
/** High and low 32 bits of the u64 bitmap. */
export const REC_BITMAP_HI = 8;
export const REC_BITMAP_LO = 12;
if (REC_PEER !== REC_OFF.peer || REC_BASE !== REC_OFF.base || REC_NPORTS !== REC_OFF.nports || REC_BITMAP_HI !== REC_OFF.bitmap || REC_BITMAP_LO !== REC_OFF.bitmap + 4) {
  throw new Error('gateway-sim: record offsets disagree with src/protocol');
}

export type Scheme = 'naive' | 'pbm' | 'hi' | 'stateful';

export interface PortChoice {
  /** Index in the peer's window (bit number). */
  idx: number;
  /** basePort + idx. */
  port: number;
}

/** The control plane's view of one peer: its window and which ports are available. */
export interface PeerState {
  /** Peer VTEP IPv4 as a u32. */
  peer: number;
  base: number;
  nports: number;
  /** PS_F_* flags; STATEFUL (1) marks a middlebox vIP. */
  flags: number;
  /** Bit i = port base+i is available. */
  bitmap: bigint;
  /** Stateful peers: middlebox groups (a flow keeps to group `hash % ngroups`). */
  ngroups?: number;
  groupMask?: readonly bigint[];
}

export interface MemoryReport {
  scheme: Scheme;
  np: number;
  /** Peers the tables are sized for. */
  capacity: number;
  /** Packed storage (SRAM words × 128 + TCAM bits). */
  bits: number;
  bitsPerPeer: number;
  sramBlocks: number;
  tcamBlocks: number;
  objects: Usage[];
}

/** A record as the data plane parses it (no allocation of a bigint needed). */
export interface RecordHead {
  peer: number;
  base: number;
  nports: number;
  flags: number;
}

export interface PathTable {
  readonly scheme: Scheme;
  readonly np: number;
  readonly basePort: number;
  /** Peers the tables are sized for. */
  readonly capacity: number;
  /** True when a data-plane pass can write a peer's state (registers), false when only PCIe can (match entries). */
  readonly packetUpdates: boolean;
  /** Tables and registers in pipeline order. */
  objects(): PlacedObject[];
  has(peer: number): boolean;
  peers(): IterableIterator<number>;
  /** The port the data plane picks for a flow with this hash; undefined: leave the packet's port alone. */
  select(peer: number, flowHash: number): PortChoice | undefined;
  /** Control-plane update; returns the table writes it took (PCIe transactions). */
  apply(u: PeerState): number;
  /** Control-plane removal; returns table writes. */
  remove(peer: number): number;
  /** Why a data-plane record for this table would be refused (undefined: acceptable). */
  checkRecord(r: RecordHead): string | undefined;
  /**
   * checkRecord(record at buf[at..at+16)) === undefined, read from the wire
   * without allocating: the per-packet check's fast path (a false answer is
   * explained by checkRecord).
   */
  acceptsRecord(buf: Buffer, at: number): boolean;
  /** Apply the (checked) table-update record at buf[at..at+16) in one pass. */
  applyRecord(buf: Buffer, at: number): void;
  /** The stored state of a peer in readable form (inspect, tests). */
  view(peer: number): Record<string, unknown> | undefined;
  memory(target?: Target): MemoryReport;
}

export function memoryOf(scheme: Scheme, np: number, capacity: number, objects: PlacedObject[], target: Target = TOFINO1): MemoryReport {
  const e = estimate(objects, target);
  return {
    scheme,
    np,
    capacity,
    bits: e.bits,
    bitsPerPeer: e.bits / capacity,
    sramBlocks: e.sramBlocks,
    tcamBlocks: e.tcamBlocks,
    objects: e.objects,
  };
}

/** Bits to index n things (at least 1). */
export function indexBits(n: number): number {
  return Math.max(1, Math.ceil(Math.log2(n)));
}

/** The smallest register cell width holding `bits`. */
export function cellWidth(bits: number): number {
  for (const w of [8, 16, 32, 64]) if (bits <= w) return w;
  throw new UpdateRejectedError(`${bits} bits do not fit a register cell`);
}

export function windowMask(n: number): bigint {
  return n >= 64 ? (1n << 64n) - 1n : (1n << BigInt(n)) - 1n;
}

/** Check a control-plane update against the gateway's window (all peers share one base and Np). */
export function checkWindow(u: PeerState, np: number, base: number): void {
  if (typeof u !== 'object' || u === null) throw new UpdateRejectedError('expected a peer state');
  if (!Number.isInteger(u.peer) || u.peer < 0 || u.peer > 0xffff_ffff) throw new UpdateRejectedError(`peer ${String(u.peer)} is not an IPv4 u32`);
  if (u.nports !== np) throw new UpdateRejectedError(`window of ${u.nports} ports, the gateway's tables have Np = ${np}`);
  if (u.base !== base) throw new UpdateRejectedError(`base port ${u.base}, the gateway's window starts at ${base}`);
  if (typeof u.bitmap !== 'bigint' || u.bitmap < 0n || u.bitmap & ~windowMask(np)) {
    throw new UpdateRejectedError(`bitmap must be a bigint within the ${np}-port window`);
  }
}

export function checkRecordWindow(r: RecordHead, np: number, base: number): string | undefined {
  if (r.nports !== np) return `window of ${r.nports} ports, the gateway's tables have Np = ${np}`;
  if (r.base !== base) return `base port ${r.base}, the gateway's window starts at ${base}`;
  return undefined;
}

/** First set bit of `bits` at or after `start`, cyclically in n bits; -1 if none. */
export function firstSetFrom(bits: bigint, start: number, n: number): number {
  for (let k = 0; k < n; k++) {
    const i = (start + k) % n;
    if ((bits >> BigInt(i)) & 1n) return i;
  }
  return -1;
}

/** For every start slot s in 0..n-1, the first set bit at or after s (cyclic); -1 when none. O(n). */
export function firstSetTable(bits: bigint, n: number): Int16Array {
  const out = new Int16Array(n).fill(-1);
  let next = -1;
  for (let pass = 0; pass < 2; pass++) {
    for (let i = n - 1; i >= 0; i--) {
      if ((bits >> BigInt(i)) & 1n) next = i;
      if (pass === 1) out[i] = next;
    }
  }
  return out;
}

export function ipv4(v: number): string {
  return `${v >>> 24}.${(v >>> 16) & 0xff}.${(v >>> 8) & 0xff}.${v & 0xff}`;
}

/** Bitmap as ZooRoute's figures write it: port base+0 first. */
export function bitString(bits: bigint, n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) s += (bits >> BigInt(i)) & 1n ? '1' : '0';
  return s;
}
