/**
 * The data plane of one interface: attach vxlan_sport to its TC egress and
 * probe_steer to its TC ingress, sharing pinned maps, detach both (from any
 * later process), and open the pinned maps with typed codecs. Filters and pins outlive the attaching process
 * on purpose (fail-static: the data plane keeps its last table when the agent
 * dies); what attach created is recorded in a small JSON file so `detach`
 * removes exactly that and nothing it found.
 *
 * Layout, per network namespace (see loader/netns.ts):
 *   pins:   /sys/fs/bpf/pathsteer/[ns/NAME/]IFNAME/ps_*
 *   record: /run/pathsteer/[ns/NAME/]IFNAME.json
 *
 * Pins are the first way to the maps, not the only one: a process started with
 * `ip netns exec` (or from a unit with private mounts) sees a bpffs of its own
 * mount namespace (attach mounts one when there is none, see loader/bpffs.ts),
 * where another process's pins are not. The record names the filters, and the
 * program a filter runs names its maps, so every process of the network
 * namespace finds the same maps (`mapsOfFilter`), and attach adopts them.
 */
import { randomInt } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { z } from 'zod';
import { PathsteerError, UsageError } from '../common/errors.js';
import { dropChangedPins, removeEmptyDirs, removeFilterIfOurs, removePins, writeJsonAtomic, type FilterOutcome } from './pinned.js';
import { PS_ALTPATH_TC_HANDLE, PS_ALTPATH_TC_PRIORITY } from './tc-slots.js';
import { logger } from '../common/logger.js';
import {
  BpfError,
  BpfMap,
  BpfObject,
  BPF_FS_MAGIC,
  BPFFS_MOUNT_POINT,
  Btf,
  ensureBpffs,
  fsMagic,
  fsTypeName,
  ifIndex,
  mapsOfProgram,
  mapInfo,
  netnsScope,
  pinDifferences,
  PinMismatchError,
  tcAttach,
  tcDetach,
  tcHookCreate,
  tcHookDestroy,
  tcQuery,
  Teardown,
  type TcFilter,
  type TcPoint,
} from '../loader/index.js';
import { ActivityCodec, combineActivity, type Activity } from './activity.js';
import { ConfigCodec, type PsConfig } from './config.js';
import { MapName, ProgName, BpfObjects } from './names.generated.js';
import { objectPath } from './objects.js';
import { PathEntryCodec, type PathEntry } from './path-entry.js';
import { PinKeyCodec, PinValCodec, type PinKey, type PinVal } from './pin.js';
import { DEFAULT_AGENT_PORT } from './probe.js';
import { FlowSlotCodec, pendingActivity, type FlowSlot } from './flow-cache.js';
import { PathGen } from './path-gen.js';
import { reflectTables, type ReflectTables } from './reflect.js';
import { PeerCodec, U32Codec } from './scalar.js';
import { readStats, type StatCounts } from './stats.js';
import { TypedMap } from './typed-map.js';

const log = logger.child({ module: 'maps/dataplane' });

export const PIN_ROOT = '/sys/fs/bpf/pathsteer';
export const STATE_ROOT = '/run/pathsteer';
export const DEFAULT_VXLAN_PORT = 4789;

/** Where pins and the attach record live; overridable for tests. */
export interface Roots {
  /** @default /sys/fs/bpf/pathsteer */
  pinRoot?: string;
  /** @default /run/pathsteer */
  stateRoot?: string;
}

export interface Location {
  ifname: string;
  /** '' in the initial namespace, `ns/NAME` in a named one. */
  scope: string;
  pinDir: string;
  stateFile: string;
}

const IFNAME_RE = /^[A-Za-z0-9_.:@-]{1,15}$/;

export function locate(ifname: string, roots: Roots = {}): Location {
  if (!IFNAME_RE.test(ifname) || ifname === '.' || ifname === '..') {
    throw new UsageError(`invalid interface name "${ifname}"`);
  }
  const scope = netnsScope();
  return {
    ifname,
    scope,
    pinDir: join(roots.pinRoot ?? PIN_ROOT, scope, ifname),
    stateFile: join(roots.stateRoot ?? STATE_ROOT, scope, `${ifname}.json`),
  };
}

