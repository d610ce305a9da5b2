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
  /** The packet as this pass sees it (the pipeline's own copy; the program may rewrite it). */
  pkt: Buffer;
  /** 1 for the first pass. */
  pass: number;
  ingressPort: number;
  /** Metadata carried across recirculation (bridged metadata). */
  meta: Record<string, unknown>;
  verdict?: Verdict;
  output?: Buffer;
  reason?: string;
  error?: ProtocolError | GatewaySimError;
  /** Set to re-inject this packet for another pass. */
  recirculate?: Buffer;
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
    const ctx: PassContext = { pkt: Buffer.from(pkt), pass: 0, ingressPort: opts.ingressPort ?? 0, meta: {} };
    for (;;) {
      ctx.pass++;
      this.stats.passes++;
      ctx.verdict = undefined;
      ctx.recirculate = undefined;
      opts.trace?.(ctx.pass, Buffer.from(ctx.pkt));
      try {
        this.program.pass(ctx);
      } catch (e) {
        if (!(e instanceof ProtocolError || e instanceof GatewaySimError)) throw e;
        ctx.verdict = 'drop';
        ctx.error = e;
        ctx.reason = e.message;
      }
      if (ctx.recirculate && !ctx.verdict) {
        if (ctx.pass >= this.maxPasses) {
          ctx.verdict = 'drop';
          ctx.reason = `recirculation limit of ${this.maxPasses} passes reached`;
        } else {
          this.stats.recirculations++;
          ctx.pkt = ctx.recirculate;
          continue;
        }
      }
      const verdict = ctx.verdict ?? 'drop';
      if (verdict === 'drop') this.stats.drops++;
      return {
        verdict,
        ...(ctx.output && verdict !== 'drop' ? { output: ctx.output } : {}),
        passes: ctx.pass,
        ...(ctx.reason ? { reason: ctx.reason } : ctx.verdict ? {} : { reason: 'no verdict' }),
        ...(ctx.error ? { error: ctx.error } : {}),
        meta: ctx.meta,
      };
    }
  }
}
