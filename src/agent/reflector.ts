/**
 * The agent's side of the in-kernel reflector (bpf/include/helpers/reflect.h)
 * and of the middlebox role's source-port learning: ps_reflect[0] (switches,
 * backend id, per-source bucket rate and size, rewritten every second as CPU
 * moves) and ps_reflect_src (the sources that negotiated with this agent: the
 * kernel answers only those, so an unknown requester still reaches the agent
 * and gets CTL=RST). Behind an interface so the Agent runs on fakes in unit tests.
 */
import { PS_REFLECT_MAX_RATE, PS_RF_LEARN, PS_RF_REFLECT, type ReflectTables } from '../maps/reflect.js';

export interface KernelSession {
  peer: string;
  /** CLOCK_MONOTONIC ns of the last request the kernel answered (0: none yet). */
  lastNs: bigint;
  answered: bigint;
  bp: bigint;
}

export interface ReflectorSettings {
  /** Answer telemetry requests in the kernel. */
  reflect: boolean;
  /** Middlebox role: learn peers' ports per tenant flow and answer tenant traffic on them. */
  learn: boolean;
  backendId: number;
  ratePerSec: number;
  burst: number;
}

/** What the agent needs of the kernel side (real: MapReflector; tests: a fake). */
export interface ReflectorStore {
  configure(s: ReflectorSettings): void;
  /** A source negotiated: the kernel may answer it (a fresh, full bucket). Kept if it exists. */
  addSession(peer: string): void;
  removeSession(peer: string): void;
  sessions(): KernelSession[];
}

/** ReflectorStore on the pinned maps of an attached interface. */
export class MapReflector implements ReflectorStore {
  constructor(private readonly t: ReflectTables) {}

  configure(s: ReflectorSettings): void {
    this.t.cfg.set(0, {
      backendId: s.backendId,
      flags: (s.reflect ? PS_RF_REFLECT : 0) | (s.learn ? PS_RF_LEARN : 0),
      rate: Math.min(PS_REFLECT_MAX_RATE, Math.max(0, Math.round(s.ratePerSec))),
      burst: Math.max(1, Math.round(s.burst)),
    });
  }

  addSession(peer: string): void {
    if (this.t.sources.get(peer)) return;
    this.t.sources.set(peer, { tokensMilli: 0n, refillNs: 0n, answered: 0n, bp: 0n });
  }

  removeSession(peer: string): void {
    this.t.sources.delete(peer);
  }

  sessions(): KernelSession[] {
    return this.t.sources.getAll().map(([peer, [v]]) => ({ peer, lastNs: v!.refillNs, answered: v!.answered, bp: v!.bp }));
  }
}