const FilterSchema = z.object({
  ifindex: z.number().int(),
  point: z.enum(['ingress', 'egress']),
  handle: z.number().int(),
  priority: z.number().int(),
  progId: z.number().int(),
});

/** One program attach loaded and the TC filter that runs it. */
const ProgramRecordSchema = z.object({
  object: z.string(),
  program: z.string(),
  filter: FilterSchema,
});
export type ProgramRecord = z.infer<typeof ProgramRecordSchema>;

const Common = {
  ifname: z.string(),
  ifindex: z.number().int(),
  scope: z.string(),
  pinDir: z.string(),
  hookCreated: z.boolean(),
  /** Pins detach removes: the ones attach created, and pins left by `detach --keep-maps` that a later attach adopted. */
  pinsOwned: z.array(z.string()),
  attachedAt: z.string(),
};

const RecordV2 = z.object({
  version: z.literal(2),
  ...Common,
  /** vxlan_sport on TC egress. */
  egress: ProgramRecordSchema,
  /** probe_steer on TC ingress (absent with `--no-ingress`). */
  ingress: ProgramRecordSchema.optional(),
  /** vxlan_sport was loaded with its per-CPU flow cache (false: `--no-flow-cache`). */
  flowCache: z.boolean().default(true),
});

/** Records written before probe_steer existed (egress only) still detach. */
const RecordV1 = z
  .object({ version: z.literal(1), ...Common, object: z.string(), program: z.string(), filter: FilterSchema })
  .transform(({ object, program, filter, ...rest }) => ({ ...rest, version: 2 as const, egress: { object, program, filter }, flowCache: true }));

const RecordSchema: z.ZodType<AttachRecord> = z.union([RecordV2, RecordV1]);

/** What `attach` created on an interface (the JSON record). */
export type AttachRecord = z.infer<typeof RecordV2>;

export function readRecord(loc: Location): AttachRecord | undefined {
  let text: string;
  try {
    text = readFileSync(loc.stateFile, 'utf8');
  } catch {
    return undefined;
  }
  const r = RecordSchema.safeParse(JSON.parse(text));
  if (!r.success) throw new PathsteerError(`${loc.stateFile} is not a pathsteer attach record: ${r.error.issues[0]?.message}`);
  return r.data;
}

/** Interfaces with an attach record in this network namespace. */
export function attachedInterfaces(roots: Roots = {}): string[] {
  const dir = join(roots.stateRoot ?? STATE_ROOT, netnsScope());
  try {
    return readdirSync(dir)
      .filter((f) => f.endsWith('.json'))
      .map((f) => f.slice(0, -5))
      .sort();
  } catch {
    return [];
  }
}

/** --iface, or the only attached interface; UsageError otherwise. */
export function resolveIface(ifname: string | undefined, roots: Roots = {}): string {
  if (ifname) return ifname;
  const all = attachedInterfaces(roots);
  if (all.length === 1) return all[0]!;
  if (all.length === 0) throw new UsageError('pathsteer is not attached to any interface in this network namespace; pass --iface IF');
  throw new UsageError(`pathsteer is attached to ${all.join(', ')}; say which with --iface IF`);
}

export type { FilterOutcome };

export type Variant = 'auto' | 'precise' | 'compat';

let kernCtx: boolean | undefined;
/** Does the running kernel have the bpf_cast_to_kern_ctx kfunc (Linux >= 6.2)? */
export function kernelHasKernCtx(): boolean {
  if (kernCtx === undefined) {
    try {
      kernCtx = Btf.fromRaw('/sys/kernel/btf/vmlinux').hasFunc('bpf_cast_to_kern_ctx');
    } catch {
      kernCtx = false;
    }
  }
  return kernCtx;
}

const precise = (v: Variant): boolean => v === 'precise' || (v === 'auto' && kernelHasKernCtx());

