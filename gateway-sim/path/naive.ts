/**
 * The naive baseline (ZooRoute §7.1's reference): the gateway's hash table keeps
 * one available source port per entry. Entry (peer, slot) for slot 0..Np-1
 * holds the port a flow with hash % Np == slot uses: the first available port at
 * or after the slot (so it picks what PBM and selectPort pick). Np entries per
 * peer, each written over PCIe: the match-action data of a hash table is not
 * writable from the data plane, so this table takes no packet updates.
 */
import type { PlacedObject, Target } from '../p4/resources.js';
import { UpdateRejectedError } from '../p4/errors.js';
import { Table } from '../p4/table.js';
import {
  checkWindow,
  firstSetTable,
  indexBits,
  ipv4,
  memoryOf,
  type MemoryReport,
  type PathTable,
  type PeerState,
  type PortChoice,
  type RecordHead,
} from './types.js';

export interface NaiveOptions {
  /** @default 32 */
  np?: number;
  /** @default 10000 */
  basePort?: number;
  /** Peers the table is sized for (entries = capacity × Np). */
  capacity: number;
}

export class NaivePathTable implements PathTable {
  readonly scheme = 'naive' as const;
  readonly packetUpdates = false;
  readonly np: number;
  readonly basePort: number;
  readonly capacity: number;
  readonly table: Table;
  private readonly known = new Set<number>();

  constructor(o: NaiveOptions) {
    this.np = o.np ?? 32;
    this.basePort = o.basePort ?? 10000;
    this.capacity = o.capacity;
    if (!Number.isInteger(this.np) || this.np < 1 || this.np > 64) throw new UpdateRejectedError(`Np ${this.np} not in 1..64`);
    this.table = new Table({
      name: 'naive_path',
      key: [
        { name: 'peer', bits: 32, match: 'exact' },
        { name: 'slot', bits: indexBits(this.np), match: 'exact' },
      ],
      actions: [{ name: 'set_sport', params: [{ name: 'port', bits: 16 }] }, { name: 'keep_sport' }],
      size: o.capacity * this.np,
    });
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
    const r = this.table.apply([peer, (flowHash >>> 0) % this.np]);
    if (r.action !== 'set_sport') return undefined;
    const port = r.params[0] as number;
    return { idx: port - this.basePort, port };
  }

  apply(u: PeerState): number {
    checkWindow(u, this.np, this.basePort);
    const first = firstSetTable(u.bitmap, this.np);
    let writes = 0;
    for (let s = 0; s < this.np; s++) {
      const i = first[s]!;
      const e = i >= 0
        ? { match: { peer: { exact: u.peer }, slot: { exact: s } }, action: 'set_sport', params: { port: this.basePort + i } }
        : { match: { peer: { exact: u.peer }, slot: { exact: s } }, action: 'keep_sport' };
      const old = this.table.get(e);
      if (old && old.action === e.action && (old.params[0] ?? -1) === (i >= 0 ? this.basePort + i : -1)) continue;
      if (old) this.table.modify(e);
      else this.table.insert(e);
      writes++;
    }
    this.known.add(u.peer);
    return writes;
  }

  remove(peer: number): number {
    if (!this.known.delete(peer)) return 0;
    for (let s = 0; s < this.np; s++) this.table.delete({ match: { peer: { exact: peer }, slot: { exact: s } } });
    return this.np;
  }

  checkRecord(_r: RecordHead): string | undefined {
    return 'the naive table keeps ports in hash-table entries, which only the control plane (PCIe) can write';
  }

  applyRecord(): void {
    throw new UpdateRejectedError('the naive table takes no packet updates');
  }

  view(peer: number): Record<string, unknown> | undefined {
    if (!this.known.has(peer)) return undefined;
    const slots = Array.from({ length: this.np }, (_, s) => {
      const r = this.table.lookup([peer, s]);
      return r.action === 'set_sport' ? (r.params[0] as number) : null;
    });
    return { peer: ipv4(peer), scheme: 'naive', ports: slots };
  }

  memory(target?: Target): MemoryReport {
    return memoryOf('naive', this.np, this.capacity, this.objects(), target);
  }
}
