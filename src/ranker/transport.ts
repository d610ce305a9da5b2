/**
 * Transport tables the estimator reads (SWARM §3.3 and Appendix B):
 *
 * 1. Loss-limited throughput of a long flow, by path drop rate and RTT
 *    (`LossTable`, one per congestion-control protocol). SWARM measures these in
 *    a testbed; we seed them from models and accept measured tables instead:
 *    - cubic (and Reno): the Padhye–Firoiu–Towsley–Kurose steady-state formula
 *      (PFTK, "Modeling TCP Throughput", SIGCOMM'98, eq. 30),
 *        B(p) = 1 / (RTT sqrt(2bp/3) + T0 min(1, 3 sqrt(3bp/8)) p (1 + 32p^2))  segments/s,
 *      with b = 1 and T0 = the minimum RTO. Without the timeout term it is the
 *      Mathis et al. square-root law (CCR 1997). Cubic runs in its TCP-friendly
 *      (Reno) region at data-center bandwidth-delay products, so PFTK applies.
 *    - bbr (v1): BBR paces at its bandwidth estimate and does not back off on
 *      random loss below its ~20% loss threshold (Cardwell et al., "BBR:
 *      Congestion-Based Congestion Control", ACM Queue 2016); below that the flow
 *      is not loss-limited, above it we use PFTK.
 * 2. The number of RTTs a short flow needs (`RttTable`, by size, drop rate and
 *    RTT). Seeded by a Monte Carlo model of slow start: initial window IW
 *    (RFC 6928: 10 segments), the window doubles per loss-free round; a loss with
 *    at least 3 later segments in the round is repaired by fast retransmit (one
 *    extra round, window halved, RFC 5681); a tail loss waits for the
 *    retransmission timer (min RTO, Linux 200 ms, doubling on repeats, RFC 6298);
 *    a lost SYN or SYN-ACK costs the initial RTO (1 s, RFC 6298). Timeouts are
 *    expressed in RTTs of the cell's RTT, like SWARM's measured tables.
 *    Simplifications: no TLP/RACK, no delayed ACKs, no receive-window limit.
 * 3. Queueing delay per link (`QueueModel`): below saturation the M/M/1 mean
 *    wait rho/(1-rho) packet times (Kleinrock, Queueing Systems vol. 1), capped
 *    at the buffer; a link saturated by capacity-limited long flows holds a
 *    standing queue of `standingFraction` of its buffer (loss-based TCP keeps a
 *    full-ish buffer). A measured grid (utilisation x long flows -> delay) from
 *    a file replaces the model.
 *
 * All tables are plain JSON so a file with the same shape replaces a model
 * (see src/ranker/README.md for the formats).
 */
import { UsageError } from '../common/errors.js';
import { Rng } from './rng.js';

/** Loss-limited throughput samples by RTT and drop rate. Values in Mbps; 1e9 = not loss-limited. */
export interface LossTable {
  source: string;
  /** Ascending RTTs in microseconds. */
  rttUs: number[];
  /** Ascending drop rates, all > 0. */
  lossRates: number[];
  /** mbps[rttIdx][lossIdx] = samples (any order; sorted on load). */
  mbps: number[][][];
}

/** RTT-count samples by flow size, drop rate and RTT. */
export interface RttTable {
  source: string;
  /** Ascending bucket upper bounds in bytes: a flow uses the first bucket >= its size. */
  sizeBytes: number[];
  /** Ascending drop rates (0 allowed as the first). */
  lossRates: number[];
  /** Ascending RTTs in microseconds; the nearest (in log scale) is used. */
  rttUs: number[];
  /** rttCounts[sizeIdx][lossIdx][rttIdx] = samples of the RTT count. */
  rttCounts: number[][][][];
}

/** Queueing delay model or measured grid. */
export type QueueModel =
  | { kind: 'model'; bufferBytes: number; standingFraction: number; mss: number }
  | { kind: 'table'; source: string; utilization: number[]; flows: number[]; delayUs: number[][] };

/** Transport parameters shared by the models. */
export interface TransportParams {
  /** Maximum segment size in bytes. @default 1460 */
  mss: number;
  /** Initial congestion window in segments. @default 10 */
  initCwnd: number;
  /** Minimum retransmission timeout in milliseconds. @default 200 */
  minRtoMs: number;
  /** Initial (SYN) retransmission timeout in milliseconds. @default 1000 */
  initRtoMs: number;
  /** Count the connection handshake in the FCT. @default true */
  handshake: boolean;
}

export const NOT_LOSS_LIMITED_MBPS = 1e9;

const DEFAULT_RTT_GRID_US = [5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000];
const DEFAULT_LOSS_GRID = [1e-6, 3e-6, 1e-5, 3e-5, 1e-4, 3e-4, 1e-3, 3e-3, 0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5];

