/**
 * A small Prometheus registry (counters, gauges, summaries, histograms with
 * labels) and its text exposition format (version 0.0.4), shared by the agent
 * and the controller. Kept in-house: pathsteer needs a few dozen series, not a
 * client library. Series use base units (seconds, bytes, ratios) and low
 * cardinality labels: never a peer, host or port as a label (those live in
 * the fleet store).
 */

export type Labels = Record<string, string>;

function labelKey(l: Labels | undefined): string {
  if (!l) return '';
  const keys = Object.keys(l).sort();
  return keys.map((k) => `${k}="${String(l[k]).replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`).join(',');
}

abstract class Metric {
  constructor(
    readonly name: string,
    readonly help: string,
    readonly type: 'counter' | 'gauge' | 'summary' | 'histogram',
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

/**
 * Cumulative buckets (`le`), `_sum` and `_count`, per label set. Buckets are
 * upper bounds in the metric's base unit, ascending; `+Inf` is implicit.
 */
export class Histogram extends Metric {
  private readonly series = new Map<string, { counts: number[]; sum: number; count: number }>();
  constructor(
    name: string,
    help: string,
    readonly buckets: readonly number[],
  ) {
    super(name, help, 'histogram');
    for (let i = 1; i < buckets.length; i++) {
      if (!(buckets[i]! > buckets[i - 1]!)) throw new Error(`histogram ${name}: buckets must ascend`);
    }
  }
  observe(v: number, labels?: Labels): void {
    const k = labelKey(labels);
    let s = this.series.get(k);
    if (!s) {
      s = { counts: new Array<number>(this.buckets.length).fill(0), sum: 0, count: 0 };
      this.series.set(k, s);
    }
    // first bucket whose bound holds v; counts are made cumulative on output
    let i = 0;
    while (i < this.buckets.length && v > this.buckets[i]!) i++;
    if (i < this.buckets.length) s.counts[i]!++;
    s.sum += v;
    s.count++;
  }
  /** Observations so far (for one label set). */
  count(labels?: Labels): number {
    return this.series.get(labelKey(labels))?.count ?? 0;
  }
  lines(): string[] {
    const out: string[] = [];
    const series = this.series.size > 0 ? this.series : new Map([['', { counts: this.buckets.map(() => 0), sum: 0, count: 0 }]]);
    for (const [k, s] of series) {
      const lbl = (le: string): string => `{${k ? `${k},` : ''}le="${le}"}`;
      let acc = 0;
      this.buckets.forEach((b, i) => {
        acc += s.counts[i]!;
        out.push(`${this.name}_bucket${lbl(String(b))} ${acc}`);
      });
      out.push(`${this.name}_bucket${lbl('+Inf')} ${s.count}`);
      out.push(`${this.name}_sum${k ? `{${k}}` : ''} ${s.sum}`);
      out.push(`${this.name}_count${k ? `{${k}}` : ''} ${s.count}`);
    }
    return out;
  }
}

/** Latency buckets in seconds, 0.5 ms .. 10 s. */
export const LATENCY_BUCKETS_S = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] as const;

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
  histogram(name: string, help: string, buckets: readonly number[] = LATENCY_BUCKETS_S): Histogram {
    return this.add(new Histogram(name, help, buckets));
  }
  /** `NAME{version,node} 1`: what is running (Prometheus' build_info convention). */
  buildInfo(name: string, help: string, labels: Labels): Gauge {
    const g = this.gauge(name, help);
    g.set(1, labels);
    return g;
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

