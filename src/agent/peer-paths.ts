/**
 * The slow-path table entry for one peer VTEP (ZooRoute's PathTable_slow row):
 * the health of every candidate source port in its window(s), which ports
 * answer from which middlebox backend, and the fast-table entry
 * (`struct ps_path_entry`) derived from them.
 *
 *  - window: `nports` ports from `basePort`; when more than half of the first
 *    window is bad a second window of the same size is added (bits nports..2n-1,
 *    so flows pinned in the first window keep their ports), while 2n <= 64;
 *  - healthy: ports in state good or suspect (partial-probe peers: and the
 *    ports never probed, `optimistic`: only ports carrying traffic are
 *    probed, so the others are assumed usable until the first anomaly has
 *    every port probed);
 *  - preferred: only good ports (never suspect ones, so a flow that must move
 *    lands on a port proven since the failure began); intra-region, the longest
 *    failure-free ones (at or above the median failure-free time; rankings reset
 *    every 30 min); inter-region, the lowest-RTT 10%, a port leaving the set once
 *    its RTT has been rising for 2 min (ZooRoute §8);
 *  - middlebox sensing: ports grouped by the backend id in responses; more than
 *    one backend id makes the peer stateful and the entry carries group masks.
 *    A backend keeps its group index for as long as any port answers from it
 *    (new backends are appended), so the group a flow's hash selects does not
 *    change under it when another backend appears.
 */
import { PS_F_PIN, PS_F_PREFER, PS_F_STATEFUL, PS_MAX_GROUPS, PS_MAX_PORTS, type PathEntry } from '../maps/path-entry.js';
import { DEFAULT_PORT_HEALTH, PortHealth, type HealthVerdict, type PortHealthOptions } from './port-health.js';

export interface PeerPathsOptions {
  /** First candidate source port. @default 10000 (ZooRoute probes from 10,000 up) */
  basePort: number;
  /** Ports per window (Np). @default 32 */
  windowPorts: number;
  /** Pin flows to their port until it fails. @default true */
  pin: boolean;
  /** Peer is in another region/AZ: prefer the lowest-RTT ports (with latencyPreference). @default false */
  interRegion: boolean;
  /** Inter-region peers prefer their lowest-RTT ports (ZooRoute §8); off: the stability ranking as intra-region. @default true */
  latencyPreference: boolean;
  /**
   * Partial-probe mode: ports never probed count as healthy (and preferred,
   * after the proven ones), so the first entry is written without probing
   * every port, and flows spread over the window. @default false
   */
  optimistic: boolean;
  /** Failure-free rankings restart this often (ms). @default 1_800_000 (30 min) */
  rankResetMs: number;
  /** Inter-region: share of healthy ports kept in the low-RTT set. @default 0.1 */
  preferFraction: number;
  /** Inter-region: a preferred port whose RTT rises this long leaves the set (ms). @default 120_000 */
  rttRiseMs: number;
  /** Inter-region: RTT counts as risen above this factor of its RTT at admission. @default 1.1 */
  rttRiseFactor: number;
  health: PortHealthOptions;
}

export const DEFAULT_PEER_PATHS: PeerPathsOptions = {
  basePort: 10000,
  windowPorts: 32,
  pin: true,
  interRegion: false,
  latencyPreference: true,
  optimistic: false,
  rankResetMs: 30 * 60_000,
  preferFraction: 0.1,
  rttRiseMs: 120_000,
  rttRiseFactor: 1.1,
  health: DEFAULT_PORT_HEALTH,
};

interface LowRttMember {
  admittedRtt: number;
  risingSince: number | undefined;
}

/** A port's health changed: what the agent logs, counts and publishes. */
export interface PortChange {
  idx: number;
  port: number;
  healthy: boolean;
  reason: string;
}

export class PeerPaths {
  readonly opts: PeerPathsOptions;
  /** One PortHealth per port index; length = windows * windowPorts. */
  readonly ports: PortHealth[] = [];
  /** Backend id (hex) seen in the latest response per port. */
  readonly backend: Array<string | undefined> = [];
  /** Backend ids in the order first seen: group i of the entry is groupIds[i]. */
  private groupIds: string[] = [];
  private lowRtt = new Map<number, LowRttMember>();
  private lastRankReset: number;

