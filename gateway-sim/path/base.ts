/**
 * What the path tables have in common, written once:
 *
 *   PathTableBase       the window (Np, base port) and capacity every scheme is
 *                       sized by, and its memory report;
 *   PeerKeyedPathTable  schemes whose first stage is an exact(peer:32) table
 *                       (PBM, HI, stateful): membership and the peer list;
 *   RegisterPathTable   schemes whose per-peer state is direct registers of
 *                       that table (PBM, HI): the peer entry the control plane
 *                       adds, its removal, and which records a pass accepts;
 *   port slots          the exact(peer, slot) -> set_sport / keep_sport entries
 *                       of the one-port-per-entry schemes (naive, stateful).
 */
import { UpdateRejectedError } from '../p4/errors.js';
import type { PlacedObject, Target } from '../p4/resources.js';
import { type ActionDef, type ActionRef, Table } from '../p4/table.js';
import { i32, u16 } from '../packet.js';
import { checkRecordWindow, ipv4, memoryOf, REC_BASE, REC_NPORTS, REC_PEER, type MemoryReport, type PortChoice, type RecordHead, type Scheme } from './types.js';

/** Options every scheme takes (each scheme's own interface documents its defaults). */
export interface WindowOptions {
  np?: number;
  basePort?: number;
  capacity: number;
}

export abstract class PathTableBase {
  abstract readonly scheme: Scheme;
  readonly np: number;
  readonly basePort: number;
  readonly capacity: number;

  /** Np defaults to defaultNp and the base port to 10000; with checkNp, Np must be 1..64. */
  protected constructor(o: WindowOptions, defaultNp: number, checkNp: boolean) {
    this.np = o.np ?? defaultNp;
    this.basePort = o.basePort ?? 10000;
    this.capacity = o.capacity;
    if (checkNp && (!Number.isInteger(this.np) || this.np < 1 || this.np > 64)) throw new UpdateRejectedError(`Np ${this.np} not in 1..64`);
  }

  /** Tables and registers in pipeline order. */
  abstract objects(): PlacedObject[];

  memory(target?: Target): MemoryReport {
    return memoryOf(this.scheme, this.np, this.capacity, this.objects(), target);
  }
}

/** The exact(peer:32) table a scheme starts with: one entry per peer, running `action`. */
export function peerTable(name: string, action: ActionDef, capacity: number): Table {
  return new Table({ name, key: [{ name: 'peer', bits: 32, match: 'exact' }], actions: [action], size: capacity });
}

export abstract class PeerKeyedPathTable extends PathTableBase {
  /** exact(peer:32), built with peerTable(). */
  abstract readonly peerTable: Table;

  has(peer: number): boolean {
    return this.peerTable.lookupHandle1(peer) >= 0;
  }

  *peers(): IterableIterator<number> {
    for (const e of this.peerTable.dump()) yield Number(e.match.peer);
  }
}

export abstract class RegisterPathTable extends PeerKeyedPathTable {
  /**
   * The peer's entry, added (with the peer table's one action) when the
   * control plane writes a peer it does not have yet; `added` says whether it
   * was (one more table write).
   */
  protected peerEntry(peer: number): { handle: number; added: boolean } {
    const e = this.peerTable.lookup1(peer);
    if (e.hit) return { handle: e.handle, added: false };
    const action = this.peerTable.def.actions[0]!.name;
    return { handle: this.peerTable.insert({ match: { peer: { exact: peer } }, action }).handle, added: true };
  }

  /** The entry goes, and its direct registers with it: one table write. */
  remove(peer: number): number {
    if (!this.has(peer)) return 0;
    this.peerTable.delete({ match: { peer: { exact: peer } } });
    return 1;
  }

  /** A pass writes the registers of a peer the control plane added, for the gateway's window. */
  checkRecord(r: RecordHead): string | undefined {
    if (!this.has(r.peer)) return `peer ${ipv4(r.peer)} has no ${this.peerTable.name} entry (add peers through the control plane first)`;
    return checkRecordWindow(r, this.np, this.basePort);
  }

  /** The same rule as checkRecord on the wire bytes: a known peer, the gateway's window. */
  acceptsRecord(b: Buffer, at: number): boolean {
    return b[at + REC_NPORTS] === this.np && u16(b, at + REC_BASE) === this.basePort && this.peerTable.lookupHandle1(i32(b, at + REC_PEER)) >= 0;
  }
}

/** exact(peer:32, slot) -> set_sport(port:16) | keep_sport: one source port per entry. */
export function portSlotTable(name: string, slotBits: number, size: number): Table {
  return new Table({
    name,
    key: [
      { name: 'peer', bits: 32, match: 'exact' },
      { name: 'slot', bits: slotBits, match: 'exact' },
    ],
    actions: [{ name: 'set_sport', params: [{ name: 'port', bits: 16 }] }, { name: 'keep_sport' }],
    size,
  });
}

/**
 * Make (peer, slot) say set_sport(port), or keep_sport for port -1, unless it
 * already does. mayExist false: the entry is known to be absent (not read).
 * Returns the table writes it took (0 or 1).
 */
export function writePortSlot(t: Table, peer: number, slot: number, port: number, mayExist: boolean): number {
  const match = { peer: { exact: peer }, slot: { exact: slot } };
  const e = port >= 0 ? { match, action: 'set_sport', params: { port } } : { match, action: 'keep_sport' };
  const old = mayExist ? t.get(e) : undefined;
  if (old && old.action === e.action && (old.params[0] ?? -1) === port) return 0;
  if (old) t.modify(e);
  else t.insert(e);
  return 1;
}

/** Delete the entries of slots from..to-1 of peer; returns the table writes. */
export function deletePortSlots(t: Table, peer: number, from: number, to: number): number {
  for (let s = from; s < to; s++) t.delete({ match: { peer: { exact: peer }, slot: { exact: s } } });
  return Math.max(0, to - from);
}

/** The choice a port-slot entry makes (keep_sport or a miss: none). */
export function slotChoice(r: ActionRef, basePort: number): PortChoice | undefined {
  if (r.action !== 'set_sport') return undefined;
  const port = r.params[0] as number;
  return { idx: port - basePort, port };
}

/** The port (peer, slot) holds, null for keep_sport or no entry (view). */
export function slotPort(t: Table, peer: number, slot: number): number | null {
  const r = t.lookup([peer, slot]);
  return r.action === 'set_sport' ? (r.params[0] as number) : null;
}
