/**
 * Ships samples to the AltPath controller: `POST {controller}/v1/samples`,
 * newline-delimited JSON, in batches (src/altpath/sample.ts is the contract).
 * A bounded buffer holds what is not yet accepted; when the controller is
 * down it fills, and beyond `maxBuffer` the oldest samples are dropped and
 * counted. Failed posts are retried with exponential backoff; the kernel
 * side never waits for any of this (samples queue in the ring buffer and
 * then here).
 */
import type { Logger } from '../../common/logger.js';
import { SAMPLES_PATH, type ConnSample, type SamplesReply } from '../sample.js';

export interface ShipperOptions {
  /** Controller base URL (`http://host:port`); samples go to SAMPLES_PATH under it. */
  controller: string;
  /** Samples per POST. @default 500 */
  batchSize?: number;
  /** Send what is buffered at least this often (ms). @default 1000 */
  flushIntervalMs?: number;
  /** Samples held while undelivered; beyond it the oldest are dropped. @default 10000 */
  maxBuffer?: number;
  /** First retry delay after a failed POST (ms), doubled per failure. @default 500 */
  retryMinMs?: number;
  /** Longest retry delay (ms). @default 30000 */
  retryMaxMs?: number;
  /** Give up on one POST after this long (ms). @default 5000 */
  timeoutMs?: number;
  logger: Logger;
}

export interface ShipperStats {
  /** Samples waiting (not yet accepted or rejected). */
  buffered: number;
  /** Samples the controller accepted. */
  accepted: number;
  /** Samples the controller rejected (bad lines, or a batch refused with 400/413/422). */
  rejected: number;
  /** Samples dropped because the buffer was full (controller down or slow). */
  dropped: number;
  /** POSTs that succeeded. */
  posts: number;
  /** POSTs that failed and will be retried. */
  failures: number;
  /** Consecutive failures right now (0 = delivering). */
  failing: number;
  lastError?: string;
}

interface Entry {
  seq: number;
  line: string;
}

/** HTTP statuses that mean "this body will never be accepted": the batch is dropped, not retried. */
const REFUSED = new Set([400, 413, 422]);

export class SampleShipper {
  private readonly url: string;
  private readonly batchSize: number;
  private readonly maxBuffer: number;
  private readonly retryMinMs: number;
  private readonly retryMaxMs: number;
  private readonly timeoutMs: number;
  private readonly flushIntervalMs: number;
  private readonly log: Logger;
  private buf: Entry[] = [];
  private seq = 0;
  private inFlight: Promise<void> | undefined;
  private retryAt = 0;
  private delayMs = 0;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private readonly s: Omit<ShipperStats, 'buffered'> = { accepted: 0, rejected: 0, dropped: 0, posts: 0, failures: 0, failing: 0 };

  constructor(o: ShipperOptions) {
    this.url = new URL(SAMPLES_PATH, o.controller).toString();
    this.batchSize = o.batchSize ?? 500;
    this.maxBuffer = o.maxBuffer ?? 10_000;
    this.retryMinMs = o.retryMinMs ?? 500;
    this.retryMaxMs = o.retryMaxMs ?? 30_000;
    this.timeoutMs = o.timeoutMs ?? 5000;
    this.flushIntervalMs = o.flushIntervalMs ?? 1000;
    this.log = o.logger;
  }

  /** Where samples go. */
  get target(): string {
    return this.url;
  }

  /** Start the periodic flush. */
  start(): void {
    this.timer ??= setInterval(() => this.pump(), this.flushIntervalMs);
    this.timer.unref();
  }

  /** Queue samples (the oldest are dropped beyond maxBuffer); a full batch is sent right away. */
  push(samples: readonly ConnSample[]): void {
    if (this.stopped) return;
    for (const s of samples) this.buf.push({ seq: ++this.seq, line: JSON.stringify(s) });
    const excess = this.buf.length - this.maxBuffer;
    if (excess > 0) {
      this.buf.splice(0, excess);
      if (this.s.dropped === 0) this.log.warn({ maxBuffer: this.maxBuffer, controller: this.url }, 'sample buffer full: dropping the oldest samples (counted)');
      this.s.dropped += excess;
    }
    if (this.buf.length >= this.batchSize) this.pump();
  }

