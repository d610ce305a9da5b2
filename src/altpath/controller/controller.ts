/**
 * The AltPath controller (Edge Fabric §6.2): a BMP collector filling the RIB,
 * sample ingest (POST /v1/samples), and a cycle every `cycleMs` that, for the
 * prefixes with traffic in the last `activeWindowMs` (from samples, or
 * configured), ranks the routes, puts the 2nd-best route into the first
 * AltPath DSCP's table and the 3rd-best into the second's, keeps overrides
 * (an alternate measured 20+ ms faster is injected as primary), records which
 * route carried each (prefix, DSCP) for the sample join, and hands the tables
 * to every injector (which write only the changes).
 *
 * Joining: a sample's destination is matched against the RIB (longest
 * prefix); DSCP 0 joins the route in force for default traffic (an override,
 * else BGP's best), an AltPath DSCP the route injected in its table at the
 * sample's close time, or the default route when that table had none (the
 * paper's fallback). A sample whose prefix has no recorded history yet (its
 * first traffic) joins the route the ranking gives now.
 */
import type { AddressInfo, Server } from 'node:net';
import { logger as rootLogger, type Logger } from '../../common/logger.js';
import { ipv4Mask, parsePrefix } from '../../common/net.js';
import { BmpCollector } from '../bmp/collector.js';
import { nlriText, type PrefixKey } from '../bgp/nlri.js';
import { dscpSlot, OVERRIDE_SLOT, type RouteTables } from '../inject/tables.js';
import type { Injector } from '../inject/injector.js';
import { InForceHistory } from '../measure/in-force.js';
import { parseSamples } from '../measure/ingest.js';
import { chooseOverride, type Override, type OverridePolicy } from '../measure/overrides.js';
import { RouteStats, type RouteStatsSummary } from '../measure/route-stats.js';
import { candidates, rankPrefix, rankRoutes, type Ranked } from '../rib/ranking.js';
import { routeNextHop, type PrefixEntry, type Rib, type Route } from '../rib/rib.js';
import type { ConnSample, SamplesReply } from '../sample.js';
import type { ControllerConfig } from './config.js';
import { HttpApi } from './http.js';
import { parseHostPort } from './listen.js';

export const STATUS_SCHEMA = 'pathsteer.altpath.status/v1';

/** A route's identity for measurements: prefix, the peer it leaves through, its AS path. */
export function routeId(prefix: string, r: Route): string {
  return `${prefix} via ${r.peer.address} [${r.attrs.pathText}]`;
}

export interface CycleReport {
  at: string;
  ms: number;
  active_prefixes: number;
  injected: Record<string, number>;
  overrides: number;
  overrides_added: number;
  overrides_removed: number;
  changes: Record<string, number>;
}

interface RouteInfo {
  prefix: string;
  peer: string;
  peer_asn: number;
  next_hop: string | null;
  as_path: string;
}

export interface ControllerOptions {
  /** Injectors to use instead of building them from the config (tests, the CLI's gateway-sim). */
  injectors?: Injector[];
  logger?: Logger;
}

export class AltpathController {
  readonly collector: BmpCollector;
  readonly rib: Rib;
  readonly injectors: Injector[];
  readonly http: HttpApi;
  private readonly log: Logger;
  private readonly stats = new Map<string, RouteStats>();
  private readonly routeInfo = new Map<string, RouteInfo>();
  private readonly inForce = new InForceHistory();
  private readonly active = new Map<PrefixKey, number>();
  private readonly overrides = new Map<string, Override>();
  private readonly staticActive: Array<{ family: 4 | 6; net: number; bytes: Buffer; len: number }>;
  private readonly policy: OverridePolicy;
  private readonly excludeAsns: ReadonlySet<number>;
  private timer?: NodeJS.Timeout;
  private running?: Promise<CycleReport>;
  private started = false;
  private stopped = false;
  private last?: CycleReport;
  private readonly startedAt = new Date().toISOString();
  private readonly counters = { samples_accepted: 0, samples_rejected: 0, samples_unjoined: 0, cycles: 0 };
  private desiredCache: RouteTables = new Map();

