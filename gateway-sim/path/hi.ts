/**
 * Hierarchical indexing (ZooRoute §5.1, Fig. 12), for intra-region (H-G) peers:
 * the Np ports of a peer form G = Np/M groups of M ports taken at a fixed stride
 * of G (group g = ports g, g+G, g+2G, ...), and the table keeps one slot per
 * group instead of one bit per port:
 *
 *   hi_peer          exact(peer:32), size = peers
 *   hi_slot_0..G-1   direct 8-bit registers, one per group:
 *                      0        empty: every port of the group is available; a flow
 *                               takes one of the M by its hash
 *                      1+i      use port i
 *                      0xff     no port of the peer is available: leave the packet alone
 *
 * Fill rules (the paper's three, plus stability):
 *   1. all M ports of the group available  -> empty
 *   2. some unavailable                     -> an available port of the same group
 *   3. all unavailable                      -> an available port of another group
 * "Randomly" is a hash of (peer, group, bitmap), so the control plane and the data
 * plane compute the same fill. Following ZooRoute's rule that a flow moves only
 * when its port fails (§6), a slot that already holds a port which still
 * satisfies its rule keeps it.
 *
 * Slots are registers, so a table-update record is one pass that writes all G.
 */
import { UpdateRejectedError } from '../p4/errors.js';
import { RegisterArray } from '../p4/register.js';
import type { PlacedObject } from '../p4/resources.js';
import type { Table } from '../p4/table.js';
import { i32 } from '../packet.js';
import { peerTable, RegisterPathTable } from './base.js';
import { bitString, checkWindow, ipv4, REC_BITMAP_HI, REC_BITMAP_LO, REC_PEER, type PathTable, type PeerState, type PortChoice } from './types.js';

export const HI_EMPTY = 0;
export const HI_NONE = 0xff;

export interface HiOptions {
  /** Ports per peer window. @default 32 (H-G) */
  np?: number;
  /** Ports per group. @default 8 */
  m?: number;
  /** @default 10000 */
  basePort?: number;
  /** Peers the tables are sized for. */
  capacity: number;
}

/** murmur3's 32-bit finaliser: the "random" choice, reproducible. */
function mix32(x: number): number {
  x ^= x >>> 16;
  x = Math.imul(x, 0x85ebca6b);
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35);
  x ^= x >>> 16;
  return x >>> 0;
}