  constructor(
    readonly peer: string,
    now: number,
    opts: Partial<PeerPathsOptions> = {},
  ) {
    this.opts = { ...DEFAULT_PEER_PATHS, ...opts, health: { ...DEFAULT_PEER_PATHS.health, ...opts.health } };
    if (this.opts.windowPorts < 1 || this.opts.windowPorts > PS_MAX_PORTS) {
      throw new RangeError(`windowPorts must be 1..${PS_MAX_PORTS}, got ${this.opts.windowPorts}`);
    }
    if (this.opts.basePort < 1 || this.opts.basePort + this.opts.windowPorts - 1 > 65535) {
      throw new RangeError(`port window ${this.opts.basePort}+${this.opts.windowPorts} does not fit in 1..65535`);
    }
    this.lastRankReset = now;
    this.grow(now, this.opts.windowPorts);
  }

  get nports(): number {
    return this.ports.length;
  }

  get windows(): number {
    return this.ports.length / this.opts.windowPorts;
  }

  portOf(idx: number): number {
    return this.opts.basePort + idx;
  }

  private grow(now: number, n: number): void {
    while (this.ports.length < n) {
      this.ports.push(new PortHealth(now, this.opts.health));
      this.backend.push(undefined);
    }
  }

  /**
   * Record a probe outcome for port index `idx`. Returns the health verdict plus
   * the port changes it caused (including a second window being opened).
   */
  record(
    now: number,
    idx: number,
    outcome: { failed: boolean; rttMs?: number; reprobe?: boolean; backendId?: string },
  ): HealthVerdict & { changes: PortChange[]; windowAdded: boolean } {
    const p = this.ports[idx];
    if (!p) throw new RangeError(`port index ${idx} outside the window of ${this.peer} (${this.nports} ports)`);
    const v = p.record(now, outcome.failed, outcome.rttMs, outcome.reprobe ?? false);
    if (!outcome.failed && outcome.backendId !== undefined) {
      this.backend[idx] = outcome.backendId;
      if (!this.groupIds.includes(outcome.backendId)) {
        // drop backends no port answers from any more, then append (at most 8 groups)
        this.groupIds = this.groupIds.filter((g) => this.backend.includes(g));
        if (this.groupIds.length < PS_MAX_GROUPS) this.groupIds.push(outcome.backendId);
      }
    }
    this.trackRttRise(now, idx);
    const changes: PortChange[] = v.changed
      ? [{ idx, port: this.portOf(idx), healthy: p.healthy, reason: v.reason ?? v.state }]
      : [];
    const windowAdded = this.maybeAddWindow(now);
    return { ...v, changes, windowAdded };
  }

  /** Open a second window when more than half of the first one is bad. */
  private maybeAddWindow(now: number): boolean {
    const n = this.opts.windowPorts;
    if (this.ports.length !== n || 2 * n > PS_MAX_PORTS) return false;
    const bad = this.ports.filter((p) => p.state === 'bad').length;
    if (bad * 2 <= n) return false;
    this.grow(now, 2 * n);
    return true;
  }

  /** Restart failure-free rankings every rankResetMs; returns true if it did. */
  maybeResetRanking(now: number): boolean {
    if (now - this.lastRankReset < this.opts.rankResetMs) return false;
    this.lastRankReset = now;
    for (const p of this.ports) p.resetRanking(now);
    return true;
  }

  healthyMask(): bigint {
    let m = 0n;
    this.ports.forEach((p, i) => {
      if (p.healthy || (this.opts.optimistic && p.state === 'unknown')) m |= 1n << BigInt(i);
    });
    return m;
  }

  /** Ports never probed (partial mode leaves them so until an anomaly). */
  unknownMask(): bigint {
    let m = 0n;
    this.ports.forEach((p, i) => {
      if (p.state === 'unknown') m |= 1n << BigInt(i);
    });
    return m;
  }

  /** Distinct backend ids some port answers from, in the order first seen (at most 8 groups). */
  groups(): string[] {
    return this.groupIds.filter((g) => this.backend.includes(g));
  }

  get stateful(): boolean {
    return this.groups().length > 1;
  }