/** The vxlan_sport program for this kernel (see ps_csum_is_seed in bpf/include/helpers/csum.h). */
export function sportProgram(v: Variant = 'auto'): string {
  return precise(v) ? ProgName.vxlanSport : ProgName.vxlanSportCompat;
}

/** The probe_steer program for this kernel (same choice as sportProgram). */
export function probeProgram(v: Variant = 'auto'): string {
  return precise(v) ? ProgName.probeSteer : ProgName.probeSteerCompat;
}

/** vxlan_sport's `const volatile` switch for the flow cache (1 = off), set with BpfObject.setGlobal before load. */
export const NO_FLOW_CACHE = 'ps_no_flow_cache';

/** The maps vxlan_sport pins per interface. */
export const SPORT_MAPS: readonly string[] = BpfObjects.vxlanSport.maps;
/** The maps probe_steer shares with vxlan_sport (a subset of SPORT_MAPS). */
export const PROBE_MAPS: readonly string[] = BpfObjects.probeSteer.maps;
/**
 * Pinned maps whose contents may be dropped when their definition changed
 * between pathsteer versions (counters, the flow cache): attach replaces such
 * a pin instead of refusing it. Every other mismatch is a PinMismatchError.
 */
const DISPOSABLE_MAPS: readonly string[] = [MapName.stats, MapName.flowCache];

export interface AttachOptions extends Roots {
  ifname: string;
  /** VXLAN destination port to steer. @default 4789 */
  vxlanPort?: number;
  /** Geneve destination port to steer; 0 = none. @default 0 */
  genevePort?: number;
  /** UDP port of the agent's probe socket; probe_steer delivers probes there. @default kept, else 14789 */
  agentPort?: number;
  /** Also attach probe_steer to TC ingress (false: egress only, and an earlier ingress filter is removed). @default true */
  ingress?: boolean;
  /** Flow-hash seed. @default kept from reused pins, else random */
  seed?: number;
  /** Which build of the programs. @default 'auto' */
  variant?: Variant;
  /** vxlan_sport's per-CPU flow cache (false: every packet takes the full path). @default true */
  flowCache?: boolean;
}

export interface AttachResult {
  record: AttachRecord;
  /** An earlier attach was replaced atomically (same filters, new programs). */
  replaced: boolean;
  /** Pinned maps adopted with their contents. */
  reusedPins: string[];
  /** Pins of disposable maps (counters) whose definition changed: replaced, contents dropped. */
  replacedPins: string[];
  config: PsConfig;
}

function noSuchIface(ifname: string): UsageError {
  return new UsageError(`no interface ${ifname} in this network namespace`);
}

function checkPorts(c: PsConfig): void {
  if (c.agentPort !== 0 && (c.agentPort === c.vxlanPort || c.agentPort === c.genevePort)) {
    throw new UsageError(`agent port ${c.agentPort} is also a tunnel port; probes could not be told from tunnel traffic`);
  }
}

/**
 * Load vxlan_sport (and, unless `ingress: false`, probe_steer) with their maps
 * pinned under the interface's pin directory (adopting compatible existing
 * pins; both programs share ps_config and ps_stats), write ps_config, and
 * attach vxlan_sport to the interface's clsact egress and probe_steer to its
 * ingress (accepting an existing clsact). Attaching again swaps the programs
 * in place and keeps the maps. On failure everything this call created is
 * removed again, newest first.
 */
export function attach(o: AttachOptions): AttachResult {
  // The verifier gives up with EAGAIN when a signal is pending (a profiler's
  // SIGPROF, a terminal's SIGWINCH ...); a failed attach undid itself, so try again.
  for (let attempt = 1; ; attempt++) {
    try {
      return attachOnce(o);
    } catch (e) {
      if (!(e instanceof BpfError) || e.errno !== EAGAIN || attempt >= ATTACH_ATTEMPTS) throw e;
      log.warn({ ifname: o.ifname, attempt, op: e.op }, 'program load interrupted by a signal (EAGAIN); retrying');
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20 * attempt);
    }
  }
}

const EAGAIN = 11;
const ATTACH_ATTEMPTS = 8;

