/**
 * The naive baseline (ZooRoute §7.1's reference): the gateway's hash table keeps
 * one available source port per entry. Entry (peer, slot) for slot 0..Np-1
 * holds the port a flow with hash % Np == slot uses: the first available port at
 * or after the slot (so it picks what PBM and selectPort pick). Np entries per
 * peer, each written over PCIe: the match-action data of a hash table is not
 * writable from the data plane, so this table takes no packet updates.
 */
import type { PlacedObject } from '../p4/resources.js';
import { UpdateRejectedError } from '../p4/errors.js';
import type { Table } from '../p4/table.js';
import { deletePortSlots, PathTableBase, portSlotTable, slotChoice, slotPort, writePortSlot } from './base.js';
import { checkWindow, firstSetTable, indexBits, ipv4, type PathTable, type PeerState, type PortChoice, type RecordHead } from './types.js';

export interface NaiveOptions {
  /** @default 32 */
  np?: number;
  /** @default 10000 */
  basePort?: number;
  /** Peers the table is sized for (entries = capacity × Np). */
  capacity: number;
}

export class NaivePathTable extends PathTableBase implements PathTable {
  readonly scheme = 'naive' as const;
  readonly packetUpdates = false;
  readonly table: Table;
  private readonly known = new Set<number>();

  constructor(o: NaiveOptions) {
    super(o, 32, true);
    this.table = portSlotTable('naive_path', indexBits(this.np), o.capacity * this.np);
  }

  objects(): PlacedObject[] {
    return [{ object: this.table }];
  }

  has(peer: number): boolean {
    return this.known.has(peer);
  }

  peers(): IterableIterator<number> {
    return this.known.values();
  }

  select(peer: number, flowHash: number): PortChoice | undefined {
    return slotChoice(this.table.apply([peer, (flowHash >>> 0) % this.np]), this.basePort);
  }

  apply(u: PeerState): number {
    checkWindow(u, this.np, this.basePort);
    const first = firstSetTable(u.bitmap, this.np);
    let writes = 0;
    for (let s = 0; s < this.np; s++) {
      const i = first[s]!;
      writes += writePortSlot(this.table, u.peer, s, i >= 0 ? this.basePort + i : -1, true);
    }
    this.known.add(u.peer);
    return writes;
  }

  remove(peer: number): number {
    if (!this.known.delete(peer)) return 0;
    return deletePortSlots(this.table, peer, 0, this.np);
  }

  checkRecord(_r: RecordHead): string | undefined {
    return 'the naive table keeps ports in hash-table entries, which only the control plane (PCIe) can write';
  }

  acceptsRecord(): boolean {
    return false;
  }

  applyRecord(): void {
    throw new UpdateRejectedError('the naive table takes no packet updates');
  }

  view(peer: number): Record<string, unknown> | undefined {
    if (!this.known.has(peer)) return undefined;
    const slots = Array.from({ length: this.np }, (_, s) => slotPort(this.table, peer, s));
    return { peer: ipv4(peer), scheme: 'naive', ports: slots };
  }
}