  constructor(
    readonly config: ControllerConfig,
    opts: ControllerOptions & { injectorsFromConfig?: (c: ControllerConfig, log: Logger) => Injector[] } = {},
  ) {
    this.log = (opts.logger ?? rootLogger).child({ module: 'altpath/controller' });
    this.collector = new BmpCollector({ keepCommunities: config.keepCommunities, peerWeights: config.peerWeights, logger: opts.logger });
    this.rib = this.collector.rib;
    this.injectors = opts.injectors ?? opts.injectorsFromConfig?.(config, this.log) ?? [];
    this.policy = { improvementMs: config.improvementMs, minSamples: config.minSamples, retransTolerance: config.retransTolerance, ttlMs: config.overrideTtlMs };
    this.excludeAsns = new Set(config.excludeAsns);
    this.staticActive = config.activePrefixes.map((t) => {
      const p = parsePrefix(t);
      return { family: p.family, net: p.family === 4 ? p.bytes.readUInt32BE(0) : 0, bytes: p.bytes, len: p.len };
    });
    this.http = new HttpApi({
      status: (q) => this.status({ all: q.get('all') === '1', limit: Number(q.get('limit') ?? 1000) }),
      samples: (body) => this.ingestNdjson(body),
      maxBodyBytes: config.maxBodyBytes,
    });
  }

  /**
   * Start injectors, then listen (BMP and HTTP on the configured addresses,
   * unless `listen: false`: attach servers yourself), then cycle every cycleMs.
   */
  async start(o: { listen?: boolean } = {}): Promise<{ bmp?: AddressInfo; http?: AddressInfo }> {
    for (const i of this.injectors) await i.start();
    const out: { bmp?: AddressInfo; http?: AddressInfo } = {};
    try {
      if (o.listen !== false) {
        const b = parseHostPort(this.config.bmpListen);
        out.bmp = await this.collector.listen(b.host, b.port);
        const h = parseHostPort(this.config.httpListen);
        out.http = await this.http.listen(h.host, h.port);
      }
    } catch (e) {
      await this.stop();
      throw e;
    }
    this.started = true;
    this.timer = setInterval(() => void this.cycle().catch((e) => this.log.warn({ err: String(e) }, 'cycle failed')), this.config.cycleMs);
    return out;
  }

  /** Accept BMP connections / HTTP requests from servers made elsewhere (another namespace). */
  attachBmp(server: Server): void {
    this.collector.attach(server);
  }

  attachHttp(server: Server): void {
    this.http.attach(server);
  }

  // ------------------------------------------------------------------ samples

  ingestNdjson(body: string, now = Date.now()): SamplesReply {
    const parsed = parseSamples(body);
    this.counters.samples_rejected += parsed.rejected;
    this.ingest(parsed.samples, now);
    return { accepted: parsed.accepted, rejected: parsed.rejected, errors: parsed.errors };
  }

  /** Join samples with the route in force and add them to that route's window; marks their prefixes active. */
  ingest(samples: readonly ConnSample[], now = Date.now()): void {
    for (const s of samples) {
      this.counters.samples_accepted++;
      const e = this.rib.lookup(s.daddr);
      if (!e) {
        this.counters.samples_unjoined++;
        continue;
      }
      const prev = this.active.get(e.key) ?? 0;
      this.active.set(e.key, Math.max(prev, Math.min(s.ts_ms, now)));
      const prefix = nlriText(e.nlri);
      let id = this.inForce.at(prefix, s.dscp, s.ts_ms);
      if (id === undefined) id = this.routeNow(e, s.dscp);
      if (!id) {
        this.counters.samples_unjoined++;
        continue;
      }
      let st = this.stats.get(id);
      if (!st) this.stats.set(id, (st = new RouteStats()));
      st.add(s);
    }
  }