/** PFTK steady-state throughput (bps) at drop rate p and RTT (s). */
export function pftkBps(p: number, rttS: number, t: TransportParams): number {
  if (p <= 0) return Number.POSITIVE_INFINITY;
  const b = 1;
  const t0 = t.minRtoMs / 1000;
  const den = rttS * Math.sqrt((2 * b * p) / 3) + t0 * Math.min(1, 3 * Math.sqrt((3 * b * p) / 8)) * p * (1 + 32 * p * p);
  return (t.mss * 8) / den;
}

/** Mathis square-root law (bps): MSS/RTT * sqrt(3/2) / sqrt(p). */
export function mathisBps(p: number, rttS: number, t: TransportParams): number {
  if (p <= 0) return Number.POSITIVE_INFINITY;
  return ((t.mss * 8) / rttS) * Math.sqrt(1.5) / Math.sqrt(p);
}

export type Protocol = 'cubic' | 'bbr';

/** Model-seeded loss table for a protocol. */
export function modelLossTable(protocol: Protocol, t: TransportParams): LossTable {
  const rttUs = DEFAULT_RTT_GRID_US.slice();
  const lossRates = DEFAULT_LOSS_GRID.slice();
  const mbps = rttUs.map((r) =>
    lossRates.map((p) => {
      if (protocol === 'bbr' && p < 0.2) return [NOT_LOSS_LIMITED_MBPS];
      return [pftkBps(p, r / 1e6, t) / 1e6];
    }),
  );
  return { source: `model:${protocol === 'bbr' ? 'bbr-v1 (PFTK above 20% loss)' : 'PFTK'}`, rttUs, lossRates, mbps };
}

function bracket(grid: number[], x: number): [number, number, number] {
  // returns (lo, hi, weight of hi) for interpolation in log space; clamps outside
  const n = grid.length;
  if (x <= grid[0]!) return [0, 0, 0];
  if (x >= grid[n - 1]!) return [n - 1, n - 1, 0];
  let hi = 1;
  while (grid[hi]! < x) hi++;
  const lo = hi - 1;
  const a = grid[lo]!;
  const b = grid[hi]!;
  const w = a > 0 ? Math.log(x / a) / Math.log(b / a) : x / b;
  return [lo, hi, w];
}

function quantileOf(samples: number[], u: number): number {
  return samples[Math.min(samples.length - 1, Math.floor(u * samples.length))]!;
}

/** Sort every sample list of a table in place and validate its shape; throws UsageError. */
export function checkLossTable(t: LossTable): LossTable {
  const where = `loss table ${t.source}`;
  ascending(t.rttUs, `${where}: rttUs`, true);
  ascending(t.lossRates, `${where}: lossRates`, true);
  if (t.mbps.length !== t.rttUs.length) throw new UsageError(`${where}: mbps must have one row per RTT (${t.rttUs.length})`);
  t.mbps.forEach((row, i) => {
    if (row.length !== t.lossRates.length) throw new UsageError(`${where}: mbps[${i}] must have one entry per loss rate (${t.lossRates.length})`);
    row.forEach((cell, j) => {
      if (!Array.isArray(cell) || cell.length === 0 || cell.some((v) => !(v > 0))) {
        throw new UsageError(`${where}: mbps[${i}][${j}] must be a non-empty list of positive numbers`);
      }
      cell.sort((a, b) => a - b);
    });
  });
  return t;
}

export function checkRttTable(t: RttTable): RttTable {
  const where = `RTT-count table ${t.source}`;
  ascending(t.sizeBytes, `${where}: sizeBytes`, true);
  ascending(t.lossRates, `${where}: lossRates`, false);
  ascending(t.rttUs, `${where}: rttUs`, true);
  if (t.rttCounts.length !== t.sizeBytes.length) throw new UsageError(`${where}: rttCounts must have one entry per size (${t.sizeBytes.length})`);
  t.rttCounts.forEach((bySize, i) => {
    if (bySize.length !== t.lossRates.length) throw new UsageError(`${where}: rttCounts[${i}] must have one entry per loss rate (${t.lossRates.length})`);
    bySize.forEach((byLoss, j) => {
      if (byLoss.length !== t.rttUs.length) throw new UsageError(`${where}: rttCounts[${i}][${j}] must have one entry per RTT (${t.rttUs.length})`);
      byLoss.forEach((cell, k) => {
        if (!Array.isArray(cell) || cell.length === 0 || cell.some((v) => !(v >= 1))) {
          throw new UsageError(`${where}: rttCounts[${i}][${j}][${k}] must be a non-empty list of numbers >= 1`);
        }
        cell.sort((a, b) => a - b);
      });
    });
  });
  return t;
}

