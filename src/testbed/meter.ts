/**
 * The outage meter: pure functions that turn what a traffic run's sender and
 * receiver saw into per-flow and overall figures. Schema of the result:
 * src/testbed/README.md ("traffic --json"). Definitions:
 *
 * UDP flow (sequence-numbered datagrams, send time stamped in each packet):
 *   lost      = packets sent - distinct packets delivered.
 *   outage    = the longest loss run, measured on the sender's clock: for a run
 *               of lost packets between delivered packets a and b,
 *               tx(b) - tx(a) - T (T = 1/rate), i.e. the time during which
 *               everything the flow sent was lost; a run at the start counts
 *               from the first send, one at the end until the last send.
 *               Accurate to about one packet interval plus sender jitter.
 * TCP flow (fixed-size records on one connection, delivered in order):
 *   lost      = records written but not delivered by the end of the drain.
 *   outage    = the longest time any record was held up beyond the flow's
 *               base latency: max(rx - tx) - min(rx - tx) over delivered
 *               records, or, when records were never delivered, from the send
 *               of the first of them to the end of the observation. For a
 *               flow broken from t_f until it recovers at t_r this is
 *               t_r - t_f, its gap in delivery; unlike a receive-gap it does
 *               not count sender stalls. Below `stall_ms` it is scheduling
 *               noise and counts as 0.
 * affected   = lost > 0 or outage > 0.
 * outage_ms  = {p50, p99, max} over the affected flows' outages (nearest-rank
 *               percentiles; all 0 when no flow was affected).
 */

export const TRAFFIC_SCHEMA = 'pathsteer.testbed.traffic/v1';

/** What the sender reports per flow. Times are CLOCK_MONOTONIC ns (process.hrtime.bigint()). */
export interface SenderFlowReport {
  flow: number;
  src_port: number;
  dst_port: number;
  sent: number;
  first_tx_ns: number;
  last_tx_ns: number;
}

export interface FlowResult {
  flow: number;
  src_port: number;
  dst_port: number;
  sent: number;
  delivered: number;
  lost: number;
  /** Longest outage of this flow in ms (see the module comment). */
  outage_ms: number;
  /** Number of separate outages (UDP: loss runs; TCP: gaps >= stall_ms). */
  outages: number;
  affected: boolean;
}

export interface OutageSummary {
  p50: number;
  p99: number;
  max: number;
}

export interface TrafficResult {
  schema: typeof TRAFFIC_SCHEMA;
  protocol: 'udp' | 'tcp';
  from: { name: string; ip: string };
  to: { name: string; ip: string };
  rate_pps: number;
  duration_s: number;
  interval_ms: number;
  /** TCP gaps shorter than this are not outages. */
  stall_ms: number;
  /** CLOCK_MONOTONIC ns (decimal string) when sending started: t=0 of experiments. */
  t0_ns: string;
  flows: number;
  affected_flows: number;
  sent_packets: number;
  delivered_packets: number;
  lost_packets: number;
  outage_ms: OutageSummary;
  per_flow: FlowResult[];
}

/** Nearest-rank percentile of an ascending array (p in (0, 100]). */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

export function summarizeOutages(flows: readonly FlowResult[]): OutageSummary {
  const v = flows
    .filter((f) => f.affected)
    .map((f) => f.outage_ms)
    .sort((a, b) => a - b);
  return { p50: percentile(v, 50), p99: percentile(v, 99), max: v.length ? v[v.length - 1]! : 0 };
}

const round3 = (x: number): number => Math.round(x * 1000) / 1000;

/**
 * UDP: `txBySeq[seq]` is the send time (ns) of each delivered packet, NaN for
 * packets never delivered; entries at or past `sender.sent` are ignored.
 */