  /** The route that carries (prefix, dscp) by the current ranking (and override). */
  private routeNow(e: PrefixEntry, dscp: number): string | null {
    const prefix = nlriText(e.nlri);
    const r = rankPrefix(e, { excludeAsns: this.excludeAsns, alternates: this.config.dscps.length });
    if (!r.primary) return null;
    const def = this.overrides.get(prefix)?.routeId ?? this.remember(prefix, r.primary, e.nlri.family);
    const i = this.config.dscps.indexOf(dscp);
    const alt = i >= 0 ? r.alternates[i] : undefined;
    return alt ? this.remember(prefix, alt, e.nlri.family) : def;
  }

  private remember(prefix: string, r: Route, family: 4 | 6): string {
    const id = routeId(prefix, r);
    if (!this.routeInfo.has(id)) {
      this.routeInfo.set(id, { prefix, peer: r.peer.address, peer_asn: r.peer.asn, next_hop: routeNextHop(r, family) ?? null, as_path: r.attrs.pathText });
    }
    return id;
  }

  /** Mark a prefix active as if traffic was seen (benchmarks, tests). */
  markActive(key: PrefixKey, at = Date.now()): void {
    this.active.set(key, at);
  }

  private isStaticActive(e: PrefixEntry): boolean {
    for (const s of this.staticActive) {
      if (s.family !== e.nlri.family || e.nlri.len < s.len) continue;
      if (e.nlri.family === 4) {
        if (((e.nlri.net & ipv4Mask(s.len)) >>> 0) === s.net) return true;
      } else {
        let ok = true;
        for (let b = 0; b < s.len && ok; b++) {
          const bit = (x: Buffer): number => (x[b >> 3]! >> (7 - (b & 7))) & 1;
          ok = bit(e.nlri.bytes) === bit(s.bytes);
        }
        if (ok) return true;
      }
    }
    return false;
  }

  private activeEntries(now: number): PrefixEntry[] {
    const out: PrefixEntry[] = [];
    const seen = new Set<PrefixKey>();
    for (const [k, t] of this.active) {
      if (now - t > this.config.activeWindowMs) {
        this.active.delete(k);
        continue;
      }
      const e = this.rib.entry(k);
      if (e) {
        out.push(e);
        seen.add(k);
      }
    }
    if (this.staticActive.length) for (const e of this.rib.entries()) if (!seen.has(e.key) && this.isStaticActive(e)) out.push(e);
    return out;
  }

  // ------------------------------------------------------------------ cycle

  private summary(id: string): RouteStatsSummary {
    return (this.stats.get(id) ?? new RouteStats()).summary();
  }

  /** One injection cycle (also run by the timer). Concurrent calls share one run. */
  cycle(now = Date.now()): Promise<CycleReport> {
    if (this.running) return this.running;
    this.running = this.runCycle(now).finally(() => (this.running = undefined));
    return this.running;
  }

