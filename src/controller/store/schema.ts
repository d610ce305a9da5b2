/**
 * The fleet store's data model: key names and the records kept under them
 * (DESIGN §8). The same names and shapes hold for every implementation
 * (Redis, memory); writers outside the controller (agents, the ranker, the
 * AltPath controller) publish through a FleetStore and never spell a key.
 *
 * Keys (Redis; the memory store mirrors them):
 *
 * | key | type | what |
 * | --- | --- | --- |
 * | `ps:hosts` | ZSET | host -> last_seen (ms since the epoch): the heartbeat index the controller polls |
 * | `ps:{HOST}:hb` | HASH | `last_seen`, `state` (HostState JSON) |
 * | `ps:{HOST}:paths` | HASH | peer VTEP -> PeerSummary JSON (per-port detail lives here, never in metric labels) |
 * | `ps:{HOST}:events` | STREAM, MAXLEN ~ 1000 | the host's port and failover events (`type`, `host`, `at`, `data`) |
 * | `ps:events` | STREAM, MAXLEN ~ 10000 | fleet timeline: failovers of every host, AltPath overrides, ranker results; SSE ids are its ids |
 * | `ps:altpath:hb` | HASH | `reporter`, `last_seen`, `meta` (AltPathMeta JSON) of the AltPath controller |
 * | `ps:altpath:routes` | HASH | `PREFIX dscp=N` -> AltPathRoute JSON (replaced as a whole by each report) |
 * | `ps:altpath:overrides` | HASH | PREFIX -> AltPathOverride JSON |
 * | `ps:ranker:results` | STREAM, MAXLEN ~ 100 | ranked mitigations (`data`: RankerRecord JSON) |
 *
 * `{HOST}` is a Redis Cluster hash tag: one host's keys share a slot, so its
 * multi-key writes (MULTI) stay on one node while hosts spread over the
 * cluster. Fleet-wide keys (`ps:hosts`, `ps:events`, AltPath, ranker) are
 * written with separate commands. Every host key expires after
 * HOST_KEY_TTL_MS without a write (a decommissioned host disappears).
 */
import { z } from 'zod';
import { UsageError } from '../../common/errors.js';

export const KEYS = {
  hosts: 'ps:hosts',
  hb: (host: string) => `ps:{${host}}:hb`,
  paths: (host: string) => `ps:{${host}}:paths`,
  hostEvents: (host: string) => `ps:{${host}}:events`,
  events: 'ps:events',
  altpathHb: 'ps:altpath:hb',
  altpathRoutes: 'ps:altpath:routes',
  altpathOverrides: 'ps:altpath:overrides',
  ranker: 'ps:ranker:results',
} as const;

/** Approximate stream lengths (`XADD ... MAXLEN ~ N`). */
export const MAXLEN = { hostEvents: 1000, events: 10_000, ranker: 100 } as const;

/** Host keys expire after a day without a write. */
export const HOST_KEY_TTL_MS = 24 * 3600_000;

/** Host names: what may stand inside a hash tag (no braces, no spaces). */
export const HOST_NAME = /^[A-Za-z0-9_.:@/-]{1,128}$/;

export function checkHostName(host: string): string {
  if (!HOST_NAME.test(host)) throw new UsageError(`fleet host name ${JSON.stringify(host)} is not valid: 1-128 of A-Z a-z 0-9 _ . : @ / -`);
  return host;
}

/** What an agent says about itself every publish interval (`ps:{HOST}:hb` `state`). */
export interface HostState {
  host: string;
  /** Roll-up group of the matrix (leaf/ToR); default the VTEP's /24. */
  group: string;
  vtep: string;
  iface: string;
  version: string;
  process_id: number;
  started_at: string;
  /** Wall clock of this report (ms since the epoch); the data's age is measured from it. */
  last_seen: number;
  /** How often the agent publishes (ms): the controller calls it stale after a few missed reports. */
  interval_ms: number;
  probe_rate_pps: number;
  /** Counters since the agent started. */
  probes_sent: number;
  responses: number;
  lost: number;
  failovers: number;
  peers: number;
  ports_bad: number;
  /** Events waiting in the publisher's buffer (Redis was unreachable) and dropped from it. */
  buffered: number;
  dropped: number;
}