export function checkQueueTable(q: Extract<QueueModel, { kind: 'table' }>): QueueModel {
  const where = `queueing table ${q.source}`;
  ascending(q.utilization, `${where}: utilization`, false);
  ascending(q.flows, `${where}: flows`, false);
  if (q.delayUs.length !== q.utilization.length || q.delayUs.some((r) => r.length !== q.flows.length || r.some((v) => !(v >= 0)))) {
    throw new UsageError(`${where}: delayUs must be a ${q.utilization.length} x ${q.flows.length} grid of non-negative numbers`);
  }
  return q;
}

function ascending(a: number[], what: string, positive: boolean): void {
  if (!Array.isArray(a) || a.length === 0) throw new UsageError(`${what} must be a non-empty list`);
  a.forEach((v, i) => {
    if (!Number.isFinite(v) || (positive ? v <= 0 : v < 0)) throw new UsageError(`${what}[${i}] = ${v} must be ${positive ? 'positive' : 'non-negative'}`);
    if (i > 0 && v <= a[i - 1]!) throw new UsageError(`${what} must be strictly ascending (index ${i})`);
  });
}

/**
 * Loss-limited rate (bps) for drop rate p and RTT, at quantile u of the cell's
 * samples. Interpolates log-linearly between grid points; below the smallest
 * drop rate it extrapolates with the square-root law, beyond the RTT grid with
 * 1/RTT.
 */
export function lossLimitedBps(t: LossTable, p: number, rttS: number, u: number): number {
  if (p <= 0) return Number.POSITIVE_INFINITY;
  const rttUs = rttS * 1e6;
  const [r0, r1, rw] = bracket(t.rttUs, rttUs);
  const pMin = t.lossRates[0]!;
  const pe = Math.max(p, pMin);
  const [l0, l1, lw] = bracket(t.lossRates, pe);
  const cell = (ri: number, li: number): number => Math.log(quantileOf(t.mbps[ri]![li]!, u));
  const a = cell(r0, l0) + lw * (cell(r0, l1) - cell(r0, l0));
  const b = cell(r1, l0) + lw * (cell(r1, l1) - cell(r1, l0));
  let mbps = Math.exp(a + rw * (b - a));
  if (mbps >= NOT_LOSS_LIMITED_MBPS * 0.999) return Number.POSITIVE_INFINITY;
  if (p < pMin) mbps *= Math.sqrt(pMin / p);
  if (rttUs < t.rttUs[0]!) mbps *= t.rttUs[0]! / rttUs;
  else if (rttUs > t.rttUs[t.rttUs.length - 1]!) mbps *= t.rttUs[t.rttUs.length - 1]! / rttUs;
  return mbps * 1e6;
}

/** One Monte Carlo short flow: returns [rounds, seconds spent waiting for timers]. */
function simulateShortFlow(segments: number, p: number, t: TransportParams, rng: Rng): [number, number] {
  let rounds = 0;
  let timers = 0;
  if (t.handshake) {
    rounds += 1;
    const pHs = 1 - (1 - p) * (1 - p);
    let rto = t.initRtoMs / 1000;
    while (pHs > 0 && rng.next() < pHs) {
      timers += rto;
      rto *= 2;
    }
  }
  let cwnd = t.initCwnd;
  let ssthresh = Number.POSITIVE_INFINITY;
  let remaining = segments;
  let rto = t.minRtoMs / 1000;
  while (remaining > 0) {
    const k = Math.min(cwnd, remaining);
    let lost = 0;
    let firstLost = -1;
    if (p > 0) {
      for (let j = 0; j < k; j++) {
        if (rng.next() < p) {
          lost++;
          if (firstLost < 0) firstLost = j;
        }
      }
    }
    rounds += 1;
    if (lost === 0) {
      remaining -= k;
      cwnd = cwnd < ssthresh ? cwnd * 2 : cwnd + 1;
      rto = t.minRtoMs / 1000;
      continue;
    }
    remaining -= k - lost; // lost segments go back to the send queue
    ssthresh = Math.max(2, Math.floor(cwnd / 2));
    const dupAcks = k - 1 - firstLost;
    if (dupAcks >= 3) {
      cwnd = ssthresh; // fast retransmit / recovery; repairs are sent next round
    } else {
      timers += rto; // tail loss: retransmission timeout
      rto *= 2;
      cwnd = 1;
    }
  }
  return [rounds, timers];
}

const rttTableCache = new Map<string, RttTable>();

/** Model-seeded RTT-count table (Monte Carlo, fixed seed, so every process builds the same one; memoised). */
export function modelRttTable(t: TransportParams, shortFlowBytes: number, runs = 200): RttTable {
  const key = JSON.stringify([t, shortFlowBytes, runs]);
  let tab = rttTableCache.get(key);
  if (!tab) {
    tab = buildModelRttTable(t, shortFlowBytes, runs);
    rttTableCache.set(key, tab);
  }
  return tab;
}

