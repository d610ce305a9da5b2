/**
 * The source-port data plane of one interface: attach vxlan_sport to its TC
 * egress with pinned maps, detach it (from any later process), and open its
 * pinned maps with typed codecs. Filters and pins outlive the attaching process
 * on purpose (fail-static: the data plane keeps its last table when the agent
 * dies); what attach created is recorded in a small JSON file so `detach`
 * removes exactly that and nothing it found.
 *
 * Layout, per network namespace (see loader/netns.ts):
 *   pins:   /sys/fs/bpf/pathsteer/[ns/NAME/]IFNAME/ps_*
 *   record: /run/pathsteer/[ns/NAME/]IFNAME.json
 */
import { randomInt } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { z } from 'zod';
import { PathsteerError, UsageError } from '../common/errors.js';
import { logger } from '../common/logger.js';
import {
  BpfMap,
  BpfObject,
  Btf,
  ifIndex,
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
} from '../loader/index.js';
import { ActivityCodec, combineActivity, type Activity } from './activity.js';
import { ConfigCodec, type PsConfig } from './config.js';
import { MapName, ProgName, BpfObjects } from './names.generated.js';
import { objectPath } from './objects.js';
import { PathEntryCodec, type PathEntry } from './path-entry.js';
import { PinKeyCodec, PinValCodec, type PinKey, type PinVal } from './pin.js';
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

const RecordSchema = z.object({
  version: z.literal(1),
  ifname: z.string(),
  ifindex: z.number().int(),
  scope: z.string(),
  pinDir: z.string(),
  object: z.string(),
  program: z.string(),
  filter: z.object({
    ifindex: z.number().int(),
    point: z.enum(['ingress', 'egress']),
    handle: z.number().int(),
    priority: z.number().int(),
    progId: z.number().int(),
  }),
  hookCreated: z.boolean(),
  /** Pins detach removes: the ones attach created, and pins left by `detach --keep-maps` that a later attach adopted. */
  pinsOwned: z.array(z.string()),
  attachedAt: z.string(),
});

/** What `attach` created on an interface (the JSON record). */
export type AttachRecord = z.infer<typeof RecordSchema>;

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

function writeRecord(loc: Location, rec: AttachRecord): void {
  mkdirSync(dirname(loc.stateFile), { recursive: true, mode: 0o755 });
  const tmp = `${loc.stateFile}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(rec, null, 2)}\n`, { mode: 0o644 });
  renameSync(tmp, loc.stateFile);
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

/** The vxlan_sport program for this kernel (see ps_csum_is_seed in bpf/vxlan_sport.bpf.c). */
export function sportProgram(v: Variant = 'auto'): string {
  if (v === 'precise') return ProgName.vxlanSport;
  if (v === 'compat') return ProgName.vxlanSportCompat;
  return kernelHasKernCtx() ? ProgName.vxlanSport : ProgName.vxlanSportCompat;
}

/** The maps vxlan_sport pins per interface. */
export const SPORT_MAPS: readonly string[] = BpfObjects.vxlanSport.maps;

export interface AttachOptions extends Roots {
  ifname: string;
  /** VXLAN destination port to steer. @default 4789 */
  vxlanPort?: number;
  /** Geneve destination port to steer; 0 = none. @default 0 */
  genevePort?: number;
  /** Agent probe port (for probe_steer). @default kept, else 0 */
  agentPort?: number;
  /** Flow-hash seed. @default kept from reused pins, else random */
  seed?: number;
  /** Which build of the program. @default 'auto' */
  variant?: Variant;
}

export interface AttachResult {
  record: AttachRecord;
  /** An earlier attach was replaced atomically (same filter, new program). */
  replaced: boolean;
  /** Pinned maps adopted with their contents. */
  reusedPins: string[];
  config: PsConfig;
}

function noSuchIface(ifname: string): UsageError {
  return new UsageError(`no interface ${ifname} in this network namespace`);
}

/**
 * Load vxlan_sport with its maps pinned under the interface's pin directory
 * (adopting compatible existing pins), write ps_config, and attach it to the
 * interface's clsact egress (accepting an existing clsact). Attaching again
 * swaps the program in place and keeps the maps. On failure everything this
 * call created is removed again, newest first.
 */