/** One peer as one agent sees it (`ps:{HOST}:paths` field = peer VTEP). */
export interface PeerSummary {
  peer: string;
  state: string;
  base_port: number;
  nports: number;
  /** Bitmaps as hex (`0x...`), bit i = port base_port + i. */
  healthy: string;
  preferred: string;
  /** Port indexes by state. */
  bad: number[];
  suspect: number[];
  unknown: number;
  /** Over the peer's paths: the median and 99th percentile of each port's last RTT (ms). */
  rtt_p50_ms: number | null;
  rtt_p99_ms: number | null;
  /** Probes that failed / probes sent since the previous report. */
  loss: number;
  probes: number;
  /** When a port of this peer last entered or left the healthy set (ms since the epoch). */
  last_switch: number | null;
  updated: number;
}

/** The detect -> table write -> traffic moved chain of one failover. */
export interface FailoverData {
  peer: string;
  ports_down: number[];
  ports_up: number[];
  healthy_before: number;
  healthy_after: number;
  nports: number;
  /** First failed probe -> table write (ms). */
  detect_ms: number | null;
  /** The map write (ms). */
  write_ms: number;
  /** Table write -> first flow moved by the data plane (ms, sampled every 20 ms), null when no flow moved within the window. */
  moved_ms: number | null;
  /** Pin moves counted by the data plane (all peers of the interface) within the window after the write. */
  flows_moved: number;
}

export interface PortData {
  peer: string;
  port: number;
  idx: number;
  healthy: boolean;
  reason: string;
}

/** Events as written; `at` is ms since the epoch. */
export type FleetEvent =
  | { type: 'failover'; host: string; at: number; data: FailoverData }
  | { type: 'port'; host: string; at: number; data: PortData }
  | { type: 'altpath-override'; host: string; at: number; data: AltPathOverride }
  | { type: 'ranker'; host: string; at: number; data: { id: string; scenario: string; best: string } };

/** An event read back, with its stream id (`ms-seq`). */
export type StoredEvent = FleetEvent & { id: string };

/** Event types that also go to the fleet stream `ps:events` (the rest stay in the host stream). */
export const FLEET_EVENT_TYPES: ReadonlySet<FleetEvent['type']> = new Set(['failover', 'altpath-override', 'ranker']);

/** One alternate route AltPath measures (DESIGN §6), as its controller reports it. */
export interface AltPathRoute {
  prefix: string;
  /** 0 = the BGP best route; an AltPath DSCP value = that alternate table. */
  dscp: number;
  /** 1 = best, 2 = 2nd best, ... */
  rank: number;
  next_hop: string;
  as_path: number[];
  peer_asn: number | null;
  samples: number;
  median_srtt_ms: number | null;
  p90_srtt_ms: number | null;
  retrans_rate: number | null;
  updated: number;
  /** The table it is in: `main` (BGP best), `dscp:N` (an AltPath table), `override` (injected as primary). */
  table?: string;
  /** Default traffic takes it (an override). */
  override?: boolean;
  /** The AltPath controller's route id (`PREFIX via PEER [AS path]`). */
  route_id?: string;
}

export interface AltPathOverride {
  prefix: string;
  /** The alternate now injected as primary. */
  dscp: number;
  next_hop: string;
  /** Median SRTT gain over the BGP best route (ms). */
  gain_ms: number;
  reason: string;
  at: number;
  /** The override's route id, the BGP best it replaced, when it lapses (ms since the epoch) and both medians. */
  route_id?: string;
  primary_route_id?: string;
  expires_at?: number;
  alt_srtt_ms?: number | null;
  primary_srtt_ms?: number | null;
  alt_samples?: number;
  primary_samples?: number;
}