  stats(): ShipperStats {
    return { buffered: this.buf.length, ...this.s };
  }

  /** Send batches while there are samples, no POST is in flight and no backoff is pending. */
  pump(): void {
    if (this.inFlight || this.buf.length === 0 || Date.now() < this.retryAt) return;
    this.inFlight = this.sendOne().finally(() => {
      this.inFlight = undefined;
      if (!this.stopped && this.buf.length >= this.batchSize && this.s.failing === 0) this.pump();
    });
  }

  private async sendOne(): Promise<void> {
    const batch = this.buf.slice(0, this.batchSize);
    const last = batch[batch.length - 1]!.seq;
    const body = `${batch.map((e) => e.line).join('\n')}\n`;
    try {
      const res = await fetch(this.url, {
        method: 'POST',
        headers: { 'content-type': 'application/x-ndjson' },
        body,
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      const text = await res.text();
      if (res.ok) {
        let reply: Partial<SamplesReply> = {};
        try {
          reply = JSON.parse(text) as SamplesReply;
        } catch {
          reply = {};
        }
        const accepted = typeof reply.accepted === 'number' ? reply.accepted : batch.length;
        const rejected = typeof reply.rejected === 'number' ? reply.rejected : 0;
        this.s.accepted += accepted;
        this.s.rejected += rejected;
        if (rejected > 0) this.log.warn({ rejected, errors: reply.errors?.slice(0, 3) }, 'controller rejected samples');
        this.settle(last);
        this.succeeded();
        return;
      }
      if (REFUSED.has(res.status)) {
        this.s.rejected += batch.length;
        this.log.error({ status: res.status, body: text.slice(0, 200), samples: batch.length }, 'controller refused a batch of samples; dropped');
        this.settle(last);
        this.succeeded();
        return;
      }
      this.failed(`HTTP ${res.status}${text ? `: ${text.slice(0, 120)}` : ''}`);
    } catch (e) {
      const err = e as Error & { cause?: { code?: string; message?: string } };
      this.failed(err.cause?.code ?? err.cause?.message ?? err.message);
    }
  }

  /** Forget every buffered sample up to seq `last` (some may have been dropped meanwhile). */
  private settle(last: number): void {
    let n = 0;
    while (n < this.buf.length && this.buf[n]!.seq <= last) n++;
    this.buf.splice(0, n);
  }

  private succeeded(): void {
    this.s.posts++;
    if (this.s.failing > 0) this.log.info({ controller: this.url, after: this.s.failing }, 'controller reachable again; delivering');
    this.s.failing = 0;
    this.delayMs = 0;
    this.retryAt = 0;
  }

  private failed(reason: string): void {
    this.s.failures++;
    this.s.failing++;
    this.s.lastError = reason;
    this.delayMs = this.delayMs ? Math.min(this.retryMaxMs, this.delayMs * 2) : this.retryMinMs;
    this.retryAt = Date.now() + this.delayMs;
    if (this.s.failing === 1) this.log.warn({ controller: this.url, reason }, 'cannot deliver samples; buffering and retrying');
    // come back when the backoff ends, even if the periodic flush is slower
    if (!this.stopped) setTimeout(() => this.pump(), this.delayMs).unref();
  }

  /**
   * Stop: no more periodic sends; wait for a POST in flight, then try to send
   * what is left (without backoff) for at most `graceMs`.
   */
  async stop(graceMs = 2000): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    const deadline = Date.now() + graceMs;
    while (Date.now() < deadline) {
      if (this.inFlight) {
        await Promise.race([this.inFlight, new Promise((r) => setTimeout(r, Math.max(0, deadline - Date.now())))]);
        continue;
      }
      if (this.buf.length === 0 || this.s.failing > 0) break;
      this.pump();
    }
    this.stopped = true;
  }
}
