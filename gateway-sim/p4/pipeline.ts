/**
 * A pipeline runs a program's per-pass logic over a packet, re-injecting it
 * (recirculation) while the program asks for another pass, and reports
 * `{verdict, output, passes}`. The program's tables and registers are fitted
 * into the target when the pipeline is built: a program that does not fit is
 * refused with a ResourceError naming the table.
 */
import { ProtocolError } from '../../src/protocol/errors.js';
import { GatewaySimError } from './errors.js';
import { fit, TOFINO1, type PlacedObject, type ResourceReport, type Target } from './resources.js';

export type Verdict = 'forward' | 'drop' | 'to_cpu';

/** The CPU (PCIe) port's number in this model. */
export const CPU_PORT = 64;

/** State of one pass; the program fills verdict/output or asks to recirculate. */
export interface PassContext {
  /**
   * The buffer holding the packet this pass sees, at pkt[off, off + len): the
   * pipeline's own copy, which the program may rewrite.
   */
  pkt: Buffer;
  /** Where the packet starts in `pkt` (0 on the first pass). */
  off: number;
  /** The packet's length in bytes. */
  len: number;
  /** 1 for the first pass. */
  pass: number;
  ingressPort: number;
  /** Metadata carried across recirculation (bridged metadata). */
  meta: Record<string, unknown>;
  verdict?: Verdict;
  output?: Buffer;
  reason?: string;
  error?: ProtocolError | GatewaySimError;
  /**
   * Set to re-inject a packet for another pass: a new buffer, or `true` for
   * pkt[off, off + len) as the program left it (a deparser that emits fewer
   * bytes than it parsed moves `off` and `len`; the bytes there must be the
   * whole packet the next pass parses).
   */
  recirculate?: Buffer | true;
}

export interface SimResult {
  verdict: Verdict;
  /** The packet as it leaves (forward / to_cpu). */
  output?: Buffer;
  /** Pipeline passes this packet took (1 + recirculations). */
  passes: number;
  reason?: string;
  /** The typed error a rejected packet was dropped with. */
  error?: ProtocolError | GatewaySimError;
  meta: Record<string, unknown>;
}

export interface Program {
  readonly name: string;
  /** Tables and registers in pipeline order (what the resource model places). */
  objects(): readonly PlacedObject[];
  /** One pass through ingress + egress. */
  pass(ctx: PassContext): void;
}

export interface PipelineOptions {
  /** @default TOFINO1 */
  target?: Target;
  /** Recirculations allowed before the packet is dropped. @default 256 */
  maxPasses?: number;
}

export interface PipelineStats {
  packets: number;
  passes: number;
  recirculations: number;
  drops: number;
}

export class Pipeline {
  readonly resources: ResourceReport;
  readonly maxPasses: number;
  readonly stats: PipelineStats = { packets: 0, passes: 0, recirculations: 0, drops: 0 };
  /** The working buffer simulate() copies packets into, and whether a simulate() is using it. */
  private work: Buffer = Buffer.alloc(0);
  private busy = false;

  constructor(
    readonly program: Program,
    opts: PipelineOptions = {},
  ) {
    this.resources = fit(program.objects(), opts.target ?? TOFINO1);
    this.maxPasses = opts.maxPasses ?? 256;
  }

  /**
   * Run one packet to completion. The input buffer is not modified. `trace` sees
   * a copy of the packet as each pass receives it.
   */
  simulate(pkt: Uint8Array, opts: { ingressPort?: number; trace?: (pass: number, pkt: Buffer) => void } = {}): SimResult {
    this.stats.packets++;
    // The pipeline's copy of the packet lives in a buffer it reuses (no allocation per packet);
    // a packet that leaves is copied out of it. (A nested call, from a trace callback, gets its own.)
    const reuse = !this.busy;
    let own: Buffer;
    if (reuse) {
      if (this.work.length < pkt.length) this.work = Buffer.allocUnsafeSlow(Math.max(pkt.length, 2 * this.work.length, 2048));
      own = this.work.subarray(0, pkt.length);
      own.set(pkt);
      this.busy = true;
    } else {
      own = Buffer.from(pkt);
    }
    try {
      return this.run(own, opts);
    } finally {
      if (reuse) this.busy = false;
    }
  }

  private run(own: Buffer, opts: { ingressPort?: number; trace?: (pass: number, pkt: Buffer) => void }): SimResult {
    const ctx: PassContext = { pkt: own, off: 0, len: own.length, pass: 0, ingressPort: opts.ingressPort ?? 0, meta: {} };
    const program = this.program;
    const trace = opts.trace;
    for (;;) {
      ctx.pass++;
      this.stats.passes++;
      ctx.verdict = undefined;
      ctx.recirculate = undefined;
      if (trace) trace(ctx.pass, Buffer.from(ctx.pkt.subarray(ctx.off, ctx.off + ctx.len)));
      try {
        program.pass(ctx);
      } catch (e) {
        if (!(e instanceof ProtocolError || e instanceof GatewaySimError)) throw e;
        ctx.verdict = 'drop';
        ctx.error = e;
        ctx.reason = e.message;
      }
      // (read through a widened type: the program set it, which control-flow narrowing cannot see)
      const next = ctx.recirculate as PassContext['recirculate'];
      if (next && !ctx.verdict) {
        if (ctx.pass >= this.maxPasses) {
          ctx.verdict = 'drop';
          ctx.reason = `recirculation limit of ${this.maxPasses} passes reached`;
        } else {
          this.stats.recirculations++;
          if (next !== true) {
            ctx.pkt = next;
            ctx.off = 0;
            ctx.len = next.length;
          } else if (ctx.off < 0 || ctx.len < 0 || ctx.off + ctx.len > ctx.pkt.length) {
            throw new GatewaySimError(`program ${program.name} recirculated bytes [${ctx.off}, ${ctx.off + ctx.len}) outside its ${ctx.pkt.length}-byte buffer`);
          }
          continue;
        }
      }
      const verdict = ctx.verdict ?? 'drop';
      if (verdict === 'drop') this.stats.drops++;
      const out = ctx.output;
      const r: SimResult = { verdict, passes: ctx.pass, meta: ctx.meta };
      if (out && verdict !== 'drop') r.output = out.buffer === this.work.buffer ? Buffer.from(out) : out;
      if (ctx.reason) r.reason = ctx.reason;
      else if (!ctx.verdict) r.reason = 'no verdict';
      if (ctx.error) r.error = ctx.error;
      return r;
    }
  }
}
