/**
 * Priority-based bitmap matching (ZooRoute §5.1, Fig. 11), for cross-region
 * (G-G) peers:
 *
 *   pbm_peer      exact(peer:32), size = peers; its direct register pbm_bitmap
 *                 holds the peer's Np-bit availability bitmap (bit i = port base+i).
 *   pbm_priority  exact(group) + ternary(bitmap:Np), Np groups × Np masks, shared by
 *                 every peer. Group k holds the one-bit masks k, k+1, ..., k-1
 *                 (circular shifts) in falling priority; the flow hash picks the
 *                 group, the first mask the bitmap matches gives the port.
 *
 * Registers are written at line rate, so a table-update record is one pass: hit
 * pbm_peer, write the bitmap. The choice equals the host's selectPort (first
 * available port at or after hash % Np, cyclically) for the same bitmap and hash.
 */
import { UpdateRejectedError } from '../p4/errors.js';
import { RegisterArray } from '../p4/register.js';
import type { PlacedObject, Target } from '../p4/resources.js';
import { Table } from '../p4/table.js';
import { i32 } from '../packet.js';
import {
  bitString,
  cellWidth,
  checkRecordWindow,
  checkWindow,
  indexBits,
  ipv4,
  memoryOf,
  REC_BITMAP_HI,
  REC_BITMAP_LO,
  REC_PEER,
  type MemoryReport,
  type PathTable,
  type PeerState,
  type PortChoice,
  type RecordHead,
} from './types.js';

export interface PbmOptions {
  /** Ports per peer window (groups and masks per group). @default 64 (G-G) */
  np?: number;
  /** @default 10000 */
  basePort?: number;
  /** Peers the tables are sized for. */
  capacity: number;
}

export class PbmPathTable implements PathTable {
  readonly scheme = 'pbm' as const;
  readonly packetUpdates = true;
  readonly np: number;
  readonly basePort: number;
  readonly capacity: number;
  readonly peerTable: Table;
  readonly bitmaps: RegisterArray;
  readonly priority: Table;
  private readonly narrow: boolean;
  /** pbm_bitmap's cells (low halves when Np > 32) and high halves, for the per-pass path. */
  private readonly cells: Uint32Array;
  private readonly cellsHi: Uint32Array | undefined;
  private readonly cellMask: number;

  constructor(o: PbmOptions) {
    this.np = o.np ?? 64;
    this.basePort = o.basePort ?? 10000;
    this.capacity = o.capacity;
    if (!Number.isInteger(this.np) || this.np < 1 || this.np > 64) throw new UpdateRejectedError(`Np ${this.np} not in 1..64`);
    this.narrow = this.np <= 32;
    this.peerTable = new Table({
      name: 'pbm_peer',
      key: [{ name: 'peer', bits: 32, match: 'exact' }],
      actions: [{ name: 'read_bitmap' }],
      size: o.capacity,
    });
    this.bitmaps = new RegisterArray({ name: 'pbm_bitmap', width: cellWidth(this.np), size: o.capacity, direct: 'pbm_peer' });
    this.peerTable.attach(this.bitmaps);
    this.cells = this.bitmaps.cells;
    this.cellsHi = this.bitmaps.cellsHi;
    this.cellMask = this.bitmaps.mask | 0; // as an int32 (-1: all 32 bits), so the per-pass AND stays integer
    const ib = indexBits(this.np);
    this.priority = new Table({
      name: 'pbm_priority',
      key: [
        { name: 'group', bits: ib, match: 'exact' },
        { name: 'bitmap', bits: this.np, match: 'ternary' },
      ],
      actions: [{ name: 'set_port_idx', params: [{ name: 'idx', bits: ib }] }],
      size: this.np * this.np,
    });
    // Group k: masks for bits k, k+1, ..., k-1 (circular shift); priority np - j (larger wins).
    for (let k = 0; k < this.np; k++) {
      for (let j = 0; j < this.np; j++) {
        const bit = (k + j) % this.np;
        const m = 1n << BigInt(bit);
        this.priority.insert({
          match: { group: { exact: k }, bitmap: { ternary: { value: m, mask: m } } },
          priority: this.np - j,
          action: 'set_port_idx',
          params: { idx: bit },
        });
      }
    }
  }

  objects(): PlacedObject[] {
    return [{ object: this.peerTable }, { object: this.priority, after: ['pbm_peer'] }];
  }

  has(peer: number): boolean {
    return this.peerTable.lookupHandle1(peer) >= 0;
  }

  *peers(): IterableIterator<number> {
    for (const e of this.peerTable.dump()) yield Number(e.match.peer);
  }

  select(peer: number, flowHash: number): PortChoice | undefined {
    const e = this.peerTable.apply1(peer);
    if (!e.hit) return undefined;
    const bm = this.narrow ? this.bitmaps.readNumber(e.handle) : this.bitmaps.read(e.handle);
    const r = this.priority.apply([(flowHash >>> 0) % this.np, bm]);
    if (!r.hit) return undefined;
    const idx = r.params[0] as number;
    return { idx, port: this.basePort + idx };
  }

  apply(u: PeerState): number {
    checkWindow(u, this.np, this.basePort);
    let writes = 0;
    let e = this.peerTable.lookup1(u.peer);
    if (!e.hit) {
      e = this.peerTable.insert({ match: { peer: { exact: u.peer } }, action: 'read_bitmap' });
      writes++;
    } else if (this.bitmaps.read(e.handle) === u.bitmap) return 0;
    this.bitmaps.write(e.handle, u.bitmap);
    return writes + 1;
  }

  remove(peer: number): number {
    if (!this.has(peer)) return 0;
    this.peerTable.delete({ match: { peer: { exact: peer } } });
    return 1;
  }

  checkRecord(r: RecordHead): string | undefined {
    if (!this.has(r.peer)) return `peer ${ipv4(r.peer)} has no pbm_peer entry (add peers through the control plane first)`;
    return checkRecordWindow(r, this.np, this.basePort);
  }

  /** One pass: hit pbm_peer, write its bitmap register (a miss runs NoAction). */
  applyRecord(b: Buffer, at: number): void {
    const h = this.peerTable.applyHandle1(i32(b, at + REC_PEER));
    if (h < 0) return;
    this.cells[h] = i32(b, at + REC_BITMAP_LO) & this.cellMask;
    const hi = this.cellsHi;
    if (hi !== undefined) hi[h] = i32(b, at + REC_BITMAP_HI);
  }

  view(peer: number): Record<string, unknown> | undefined {
    const e = this.peerTable.lookup1(peer);
    if (!e.hit) return undefined;
    const bm = this.bitmaps.read(e.handle);
    return { peer: ipv4(peer), scheme: 'pbm', bitmap: bitString(bm, this.np), handle: e.handle };
  }

  memory(target?: Target): MemoryReport {
    return memoryOf('pbm', this.np, this.capacity, this.objects(), target);
  }
}
