/**
 * Probe frequency control (ZooRoute §4.2):
 *
 *  - CpuBackoff (source side): exponential backoff of the probe interval when
 *    more than 7 of the last 10 CPU samples exceed 80% while the probe rate is at
 *    least `minRatePps` (ZooRoute: 30 kpps; configurable, because one Node
 *    agent sustains about 20k probes/s, so at the paper's floor the backoff
 *    never engages here and socket-drop control covers overload instead); back
 *    to the default rate once all 10 samples are under 70%. Inter-AZ peers keep
 *    priority: they back off at half the exponent.
 *  - SendWindow (source side, Alg. 1): a per-destination window W (probes per
 *    round, at most the peer's port count) grows by one per round answered
 *    with CTL=default; a round with backpressure shrinks it by the number of
 *    BP responses plus lost requests. W > 0 allows W probes per round; W <= 0
 *    means one probe every 2^(1-W) rounds (a round is one probe interval:
 *    every 2^(1-W) s at the default 1 s). W never drops below `min` (-4: one
 *    probe every 32 rounds), so one round of heavy backpressure cannot silence
 *    a peer for hours.
 *  - ResponderBuckets (destination side): per-source tokens; a response sent
 *    without a token carries CTL=BP. The bucket's size (its maximum limit,
 *    ZooRoute §4.2) shrinks as local CPU rises above 50%, to 10% at 100%; the
 *    refill rate is configured (responderRate), so a source that probes
 *    faster than that gets BP whatever the CPU, and a busy responder tolerates
 *    shorter bursts. The in-kernel reflector gets the same limits (limits()).
 */

export interface CpuBackoffOptions {
  /** CPU samples remembered. @default 10 */
  samples: number;
  /** Back off when more than this many samples are above highPct. @default 7 */
  highCount: number;
  /** @default 80 */
  highPct: number;
  /** Restore when all samples are below this. @default 70 */
  lowPct: number;
  /** Only back off when probing at least this many packets/s. @default 30000 */
  minRatePps: number;
  /** Largest backoff exponent (interval x 2^max). @default 6 */
  maxLevel: number;
}

export const DEFAULT_CPU_BACKOFF: CpuBackoffOptions = {
  samples: 10,
  highCount: 7,
  highPct: 80,
  lowPct: 70,
  minRatePps: 30_000,
  maxLevel: 6,
};

export class CpuBackoff {
  private readonly opts: CpuBackoffOptions;
  private readonly window: number[] = [];
  /** Backoff exponent: probe intervals are multiplied by 2^level. */
  level = 0;

  constructor(opts: Partial<CpuBackoffOptions> = {}) {
    this.opts = { ...DEFAULT_CPU_BACKOFF, ...opts };
  }

  /** Add one CPU sample (percent of all cores) with the current probe rate; returns the level. */
  sample(cpuPct: number, probeRatePps: number): number {
    this.window.push(cpuPct);
    if (this.window.length > this.opts.samples) this.window.shift();
    const high = this.window.filter((c) => c > this.opts.highPct).length;
    if (high > this.opts.highCount && probeRatePps >= this.opts.minRatePps) {
      this.level = Math.min(this.level + 1, this.opts.maxLevel);
      // start a fresh observation period so one burst backs off one step
      this.window.length = 0;
    } else if (this.window.length === this.opts.samples && this.window.every((c) => c < this.opts.lowPct)) {
      this.level = 0;
    }
    return this.level;
  }

  /** Interval multiplier for a peer; inter-AZ peers back off at half the exponent. */
  multiplier(interAz: boolean): number {
    return 2 ** (interAz ? Math.floor(this.level / 2) : this.level);
  }
}

export interface SendWindowOptions {
  /** Initial and largest window (probes per round): the peer's port count. */
  max: number;
  /** Smallest window. @default -4 */
  min?: number;
}

export class SendWindow {
  w: number;
  private bp = 0;
  private lost = 0;
  private answered = 0;
  private roundsSkipped = 0;
  /** Responses with CTL=BP and lost requests over the window's life (status). */
  bpTotal = 0;
  lostTotal = 0;

  constructor(private readonly opts: SendWindowOptions) {
    this.w = opts.max;
  }

  /** The largest window (the peer's port count, which grows with a second window). */
  setMax(max: number): void {
    if (max > this.opts.max && this.w === this.opts.max) this.w = max;
    this.opts.max = max;
    if (this.w > max) this.w = max;
  }

  /** The window is below its maximum: the peer pushed back. */
  get reduced(): boolean {
    return this.w < this.opts.max;
  }

  onResponse(ctl: number): void {
    if (ctl & CTL_BP) {
      this.bp++;
      this.bpTotal++;
    } else this.answered++;
  }

  onLoss(): void {
    this.lost++;
    this.lostTotal++;
  }

  /** Close a round (Alg. 1) and return how many probes the next round may send. */
  endRound(): number {
    if (this.bp > 0) this.w = Math.max(this.opts.min ?? -4, this.w - this.bp - this.lost);
    else if (this.answered > 0) this.w = Math.min(this.w + 1, this.opts.max);
    this.bp = 0;
    this.lost = 0;
    this.answered = 0;
    if (this.w > 0) return this.w;
    // W <= 0: one probe every 2^(1-W) rounds
    const every = 2 ** (1 - this.w);
    this.roundsSkipped++;
    if (this.roundsSkipped >= every) {
      this.roundsSkipped = 0;
      return 1;
    }
    return 0;
  }
}

/** CTL values (DESIGN §3). */
export const CTL_DEFAULT = 0;
export const CTL_RST = 1;
export const CTL_BP = 2;
export const CTL_FIN = 4;

export interface TokenBucketOptions {
  /** Tokens added per second per source. @default 2000 */
  ratePerSec: number;
  /** Bucket size at idle CPU. @default 4000 */
  maxTokens: number;
}

/** CPU load factor of a responder's buckets: 1 at <= 50% CPU, down to 0.1 at 100%. */
export function cpuFactor(cpuPct: number): number {
  return cpuPct <= 50 ? 1 : Math.max(0.1, 1 - ((cpuPct - 50) / 50) * 0.9);
}

/** Per-source token buckets for the responder; their size shrinks as local CPU rises. */
export class ResponderBuckets {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  private factor = 1;

  constructor(private readonly opts: TokenBucketOptions = { ratePerSec: 2000, maxTokens: 4000 }) {}

  /** Scale bucket size with CPU: full at <= 50%, down to 10% at 100%. */
  setCpu(cpuPct: number): void {
    this.factor = cpuFactor(cpuPct);
  }

  /** The current per-source limits (what the in-kernel reflector is given too). */
  limits(): { ratePerSec: number; burst: number } {
    return { ratePerSec: this.opts.ratePerSec, burst: Math.max(1, Math.round(this.opts.maxTokens * this.factor)) };
  }

  /** Take a token for a response to `source` at time `nowMs`; returns the CTL to send. */
  take(source: string, nowMs: number): number {
    const size = this.opts.maxTokens * this.factor;
    let b = this.buckets.get(source);
    if (!b) {
      b = { tokens: size, at: nowMs };
      this.buckets.set(source, b);
    }
    b.tokens = Math.min(size, b.tokens + ((nowMs - b.at) / 1000) * this.opts.ratePerSec);
    b.at = nowMs;
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return CTL_DEFAULT;
    }
    return CTL_BP;
  }

  /** Forget sources not heard from since `beforeMs`. */
  prune(beforeMs: number): void {
    for (const [k, b] of this.buckets) if (b.at < beforeMs) this.buckets.delete(k);
  }
}