function attachOnce(o: AttachOptions): AttachResult {
  const loc = locate(o.ifname, o);
  const ifindex = ifIndex(o.ifname);
  if (!ifindex) throw noSuchIface(o.ifname);
  let prev = readRecord(loc);
  if (prev && prev.ifindex !== ifindex) {
    log.info({ ifname: o.ifname, old: prev.ifindex, now: ifindex }, 'interface was re-created; its old filters are gone');
    prev = { ...prev, hookCreated: false };
  }
  const live = prev && prev.ifindex === ifindex ? prev : undefined;
  ensureBpffs(o.pinRoot ?? PIN_ROOT);
  const variant = o.variant ?? 'auto';
  const wantIngress = o.ingress ?? true;
  const egressProgram = sportProgram(variant);
  const ingressProgram = probeProgram(variant);
  const sportFile = objectPath('vxlanSport');
  const probeFile = objectPath('probeSteer');
  const objs: BpfObject[] = [];
  const undo = new Teardown();
  try {
    // 1. vxlan_sport creates (or adopts) every pin
    const sport = BpfObject.open(sportFile);
    objs.push(sport);
    for (const p of sport.programNames()) sport.setAutoload(p, p === egressProgram);
    const flowCache = o.flowCache ?? true;
    sport.setGlobal(NO_FLOW_CACHE, flowCache ? 0 : 1);
    const dirExisted = existsSync(loc.pinDir);
    const replacedPins = dirExisted ? dropChangedPins(sport, loc.pinDir, DISPOSABLE_MAPS, log) : [];
    // pins made in another mount namespace's bpffs are not visible here: adopt
    // the maps the attached program uses instead (and pin them here too)
    const adopted = live && !pinsVisible(loc.pinDir, SPORT_MAPS) ? mapsOfFilter(live, SPORT_MAPS) : undefined;
    if (adopted) {
      try {
        for (const [name, m] of adopted) if (!existsSync(join(loc.pinDir, name))) sport.reuseMap(name, m);
      } finally {
        for (const m of adopted.values()) m.close();
      }
      log.info({ ifname: o.ifname, pinDir: loc.pinDir }, 'adopted the maps of the attached programs (their pins are in another mount namespace)');
    }
    const plans = sport.pinMaps(loc.pinDir, SPORT_MAPS);
    if (!dirExisted) undo.push(`rmdir ${loc.pinDir}`, () => removeEmptyDirs(loc.pinDir, o.pinRoot ?? PIN_ROOT));
    sport.load();
    const created = plans.filter((p) => !p.reused);
    for (const p of created) undo.push(`unpin ${p.path}`, () => rmSync(p.path, { force: true }));

    const old = new TypedMap(sport.map(MapName.config), U32Codec, ConfigCodec).get(0);
    const wanted: PsConfig = {
      vxlanPort: o.vxlanPort ?? DEFAULT_VXLAN_PORT,
      genevePort: o.genevePort ?? 0,
      agentPort: o.agentPort ?? (old?.agentPort || DEFAULT_AGENT_PORT),
      flags: 0,
      hashSeed: o.seed ?? (old && old.hashSeed !== 0 ? old.hashSeed : randomInt(1, 2 ** 32 - 1)),
      pathGen: 0, // advanced by writeConfig, never written
    };
    checkPorts(wanted);
    // also a new generation: slots a replaced program filled are not trusted
    const gen = PathGen.open(sport.map(MapName.config), sport.map(MapName.stats));
    let config: PsConfig;
    try {
      config = gen.writeConfig(wanted);
    } finally {
      gen.close();
    }

    // 2. probe_steer adopts the pins vxlan_sport just made
    let probe: BpfObject | undefined;
    if (wantIngress) {
      probe = BpfObject.open(probeFile);
      objs.push(probe);
      for (const p of probe.programNames()) probe.setAutoload(p, p === ingressProgram);
      probe.pinMaps(loc.pinDir, PROBE_MAPS);
      probe.load();
    }

    // 3. filters: egress, then ingress; an earlier filter of ours is swapped in place
    const hookCreated = tcHookCreate(ifindex);
    if (hookCreated) undo.push('destroy clsact', () => tcHookDestroy(ifindex));
    const place = (point: TcPoint, obj: BpfObject, program: string, file: string, before?: ProgramRecord): ProgramRecord => {
      const progFd = obj.program(program).fd;
      let filter: TcFilter;
      if (before) {
        filter = tcAttach(progFd, ifindex, point, { replace: before.filter });
      } else {
        filter = tcAttach(progFd, ifindex, point);
        undo.push(`detach ${point} filter`, () => tcDetach(filter));
      }
      return { object: file, program, filter };
    };
    const egress = place('egress', sport, egressProgram, sportFile, live?.egress);
    const ingress = probe ? place('ingress', probe, ingressProgram, probeFile, live?.ingress) : undefined;
    if (!probe && live?.ingress) removeFilterIfOurs(live.ingress.filter, log); // asked for egress only now

    const record: AttachRecord = {
      version: 2,
      ifname: o.ifname,
      ifindex,
      scope: loc.scope,
      pinDir: loc.pinDir,
      egress,
      ...(ingress ? { ingress } : {}),
      flowCache,
      hookCreated: hookCreated || (prev?.hookCreated ?? false),
      // with a record, we own what we created; without one, pins in our own pin
      // directory are leftovers of `detach --keep-maps` and become ours again
      pinsOwned: prev ? [...new Set([...prev.pinsOwned, ...created.map((p) => p.name)])] : plans.map((p) => p.name),
      attachedAt: new Date().toISOString(),
    };
    writeJsonAtomic(loc.stateFile, record);
    undo.commit();
    log.debug({ ifname: o.ifname, egress: egress.filter, ingress: ingress?.filter, replaced: !!prev }, 'attached');
    const reusedPins = adopted ? [...SPORT_MAPS] : plans.filter((p) => p.reused).map((p) => p.name);
    return { record, replaced: !!prev, reusedPins, replacedPins, config };
  } catch (e) {
    try {
      undo.run();
    } catch (cleanup) {
      log.warn({ err: cleanup }, 'cleanup after a failed attach was incomplete');
    }
    throw e;
  } finally {
    for (const obj of objs.reverse()) obj.close();
  }
}

