/**
 * The one interface every fleet store implements (Redis in redis.ts, memory in
 * memory.ts; test/unit/fleet-store.test.ts runs the same contract suite on
 * both). Writers: agents' publishers (publishHost, addEvents), the ranker
 * (addRankerResult), the AltPath controller (putAltPath*). Reader: the
 * controller. Records and key names are in schema.ts.
 */
import type { AltPathMeta, AltPathOverride, AltPathReport, AltPathRoute, FleetEvent, HostState, PeerSummary, RankerRecord, StoredEvent } from './schema.js';

/** One host as the controller reads it. */
export interface HostSnapshot {
  host: string;
  /** From the heartbeat index (ms since the epoch). */
  last_seen: number;
  /** null when the index names a host whose keys expired or were never written. */
  state: HostState | null;
  peers: PeerSummary[];
}

export interface FleetStore {
  readonly kind: 'redis' | 'memory';
  /** Where it stores (a URL without password, or `memory`). */
  readonly target: string;

  /** Heartbeat and path summaries of one host (one atomic write per host); `removed` peers are deleted. */
  publishHost(state: HostState, peers: readonly PeerSummary[], removed?: readonly string[]): Promise<void>;
  /** Append events: each to its host's stream, and failovers/overrides/ranker to the fleet stream. Returns the fleet or host stream id of each. */
  addEvents(events: readonly FleetEvent[]): Promise<string[]>;
  /** Replace the AltPath route table (and the reporter's heartbeat, with `meta` when given). */
  putAltPathRoutes(reporter: string, routes: readonly AltPathRoute[], at?: number, meta?: AltPathMeta): Promise<void>;
  /** Record an override (and an `altpath-override` event on the timeline); returns the event id. */
  putAltPathOverride(reporter: string, o: AltPathOverride): Promise<string>;
  clearAltPathOverride(prefix: string): Promise<void>;
  /** Append a ranked result (and a `ranker` event on the timeline); returns its stream id. */
  addRankerResult(r: RankerRecord, publisher?: string): Promise<string>;
  /** Delete a host's keys and its index entry. */
  forgetHost(host: string): Promise<void>;

  /** Every host of the heartbeat index with its state and peers. */
  hosts(): Promise<HostSnapshot[]>;
  host(host: string): Promise<HostSnapshot | undefined>;
  /** Fleet events with id > `after`, oldest first, at most `count`. */
  eventsAfter(after: string, count: number): Promise<StoredEvent[]>;
  /** The newest `count` fleet events (optionally with id < `before`), oldest first. */
  recentEvents(count: number, before?: string): Promise<StoredEvent[]>;
  /** The newest `count` events of one host (ports and failovers), oldest first. */
  hostEvents(host: string, count: number): Promise<StoredEvent[]>;
  /** Like eventsAfter, but waits up to `blockMs` for the first one (XREAD BLOCK). */
  waitEvents(after: string, count: number, blockMs: number): Promise<StoredEvent[]>;
  /** Id of the newest fleet event, `0-0` when there is none. */
  lastEventId(): Promise<string>;
  altPath(): Promise<AltPathReport>;
  /** The newest `count` ranker results, newest first. */
  rankerResults(count: number): Promise<Array<RankerRecord & { id: string }>>;

  /** Round trip to the store (ms); throws when it is unreachable. */
  ping(): Promise<number>;
  /** Whether the store can take commands right now (Redis connected). */
  readonly connected: boolean;
  close(): Promise<void>;
}

/** Compare stream ids `ms-seq` (as Redis orders them). */
export function compareIds(a: string, b: string): number {
  const [am, as] = a.split('-').map(Number) as [number, number];
  const [bm, bs] = b.split('-').map(Number) as [number, number];
  return am !== bm ? am - bm : (as ?? 0) - (bs ?? 0);
}

/** A stream id is `ms-seq` (both decimal). */
export const STREAM_ID = /^\d{1,15}-\d{1,15}$/;

/** Flatten an event into stream fields and back. */
export function eventFields(e: FleetEvent): string[] {
  return ['type', e.type, 'host', e.host, 'at', String(e.at), 'data', JSON.stringify(e.data)];
}

export function eventFromFields(id: string, f: readonly string[]): StoredEvent | undefined {
  const m = new Map<string, string>();
  for (let i = 0; i + 1 < f.length; i += 2) m.set(f[i]!, f[i + 1]!);
  const type = m.get('type');
  const host = m.get('host');
  const at = Number(m.get('at'));
  let data: unknown;
  try {
    data = JSON.parse(m.get('data') ?? 'null');
  } catch {
    return undefined;
  }
  if (!type || host === undefined || !Number.isFinite(at) || data === null) return undefined;
  return { id, type, host, at, data } as StoredEvent;
}

/** The field an AltPath route is kept under. */
export function altPathRouteField(r: Pick<AltPathRoute, 'prefix' | 'dscp'>): string {
  return `${r.prefix} dscp=${r.dscp}`;
}
