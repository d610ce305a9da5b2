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
import type { PlacedObject, Target } from '../p4/resources.js';
import { Table } from '../p4/table.js';
import { u32 } from '../packet.js';
import {
  bitString,
  checkRecordWindow,
  checkWindow,
  ipv4,
  memoryOf,
  type MemoryReport,
  type PathTable,
  type PeerState,
  type PortChoice,
  type RecordHead,
} from './types.js';

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

/**
 * New slot values for a peer from its bitmap (two 32-bit halves) and current
 * slots. Exported for tests; the table and the data-plane pass both use it.
 */
export function hiFill(peer: number, lo: number, hi: number, np: number, m: number, current: ArrayLike<number>, out: number[] = []): number[] {
  const G = np / m;
  const up = (i: number): boolean => ((i < 32 ? lo >>> i : hi >>> (i - 32)) & 1) === 1;
  let anyUp = false;
  for (let i = 0; i < np && !anyUp; i++) anyUp = up(i);
  const seed = mix32(peer ^ mix32(lo ^ mix32(hi)));
  for (let g = 0; g < G; g++) {
    if (!anyUp) {
      out[g] = HI_NONE;
      continue;
    }
    let good = 0;
    for (let k = 0; k < m; k++) if (up(g + k * G)) good++;
    if (good === m) {
      out[g] = HI_EMPTY; // rule 1
      continue;
    }
    const cur = current[g]!;
    const curIdx = cur !== HI_EMPTY && cur !== HI_NONE ? cur - 1 : -1;
    const r = mix32(seed + g);
    if (good > 0) {
      // rule 2: an available port of the same group
      if (curIdx >= 0 && curIdx < np && curIdx % G === g && up(curIdx)) {
        out[g] = cur;
        continue;
      }
      let pick = r % good;
      for (let k = 0; k < m; k++) {
        const i = g + k * G;
        if (up(i) && pick-- === 0) {
          out[g] = i + 1;
          break;
        }
      }
    } else {
      // rule 3: an available port of another group
      if (curIdx >= 0 && curIdx < np && up(curIdx)) {
        out[g] = cur;
        continue;
      }
      let total = 0;
      for (let i = 0; i < np; i++) if (up(i)) total++;
      let pick = r % total;
      for (let i = 0; i < np; i++) {
        if (up(i) && pick-- === 0) {
          out[g] = i + 1;
          break;
        }
      }
    }
  }
  return out;
}

export class HiPathTable implements PathTable {
  readonly scheme = 'hi' as const;
  readonly packetUpdates = true;
  readonly np: number;
  readonly m: number;
  /** Groups per peer (Np / M), also the stride between a group's ports. */
  readonly groups: number;
  readonly basePort: number;
  readonly capacity: number;
  readonly peerTable: Table;
  readonly slots: RegisterArray[];
  private readonly cur: number[] = [];
  private readonly next: number[] = [];

  constructor(o: HiOptions) {
    this.np = o.np ?? 32;
    this.m = o.m ?? 8;
    this.basePort = o.basePort ?? 10000;
    this.capacity = o.capacity;
    if (!Number.isInteger(this.np) || this.np < 1 || this.np > 64) throw new UpdateRejectedError(`Np ${this.np} not in 1..64`);
    if (!Number.isInteger(this.m) || this.m < 1 || this.np % this.m !== 0) {
      throw new UpdateRejectedError(`M ${this.m} must divide Np ${this.np}`);
    }
    this.groups = this.np / this.m;
    this.peerTable = new Table({
      name: 'hi_peer',
      key: [{ name: 'peer', bits: 32, match: 'exact' }],
      actions: [{ name: 'read_slot' }],
      size: o.capacity,
    });
    this.slots = Array.from({ length: this.groups }, (_, g) => {
      const r = new RegisterArray({ name: `hi_slot_${g}`, width: 8, size: o.capacity, direct: 'hi_peer' });
      this.peerTable.attach(r);
      return r;
    });
  }

  objects(): PlacedObject[] {
    return [{ object: this.peerTable }];
  }

  has(peer: number): boolean {
    return this.peerTable.lookup1(peer).hit;
  }

  *peers(): IterableIterator<number> {
    for (const e of this.peerTable.dump()) yield Number(e.match.peer);
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
    let writes = 0;
    let e = this.peerTable.lookup1(u.peer);
    if (!e.hit) {
      e = this.peerTable.insert({ match: { peer: { exact: u.peer } }, action: 'read_slot' });
      writes++;
    }
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

  remove(peer: number): number {
    if (!this.has(peer)) return 0;
    this.peerTable.delete({ match: { peer: { exact: peer } } });
    return 1;
  }

  checkRecord(r: RecordHead): string | undefined {
    if (!this.has(r.peer)) return `peer ${ipv4(r.peer)} has no hi_peer entry (add peers through the control plane first)`;
    return checkRecordWindow(r, this.np, this.basePort);
  }

  applyRecord(b: Buffer, at: number): void {
    const peer = u32(b, at);
    const handle = this.peerTable.lookup1(peer).handle;
    this.load(handle);
    hiFill(peer, u32(b, at + 12), u32(b, at + 8), this.np, this.m, this.cur, this.next);
    for (let g = 0; g < this.groups; g++) this.slots[g]!.writeNumber(handle, this.next[g]!);
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

  memory(target?: Target): MemoryReport {
    return memoryOf('hi', this.np, this.capacity, this.objects(), target);
  }
}