/** What the AltPath controller says about its report (`ps:altpath:hb` `meta`). */
export interface AltPathMeta {
  /** How often it reports (ms): its data is stale after a few missed reports. */
  interval_ms: number;
  /** Active prefixes it has, and how many of them the report holds (reports are bounded). */
  prefixes: number;
  prefixes_reported: number;
  /** Its cycle (ms), the last cycle's time, DSCP values. */
  cycle_ms?: number;
  last_cycle?: string | null;
  dscps?: number[];
}

export interface AltPathReport {
  reporter: string | null;
  last_seen: number | null;
  meta: AltPathMeta | null;
  routes: AltPathRoute[];
  overrides: AltPathOverride[];
}

/** A ranked set of mitigations (`pathsteer rank --publish`). */
export interface RankerRecord {
  scenario: string;
  comparator: string;
  best: string;
  at: number;
  seconds: number;
  samples: number;
  candidates: Array<{
    rank: number;
    name: string;
    feasible: boolean;
    /** Point estimates in the ranker's units (fct99 s, tput1p/tputAvg bit/s); null when partitioned. */
    fct99: number | null;
    tput1p: number | null;
    tputAvg: number | null;
    note: string;
  }>;
}

/** A Redis URL: `redis://[user:pass@]host[:port][/db]`, `rediss://...` (TLS) or `unix:///path/to.sock`. */
export const RedisUrlSchema = z.string().superRefine((s, ctx) => {
  try {
    parseRedisUrl(s);
  } catch (e) {
    ctx.addIssue({ code: 'custom', message: (e as Error).message });
  }
});

export interface RedisTarget {
  /** TCP host and port, or a Unix socket path. */
  host?: string;
  port?: number;
  path?: string;
  tls: boolean;
  db: number;
  username?: string;
  password?: string;
  /** For logs: the URL without the password. */
  display: string;
}

export function parseRedisUrl(s: string): RedisTarget {
  let u: URL;
  try {
    u = new URL(s);
  } catch {
    throw new UsageError(`not a Redis URL: ${JSON.stringify(s)} (expected redis://host:port, rediss://host:port or unix:///path/redis.sock)`);
  }
  const user = u.username ? decodeURIComponent(u.username) : undefined;
  const password = u.password ? decodeURIComponent(u.password) : undefined;
  const display = (() => {
    const c = new URL(u.href);
    if (c.password) c.password = '***';
    return c.href;
  })();
  if (u.protocol === 'unix:' || u.protocol === 'redis+unix:') {
    if (!u.pathname || u.pathname === '/') throw new UsageError(`Redis URL ${display} names no socket path`);
    const db = Number(u.searchParams.get('db') ?? '0');
    if (!Number.isInteger(db) || db < 0 || db > 15) throw new UsageError(`Redis URL ${display}: db must be 0..15`);
    return { path: decodeURIComponent(u.pathname), tls: false, db, ...(user ? { username: user } : {}), ...(password ? { password } : {}), display };
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') {
    throw new UsageError(`Redis URL ${display}: scheme must be redis:, rediss: or unix:`);
  }
  if (!u.hostname) throw new UsageError(`Redis URL ${display} names no host`);
  const port = u.port ? Number(u.port) : 6379;
  const dbText = u.pathname.replace(/^\//, '');
  const db = dbText === '' ? 0 : Number(dbText);
  if (!Number.isInteger(db) || db < 0 || db > 15) throw new UsageError(`Redis URL ${display}: database must be 0..15, not ${JSON.stringify(dbText)}`);
  return {
    host: u.hostname.replace(/^\[(.*)\]$/, '$1'),
    port,
    tls: u.protocol === 'rediss:',
    db,
    ...(user ? { username: user } : {}),
    ...(password ? { password } : {}),
    display,
  };
}
