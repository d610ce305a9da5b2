/**
 * When to send which probe (ZooRoute §4.1). One task per active peer; each round
 * (one probe interval, scaled by CPU backoff) the task probes its ports, spread
 * evenly over the round so a peer never gets a burst:
 *
 *  - full mode: every port of the peer's window(s);
 *  - partial mode: only the ports carrying traffic (`ports_in_use` from the
 *    data plane), switching to full for `fullHoldMs` on the first anomaly;
 *  - the per-destination send window (Alg. 1) caps how many ports a round probes;
 *    ports not probed in one round come first in the next;
 *  - re-probes (hysteresis) go out at once, outside the budget;
 *  - a burst (on the first failure towards a peer) probes every other port of
 *    the peer at once, at most once per interval, so all ports a failure broke
 *    are known by the time the first one is confirmed; never while the peer
 *    pushes back (its window is below its port count).
 *
 * Pure: the caller passes the time and sends what `due()` returns.
 */
import { SendWindow } from './rate-control.js';

export type ProbeMode = 'full' | 'partial';
/** What a task does now: full, partial, or full for a while after an anomaly in partial mode. */
export type RoundMode = 'full' | 'partial' | 'full-after-anomaly';

export interface ProbeTaskOptions {
  /** Probe interval per port (ms). @default 1000 */
  intervalMs: number;
  /** @default 'full' */
  mode: ProbeMode;
  /** After an anomaly, partial mode probes fully for this long (ms). @default 60000 */
  fullHoldMs: number;
}

export interface DueProbe {
  peer: string;
  idx: number;
  reprobe: boolean;
}

interface Task {
  peer: string;
  opts: ProbeTaskOptions;
  nports: number;
  inUse: bigint;
  fullUntil: number;
  window: SendWindow;
  roundStart: number;
  /** Probes of the current round, ascending time. */
  plan: Array<{ at: number; idx: number }>;
  /** Rotation so ports cut by the window go first next round. */
  rotate: number;
  multiplier: number;
  lastBurst: number;
}

export class ProbeScheduler {
  private readonly tasks = new Map<string, Task>();
  private readonly reprobes: DueProbe[] = [];
  /** Global burst budget (probes): bursts may add at most the base probe rate. */
  private burstTokens = Infinity;
  private burstTokensAt = 0;

  constructor(private readonly defaults: ProbeTaskOptions = { intervalMs: 1000, mode: 'full', fullHoldMs: 60_000 }) {}

  get peers(): string[] {
    return [...this.tasks.keys()];
  }

  has(peer: string): boolean {
    return this.tasks.has(peer);
  }

  /** Start (or update) probing a peer with `nports` candidate ports. */
  upsert(peer: string, now: number, nports: number, opts: Partial<ProbeTaskOptions> = {}): void {
    const t = this.tasks.get(peer);
    if (t) {
      const grew = nports > t.nports;
      t.nports = nports;
      t.window.setMax(nports);
      Object.assign(t.opts, opts);
      // a second window opened: probe it now rather than a round later
      if (grew) this.planRound(t, now);
      return;
    }
    this.tasks.set(peer, {
      peer,
      opts: { ...this.defaults, ...opts },
      nports,
      inUse: 0n,
      fullUntil: 0,
      window: new SendWindow({ max: nports }),
      // first round starts now so a new peer is probed at once
      roundStart: now,
      plan: [],
      rotate: 0,
      multiplier: 1,
      lastBurst: -Infinity,
    });
    this.planRound(this.tasks.get(peer)!, now);
  }

  remove(peer: string): void {
    this.tasks.delete(peer);
  }

  /** Ports carrying traffic towards the peer (partial mode). */
  setInUse(peer: string, inUse: bigint, now?: number): void {
    const t = this.tasks.get(peer);
    if (!t) return;
    const first = t.inUse === 0n && inUse !== 0n;
    t.inUse = inUse;
    // traffic got steered onto the window: probe its ports now, not a round later
    if (first && now !== undefined && t.opts.mode === 'partial' && t.plan.length === 0) this.planRound(t, now);
  }

  /** An anomaly towards the peer: partial mode probes every port for a while. */
  anomaly(peer: string, now: number): void {
    const t = this.tasks.get(peer);
    if (t) t.fullUntil = now + t.opts.fullHoldMs;
  }