  private async runCycle(now: number): Promise<CycleReport> {
    const t0 = performance.now();
    const since = now - this.config.windowMs;
    for (const [id, st] of this.stats) if (st.prune(since) === 0) this.stats.delete(id);
    this.inForce.prune(since);
    const desired: RouteTables = new Map([[OVERRIDE_SLOT, new Map()]]);
    for (const d of this.config.dscps) desired.set(dscpSlot(d), new Map());
    const entries = this.activeEntries(now);
    let added = 0;
    let removed = 0;
    const activePrefixes = new Set<string>();
    for (const e of entries) {
      const prefix = nlriText(e.nlri);
      activePrefixes.add(prefix);
      const fam = e.nlri.family;
      const r: Ranked = rankPrefix(e, { excludeAsns: this.excludeAsns, alternates: this.config.dscps.length });
      if (!r.primary) continue;
      const primaryId = this.remember(prefix, r.primary, fam);
      // overrides: withdrawn route or expiry removes; otherwise evaluate
      let ov = this.overrides.get(prefix);
      if (ov) {
        const still = r.ranked.find((x) => routeId(prefix, x) === ov!.routeId);
        const gone = !still;
        if (gone || now >= ov.expiresAt || primaryId === ov.routeId) {
          this.overrides.delete(prefix);
          removed++;
          this.log.info({ prefix, route: ov.routeId, why: gone ? 'route withdrawn' : primaryId === ov.routeId ? 'now BGP best' : 'expired' }, 'override removed');
          ov = undefined;
        }
      }
      if (!ov) {
        const alts = r.ranked.slice(1).filter((x) => !(this.excludeAsns.size && [...x.attrs.asns].some((a) => this.excludeAsns.has(a))));
        if (!(r.excluded === 'destination')) {
          const choice = chooseOverride(
            this.summary(primaryId),
            alts.map((x) => ({ routeId: routeId(prefix, x), stats: this.summary(routeId(prefix, x)) })),
            this.policy,
          );
          const route = choice ? alts.find((x) => routeId(prefix, x) === choice) : undefined;
          const nh = route ? routeNextHop(route, fam) : undefined;
          if (route && nh) {
            ov = {
              prefix,
              family: fam,
              routeId: this.remember(prefix, route, fam),
              nextHop: nh,
              primaryRouteId: primaryId,
              since: now,
              expiresAt: now + this.policy.ttlMs,
              alternate: this.summary(choice!),
              primary: this.summary(primaryId),
            };
            this.overrides.set(prefix, ov);
            added++;
            this.log.info({ prefix, route: ov.routeId, over: primaryId, alt_ms: ov.alternate.srtt_median_ms, primary_ms: ov.primary.srtt_median_ms }, 'override injected');
          }
        }
      }
      const def = ov ? ov.routeId : primaryId;
      if (ov) desired.get(OVERRIDE_SLOT)!.set(prefix, { prefix, family: fam, nextHop: ov.nextHop, routeId: ov.routeId });
      this.inForce.record(prefix, 0, def, now);
      this.config.dscps.forEach((d, i) => {
        const alt = r.alternates[i];
        const nh = alt ? routeNextHop(alt, fam) : undefined;
        if (alt && nh) {
          const id = this.remember(prefix, alt, fam);
          desired.get(dscpSlot(d))!.set(prefix, { prefix, family: fam, nextHop: nh, routeId: id });
          this.inForce.record(prefix, d, id, now);
        } else this.inForce.record(prefix, d, def, now);
      });
    }
    // overrides of prefixes that left the RIB or went idle
    for (const [p, ov] of this.overrides) {
      if (!activePrefixes.has(p)) {
        this.overrides.delete(p);
        removed++;
        this.log.info({ prefix: p, route: ov.routeId, why: 'prefix inactive or gone' }, 'override removed');
      }
    }
    for (const id of this.routeInfo.keys()) if (!this.stats.has(id) && !this.isInjected(desired, id)) this.routeInfo.delete(id);
    const changes: Record<string, number> = {};
    for (const inj of this.injectors) changes[inj.name] = (await inj.sync(desired)).changes;
    this.desiredCache = desired;
    this.counters.cycles++;
    this.last = {
      at: new Date(now).toISOString(),
      ms: +(performance.now() - t0).toFixed(3),
      active_prefixes: entries.length,
      injected: Object.fromEntries([...desired].map(([k, v]) => [k, v.size])),
      overrides: this.overrides.size,
      overrides_added: added,
      overrides_removed: removed,
      changes,
    };
    return this.last;
  }

  private isInjected(t: RouteTables, id: string): boolean {
    const prefix = this.routeInfo.get(id)?.prefix;
    if (!prefix) return false;
    for (const m of t.values()) if (m.get(prefix)?.routeId === id) return true;
    return this.inForce.at(prefix, 0, Date.now()) === id;
  }

  /** The tables of the last cycle (what every injector was asked to hold). */
  desired(): RouteTables {
    return this.desiredCache;
  }

  overridesList(): Override[] {
    return [...this.overrides.values()];
  }

