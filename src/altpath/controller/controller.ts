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
import { dscpSlot, OVERRIDE_SLOT, type InjectedRoute, type RouteChange, type RouteTables, type TableSlot } from '../inject/tables.js';
import type { Injector } from '../inject/injector.js';
import { InForceHistory } from '../measure/in-force.js';
import { parseSamples } from '../measure/ingest.js';
import { betterOverride, chooseOverride, type Override, type OverridePolicy } from '../measure/overrides.js';
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

/**
 * What a cycle decided for one prefix, reused while the prefix's routes and
 * the peers do not change. It holds routes, not their ids: an id (a string
 * per route) is made only when something reads it (a sample join, status,
 * an override decision), not for each of the prefixes a first cycle writes.
 */
interface PrefixPlan {
  key: PrefixKey;
  version: number;
  epoch: number;
  cycle: number;
  prefix: string;
  family: 4 | 6;
  primary: Route | undefined;
  excluded: Ranked['excluded'];
  /**
   * What default traffic ([0], BGP's best) and each DSCP ([1 + i], config
   * order) take without an override: the DSCP's alternate when it has one
   * with a next hop, else the same route as [0] (its traffic takes the
   * default table). Also the in-force record.
   */
  inForce: ReadonlyArray<Route | null>;
  /**
   * What is in force now (inForce, or with an override as [0]) and since
   * when; carried over to the plan that replaces this one. Earlier records
   * are in the InForceHistory (a prefix whose routes never changed has none
   * there).
   */
  current: ReadonlyArray<InForceRoute | null> | undefined;
  since: number;
  /** The override routeId this plan's tables were written with ('' for none). */
  writtenOverride?: string;
}

/** A route recorded in force: a RIB route, or an override's routeId. */
type InForceRoute = Route | string;

function sameInForce(a: InForceRoute | null, b: InForceRoute | null): boolean {
  if (a === b) return true;
  if (a === null || b === null || typeof a === 'string' || typeof b === 'string') return false;
  // a route announced again with the same attributes is the same route
  return a.peer === b.peer && a.attrs === b.attrs;
}

/**
 * A table entry and the change that wrote it, one object (a first cycle
 * writes every active prefix). Its routeId is made when first read.
 */
class TableRoute implements RouteChange, InjectedRoute {
  readonly op = 'set' as const;
  constructor(
    readonly slot: TableSlot,
    readonly prefix: string,
    readonly family: 4 | 6,
    readonly nextHop: string,
    /** The route (or an override's routeId). */
    public route: InForceRoute,
  ) {}