  preferredMask(now: number): bigint {
    if (this.opts.interRegion && this.opts.latencyPreference) return this.lowRttMask(now);
    // partial mode: proven ports by stability, and the unprobed ones (a flow that must
    // move avoids only suspect and recently failed ports; the burst of the first failure
    // has every port probed before the failed one is confirmed)
    return this.stableMask(now) | (this.opts.optimistic ? this.unknownMask() : 0n);
  }

  /**
   * Good ports (not suspect: a flow that must move goes only to a port proven
   * since the last failure) whose failure-free time is at least their median.
   */
  private stableMask(now: number): bigint {
    const healthy = this.ports.map((p, i) => ({ p, i })).filter(({ p }) => p.state === 'good');
    if (healthy.length === 0) return 0n;
    const ages = healthy.map(({ p }) => now - p.stableSince).sort((a, b) => a - b);
    const median = ages[Math.floor((ages.length - 1) / 2)]!;
    let m = 0n;
    for (const { p, i } of healthy) if (now - p.stableSince >= median) m |= 1n << BigInt(i);
    return m;
  }

  /** Inter-region: note when a low-RTT member's smoothed RTT rose above its admission RTT. */
  private trackRttRise(now: number, idx: number): void {
    const mem = this.lowRtt.get(idx);
    const srtt = this.ports[idx]!.srttMs;
    if (!mem || srtt === undefined) return;
    if (srtt > mem.admittedRtt * this.opts.rttRiseFactor) mem.risingSince ??= now;
    else mem.risingSince = undefined;
  }

  /** Inter-region: sticky set of the lowest-RTT healthy ports. */
  private lowRttMask(now: number): bigint {
    for (const [i, mem] of this.lowRtt) {
      const p = this.ports[i]!;
      const risenTooLong = mem.risingSince !== undefined && now - mem.risingSince >= this.opts.rttRiseMs;
      if (p.state !== 'good' || p.srttMs === undefined || risenTooLong) this.lowRtt.delete(i);
    }
    const healthy = this.ports
      .map((p, i) => ({ p, i }))
      .filter(({ p }) => p.state === 'good' && p.srttMs !== undefined);
    const target = Math.max(1, Math.round(healthy.length * this.opts.preferFraction));
    const candidates = healthy.filter(({ i }) => !this.lowRtt.has(i)).sort((a, b) => a.p.srttMs! - b.p.srttMs!);
    for (const { p, i } of candidates) {
      if (this.lowRtt.size >= target) break;
      this.lowRtt.set(i, { admittedRtt: p.srttMs!, risingSince: undefined });
    }
    let m = 0n;
    for (const i of this.lowRtt.keys()) m |= 1n << BigInt(i);
    return m;
  }

  /** The fast-table entry (`struct ps_path_entry`) for this peer now. */
  entry(now: number): PathEntry {
    const healthy = this.healthyMask();
    const preferred = this.preferredMask(now) & healthy;
    const groups = this.groups();
    const stateful = groups.length > 1;
    const groupMask = new Array<bigint>(PS_MAX_GROUPS).fill(0n);
    if (stateful) {
      this.backend.forEach((b, i) => {
        const g = b === undefined ? -1 : groups.indexOf(b);
        if (g >= 0) groupMask[g]! |= 1n << BigInt(i);
      });
    }
    let flags = 0;
    if (this.opts.pin) flags |= PS_F_PIN;
    if (preferred !== 0n) flags |= PS_F_PREFER;
    if (stateful) flags |= PS_F_STATEFUL;
    return {
      basePort: this.opts.basePort,
      nports: this.nports,
      flags,
      ngroups: stateful ? groups.length : 0,
      healthy,
      preferred,
      groupMask,
    };
  }

  /**
   * Take over the state the data plane kept while no agent ran (fail-static):
   * the window size and the healthy bits, so a restart does not reset health
   * to unknown.
   */
  adopt(now: number, e: PathEntry): void {
    if (e.basePort !== this.opts.basePort) return; // a different window: start fresh
    this.grow(now, Math.min(e.nports, PS_MAX_PORTS));
    this.ports.forEach((p, i) => p.adopt(now, ((e.healthy >> BigInt(i)) & 1n) === 1n));
  }
}
