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
import { RegisterArray } from '../p4/register.js';
import type { PlacedObject } from '../p4/resources.js';
import { Table } from '../p4/table.js';
import { i32 } from '../packet.js';
import { peerTable, RegisterPathTable } from './base.js';
import {
  bitString,
  cellWidth,
  checkWindow,
  indexBits,
  ipv4,
  REC_BITMAP_HI,
  REC_BITMAP_LO,
  REC_PEER,
  type PathTable,
  type PeerState,
  type PortChoice,
} from './types.js';

export interface PbmOptions {
  /** Ports per peer window (groups and masks per group). @default 64 (G-G) */
  np?: number;
  /** @default 10000 */
  basePort?: number;
  /** Peers the tables are sized for. */
  capacity: number;
}

export class PbmPathTable extends RegisterPathTable implements PathTable {
  readonly scheme = 'pbm' as const;
  readonly packetUpdates = true;
  readonly peerTable: Table;
  readonly bitmaps: RegisterArray;
  readonly priority: Table;
  private readonly narrow: boolean;
  /** pbm_bitmap's cells (low halves when Np > 32) and high halves, for the per-pass path. */
  private readonly cells: Uint32Array;
  private readonly cellsHi: Uint32Array | undefined;
  private readonly cellMask: number;

  constructor(o: PbmOptions) {
    super(o, 64, true);
    this.narrow = this.np <= 32;
    this.peerTable = peerTable('pbm_peer', { name: 'read_bitmap' }, o.capacity);
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
    const e = this.peerEntry(u.peer);
    if (!e.added && this.bitmaps.read(e.handle) === u.bitmap) return 0;
    this.bitmaps.write(e.handle, u.bitmap);
    return e.added ? 2 : 1;
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
}