  get routeId(): string {
    const r = this.route;
    return typeof r === 'string' ? r : routeId(this.prefix, r);
  }
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
  private readonly inForce: InForceHistory<InForceRoute, PrefixKey>;
  /** DSCP -> index in an in-force record (0: default traffic, 1 + i: the i-th AltPath DSCP). */
  private readonly dscpIndex = new Map<number, number>();
  /** Prefixes (text) with a measurement window on any of their routes (most have none: no override to evaluate). */
  private readonly statPrefixes = new Map<string, number>();
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
  /** What every injector is asked to hold, kept up to date incrementally. */
  private readonly tables: RouteTables = new Map();
  private readonly plans = new Map<PrefixKey, PrefixPlan>();
  private cycleNo = 0;
  private readonly cycleListeners = new Set<(r: CycleReport) => void>();

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
    this.inForce = new InForceHistory<InForceRoute, PrefixKey>(config.dscps, sameInForce);
    config.dscps.forEach((d, i) => this.dscpIndex.set(d, i + 1));
    this.dscpIndex.set(0, 0);
    this.tables.set(OVERRIDE_SLOT, new Map());
    for (const d of config.dscps) this.tables.set(dscpSlot(d), new Map());
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
      const was = this.inForceAt(e.key, s.dscp, s.ts_ms);
      let id = was === undefined || was === null ? was : typeof was === 'string' ? was : routeId(prefix, was);
      if (id === undefined) id = this.routeNow(e, s.dscp);
      if (!id) {
        this.counters.samples_unjoined++;
        continue;
      }
      let st = this.stats.get(id);
      if (!st) {
        this.stats.set(id, (st = new RouteStats()));
        const r = e.routes.find((x) => routeId(prefix, x) === id);
        this.routeInfo.set(id, r ? this.info(prefix, r, e.nlri.family) : { prefix, peer: '', peer_asn: 0, next_hop: null, as_path: '' });
        this.statPrefixes.set(prefix, (this.statPrefixes.get(prefix) ?? 0) + 1);
      }
      st.add(s);
    }
  }

  /** The route recorded in force for (prefix, dscp) at t (the current one from the plan, else from the history). */
  private inForceAt(key: PrefixKey, dscp: number, t: number): InForceRoute | null | undefined {
    const p = this.plans.get(key);
    if (p?.current && p.since <= t) return p.current[this.dscpIndex.get(dscp) ?? 0];
    return this.inForce.at(key, dscp, t);
  }

  /** The route that carries (prefix, dscp) by the current ranking (and override). */
  private routeNow(e: PrefixEntry, dscp: number): string | null {
    const prefix = nlriText(e.nlri);
    const r = rankPrefix(e, { excludeAsns: this.excludeAsns, alternates: this.config.dscps.length });
    if (!r.primary) return null;
    const def = this.overrides.get(prefix)?.routeId ?? routeId(prefix, r.primary);
    const i = this.config.dscps.indexOf(dscp);
    const alt = i >= 0 ? r.alternates[i] : undefined;
    return alt ? routeId(prefix, alt) : def;
  }

  private info(prefix: string, r: Route, family: 4 | 6): RouteInfo {
    return { prefix, peer: r.peer.address, peer_asn: r.peer.asn, next_hop: routeNextHop(r, family) ?? null, as_path: r.attrs.pathText };
  }

  /** Mark a prefix active as if traffic was seen (benchmarks, tests). */
  markActive(key: PrefixKey, at = Date.now()): void {
    this.active.set(key, at);
  }

  private isStaticActive(e: PrefixEntry): boolean {
    if (typeof e.key === 'number') {
      // IPv4 up to /26 without building the prefix object (this runs over the whole RIB)
      const net = (e.key & ~63) >>> 0;
      const len = e.key & 63;
      for (const s of this.staticActive) if (s.family === 4 && len >= s.len && ((net & ipv4Mask(s.len)) >>> 0) === s.net) return true;
      return false;
    }
    const n = e.nlri;
    for (const s of this.staticActive) {
      if (s.family !== n.family || n.len < s.len) continue;
      if (n.family === 4) {
        if (((n.net & ipv4Mask(s.len)) >>> 0) === s.net) return true;
      } else {
        let ok = true;
        for (let b = 0; b < s.len && ok; b++) {
          const bit = (x: Buffer): number => (x[b >> 3]! >> (7 - (b & 7))) & 1;
          ok = bit(n.bytes) === bit(s.bytes);
        }
        if (ok) return true;
      }
    }
    return false;
  }

  /**
   * The active prefixes' entries, one at a time (a cycle handles each and
   * drops it: entries made all at once would outlive the young generation).
   */
  private *activeEntries(now: number): Generator<PrefixEntry> {
    const seen = this.staticActive.length ? new Set<PrefixKey>() : undefined;
    for (const [k, t] of this.active) {
      if (now - t > this.config.activeWindowMs) {
        this.active.delete(k);
        continue;
      }
      const e = this.rib.entry(k);
      if (e) {
        seen?.add(k);
        yield e;
      }
    }
    if (seen) for (const e of this.rib.entries()) if (!seen.has(e.key) && this.isStaticActive(e)) yield e;
  }

  // ------------------------------------------------------------------ cycle

  private summary(id: string): RouteStatsSummary {
    return (this.stats.get(id) ?? new RouteStats()).summary();
  }

  /** One injection cycle (also run by the timer). Concurrent calls share one run. */
  cycle(now = Date.now()): Promise<CycleReport> {
    if (this.running) return this.running;
    this.running = this.runCycle(now).finally(() => (this.running = undefined));
    void this.running.then((r) => {
      for (const cb of this.cycleListeners) cb(r);
    }, () => undefined);
    return this.running;
  }

  /** Called after every cycle (the fleet publisher reports then); returns an unsubscribe. */
  onCycle(cb: (r: CycleReport) => void): () => void {
    this.cycleListeners.add(cb);
    return () => this.cycleListeners.delete(cb);
  }

  private plan(e: PrefixEntry): PrefixPlan {
    const old = this.plans.get(e.key);
    if (old && old.version === e.version && old.epoch === this.rib.epoch) {
      old.cycle = this.cycleNo;
      return old;
    }
    const prefix = old?.prefix ?? nlriText(e.nlri);
    const fam = e.family;
    const ranked = rankPrefix(e, { excludeAsns: this.excludeAsns, alternates: this.config.dscps.length });
    const n = this.config.dscps.length;
    const def = ranked.primary ?? null;
    const inForce: Array<Route | null> = new Array(n + 1);
    inForce[0] = def;
    for (let i = 0; i < n; i++) {
      const a = ranked.alternates[i];
      inForce[i + 1] = a && routeNextHop(a, fam) ? a : def;
    }
    const plan: PrefixPlan = {
      key: e.key,
      version: e.version,
      epoch: this.rib.epoch,
      cycle: this.cycleNo,
      prefix,
      family: fam,
      primary: ranked.primary,
      excluded: ranked.excluded,
      inForce,
      current: old?.current,
      since: old?.since ?? 0,
    };
    this.plans.set(e.key, plan);
    return plan;
  }

  private evaluateOverride(plan: PrefixPlan, e: PrefixEntry, now: number): { added: number; removed: number } {
    const { prefix } = plan;
    let added = 0;
    let removed = 0;
    let ov = this.overrides.get(prefix);
    // most prefixes have neither an override nor samples: nothing to decide, no ids to make
    if (!ov && (plan.excluded === 'destination' || !plan.primary || !this.statPrefixes.has(prefix))) return { added, removed };
    const primaryId = plan.primary ? routeId(prefix, plan.primary) : '';
    if (!ov && (this.stats.get(primaryId)?.count ?? 0) < this.policy.minSamples) return { added, removed };
    const r = rankPrefix(e, { excludeAsns: this.excludeAsns, alternates: this.config.dscps.length });
    if (ov) {
      const gone = !r.ranked.some((x) => routeId(prefix, x) === ov!.routeId);
      if (gone || now >= ov.expiresAt || primaryId === ov.routeId) {
        this.overrides.delete(prefix);
        removed++;
        this.log.info({ prefix, route: ov.routeId, why: gone ? 'route withdrawn' : primaryId === ov.routeId ? 'now BGP best' : 'expired' }, 'override removed');
        ov = undefined;
      }
    }
    // evaluate only with enough samples on the primary (the rule needs them; most prefixes have none)
    if (r.excluded === 'destination' || (this.stats.get(primaryId)?.count ?? 0) < this.policy.minSamples) return { added, removed };
    const alts = r.ranked.slice(1).filter((x) => !(this.excludeAsns.size && [...x.attrs.asns].some((a) => this.excludeAsns.has(a))));
    const choice = chooseOverride(
      this.summary(primaryId),
      alts.map((x) => ({ routeId: routeId(prefix, x), stats: this.summary(routeId(prefix, x)) })),
      this.policy,
    );
    if (!choice || choice === ov?.routeId) return { added, removed };
    // An override in force stays until it expires unless another alternate now
    // qualifies and beats it by half the required improvement: the first
    // alternate to reach enough samples is not always the fastest one.
    const replaced = ov;
    if (replaced && !betterOverride(this.summary(replaced.routeId), this.summary(choice), this.policy)) return { added, removed };
    const route = alts.find((x) => routeId(prefix, x) === choice);
    const nh = route ? routeNextHop(route, plan.family) : undefined;
    if (route && nh) {
      if (replaced) {
        this.overrides.delete(prefix);
        removed++;
        this.log.info({ prefix, route: replaced.routeId, by: choice, was_ms: this.summary(replaced.routeId).srtt_median_ms, now_ms: this.summary(choice).srtt_median_ms }, 'override replaced by a faster alternate');
      }
      ov = {
        prefix,
        family: plan.family,
        routeId: choice!,
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
    return { added, removed };
  }

  private async runCycle(now: number): Promise<CycleReport> {
    const t0 = performance.now();
    this.cycleNo++;
    const since = now - this.config.windowMs;
    for (const [id, st] of this.stats) {
      if (st.prune(since) === 0) {
        this.stats.delete(id);
        const p = this.routeInfo.get(id)?.prefix;
        this.routeInfo.delete(id);
        if (p !== undefined) {
          const left = (this.statPrefixes.get(p) ?? 1) - 1;
          if (left > 0) this.statPrefixes.set(p, left);
          else this.statPrefixes.delete(p);
        }
      }
    }
    this.inForce.prune(since);
    const slotNames = this.config.dscps.map((d) => dscpSlot(d));
    const slots = slotNames.map((d) => this.tables.get(d)!);
    const overrideTable = this.tables.get(OVERRIDE_SLOT)!;
    const changes: RouteChange[] = [];
    const put = (slot: TableSlot, m: Map<string, InjectedRoute>, prefix: string, family: 4 | 6, nextHop?: string, route?: InForceRoute): void => {
      const cur = m.get(prefix);
      if (nextHop) {
        if (cur && cur.nextHop === nextHop) {
          if (cur instanceof TableRoute) cur.route = route!;
          else cur.routeId = typeof route === 'string' ? route : routeId(prefix, route!);
          return;
        }
        // one object serves as the change and as the table entry (a first cycle writes every active prefix)
        const c = new TableRoute(slot, prefix, family, nextHop, route!);
        m.set(prefix, c);
        changes.push(c);
      } else if (cur) {
        m.delete(prefix);
        changes.push({ slot, op: 'delete', prefix, family });
      }
    };
    let activeCount = 0;
    let added = 0;
    let removed = 0;
    for (const e of this.activeEntries(now)) {
      activeCount++;
      const plan = this.plan(e);
      const o = this.evaluateOverride(plan, e, now);
      added += o.added;
      removed += o.removed;
      const ov = this.overrides.get(plan.prefix);
      const ovId = ov?.routeId ?? '';
      // a new plan (its routes changed) has no writtenOverride yet; an unchanged one is skipped unless its override changed
      if (plan.writtenOverride === ovId) continue;
      plan.writtenOverride = ovId;
      const { prefix, family } = plan;
      const f = plan.inForce;
      for (let i = 0; i < slots.length; i++) {
        const a = f[i + 1] !== f[0] ? f[i + 1]! : undefined;
        put(slotNames[i]!, slots[i]!, prefix, family, a ? routeNextHop(a, family) : undefined, a);
      }
      put(OVERRIDE_SLOT, overrideTable, prefix, family, ov?.nextHop, ov?.routeId);
      let rec: ReadonlyArray<InForceRoute | null> = f;
      if (ov) {
        const def = ov.routeId;
        rec = f.map((r, i) => (i > 0 && r !== f[0] ? r : def));
      }
      const cur = plan.current;
      if (!cur || cur.length !== rec.length || !cur.every((r, i) => sameInForce(r, rec[i] ?? null))) {
        if (cur) this.inForce.record(plan.key, cur, plan.since);
        plan.current = rec;
        plan.since = now;
      }
    }
    // plans (and overrides) of prefixes that left the RIB or went idle
    for (const [k, plan] of this.plans) {
      if (plan.cycle === this.cycleNo) continue;
      this.plans.delete(k);
      for (let i = 0; i < slots.length; i++) put(slotNames[i]!, slots[i]!, plan.prefix, plan.family);
      put(OVERRIDE_SLOT, overrideTable, plan.prefix, plan.family);
      this.inForce.delete(plan.key);
      const ov = this.overrides.get(plan.prefix);
      if (ov) {
        this.overrides.delete(plan.prefix);
        removed++;
        this.log.info({ prefix: plan.prefix, route: ov.routeId, why: 'prefix inactive or gone' }, 'override removed');
      }
    }
    const written: Record<string, number> = {};
    for (const inj of this.injectors) written[inj.name] = (inj.needsSync ? await inj.sync(this.tables) : await inj.apply(changes)).changes;
    this.counters.cycles++;
    this.last = {
      at: new Date(now).toISOString(),
      ms: +(performance.now() - t0).toFixed(3),
      active_prefixes: activeCount,
      injected: Object.fromEntries([...this.tables].map(([k, v]) => [k, v.size])),
      overrides: this.overrides.size,
      overrides_added: added,
      overrides_removed: removed,
      changes: written,
    };
    return this.last;
  }

  /** The tables of the last cycle (what every injector was asked to hold). */
  desired(): RouteTables {
    return this.tables;
  }

  overridesList(): Override[] {
    return [...this.overrides.values()];
  }

  // ------------------------------------------------------------------ status

  status(o: { all?: boolean; limit?: number } = {}): unknown {
    const limit = Number.isFinite(o.limit) && o.limit! > 0 ? o.limit! : 1000;
    const now = Date.now();
    const activeKeys = new Set([...this.activeEntries(now)].map((e) => e.key));
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
