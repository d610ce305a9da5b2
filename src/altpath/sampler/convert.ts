/**
 * A conn_stats record (struct ps_conn_event) as the sampler -> controller
 * contract's ConnSample: addresses as text, family 4/6, and the kernel's
 * CLOCK_MONOTONIC close time (bpf_ktime_get_ns) as wall-clock milliseconds.
 */
import { AF_INET, connEventAddrs, type ConnEvent } from '../../maps/conn-event.js';
import type { ConnSample } from '../sample.js';

/** A reading of both clocks at one moment (CLOCK_MONOTONIC ns = process.hrtime.bigint()). */
export interface ClockPair {
  wallMs: number;
  monoNs: bigint;
}

export function clockNow(): ClockPair {
  return { wallMs: Date.now(), monoNs: process.hrtime.bigint() };
}

/** Wall-clock ms of a CLOCK_MONOTONIC timestamp, using a pair of readings taken close to it. */
export function monoToWallMs(monoNs: bigint, c: ClockPair): number {
  return Math.max(0, Math.round(c.wallMs - Number(c.monoNs - monoNs) / 1e6));
}

export function connEventToSample(e: ConnEvent, host: string, clock: ClockPair = clockNow()): ConnSample {
  const { saddr, daddr } = connEventAddrs(e);
  return {
    host,
    ts_ms: monoToWallMs(e.tsNs, clock),
    family: e.family === AF_INET ? 4 : 6,
    saddr,
    daddr,
    sport: e.sport,
    dport: e.dport,
    dscp: e.dscp,
    srtt_us: e.srttUs,
    rttvar_us: e.rttvarUs,
    rto_us: e.rtoUs,
    total_retrans: e.totalRetrans,
    segs_out: e.segsOut,
    segs_in: e.segsIn,
    bytes_acked: Number(e.bytesAcked),
    bytes_received: Number(e.bytesReceived),
    duration_us: Number(e.durationUs),
  };
}
