/**
 * The AltPath sampler on a front-end server (Edge Fabric §6.2): attaches
 * altpath_dscp to an interface's egress (marks the configured share of flows)
 * and conn_stats to the TCP state tracepoint (samples connections at close),
 * keeps both configured (live, through `apply`), and turns the ring buffer's
 * records into ConnSamples that go to the AltPath controller (SampleShipper)
 * and/or a JSON-lines file or stdout. One sampler per network namespace.
 *
 * In a test: `const s = AltpathSampler.start(cfg)` (cfg from
 * SamplerConfigSchema.parse), `s.onSamples(fn)`, `s.apply(next)`, `s.status()`,
 * `await s.stop()`.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { PathsteerError, UsageError } from '../../common/errors.js';
import { logger as rootLogger, type Logger } from '../../common/logger.js';
import type { Altpath } from '../../maps/altpath.js';
import {
  AltpathMaps,
  attachAltpath,
  detachAltpath,
  type AltpathCounts,
  type AltpathDetachResult,
} from '../../maps/altpath-dataplane.js';
import { ConnStats } from '../../maps/conn-stats.js';
import type { Roots } from '../../maps/dataplane.js';
import { ProgName } from '../../maps/names.generated.js';
import type { ConnSample } from '../sample.js';
import { LIVE_KEYS, rulesSummary, type SamplerConfig } from './config.js';
import { clockNow, connEventToSample } from './convert.js';
import { SampleShipper, type ShipperStats } from './shipper.js';

export interface SamplerOptions extends Roots {
  /** Sample sockets of this network namespace (inode); tests watch another one. @default this process's */
  netnsIno?: number;
  /** How often the ring buffer is read (ms). @default 200 */
  pollMs?: number;
  logger?: Logger;
}

export interface SamplerStatus {
  iface: string;
  programs: string[];
  started_at: string;
  config: {
    rules: Altpath['rules'];
    seed: number;
    only_unmarked: boolean;
    exclude: string[];
    sample_rate: number;
    marked_multiplier: number;
  };
  /** ps_altpath_stats: packets per outcome, connections opened/sampled/emitted/lost. */
  counters: Record<string, string>;
  /** Samples read from the ring buffer. */
  samples: number;
  /** Delivery to the controller (absent without --controller). */
  controller?: ShipperStats & { url: string };
}

export interface SamplerStopResult {
  /** Status at the end (after the last samples were read and delivered). */
  status: SamplerStatus;
  /** What detach removed; absent with keepPins (filter and pins stay). */
  detached?: AltpathDetachResult;
}

type Listener = (samples: readonly ConnSample[]) => void;

/** Where samples are written as JSON lines: a file (appended) or stdout. */
class LineSink {
  private fd: number | undefined;
  constructor(readonly path: string) {
    if (path !== '-') {
      try {
        this.fd = openSync(path, 'a');
      } catch (e) {
        throw new UsageError(`cannot open --out ${path}: ${(e as Error).message}`);
      }
    }
  }

  write(samples: readonly ConnSample[]): void {
    const text = samples.map((s) => `${JSON.stringify(s)}\n`).join('');
    if (this.fd === undefined) process.stdout.write(text);
    else writeSync(this.fd, text);
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}

export class AltpathSampler {
  private timer: NodeJS.Timeout | undefined;
  private readonly listeners: Listener[] = [];
  private sampled = 0;
  private stopping: Promise<SamplerStopResult> | undefined;
  readonly startedAt = new Date();

  private constructor(
    private cfg: SamplerConfig,
    private readonly maps: AltpathMaps,
    private readonly conn: ConnStats,
    private readonly shipper: SampleShipper | undefined,
    private readonly sink: LineSink | undefined,
    private readonly o: SamplerOptions,
    private readonly log: Logger,
  ) {}

  /**
   * Attach both programs with `cfg` (validated: SamplerConfigSchema) and start
   * reading samples. On failure nothing stays attached (unless keepPins).
   */
  static start(cfg: SamplerConfig, o: SamplerOptions = {}): AltpathSampler {
    const log = (o.logger ?? rootLogger).child({ module: 'altpath/sampler' });
    const sink = cfg.out ? new LineSink(cfg.out) : undefined;
    let attached = false;
    let maps: AltpathMaps | undefined;
    let conn: ConnStats | undefined;
    try {
      attachAltpath({
        ifname: cfg.iface,
        rules: cfg.rules,
        onlyUnmarked: cfg.onlyUnmarked,
        exclude: cfg.exclude,
        ...(cfg.seed !== undefined ? { seed: cfg.seed } : {}),
        ...(o.pinRoot ? { pinRoot: o.pinRoot } : {}),
        ...(o.stateRoot ? { stateRoot: o.stateRoot } : {}),
      });
      attached = true;
      maps = AltpathMaps.open(o);
      conn = ConnStats.attach({
        altpathMaps: maps.maps(),
        sampleRate: cfg.sampleRate,
        markedMultiplier: cfg.markedMultiplier,
        ...(o.netnsIno !== undefined ? { netnsIno: o.netnsIno } : {}),
      });
      const shipper = cfg.controller
        ? new SampleShipper({
            controller: cfg.controller,
            batchSize: cfg.batchSize,
            flushIntervalMs: cfg.flushIntervalMs,
            maxBuffer: cfg.maxBuffer,
            retryMaxMs: cfg.retryMaxMs,
            logger: log,
          })
        : undefined;
      const s = new AltpathSampler(cfg, maps, conn, shipper, sink, o, log);
      shipper?.start();
      s.timer = setInterval(() => s.poll(), o.pollMs ?? 200);
      return s;
    } catch (e) {
      conn?.close();
      maps?.close();
      sink?.close();
      if (attached && !cfg.keepPins) {
        try {
          detachAltpath(o);
        } catch (cleanup) {
          log.warn({ err: cleanup }, 'detach after a failed start was incomplete');
        }
      }
      throw e;
    }
  }