  // ------------------------------------------------------------------ status

  status(o: { all?: boolean; limit?: number } = {}): unknown {
    const limit = Number.isFinite(o.limit) && o.limit! > 0 ? o.limit! : 1000;
    const now = Date.now();
    const activeKeys = new Set(this.activeEntries(now).map((e) => e.key));
    const prefixes: unknown[] = [];
    const list = o.all ? this.rib.entries() : [...activeKeys].map((k) => this.rib.entry(k)!).filter(Boolean)[Symbol.iterator]();
    for (const e of list) {
      if (prefixes.length >= limit) break;
      const prefix = nlriText(e.nlri);
      const fam = e.nlri.family;
      const ranked = rankRoutes(candidates(e), Infinity);
      const picked = rankPrefix(e, { excludeAsns: this.excludeAsns, alternates: this.config.dscps.length });
      const ov = this.overrides.get(prefix);
      prefixes.push({
        prefix,
        active: activeKeys.has(e.key),
        last_traffic: this.active.has(e.key) ? new Date(this.active.get(e.key)!).toISOString() : null,
        ...(picked.excluded ? { excluded: picked.excluded } : {}),
        routes: ranked.map((r, i) => {
          const id = routeId(prefix, r);
          const alt = picked.alternates.indexOf(r);
          return {
            rank: i + 1,
            route_id: id,
            peer: r.peer.address,
            peer_asn: r.peer.asn,
            router: r.peer.router,
            next_hop: routeNextHop(r, fam) ?? null,
            as_path: r.attrs.pathText,
            origin: ['igp', 'egp', 'incomplete'][r.attrs.origin],
            med: r.attrs.med ?? null,
            local_pref: r.attrs.localPref ?? null,
            policy: r.post ? 'post' : 'pre',
            table: ov?.routeId === id ? 'override' : i === 0 ? 'main' : alt >= 0 ? dscpSlot(this.config.dscps[alt]!) : null,
            performance: this.summary(id),
          };
        }),
        override: ov ?? null,
      });
    }
    const tables: Record<string, Record<string, Record<string, string>>> = {};
    for (const inj of this.injectors) {
      const w = inj.written();
      tables[inj.name] = Object.fromEntries([...w].map(([slot, m]) => [slot, Object.fromEntries([...m].map(([p, r]) => [p, r.nextHop]))]));
    }
    const performance = [...this.stats].map(([id, st]) => ({ route_id: id, ...this.routeInfo.get(id), ...st.summary() }));
    const c = this.collector.status();
    return {
      schema: STATUS_SCHEMA,
      started_at: this.startedAt,
      config: { dscps: this.config.dscps, cycle_ms: this.config.cycleMs, active_window_ms: this.config.activeWindowMs, window_ms: this.config.windowMs, min_samples: this.config.minSamples, improvement_ms: this.config.improvementMs, exclude_asns: this.config.excludeAsns },
      bmp: { listening: c.listening, sessions: c.sessions, prefixes: c.prefixes, routes: c.routes, counters: c.counters },
      samples: { accepted: this.counters.samples_accepted, rejected: this.counters.samples_rejected, unjoined: this.counters.samples_unjoined },
      cycles: this.counters.cycles,
      last_cycle: this.last ?? null,
      prefixes,
      tables,
      injectors: this.injectors.map((i) => i.status()),
      performance,
      overrides: this.overridesList(),
    };
  }

  /**
   * Stop cycling, close listeners and sessions, and stop the injectors
   * (removing what they injected unless config.keepRoutes). Safe twice.
   */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await this.running?.catch(() => undefined);
    await this.collector.close();
    await this.http.close();
    for (const i of this.injectors) {
      try {
        await i.stop({ keep: this.config.keepRoutes });
      } catch (e) {
        this.log.warn({ injector: i.name, err: String(e) }, 'injector cleanup failed');
      }
    }
    if (this.started) this.log.info({ keep_routes: this.config.keepRoutes }, 'AltPath controller stopped');
  }
}
