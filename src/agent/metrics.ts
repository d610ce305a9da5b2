/**
 * The agent's Prometheus series, on the in-house registry of
 * src/common/metrics.ts (re-exported here for the agent's modules).
 */

import { LATENCY_BUCKETS_S, Registry } from '../common/metrics.js';
import { packageVersion } from '../common/version.js';

export { Counter, Gauge, Histogram, Registry, Summary } from '../common/metrics.js';

/** The agent's series. */
export function agentMetrics(r = new Registry()) {
  return {
    registry: r,
    probesSent: r.counter('pathsteer_probes_sent_total', 'Telemetry requests sent'),
    reprobesSent: r.counter('pathsteer_reprobes_sent_total', 'Immediate re-probes after a failed probe'),
    bursts: r.counter('pathsteer_probe_bursts_total', 'Bursts: every port of a peer probed at once after a failure'),
    responses: r.counter('pathsteer_probe_responses_total', 'Telemetry responses matched to a probe'),
    lost: r.counter('pathsteer_probes_lost_total', 'Probes without a response before the deadline'),
    slow: r.counter('pathsteer_probes_slow_total', 'Responses slower than the RTT threshold'),
    late: r.counter('pathsteer_responses_late_total', 'Responses after their probe timed out'),
    stalls: r.counter('pathsteer_agent_stalls_total', 'Ticks that found the agent stalled (deadlines extended, not blamed on paths)'),
    socketDrops: r.counter('pathsteer_agent_socket_drops_total', 'Datagrams the kernel dropped for the agent socket (receive buffer full)'),
    overload: r.gauge('pathsteer_agent_overload_level', 'Probe-rate backoff for socket drops (intervals x 2^level)'),
    burstsDenied: r.counter('pathsteer_probe_bursts_denied_total', 'Bursts skipped: the global burst budget was spent'),
    stale: r.counter('pathsteer_responses_stale_total', 'Responses to probes of an earlier agent process'),
    ignored: r.counter('pathsteer_packets_ignored_total', 'Packets ignored, by reason'),
    negotiations: r.counter('pathsteer_negotiations_total', 'Negotiations completed'),
    requestsAnswered: r.counter('pathsteer_requests_answered_total', 'Requests answered by the responder, by type and ctl'),
    portChanges: r.counter('pathsteer_port_state_changes_total', 'Ports entering (healthy) or leaving (unhealthy) the healthy set'),
    tableWrites: r.counter('pathsteer_table_writes_total', 'ps_path entries written'),
    failovers: r.counter('pathsteer_path_failovers_total', 'Table writes that took healthy ports out of a peer entry (its flows on them moved)'),
    tableWriteMs: r.summary('pathsteer_table_write_ms', 'Latency of fast-table syncs that wrote something (ms)'),
    probeRate: r.gauge('pathsteer_probe_rate_pps', 'Probes sent per second (last second)'),
    backoff: r.gauge('pathsteer_probe_backoff_level', 'CPU backoff exponent (intervals x 2^level)'),
    cpu: r.gauge('pathsteer_host_cpu_percent', 'Host CPU utilisation, last sample'),
    probeRtt: r.histogram('pathsteer_probe_rtt_seconds', 'Round-trip time of answered telemetry probes', LATENCY_BUCKETS_S),
    buildInfo: r.buildInfo('pathsteer_build_info', 'pathsteer version and Node.js runtime of this process', { version: packageVersion(), node: process.version }),
  };
}

export type AgentMetrics = ReturnType<typeof agentMetrics>;