/**
 * The maps of an attached interface found through the program its recorded
 * egress filter runs (when that filter still runs the recorded program), keyed
 * by name (probe_steer's on ingress too); undefined when there is no such filter. Works from any mount
 * namespace (needs CAP_SYS_ADMIN, as opening maps by id does).
 */
export function mapsOfFilter(rec: AttachRecord, names: readonly string[]): Map<string, BpfMap> | undefined {
  if (ifIndex(rec.ifname) !== rec.ifindex) return undefined;
  const running = (f: AttachRecord['egress']['filter']): number | undefined => {
    const progId = tcQuery(f.ifindex, f.point, f.handle, f.priority);
    return progId !== undefined && progId === f.progId ? progId : undefined;
  };
  const egress = running(rec.egress.filter);
  if (egress === undefined) return undefined;
  // probe_steer (ingress) uses maps vxlan_sport does not (the reflector's)
  const ingress = rec.ingress ? running(rec.ingress.filter) : undefined;
  return mapsOfProgram(ingress === undefined ? [egress] : [egress, ingress], names);
}

/** What the pin root's mount point holds now: bpffs, or another filesystem (ip netns exec's fresh sysfs) or nothing. */
export function pinFilesystem(): { mountPoint: string; bpffs: boolean; type: string } {
  const m = fsMagic(BPFFS_MOUNT_POINT);
  return { mountPoint: BPFFS_MOUNT_POINT, bpffs: m === BPF_FS_MAGIC, type: m === undefined ? 'missing' : fsTypeName(m) };
}

/** Are the pins of these maps visible here (bpffs mounted, every pin present)? */
function pinsVisible(pinDir: string, names: readonly string[]): boolean {
  return fsMagic(pinDir) === BPF_FS_MAGIC && names.every((n) => existsSync(join(pinDir, n)));
}

export interface DetachOptions extends Roots {
  /** Keep the pinned maps (and their tables) for a later attach. @default false */
  keepMaps?: boolean;
}