  /** The effective ps_altpath configuration (seed included, also when it was kept or drawn). */
  altpath(): Altpath {
    const a = this.maps.readConfig();
    if (!a) throw new PathsteerError('ps_altpath has no configuration');
    return a;
  }

  /** Called with every batch of samples read from the ring buffer (tests, status). */
  onSamples(fn: Listener): () => void {
    this.listeners.push(fn);
    return () => {
      const i = this.listeners.indexOf(fn);
      if (i >= 0) this.listeners.splice(i, 1);
    };
  }

  /** Read the ring buffer now and hand the samples on. Returns how many. */
  poll(): number {
    const events = this.conn.drain();
    if (events.length === 0) return 0;
    const clock = clockNow();
    const samples = events.map((e) => connEventToSample(e, this.cfg.host, clock));
    this.sampled += samples.length;
    try {
      this.sink?.write(samples);
    } catch (e) {
      this.log.error({ err: e, out: this.cfg.out }, 'cannot write samples');
    }
    this.shipper?.push(samples);
    for (const l of this.listeners) l(samples);
    return samples.length;
  }

  /**
   * Apply a new configuration live: rules, seed, only-unmarked, exclusions
   * (ps_altpath, ps_altpath_exclude) and N, M (ps_conn_config). Other changes
   * (interface, controller, output, batching) need a restart: they are named
   * in the result and left as they are. Returns what changed.
   */
  apply(next: SamplerConfig): { applied: string[]; needRestart: string[] } {
    const applied: string[] = [];
    const needRestart: Array<keyof SamplerConfig> = [];
    const cur = this.cfg;
    const same = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);
    for (const k of Object.keys(next) as Array<keyof SamplerConfig>) {
      if (!(LIVE_KEYS as readonly string[]).includes(k) && !same(cur[k], next[k])) needRestart.push(k);
    }
    if (!same(cur.exclude, next.exclude)) {
      this.maps.setExclusions(next.exclude);
      applied.push('exclude');
    }
    const cfgNow = this.altpath();
    const old: Altpath = { seed: cfgNow.seed, onlyUnmarked: cfgNow.onlyUnmarked, rules: cfgNow.rules };
    const want: Altpath = { seed: next.seed ?? old.seed, onlyUnmarked: next.onlyUnmarked, rules: next.rules };
    if (!same(old, want)) {
      this.maps.writeConfig(want);
      for (const k of ['rules', 'seed', 'onlyUnmarked'] as const) {
        const was = k === 'seed' ? old.seed : k === 'rules' ? old.rules : old.onlyUnmarked;
        if (!same(was, want[k])) applied.push(k);
      }
    }
    if (cur.sampleRate !== next.sampleRate || cur.markedMultiplier !== next.markedMultiplier) {
      this.conn.setSampling({ sampleRate: next.sampleRate, markedMultiplier: next.markedMultiplier });
      if (cur.sampleRate !== next.sampleRate) applied.push('sampleRate');
      if (cur.markedMultiplier !== next.markedMultiplier) applied.push('markedMultiplier');
    }
    const keep = Object.fromEntries(needRestart.map((k) => [k, cur[k]]));
    this.cfg = { ...next, ...keep, seed: want.seed } as SamplerConfig;
    this.log.info(
      { applied, needRestart, rules: rulesSummary(want.rules), exclude: next.exclude.length, sampleRate: next.sampleRate, markedMultiplier: next.markedMultiplier },
      needRestart.length ? 'configuration reloaded; some settings need a restart' : 'configuration reloaded',
    );
    return { applied, needRestart };
  }

  counts(): AltpathCounts {
    return this.maps.counts();
  }

  status(): SamplerStatus {
    const a = this.altpath();
    const counters = Object.fromEntries(Object.entries(this.maps.counts()).map(([k, v]) => [k, v.toString()]));
    return {
      iface: this.cfg.iface,
      programs: [ProgName.altpathDscp, ProgName.connStats],
      started_at: this.startedAt.toISOString(),
      config: {
        rules: a.rules,
        seed: a.seed,
        only_unmarked: a.onlyUnmarked,
        exclude: this.maps.exclusions(),
        sample_rate: this.cfg.sampleRate,
        marked_multiplier: this.cfg.markedMultiplier,
      },
      counters,
      samples: this.sampled,
      ...(this.shipper ? { controller: { url: this.shipper.target, ...this.shipper.stats() } } : {}),
    };
  }

  /**
   * Stop: read what is left in the ring buffer, detach conn_stats, give the
   * shipper `graceMs` to deliver, take the final status, and detach
   * altpath_dscp unless keepPins. Safe to call twice (same result).
   */
  stop(graceMs = 2000): Promise<SamplerStopResult> {
    this.stopping ??= (async () => {
      if (this.timer) clearInterval(this.timer);
      this.timer = undefined;
      try {
        this.poll();
      } finally {
        this.conn.close();
      }
      await this.shipper?.stop(graceMs);
      this.sink?.close();
      const status = this.status();
      this.maps.close();
      if (this.cfg.keepPins) return { status };
      return { status, detached: detachAltpath({ ...this.o, location: this.maps.location }) };
    })();
    return this.stopping;
  }
}
