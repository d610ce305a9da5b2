/**
 * A small Prometheus registry for the agent (counters, gauges, summaries with
 * labels) and its text exposition format (version 0.0.4). Kept in-house: the
 * agent needs a dozen series, not a client library.
 */

type Labels = Record<string, string>;

function labelKey(l: Labels | undefined): string {
  if (!l) return '';
  const keys = Object.keys(l).sort();
  return keys.map((k) => `${k}="${String(l[k]).replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`).join(',');
}

abstract class Metric {
  constructor(
    readonly name: string,
    readonly help: string,
    readonly type: 'counter' | 'gauge' | 'summary',
  ) {}
  abstract lines(): string[];
}

export class Counter extends Metric {
  private readonly values = new Map<string, number>();
  constructor(name: string, help: string) {
    super(name, help, 'counter');
  }
  inc(labels?: Labels, by = 1): void {
    const k = labelKey(labels);
    this.values.set(k, (this.values.get(k) ?? 0) + by);
  }
  get(labels?: Labels): number {
    return this.values.get(labelKey(labels)) ?? 0;
  }
  /** Every label set with its value, keyed by the rendered labels (`reason="x"`). */
  entries(): Array<[string, number]> {
    return [...this.values];
  }
  lines(): string[] {
    if (this.values.size === 0) return [`${this.name} 0`];
    return [...this.values].map(([k, v]) => `${this.name}${k ? `{${k}}` : ''} ${v}`);
  }
}

export class Gauge extends Metric {
  private readonly values = new Map<string, number>();
  constructor(
    name: string,
    help: string,
    private readonly collect?: () => Array<[Labels | undefined, number]>,
  ) {
    super(name, help, 'gauge');
  }
  set(v: number, labels?: Labels): void {
    this.values.set(labelKey(labels), v);
  }
  get(labels?: Labels): number {
    return this.values.get(labelKey(labels)) ?? 0;
  }
  lines(): string[] {
    if (this.collect) for (const [l, v] of this.collect()) this.set(v, l);
    if (this.values.size === 0) return [`${this.name} 0`];
    return [...this.values].map(([k, v]) => `${this.name}${k ? `{${k}}` : ''} ${v}`);
  }
}

/** Quantiles over the last `window` observations, plus running sum and count. */
export class Summary extends Metric {
  private readonly recent: number[] = [];
  private sum = 0;
  private count = 0;
  constructor(
    name: string,
    help: string,
    private readonly window = 1024,
  ) {
    super(name, help, 'summary');
  }
  observe(v: number): void {
    this.recent.push(v);
    if (this.recent.length > this.window) this.recent.shift();
    this.sum += v;
    this.count++;
  }
  quantile(q: number): number {
    if (this.recent.length === 0) return 0;
    const s = [...this.recent].sort((a, b) => a - b);
    return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))]!;
  }
  lines(): string[] {
    return [
      ...[0.5, 0.9, 0.99].map((q) => `${this.name}{quantile="${q}"} ${this.quantile(q)}`),
      `${this.name}_sum ${this.sum}`,
      `${this.name}_count ${this.count}`,
    ];
  }
}

export class Registry {
  private readonly metrics: Metric[] = [];

  counter(name: string, help: string): Counter {
    return this.add(new Counter(name, help));
  }
  gauge(name: string, help: string, collect?: () => Array<[Labels | undefined, number]>): Gauge {
    return this.add(new Gauge(name, help, collect));
  }
  summary(name: string, help: string): Summary {
    return this.add(new Summary(name, help));
  }
  private add<M extends Metric>(m: M): M {
    if (this.metrics.some((x) => x.name === m.name)) throw new Error(`metric ${m.name} registered twice`);
    this.metrics.push(m);
    return m;
  }

  /** Prometheus text exposition format. */
  expose(): string {
    const out: string[] = [];
    for (const m of this.metrics) {
      out.push(`# HELP ${m.name} ${m.help}`, `# TYPE ${m.name} ${m.type}`, ...m.lines());
    }
    return `${out.join('\n')}\n`;
  }
}

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
  };
}

export type AgentMetrics = ReturnType<typeof agentMetrics>;
