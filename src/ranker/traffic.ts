/**
 * Traffic samples (SWARM §3.3 "modeling traffic variability"): a demand
 * matrix is a list of flows <source, destination, size, start> drawn from a
 * Poisson arrival process, the server-to-server communication probabilities
 * and the flow-size distribution. A trace depends only on (seed, sample
 * index), so every candidate mitigation is evaluated on the same traces
 * (common random numbers make the comparison sharper).
 */
import { sampleSize, type SizeCdf } from './cdf.js';
import { hashInts, Rng } from './rng.js';
import type { Topology } from './topology.js';

/** Flows sorted by start time. */
export interface Trace {
  n: number;
  /** Start time, seconds. */
  start: Float64Array;
  /** Size, bytes. */
  size: Float64Array;
  src: Int32Array;
  dst: Int32Array;
  /** Seed for per-flow transport randomness (protocol, loss-limited and RTT-count quantiles). */
  seed: number;
}

/** Server-pair selection. Server ids are node ids 0..nServers-1. */
export type PairModel =
  | { kind: 'uniform' }
  | { kind: 'servers'; src: Float64Array; dst: Float64Array }
  | { kind: 'pairs'; src: Int32Array; dst: Int32Array; weight: Float64Array };

export interface TrafficModel {
  /** Flow arrivals per second over the whole network. */
  arrivalRate: number;
  durationS: number;
  cdf: SizeCdf;
  pairs: PairModel;
}

/** Vose's alias table for O(1) sampling from a discrete distribution. */
export class AliasTable {
  readonly prob: Float64Array;
  readonly alias: Int32Array;
  constructor(weights: ArrayLike<number>) {
    const n = weights.length;
    this.prob = new Float64Array(n);
    this.alias = new Int32Array(n);
    let sum = 0;
    for (let i = 0; i < n; i++) sum += weights[i]!;
    const scaled = new Float64Array(n);
    for (let i = 0; i < n; i++) scaled[i] = (weights[i]! * n) / sum;
    const small: number[] = [];
    const large: number[] = [];
    for (let i = 0; i < n; i++) (scaled[i]! < 1 ? small : large).push(i);
    while (small.length && large.length) {
      const s = small.pop()!;
      const l = large.pop()!;
      this.prob[s] = scaled[s]!;
      this.alias[s] = l;
      scaled[l] = scaled[l]! + scaled[s]! - 1;
      (scaled[l]! < 1 ? small : large).push(l);
    }
    for (const i of large) this.prob[i] = 1;
    for (const i of small) this.prob[i] = 1;
  }
  sample(u: number): number {
    const n = this.prob.length;
    const x = u * n;
    const i = Math.min(n - 1, Math.floor(x));
    return x - i < this.prob[i]! ? i : this.alias[i]!;
  }
}

/** Generate traffic sample `k` for `seed`. */
export function generateTrace(m: TrafficModel, topo: Topology, seed: number, k: number): Trace {
  const rng = new Rng('trace', seed, k);
  const expected = m.arrivalRate * m.durationS;
  const cap = Math.max(16, Math.ceil(expected + 6 * Math.sqrt(expected) + 16));
  let start = new Float64Array(cap);
  let n = 0;
  let t = 0;
  for (;;) {
    t += rng.exp(m.arrivalRate);
    if (t >= m.durationS) break;
    if (n === start.length) {
      const s2 = new Float64Array(n * 2);
      s2.set(start);
      start = s2;
    }
    start[n++] = t;
  }
  start = start.slice(0, n);
  const size = new Float64Array(n);
  const src = new Int32Array(n);
  const dst = new Int32Array(n);
  const S = topo.nServers;
  const p = m.pairs;
  const srcAlias = p.kind === 'servers' ? new AliasTable(p.src) : null;
  const dstAlias = p.kind === 'servers' ? new AliasTable(p.dst) : null;
  const pairAlias = p.kind === 'pairs' ? new AliasTable(p.weight) : null;
  for (let i = 0; i < n; i++) {
    size[i] = sampleSize(m.cdf, rng.next());
    if (p.kind === 'uniform') {
      const a = rng.int(S);
      let b = rng.int(S - 1);
      if (b >= a) b++;
      src[i] = a;
      dst[i] = b;
    } else if (p.kind === 'servers') {
      const a = srcAlias!.sample(rng.next());
      let b = dstAlias!.sample(rng.next());
      for (let tries = 0; b === a && tries < 32; tries++) b = dstAlias!.sample(rng.next());
      if (b === a) b = (a + 1) % S;
      src[i] = a;
      dst[i] = b;
    } else {
      const j = pairAlias!.sample(rng.next());
      src[i] = p.src[j]!;
      dst[i] = p.dst[j]!;
    }
  }
  return { n, start, size, src, dst, seed: hashInts(seed, k, 0x7a11) };
}

/**
 * Move the traffic of servers under drained ToRs (SWARM Table 2 "move
 * traffic, e.g. by changing VM placement"): the rack's VMs are spread over the
 * servers outside the drained racks, so each of its flows lands on one of them
 * picked by a hash of (seed, flow) — the same move in every sample and for every
 * candidate. Returns the trace unchanged when nothing is drained.
 */
export function moveDrainedTraffic(tr: Trace, topo: Topology, drained: Uint8Array, seed: number): Trace {
  let any = false;
  for (const t of topo.tors) if (drained[t]) any = true;
  if (!any) return tr;
  const keep: number[] = [];
  for (let s = 0; s < topo.nServers; s++) if (!drained[topo.serverTor[s]!]) keep.push(s);
  if (keep.length < 2) return tr;
  const moved = (s: number): boolean => drained[topo.serverTor[s]!] === 1;
  const src = new Int32Array(tr.n);
  const dst = new Int32Array(tr.n);
  for (let i = 0; i < tr.n; i++) {
    const a = moved(tr.src[i]!) ? keep[hashInts(seed, tr.seed, i, 0xd4a1) % keep.length]! : tr.src[i]!;
    let b = moved(tr.dst[i]!) ? keep[hashInts(seed, tr.seed, i, 0xd4a2) % keep.length]! : tr.dst[i]!;
    if (a === b) b = keep[(keep.indexOf(a) + 1) % keep.length]!;
    src[i] = a;
    dst[i] = b;
  }
  return { ...tr, src, dst };
}