export interface DetachResult {
  ifname: string;
  /** Every filter of the record was found and removed. */
  filterRemoved: boolean;
  /** Another program sits where one of our filters was (left alone). */
  filterReplacedByOther: boolean;
  /** Per hook point: what happened to our filter there. */
  filters: Partial<Record<TcPoint, FilterOutcome>>;
  /** The clsact hook we had created was removed. */
  hookDestroyed: boolean;
  /** Pins removed (those the record owns). */
  unpinned: string[];
}

/** Undo attach, newest first: filters (ingress, egress), clsact (only if we created it), pins we own, record. */
export function detach(ifname: string, o: DetachOptions = {}): DetachResult {
  const loc = locate(ifname, o);
  const rec = readRecord(loc);
  if (!rec) throw new UsageError(`pathsteer is not attached to ${ifname} in this network namespace (no ${loc.stateFile})`);
  const ifindex = ifIndex(ifname);
  const res: DetachResult = { ifname, filterRemoved: false, filterReplacedByOther: false, filters: {}, hookDestroyed: false, unpinned: [] };
  if (ifindex && ifindex === rec.ifindex) {
    for (const p of [rec.ingress, rec.egress]) if (p) res.filters[p.filter.point] = removeFilterIfOurs(p.filter, log);
    const outcomes = Object.values(res.filters);
    res.filterRemoved = outcomes.every((x) => x === 'removed');
    res.filterReplacedByOther = outcomes.includes('replaced-by-other');
    // the clsact hook goes only if we made it and nothing of ours or AltPath's still uses it
    const altpathThere = tcQuery(ifindex, 'egress', PS_ALTPATH_TC_HANDLE, PS_ALTPATH_TC_PRIORITY) !== undefined;
    if (rec.hookCreated && !res.filterReplacedByOther && !altpathThere) {
      tcHookDestroy(ifindex);
      res.hookDestroyed = true;
    }
  }
  if (!o.keepMaps && fsMagic(rec.pinDir) === BPF_FS_MAGIC) res.unpinned = removePins(rec.pinDir, rec.pinsOwned, o.pinRoot ?? PIN_ROOT);
  rmSync(loc.stateFile, { force: true });
  removeEmptyDirs(dirname(loc.stateFile), o.stateRoot ?? STATE_ROOT);
  log.debug(res, 'detached');
  return res;
}

/** Typed views of vxlan_sport's maps. */
export interface SportTables {
  config: TypedMap<number, PsConfig>;
  path: TypedMap<string, PathEntry>;
  pin: TypedMap<PinKey, PinVal>;
  activity: TypedMap<string, Activity>;
  flowCache: TypedMap<number, FlowSlot>;
}

/**
 * vxlan_sport's maps (found by `map(name)`) with their codecs; every write or
 * delete through `path` or `pin` calls onPathChange, which must advance
 * ps_config.path_gen (PathGen.bump) so the flow cache drops older decisions.
 */
export function sportTables(map: (name: string) => BpfMap, onPathChange: () => void): SportTables {
  return {
    config: new TypedMap(map(MapName.config), U32Codec, ConfigCodec),
    path: new TypedMap(map(MapName.path), PeerCodec, PathEntryCodec, { onChange: onPathChange }),
    pin: new TypedMap(map(MapName.pin), PinKeyCodec, PinValCodec, { onChange: onPathChange }),
    activity: new TypedMap(map(MapName.activity), PeerCodec, ActivityCodec),
    flowCache: new TypedMap(map(MapName.flowCache), U32Codec, FlowSlotCodec),
  };
}

/**
 * Activity per peer, combined over CPUs, including what flow-cache slots
 * counted and have not flushed yet (read after ps_activity, so a flush in
 * between can leave out at most that one tick's packets, never count them twice).
 */
export function activityWithPending(t: Pick<SportTables, 'activity' | 'flowCache'>): Array<[string, Activity]> {
  const flushed = new Map(t.activity.getAll().map(([peer, perCpu]) => [peer, combineActivity(perCpu)] as [string, Activity]));
  const pending = pendingActivity(t.flowCache.getAll().flatMap(([, perCpu]) => perCpu));
  for (const [peer, p] of pending) {
    const f = flushed.get(peer);
    flushed.set(peer, f ? combineActivity([f, p]) : p);
  }
  return [...flushed];
}