function popcount32(x: number): number {
  x -= (x >>> 1) & 0x55555555;
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  return (Math.imul((x + (x >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24) & 0xff;
}

/** Bit i (0..63) of the bitmap held as two int32 halves. */
function bit(lo: number, hi: number, i: number): number {
  return (i < 32 ? lo >>> i : hi >>> (i - 32)) & 1;
}

/**
 * r mod d for a uint32 r and 1 <= d <= 64, exactly `r % d`, without the x87
 * remainder `%` compiles to for r above 2^31: r / d is off by less than 2^-21
 * after rounding, while a quotient that is not an integer is at least 1/d from
 * the next one, so floor() is exact.
 */
function modSmall(r: number, d: number): number {
  return r - Math.floor(r / d) * d;
}

/** SELECT[v * 8 + n]: the position of the n-th (from 0) set bit of the byte v; POPCOUNT8[v]: its set bits. */
const SELECT = new Uint8Array(256 * 8);
const POPCOUNT8 = new Uint8Array(256);
for (let v = 0; v < 256; v++) {
  for (let j = 0; j < 8; j++) if ((v >> j) & 1) SELECT[v * 8 + POPCOUNT8[v]!++] = j;
}

/** The position of the n-th (from 0) set bit of x, n < popcount(x): a table lookup per byte, no per-bit branches. */
function selectBit(x: number, n: number): number {
  for (let base = 0; ; base += 8, x >>>= 8) {
    const b = x & 0xff;
    const c = POPCOUNT8[b]!;
    if (n < c) return base + SELECT[(b << 3) | n]!;
    n -= c;
  }
}

/** The index of the n-th (from 0) set bit of the 64-bit (lo, hi) among bits below np; -1 if none. */
function nthSetBit(lo: number, hi: number, np: number, n: number): number {
  for (let i = 0; i < np; i++) if (bit(lo, hi, i) && n-- === 0) return i;
  return -1;
}

/**
 * How a window of np ports splits into G = np/m groups, as lookup tables: port
 * i = g + kG goes to bit g*m + k of a "packed" 64-bit value (two int32 halves),
 * so group g's ports are m consecutive bits there. For every byte position b
 * of the bitmap and byte value v, lo/hi[b * 256 + v] hold the packed bits that
 * byte contributes: packing a bitmap is one lookup per byte.
 */
interface GroupLayout {
  np: number;
  m: number;
  lo: Int32Array;
  hi: Int32Array;
}

const layouts = new Map<number, GroupLayout>();
let lastLayout: GroupLayout | undefined;

function groupLayout(np: number, m: number): GroupLayout {
  if (lastLayout !== undefined && lastLayout.np === np && lastLayout.m === m) return lastLayout;
  let l = layouts.get(np * 128 + m);
  if (!l) {
    const G = np / m;
    const bytes = Math.ceil(np / 8);
    l = { np, m, lo: new Int32Array(bytes * 256), hi: new Int32Array(bytes * 256) };
    for (let b = 0; b < bytes; b++) {
      for (let v = 0; v < 256; v++) {
        for (let j = 0; j < 8; j++) {
          const i = 8 * b + j;
          if (!((v >> j) & 1) || i >= np) continue;
          const at = (i % G) * m + Math.floor(i / G);
          if (at < 32) l.lo[b * 256 + v]! |= 1 << at;
          else l.hi[b * 256 + v]! |= 1 << (at - 32);
        }
      }
    }
    layouts.set(np * 128 + m, l);
  }
  lastLayout = l;
  return l;
}

/**
 * New slot values for a peer from its bitmap (two 32-bit halves) and current
 * slots. Exported for tests; the table and the data-plane pass both use it
 * (per pass: no allocation, no closures, no per-bit scan when M <= 31).
 */
export function hiFill(peer: number, lo: number, hi: number, np: number, m: number, current: ArrayLike<number>, out: number[] = []): number[] {
  const G = np / m;
  const gPow2 = (G & (G - 1)) === 0; // then i % G = i & (G - 1)
  const seed = mix32(peer ^ mix32(lo ^ mix32(hi)));
  // only bits below np are ports
  let ulo = lo | 0;
  let uhi = hi | 0;
  if (np < 32) {
    ulo &= (1 << np) - 1;
    uhi = 0;
  } else if (np === 32) uhi = 0;
  else if (np < 64) uhi &= (1 << (np - 32)) - 1;
  if ((ulo | uhi) === 0) {
    for (let g = 0; g < G; g++) out[g] = HI_NONE;
    return out;
  }
  // groups of at most 31 ports: each group's available ports as the bits of one int32 (bit k = port g + kG)
  const packed = m <= 31;
  let plo = 0;
  let phi = 0;
  if (packed) {
    const t = groupLayout(np, m);
    const bytes = (np + 7) >>> 3;
    for (let b = 0; b < bytes; b++) {
      const v = (b < 4 ? ulo >>> (8 * b) : uhi >>> (8 * b - 32)) & 0xff;
      plo |= t.lo[b * 256 + v]!;
      phi |= t.hi[b * 256 + v]!;
    }
  }
  const all = packed ? (1 << m) - 1 : 0;
  let total = -1; // available ports, counted when rule 3 needs them
  for (let g = 0; g < G; g++) {
    let gm = 0;
    let good = 0;
    if (packed) {
      const at = g * m;
      gm = (at >= 32 ? phi >>> (at - 32) : at + m <= 32 ? plo >>> at : (plo >>> at) | (phi << (32 - at))) & all;
      good = popcount32(gm);
    } else for (let i = g; i < np; i += G) good += bit(ulo, uhi, i);
    if (good === m) {
      out[g] = HI_EMPTY; // rule 1
      continue;
    }
    const cur = current[g]!;
    const curIdx = cur !== HI_EMPTY && cur !== HI_NONE ? cur - 1 : -1;
    const r = mix32((seed + g) | 0);
    if (good > 0) {
      // rule 2: an available port of the same group
      if (curIdx >= 0 && curIdx < np && (gPow2 ? curIdx & (G - 1) : curIdx % G) === g && bit(ulo, uhi, curIdx)) {
        out[g] = cur;
        continue;
      }
      let pick = modSmall(r, good);
      if (packed) {
        out[g] = g + selectBit(gm, pick) * G + 1;
        continue;
      }
      for (let i = g; i < np; i += G) {
        if (bit(ulo, uhi, i) && pick-- === 0) {
          out[g] = i + 1;
          break;
        }
      }
    } else {
      // rule 3: an available port of another group
      if (curIdx >= 0 && curIdx < np && bit(ulo, uhi, curIdx)) {
        out[g] = cur;
        continue;
      }
      if (total < 0) total = popcount32(ulo) + popcount32(uhi);
      out[g] = nthSetBit(ulo, uhi, np, modSmall(r, total)) + 1;
    }
  }
  return out;
}

export class HiPathTable extends RegisterPathTable implements PathTable {
  readonly scheme = 'hi' as const;
  readonly packetUpdates = true;
  readonly m: number;
  /** Groups per peer (Np / M), also the stride between a group's ports. */
  readonly groups: number;
  readonly peerTable: Table;
  readonly slots: RegisterArray[];
  /** The slot registers' cells, for the per-pass path. */
  private readonly slotCells: Uint32Array[];
  private readonly cur: number[];
  private readonly next: number[];

  constructor(o: HiOptions) {
    super(o, 32, true);
    this.m = o.m ?? 8;
    if (!Number.isInteger(this.m) || this.m < 1 || this.np % this.m !== 0) {
      throw new UpdateRejectedError(`M ${this.m} must divide Np ${this.np}`);
    }
    this.groups = this.np / this.m;
    this.peerTable = peerTable('hi_peer', { name: 'read_slot' }, o.capacity);
    this.slots = Array.from({ length: this.groups }, (_, g) => {
      const r = new RegisterArray({ name: `hi_slot_${g}`, width: 8, size: o.capacity, direct: 'hi_peer' });
      this.peerTable.attach(r);
      return r;
    });
    this.slotCells = this.slots.map((r) => r.cells);
    this.cur = new Array<number>(this.groups).fill(0);
    this.next = new Array<number>(this.groups).fill(0);
  }

  objects(): PlacedObject[] {
    return [{ object: this.peerTable }];
  }

  select(peer: number, flowHash: number): PortChoice | undefined {
    const e = this.peerTable.apply1(peer);
    if (!e.hit) return undefined;
    const h = flowHash >>> 0;
    const g = h % this.groups;
    const v = this.slots[g]!.readNumber(e.handle);
    if (v === HI_NONE) return undefined;
    const idx = v === HI_EMPTY ? g + (Math.floor(h / this.groups) % this.m) * this.groups : v - 1;
    return { idx, port: this.basePort + idx };
  }

  private load(handle: number): void {
    for (let g = 0; g < this.groups; g++) this.cur[g] = this.slots[g]!.readNumber(handle);
  }

  apply(u: PeerState): number {
    checkWindow(u, this.np, this.basePort);
    const e = this.peerEntry(u.peer);
    let writes = e.added ? 1 : 0;
    this.load(e.handle);
    hiFill(u.peer, Number(u.bitmap & 0xffff_ffffn), Number(u.bitmap >> 32n), this.np, this.m, this.cur, this.next);
    for (let g = 0; g < this.groups; g++) {
      if (this.next[g] !== this.cur[g]) {
        this.slots[g]!.writeNumber(e.handle, this.next[g]!);
        writes++;
      }
    }
    return writes;
  }

  /** One pass: hit hi_peer, read the G slot registers, fill, write them back (a miss runs NoAction). */
  applyRecord(b: Buffer, at: number): void {
    const peer = i32(b, at + REC_PEER);
    const h = this.peerTable.applyHandle1(peer);
    if (h < 0) return;
    const cells = this.slotCells;
    const cur = this.cur;
    const next = this.next;
    const G = this.groups;
    for (let g = 0; g < G; g++) cur[g] = cells[g]![h]!;
    hiFill(peer, i32(b, at + REC_BITMAP_LO), i32(b, at + REC_BITMAP_HI), this.np, this.m, cur, next);
    for (let g = 0; g < G; g++) cells[g]![h] = next[g]! & 0xff;
  }

  /** Raw slot values of a peer (tests). */
  slotsOf(peer: number): number[] | undefined {
    const e = this.peerTable.lookup1(peer);
    if (!e.hit) return undefined;
    return this.slots.map((r) => r.readNumber(e.handle));
  }

  /** Ports a peer's flows can use under HI (empty group: all M; filled: the one stored). */
  usablePorts(peer: number): number[] {
    const s = this.slotsOf(peer) ?? [];
    const out = new Set<number>();
    s.forEach((v, g) => {
      if (v === HI_EMPTY) for (let k = 0; k < this.m; k++) out.add(g + k * this.groups);
      else if (v !== HI_NONE) out.add(v - 1);
    });
    return [...out].sort((a, b) => a - b);
  }

  view(peer: number): Record<string, unknown> | undefined {
    const s = this.slotsOf(peer);
    if (!s) return undefined;
    return {
      peer: ipv4(peer),
      scheme: 'hi',
      slots: s.map((v, g) => ({
        group: g,
        ports: Array.from({ length: this.m }, (_, k) => this.basePort + g + k * this.groups),
        slot: v === HI_EMPTY ? 'empty' : v === HI_NONE ? 'none' : this.basePort + v - 1,
      })),
      usable: bitString(this.usablePorts(peer).reduce((a, i) => a | (1n << BigInt(i)), 0n), this.np),
    };
  }
}
