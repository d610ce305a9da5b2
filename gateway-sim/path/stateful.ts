/**
 * Stateful peers (middlebox vIPs, ZooRoute §6): kept uncompressed, with their
 * groups, because a flow must keep to the ports that reach its middlebox
 * instance. Like the naive table, each entry holds one source port, precomputed
 * by the control plane for a residue of the flow hash:
 *
 *   stateful_peer  exact(peer:32)            -> span L = lcm(ngroups, Np)
 *   stateful_path  exact(peer:32, slot:10)   -> the port for hash % L == slot
 *
 * With L a multiple of both ngroups and Np, hash % L fixes both the group
 * (hash % ngroups) and the start slot (hash % Np), so the stored port is exactly
 * the host's selectPort choice: the first port of `available & group mask` at or
 * after the start slot, falling back to any available port when the group has
 * none. Entries are match data: control plane (PCIe) only.
 */
import type { PlacedObject } from '../p4/resources.js';
import { UpdateRejectedError } from '../p4/errors.js';
import type { Table } from '../p4/table.js';
import { deletePortSlots, PeerKeyedPathTable, peerTable, portSlotTable, slotChoice, slotPort, writePortSlot } from './base.js';
import { checkWindow, firstSetFrom, ipv4, type PathTable, type PeerState, type PortChoice, type RecordHead } from './types.js';

export const PS_F_STATEFUL = 1;
const MAX_GROUPS = 8;
const SLOT_BITS = 10;

export interface StatefulOptions {
  /** @default 32 */
  np?: number;
  /** @default 10000 */
  basePort?: number;
  /** vIPs the tables are sized for. */
  capacity: number;
  /** Entries of stateful_path. @default capacity × Np (vIPs whose group count divides Np) */
  entries?: number;
}

function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}

export class StatefulPathTable extends PeerKeyedPathTable implements PathTable {
  readonly scheme = 'stateful' as const;
  readonly packetUpdates = false;
  readonly peerTable: Table;
  readonly pathTable: Table;

  constructor(o: StatefulOptions) {
    super(o, 32, false);
    this.peerTable = peerTable('stateful_peer', { name: 'set_span', params: [{ name: 'span', bits: SLOT_BITS }] }, o.capacity);
    this.pathTable = portSlotTable('stateful_path', SLOT_BITS, o.entries ?? o.capacity * this.np);
  }

  /** Entries a vIP with this many groups takes: lcm(ngroups, Np). */
  span(ngroups: number): number {
    const g = Math.max(1, Math.min(ngroups, MAX_GROUPS));
    return (g * this.np) / gcd(g, this.np);
  }

  objects(): PlacedObject[] {
    return [{ object: this.peerTable }, { object: this.pathTable, after: ['stateful_peer'] }];
  }

  select(peer: number, flowHash: number): PortChoice | undefined {
    const p = this.peerTable.apply1(peer);
    if (!p.hit) return undefined;
    return slotChoice(this.pathTable.apply([peer, (flowHash >>> 0) % (p.params[0] as number)]), this.basePort);
  }

  apply(u: PeerState): number {
    checkWindow(u, this.np, this.basePort);
    const stateful = (u.flags & PS_F_STATEFUL) !== 0 && (u.ngroups ?? 0) > 0;
    const ngroups = stateful ? Math.min(u.ngroups!, MAX_GROUPS) : 1;
    if (stateful && (!Array.isArray(u.groupMask) || u.groupMask.length < ngroups)) {
      throw new UpdateRejectedError(`stateful peer ${ipv4(u.peer)} needs ${ngroups} group masks`);
    }
    const L = this.span(ngroups);
    let writes = 0;
    const old = this.peerTable.lookup1(u.peer);
    const oldL = old.hit ? (old.params[0] as number) : 0;
    if (!old.hit && this.peerTable.count >= this.capacity) throw new UpdateRejectedError(`stateful_peer is full (${this.capacity} vIPs)`);
    for (let r = 0; r < L; r++) {
      let c = u.bitmap;
      if (stateful) {
        const inGroup = u.bitmap & (u.groupMask![r % ngroups] ?? 0n);
        if (inGroup !== 0n) c = inGroup;
      }
      const i = firstSetFrom(c, r % this.np, this.np);
      writes += writePortSlot(this.pathTable, u.peer, r, i >= 0 ? this.basePort + i : -1, r < oldL);
    }
    writes += deletePortSlots(this.pathTable, u.peer, L, oldL);
    if (oldL !== L) {
      this.peerTable.upsert({ match: { peer: { exact: u.peer } }, action: 'set_span', params: { span: L } });
      writes++;
    }
    return writes;
  }

  remove(peer: number): number {
    const p = this.peerTable.lookup1(peer);
    if (!p.hit) return 0;
    const writes = deletePortSlots(this.pathTable, peer, 0, p.params[0] as number);
    this.peerTable.delete({ match: { peer: { exact: peer } } });
    return writes + 1;
  }

  checkRecord(r: RecordHead): string | undefined {
    return `peer ${ipv4(r.peer)} is a stateful vIP; its uncompressed entries are written by the control plane (PCIe) only`;
  }

  acceptsRecord(): boolean {
    return false;
  }

  applyRecord(): void {
    throw new UpdateRejectedError('stateful vIPs take no packet updates');
  }

  view(peer: number): Record<string, unknown> | undefined {
    const p = this.peerTable.lookup1(peer);
    if (!p.hit) return undefined;
    const L = p.params[0] as number;
    return {
      peer: ipv4(peer),
      scheme: 'stateful',
      span: L,
      ports: Array.from({ length: L }, (_, r) => slotPort(this.pathTable, peer, r)),
    };
  }
}
