/**
 * Health of one candidate source port towards one peer, from the outcomes of
 * its probes (ZooRoute §8 "Balance sensitivity and stability"):
 *
 *  - a failed probe (timeout, or RTT above the threshold) on a port that is not
 *    already bad makes it *suspect* and asks for an immediate re-probe; the port
 *    turns *bad* only if the re-probe fails too (one lost probe is not a switch);
 *  - a port is also bad when `failThreshold` of its last `historySize` probes
 *    failed (3 of 5: intermittent loss);
 *  - a bad port is good again after `recoverAfter` consecutive successes.
 *
 * A suspect port still counts as healthy: flows move only on confirmation.
 * Time is passed in (milliseconds), so the machine is deterministic in tests.
 */

export type PortState = 'unknown' | 'good' | 'suspect' | 'bad';

export interface PortHealthOptions {
  /** Probes remembered for the k-of-n rule. @default 5 */
  historySize: number;
  /** Failures among the remembered probes that make a port bad. @default 3 */
  failThreshold: number;
  /** Consecutive successes that make a bad port good again. @default 3 */
  recoverAfter: number;
}

export const DEFAULT_PORT_HEALTH: PortHealthOptions = { historySize: 5, failThreshold: 3, recoverAfter: 3 };

/** What the caller should do after reporting an outcome. */
export interface HealthVerdict {
  /** Send another probe on this port now (hysteresis re-probe). */
  reprobe: boolean;
  /** The port entered or left the healthy set with this outcome. */
  changed: boolean;
  state: PortState;
  /** Why the state changed, for logs and the event stream. */
  reason?: 'first-success' | 'reprobe-failed' | 'k-of-n' | 'recovered' | 'reprobe-ok';
}

export class PortHealth {
  state: PortState = 'unknown';
  /** Outcomes, newest in bit 0; 1 = failed. */
  private history = 0;
  private historyLen = 0;
  private consecutiveOk = 0;
  /** Start of the current failure-free period (ms); ranks healthy ports. */
  stableSince: number;
  /** When the state last changed (ms). */
  changedAt: number;
  /** When the current run of failures began (the first failed probe after the port was last good), ms; undefined while good. */
  failingSince: number | undefined;
  lastRttMs: number | undefined;
  /** Smoothed RTT (EWMA 1/8, as TCP's SRTT). */
  srttMs: number | undefined;
  probes = 0;
  failures = 0;

  constructor(
    now: number,
    private readonly opts: PortHealthOptions = DEFAULT_PORT_HEALTH,
  ) {
    this.stableSince = now;
    this.changedAt = now;
  }

  get healthy(): boolean {
    return this.state === 'good' || this.state === 'suspect';
  }

  /** Failures among the remembered probes. */
  get recentFailures(): number {
    let n = 0;
    for (let i = 0; i < this.historyLen; i++) n += (this.history >> i) & 1;
    return n;
  }

  /**
   * Record a probe outcome. `failed` is true for a timeout or an RTT above the
   * threshold; `reprobe` marks the immediate second probe of the hysteresis.
   */
  record(now: number, failed: boolean, rttMs?: number, reprobe = false): HealthVerdict {
    const wasHealthy = this.healthy;
    this.probes++;
    this.history = ((this.history << 1) | (failed ? 1 : 0)) & ((1 << this.opts.historySize) - 1);
    this.historyLen = Math.min(this.historyLen + 1, this.opts.historySize);
    if (rttMs !== undefined && !failed) {
      this.lastRttMs = rttMs;
      this.srttMs = this.srttMs === undefined ? rttMs : this.srttMs + (rttMs - this.srttMs) / 8;
    }
    let reason: HealthVerdict['reason'];
    let wantReprobe = false;
    if (failed) {
      this.failures++;
      this.failingSince ??= now;
      this.consecutiveOk = 0;
      this.stableSince = now;
      if (this.state !== 'bad' && this.recentFailures >= this.opts.failThreshold) {
        this.state = 'bad';
        reason = 'k-of-n';
      } else if (this.state === 'suspect' && reprobe) {
        this.state = 'bad';
        reason = 'reprobe-failed';
      } else if (this.state === 'good' || this.state === 'unknown') {
        this.state = 'suspect';
        wantReprobe = true;
      } else if (this.state === 'suspect') {
        // a regular probe failed while a re-probe is outstanding: ask again
        wantReprobe = true;
      }
    } else {
      this.consecutiveOk++;
      if (this.state === 'unknown') {
        this.state = 'good';
        reason = 'first-success';
      } else if (this.state === 'suspect') {
        this.state = 'good';
        reason = 'reprobe-ok';
      } else if (this.state === 'bad' && this.consecutiveOk >= this.opts.recoverAfter) {
        this.state = 'good';
        reason = 'recovered';
      }
    }
    if (this.state === 'good') this.failingSince = undefined;
    const changed = wasHealthy !== this.healthy;
    if (changed) this.changedAt = now;
    return { reprobe: wantReprobe, changed, state: this.state, ...(reason ? { reason } : {}) };
  }

  /** Restart the failure-free clock of a healthy port (ranking reset). */
  resetRanking(now: number): void {
    if (this.stableSince < now) this.stableSince = now;
  }

  /** Adopt a state read back from the data plane after an agent restart. */
  adopt(now: number, healthy: boolean): void {
    this.state = healthy ? 'good' : 'bad';
    this.failingSince = healthy ? undefined : now;
    this.consecutiveOk = 0;
    this.history = 0;
    this.historyLen = 0;
    this.changedAt = now;
    this.stableSince = now;
  }
}