  /** Interval multiplier from CPU backoff for a peer. */
  setMultiplier(peer: string, m: number): void {
    const t = this.tasks.get(peer);
    if (t) t.multiplier = m;
  }

  window(peer: string): SendWindow | undefined {
    return this.tasks.get(peer)?.window;
  }

  reprobe(peer: string, idx: number): void {
    if (this.tasks.has(peer)) this.reprobes.push({ peer, idx, reprobe: true });
  }

  /**
   * Probe every port of `peer` except `except` now (queued before any re-probe
   * queued after this call). At most once per interval per peer, and within a
   * global budget of one base rate; says what it did.
   */
  burst(peer: string, now: number, except: number): 'fired' | 'recent' | 'budget' | 'backpressure' {
    const t = this.tasks.get(peer);
    if (!t || now - t.lastBurst < t.opts.intervalMs * t.multiplier) return 'recent';
    if (t.window.reduced) return 'backpressure';
    // refill: the base probe rate of all tasks (probes/ms), up to one second of it
    let rate = 0;
    for (const x of this.tasks.values()) rate += x.nports / (x.opts.intervalMs * x.multiplier);
    const cap = Math.max(64, rate * 1000);
    this.burstTokens = Math.min(cap, this.burstTokens === Infinity ? cap : this.burstTokens + rate * (now - this.burstTokensAt));
    this.burstTokensAt = now;
    if (this.burstTokens < t.nports - 1) return 'budget';
    this.burstTokens -= t.nports - 1;
    t.lastBurst = now;
    for (let i = 0; i < t.nports; i++) if (i !== except) this.reprobes.push({ peer, idx: i, reprobe: false });
    return 'fired';
  }

  /** What the task of `peer` does at `now` (undefined: no task). */
  modeOf(peer: string, now: number): RoundMode | undefined {
    const t = this.tasks.get(peer);
    if (!t) return undefined;
    if (t.opts.mode === 'full') return 'full';
    return now < t.fullUntil ? 'full-after-anomaly' : 'partial';
  }

  /**
   * Ports the task probes this round, before the send window cuts them.
   * Partial mode without ports in use (its traffic is not steered onto the
   * window yet): none; the ports come with the first entry.
   */
  portsFor(t: Task, now: number): number[] {
    const full = t.opts.mode === 'full' || now < t.fullUntil;
    if (!full && t.inUse === 0n) return [];
    const out: number[] = [];
    for (let k = 0; k < t.nports; k++) {
      const i = (k + t.rotate) % t.nports;
      if (full || (t.inUse >> BigInt(i)) & 1n) out.push(i);
    }
    return out;
  }

  private planRound(t: Task, start: number): void {
    const interval = t.opts.intervalMs * t.multiplier;
    const budget = t.window.endRound();
    const ports = this.portsFor(t, start);
    const chosen = ports.slice(0, Math.max(0, budget));
    t.rotate = chosen.length < ports.length ? (t.rotate + chosen.length) % Math.max(1, t.nports) : t.rotate;
    const step = chosen.length > 0 ? interval / chosen.length : interval;
    t.plan = chosen.map((idx, k) => ({ at: start + k * step, idx }));
    t.roundStart = start;
  }

  /** Probes due at `now`: re-probes first, then planned ones. */
  due(now: number): DueProbe[] {
    const out = this.reprobes.splice(0);
    for (const t of this.tasks.values()) {
      const interval = t.opts.intervalMs * t.multiplier;
      // catch up at most one round late; never replay a backlog of rounds
      if (now - t.roundStart >= interval) {
        for (const p of t.plan) out.push({ peer: t.peer, idx: p.idx, reprobe: false });
        t.plan = [];
        const late = now - t.roundStart >= 2 * interval;
        this.planRound(t, late ? now : t.roundStart + interval);
      }
      while (t.plan.length > 0 && t.plan[0]!.at <= now) {
        out.push({ peer: t.peer, idx: t.plan.shift()!.idx, reprobe: false });
      }
    }
    return out;
  }

  /** When the next planned probe is due (ms), for timer scheduling. */
  nextDue(): number {
    if (this.reprobes.length > 0) return -Infinity;
    let next = Infinity;
    for (const t of this.tasks.values()) {
      const at = t.plan[0]?.at ?? t.roundStart + t.opts.intervalMs * t.multiplier;
      if (at < next) next = at;
    }
    return next;
  }
}