export function analyzeUdpFlow(sender: SenderFlowReport, txBySeq: ArrayLike<number>, intervalNs: number): FlowResult {
  const n = sender.sent;
  let delivered = 0;
  let longest = 0;
  let runs = 0;
  let prevTx = sender.first_tx_ns - intervalNs; // virtual delivery before seq 0
  let inRun = false;
  for (let s = 0; s < n; s++) {
    const tx = s < txBySeq.length ? txBySeq[s]! : NaN;
    if (Number.isNaN(tx)) {
      inRun = true;
      continue;
    }
    delivered++;
    if (inRun) {
      longest = Math.max(longest, tx - prevTx - intervalNs);
      runs++;
      inRun = false;
    }
    prevTx = tx;
  }
  if (inRun) {
    longest = Math.max(longest, sender.last_tx_ns + intervalNs - prevTx - intervalNs);
    runs++;
  }
  const lost = n - delivered;
  return {
    flow: sender.flow,
    src_port: sender.src_port,
    dst_port: sender.dst_port,
    sent: n,
    delivered,
    lost,
    outage_ms: lost > 0 ? round3(Math.max(longest, 0) / 1e6) : 0,
    outages: runs,
    affected: lost > 0,
  };
}

/** What the TCP receiver tracks per flow, streaming (records arrive in order). */
export interface TcpFlowObservation {
  delivered: number;
  /** Shortest one-way delay (rx - tx) of a delivered record: the flow's base latency (ns). */
  min_delay_ns: number;
  /** Longest one-way delay of a delivered record (ns). */
  max_delay_ns: number;
  /** Send time of the last delivered record. */
  last_tx_ns: number;
  /** Times a record's delay rose past base latency + stall threshold. */
  stalls: number;
  /** Receiver clock when the observation ended. */
  end_ns: number;
}

export function analyzeTcpFlow(sender: SenderFlowReport, obs: TcpFlowObservation, intervalNs: number, stallMs: number): FlowResult {
  const thr = stallMs * 1e6;
  const delivered = Math.min(obs.delivered, sender.sent);
  const lost = Math.max(0, sender.sent - obs.delivered);
  let stalls = obs.stalls;
  let longest: number;
  if (delivered > 0) {
    const held = obs.max_delay_ns - obs.min_delay_ns;
    // The first record never delivered was sent one interval after the last delivered one.
    const trail = lost > 0 ? obs.end_ns - (obs.last_tx_ns + intervalNs) - obs.min_delay_ns : 0;
    if (trail >= thr && held < trail) stalls++;
    longest = Math.max(held, trail, 0);
  } else {
    longest = sender.sent > 0 ? Math.max(0, obs.end_ns - sender.first_tx_ns) : 0;
    stalls = sender.sent > 0 ? 1 : 0;
  }
  const affected = lost > 0 || longest >= thr;
  return {
    flow: sender.flow,
    src_port: sender.src_port,
    dst_port: sender.dst_port,
    sent: sender.sent,
    delivered,
    lost,
    outage_ms: affected ? round3(longest / 1e6) : 0,
    outages: affected ? Math.max(1, stalls) : 0,
    affected,
  };
}

/** Assemble the overall result from per-flow results. */
export function buildTrafficResult(
  meta: Omit<TrafficResult, 'schema' | 'flows' | 'affected_flows' | 'sent_packets' | 'delivered_packets' | 'lost_packets' | 'outage_ms' | 'per_flow'>,
  perFlow: FlowResult[],
): TrafficResult {
  return {
    schema: TRAFFIC_SCHEMA,
    ...meta,
    flows: perFlow.length,
    affected_flows: perFlow.filter((f) => f.affected).length,
    sent_packets: perFlow.reduce((n, f) => n + f.sent, 0),
    delivered_packets: perFlow.reduce((n, f) => n + f.delivered, 0),
    lost_packets: perFlow.reduce((n, f) => n + f.lost, 0),
    outage_ms: summarizeOutages(perFlow),
    per_flow: perFlow,
  };
}

/** One line for humans. */
export function formatTrafficResult(r: TrafficResult): string {
  const o = r.outage_ms;
  return (
    `${r.protocol} ${r.from.name} -> ${r.to.name}: ${r.flows} flows x ${r.rate_pps} pps x ${r.duration_s} s; ` +
    `affected ${r.affected_flows}/${r.flows}, lost ${r.lost_packets}/${r.sent_packets} packets, ` +
    `outage p50 ${o.p50.toFixed(1)} ms p99 ${o.p99.toFixed(1)} ms max ${o.max.toFixed(1)} ms`
  );
}