function buildModelRttTable(t: TransportParams, shortFlowBytes: number, runs: number): RttTable {
  const maxSeg = Math.max(1, Math.ceil(shortFlowBytes / t.mss));
  // Every count up to 8, then ~25% steps, plus both sides of each slow-start
  // round boundary IW(2^k - 1) so loss-free round counts are exact.
  const grid = new Set<number>();
  for (let s = 1; s <= maxSeg; s = s < 8 ? s + 1 : Math.ceil(s * 1.25)) grid.add(s);
  for (let k = 1; t.initCwnd * (2 ** k - 1) <= maxSeg; k++) {
    grid.add(t.initCwnd * (2 ** k - 1));
    if (t.initCwnd * (2 ** k - 1) + 1 <= maxSeg) grid.add(t.initCwnd * (2 ** k - 1) + 1);
  }
  grid.add(maxSeg);
  const segGrid = [...grid].sort((a, b) => a - b);
  const lossRates = [0, ...DEFAULT_LOSS_GRID.filter((p) => p <= 0.3)];
  const rttUs = DEFAULT_RTT_GRID_US.slice();
  const rng = new Rng('pathsteer-rtt-table', t.mss, t.initCwnd, t.minRtoMs, t.initRtoMs, t.handshake ? 1 : 0);
  const rttCounts = segGrid.map((segs) =>
    lossRates.map((p) => {
      const n = p === 0 ? 1 : runs;
      const sims: Array<[number, number]> = [];
      for (let i = 0; i < n; i++) sims.push(simulateShortFlow(segs, p, t, rng));
      return rttUs.map((r) => Array.from(Float64Array.from(sims, ([rounds, timers]) => rounds + timers / (r / 1e6)).sort()));
    }),
  );
  return { source: 'model:slow-start Monte Carlo', sizeBytes: segGrid.map((s) => s * t.mss), lossRates, rttUs, rttCounts };
}

/** RTT count for a flow of `bytes` at drop rate p and propagation RTT, at quantile u. */
export function rttCount(t: RttTable, bytes: number, p: number, rttS: number, u: number): number {
  let si = 0;
  while (si < t.sizeBytes.length - 1 && t.sizeBytes[si]! < bytes) si++;
  const rttUs = rttS * 1e6;
  let ri = 0;
  let best = Number.POSITIVE_INFINITY;
  for (let i = 0; i < t.rttUs.length; i++) {
    const d = Math.abs(Math.log(t.rttUs[i]! / Math.max(rttUs, 1e-3)));
    if (d < best) {
      best = d;
      ri = i;
    }
  }
  const [l0, l1, w] = bracket(t.lossRates, p);
  const a = quantileOf(t.rttCounts[si]![l0]![ri]!, u);
  const b = quantileOf(t.rttCounts[si]![l1]![ri]!, u);
  return a + w * (b - a);
}

/**
 * Mean queueing delay (seconds) of one link.
 * @param utilization offered load / capacity (may exceed 1)
 * @param saturated the link is a bottleneck of capacity-limited long flows
 * @param longFlows long flows crossing the link
 * @param capacityBps link capacity
 */
export function queueDelayS(q: QueueModel, utilization: number, saturated: boolean, longFlows: number, capacityBps: number): number {
  if (q.kind === 'model') {
    const bufferS = (q.bufferBytes * 8) / capacityBps;
    if (saturated || utilization >= 1) return Math.min(bufferS, q.standingFraction * bufferS);
    const rho = Math.max(0, utilization);
    const pktS = (q.mss * 8) / capacityBps;
    return Math.min(bufferS, (rho / (1 - rho)) * pktS);
  }
  const [u0, u1, uw] = linBracket(q.utilization, saturated ? Math.max(1, utilization) : utilization);
  const [f0, f1, fw] = linBracket(q.flows, longFlows);
  const g = q.delayUs;
  const a = g[u0]![f0]! + fw * (g[u0]![f1]! - g[u0]![f0]!);
  const b = g[u1]![f0]! + fw * (g[u1]![f1]! - g[u1]![f0]!);
  return (a + uw * (b - a)) / 1e6;
}

function linBracket(grid: number[], x: number): [number, number, number] {
  const n = grid.length;
  if (x <= grid[0]!) return [0, 0, 0];
  if (x >= grid[n - 1]!) return [n - 1, n - 1, 0];
  let hi = 1;
  while (grid[hi]! < x) hi++;
  return [hi - 1, hi, (x - grid[hi - 1]!) / (grid[hi]! - grid[hi - 1]!)];
}