export function attach(o: AttachOptions): AttachResult {
  const loc = locate(o.ifname, o);
  const ifindex = ifIndex(o.ifname);
  if (!ifindex) throw noSuchIface(o.ifname);
  let prev = readRecord(loc);
  if (prev && prev.ifindex !== ifindex) {
    log.info({ ifname: o.ifname, old: prev.ifindex, now: ifindex }, 'interface was re-created; its old filter is gone');
    prev = { ...prev, hookCreated: false };
  }
  const program = sportProgram(o.variant);
  const file = objectPath('vxlanSport');
  const obj = BpfObject.open(file);
  const undo = new Teardown();
  try {
    for (const p of obj.programNames()) obj.setAutoload(p, p === program);
    const dirExisted = existsSync(loc.pinDir);
    const plans = obj.pinMaps(loc.pinDir, SPORT_MAPS);
    if (!dirExisted) undo.push(`rmdir ${loc.pinDir}`, () => removeEmptyDirs(loc.pinDir, o.pinRoot ?? PIN_ROOT));
    obj.load();
    const created = plans.filter((p) => !p.reused);
    for (const p of created) undo.push(`unpin ${p.path}`, () => rmSync(p.path, { force: true }));

    const cfgMap = new TypedMap(obj.map(MapName.config), U32Codec, ConfigCodec);
    const old = cfgMap.get(0);
    const config: PsConfig = {
      vxlanPort: o.vxlanPort ?? DEFAULT_VXLAN_PORT,
      genevePort: o.genevePort ?? 0,
      agentPort: o.agentPort ?? old?.agentPort ?? 0,
      flags: 0,
      hashSeed: o.seed ?? (old && old.hashSeed !== 0 ? old.hashSeed : randomInt(1, 2 ** 32 - 1)),
    };
    cfgMap.set(0, config);

    const hookCreated = tcHookCreate(ifindex);
    if (hookCreated) undo.push('destroy clsact', () => tcHookDestroy(ifindex));
    const progFd = obj.program(program).fd;
    let filter: TcFilter;
    if (prev && prev.ifindex === ifindex) {
      filter = tcAttach(progFd, ifindex, 'egress', { replace: prev.filter });
    } else {
      filter = tcAttach(progFd, ifindex, 'egress');
      undo.push('detach filter', () => tcDetach(filter));
    }
    const record: AttachRecord = {
      version: 1,
      ifname: o.ifname,
      ifindex,
      scope: loc.scope,
      pinDir: loc.pinDir,
      object: file,
      program,
      filter,
      hookCreated: hookCreated || (prev?.hookCreated ?? false),
      // with a record, we own what we created; without one, pins in our own pin
      // directory are leftovers of `detach --keep-maps` and become ours again
      pinsOwned: prev ? [...new Set([...prev.pinsOwned, ...created.map((p) => p.name)])] : plans.map((p) => p.name),
      attachedAt: new Date().toISOString(),
    };
    writeRecord(loc, record);
    undo.commit();
    log.debug({ ifname: o.ifname, program, filter, replaced: !!prev }, 'attached');
    return { record, replaced: !!prev, reusedPins: plans.filter((p) => p.reused).map((p) => p.name), config };
  } catch (e) {
    try {
      undo.run();
    } catch (cleanup) {
      log.warn({ err: cleanup }, 'cleanup after a failed attach was incomplete');
    }
    throw e;
  } finally {
    obj.close();
  }
}

/** Remove dir and then its parents up to (not including) root, while they are empty. */
function removeEmptyDirs(dir: string, root: string): void {
  let d = dir;
  while (d.startsWith(`${root}/`)) {
    try {
      rmdirSync(d);
    } catch {
      return; // not empty (or gone)
    }
    d = dirname(d);
  }
}

export interface DetachOptions extends Roots {
  /** Keep the pinned maps (and their tables) for a later attach. @default false */
  keepMaps?: boolean;
}

export interface DetachResult {
  ifname: string;
  /** Our filter was found and removed. */
  filterRemoved: boolean;
  /** Another program sits where our filter was (left alone). */
  filterReplacedByOther: boolean;
  /** The clsact hook we had created was removed. */
  hookDestroyed: boolean;
  /** Pins removed (those the record owns). */
  unpinned: string[];
}