/**
 * The pinned maps of an attached interface with their codecs. Each pin is
 * checked against the program's map definition before use. Every write or
 * delete through `path` or `pin` advances ps_config.path_gen (PathGen), so
 * vxlan_sport's flow cache never serves a decision taken under older tables.
 */
export class SportMaps {
  readonly config: TypedMap<number, PsConfig>;
  readonly path: TypedMap<string, PathEntry>;
  readonly pin: TypedMap<PinKey, PinVal>;
  readonly activity: TypedMap<string, Activity>;
  readonly flowCache: TypedMap<number, FlowSlot>;
  /** The reflector's and the middlebox role's maps (ps_reflect, ps_reflect_src, ps_learn). */
  readonly reflect: ReflectTables;
  readonly statsMap: BpfMap;
  private readonly owned: BpfMap[];
  private readonly configMap: BpfMap;
  private gen: PathGen | undefined;

  private constructor(readonly location: Location, maps: Map<string, BpfMap>) {
    this.owned = [...maps.values()];
    this.configMap = maps.get(MapName.config)!;
    const t = sportTables((name) => maps.get(name)!, () => this.bumpPathGen());
    this.config = t.config;
    this.path = t.path;
    this.pin = t.pin;
    this.activity = t.activity;
    this.flowCache = t.flowCache;
    this.reflect = reflectTables((name) => maps.get(name)!);
    this.statsMap = maps.get(MapName.stats)!;
  }

  /** Open the pins of `ifname` (in this network namespace). */
  static open(ifname: string, roots: Roots = {}): SportMaps {
    return SportMaps.openDir(locate(ifname, roots));
  }

  static openDir(loc: Location): SportMaps {
    let maps = new Map<string, BpfMap>();
    if (!pinsVisible(loc.pinDir, SPORT_MAPS)) {
      // pins in another mount namespace's bpffs (ip netns exec): the attached program's maps
      const rec = readRecord(loc);
      const found = rec ? mapsOfFilter(rec, SPORT_MAPS) : undefined;
      if (!found) {
        const missing = SPORT_MAPS.filter((n) => !existsSync(join(loc.pinDir, n)));
        throw new UsageError(
          `pathsteer is not attached to ${loc.ifname} in this network namespace (${rec ? 'its recorded filter is gone' : `no ${loc.stateFile}`}; missing ${missing.map((n) => join(loc.pinDir, n)).join(', ') || 'nothing'}); run pathsteer attach --iface ${loc.ifname}`,
        );
      }
      maps = found;
    }
    const obj = BpfObject.open(objectPath('vxlanSport'));
    try {
      const differences: string[] = [];
      for (const name of SPORT_MAPS) {
        let m = maps.get(name);
        if (!m) {
          m = BpfMap.fromPin(join(loc.pinDir, name));
          maps.set(name, m);
        }
        differences.push(...pinDifferences(obj.mapDef(name), mapInfo(m.fd)));
      }
      if (differences.length > 0) throw new PinMismatchError(loc.pinDir, differences);
      return new SportMaps(loc, maps);
    } catch (e) {
      for (const m of maps.values()) m.close();
      throw e;
    } finally {
      obj.close();
    }
  }

  /** Advance ps_config.path_gen (done after every write through path/pin; call it after writing those maps any other way). */
  bumpPathGen(): void {
    this.gen ??= PathGen.open(this.configMap, this.statsMap);
    this.gen.bump();
  }

  /** Every counter of ps_stats, summed over CPUs. */
  stats(): StatCounts {
    return readStats(this.statsMap);
  }

  /** Activity per peer, flow-cache counts included (see activityWithPending). */
  activityByPeer(): Array<[string, Activity]> {
    return activityWithPending(this);
  }

  close(): void {
    this.gen?.close();
    for (const m of this.owned) m.close();
  }
}