/** Undo attach, newest first: filter, clsact (only if we created it), pins we own, record. */
export function detach(ifname: string, o: DetachOptions = {}): DetachResult {
  const loc = locate(ifname, o);
  const rec = readRecord(loc);
  if (!rec) throw new UsageError(`pathsteer is not attached to ${ifname} in this network namespace (no ${loc.stateFile})`);
  const ifindex = ifIndex(ifname);
  const res: DetachResult = { ifname, filterRemoved: false, filterReplacedByOther: false, hookDestroyed: false, unpinned: [] };
  if (ifindex && ifindex === rec.ifindex) {
    const progId = tcQuery(ifindex, rec.filter.point, rec.filter.handle, rec.filter.priority);
    if (progId === rec.filter.progId) {
      res.filterRemoved = tcDetach(rec.filter);
    } else if (progId !== undefined) {
      res.filterReplacedByOther = true;
      log.warn({ ifname, expected: rec.filter.progId, found: progId }, 'the filter now runs another program; left alone');
    }
    if (rec.hookCreated && !res.filterReplacedByOther) {
      tcHookDestroy(ifindex);
      res.hookDestroyed = true;
    }
  }
  if (!o.keepMaps) {
    for (const name of rec.pinsOwned) {
      const p = join(rec.pinDir, name);
      if (existsSync(p)) {
        rmSync(p);
        res.unpinned.push(name);
      }
    }
    removeEmptyDirs(rec.pinDir, o.pinRoot ?? PIN_ROOT);
  }
  rmSync(loc.stateFile, { force: true });
  removeEmptyDirs(dirname(loc.stateFile), o.stateRoot ?? STATE_ROOT);
  log.debug(res, 'detached');
  return res;
}

/**
 * The pinned maps of an attached interface with their codecs. Each pin is
 * checked against the program's map definition before use.
 */
export class SportMaps {
  readonly config: TypedMap<number, PsConfig>;
  readonly path: TypedMap<string, PathEntry>;
  readonly pin: TypedMap<PinKey, PinVal>;
  readonly activity: TypedMap<string, Activity>;
  readonly statsMap: BpfMap;
  private readonly owned: BpfMap[];

  private constructor(readonly location: Location, maps: Map<string, BpfMap>) {
    this.owned = [...maps.values()];
    this.config = new TypedMap(maps.get(MapName.config)!, U32Codec, ConfigCodec);
    this.path = new TypedMap(maps.get(MapName.path)!, PeerCodec, PathEntryCodec);
    this.pin = new TypedMap(maps.get(MapName.pin)!, PinKeyCodec, PinValCodec);
    this.activity = new TypedMap(maps.get(MapName.activity)!, PeerCodec, ActivityCodec);
    this.statsMap = maps.get(MapName.stats)!;
  }

  /** Open the pins of `ifname` (in this network namespace). */
  static open(ifname: string, roots: Roots = {}): SportMaps {
    return SportMaps.openDir(locate(ifname, roots));
  }

  static openDir(loc: Location): SportMaps {
    const missing = SPORT_MAPS.filter((n) => !existsSync(join(loc.pinDir, n)));
    if (missing.length > 0) {
      throw new UsageError(
        `pathsteer is not attached to ${loc.ifname} in this network namespace (missing ${missing.map((n) => join(loc.pinDir, n)).join(', ')}); run pathsteer attach --iface ${loc.ifname}`,
      );
    }
    const obj = BpfObject.open(objectPath('vxlanSport'));
    const maps = new Map<string, BpfMap>();
    try {
      const differences: string[] = [];
      for (const name of SPORT_MAPS) {
        const m = BpfMap.fromPin(join(loc.pinDir, name));
        maps.set(name, m);
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

  /** Every counter of ps_stats, summed over CPUs. */
  stats(): StatCounts {
    return readStats(this.statsMap);
  }

  /** Activity per peer, combined over CPUs. */
  activityByPeer(): Array<[string, Activity]> {
    return this.activity.getAll().map(([peer, perCpu]) => [peer, combineActivity(perCpu)]);
  }

  close(): void {
    for (const m of this.owned) m.close();
  }
}

