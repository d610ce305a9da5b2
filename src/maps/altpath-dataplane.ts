/**
 * AltPath's data plane on a host (DESIGN §2.4): altpath_dscp on one
 * interface's TC egress with its pinned maps (ps_altpath: seed and DSCP
 * rules; ps_altpath_exclude: destinations never marked; ps_altpath_stats),
 * typed access to those maps, and detach from any later process. Like the
 * ZooRoute data plane (dataplane.ts) it is fail-static: the filter and pins
 * outlive the process that attached them, so flows keep their marks when the
 * sampler dies, and a restarted sampler adopts the pins (same seed, same
 * marks). One AltPath data plane per network namespace: conn_stats, which
 * reads the same maps, sees every socket of the namespace.
 *
 * altpath_dscp sits on clsact egress at a fixed priority (PS_ALTPATH_TC_PRIORITY,
 * below the range the kernel gives filters attached without one, so it runs
 * before vxlan_sport whichever was attached first) and returns TC_ACT_UNSPEC,
 * so the filters after it still run.
 *
 * Layout, per network namespace (see loader/netns.ts):
 *   pins:   /sys/fs/bpf/pathsteer/[ns/NAME/]altpath/ps_altpath{,_exclude,_stats}
 *   record: /run/pathsteer/[ns/NAME/]altpath/sampler.json
 */
import { randomInt } from 'node:crypto';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { z } from 'zod';
import { PathsteerError, UsageError } from '../common/errors.js';
import { logger } from '../common/logger.js';
import { formatAddr, parsePrefix, type IpPrefix } from '../common/net.js';
import { BpfObject, ifIndex, netnsScope, tcAttach, tcDetach, tcHookCreate, tcHookDestroy, Teardown, type BpfMap, type TcFilter } from '../loader/index.js';
import { AltpathCodec, LpmKeyCodec, PS_ALTPATH_MAX_RULES, type Altpath, type LpmPrefix } from './altpath.js';
import { locate, PIN_ROOT, readRecord, STATE_ROOT, type Roots } from './dataplane.js';
import { BpfObjects, MapName, PS_AP_STAT_MAX, ProgName, PsAltpathStat, type PsAltpathStatName } from './names.generated.js';
import { objectPath } from './objects.js';
import { dropChangedPins, openCheckedPins, removeEmptyDirs, removeFilterIfOurs, removePins, writeJsonAtomic } from './pinned.js';
import { U32Codec, U8Codec } from './scalar.js';
import { readCounters, resetCounters } from './stats.js';
import { TypedMap } from './typed-map.js';

const log = logger.child({ module: 'maps/altpath-dataplane' });

export { PS_ALTPATH_TC_HANDLE, PS_ALTPATH_TC_PRIORITY } from './tc-slots.js';
import { PS_ALTPATH_TC_HANDLE, PS_ALTPATH_TC_PRIORITY } from './tc-slots.js';

/**
 * The maps altpath_dscp pins (conn_stats reuses them). Its per-CPU flow cache
 * (ps_altpath_cache) is not among them: it belongs to one loaded program,
 * and a program swapped in starts with an empty one.
 */
export const ALTPATH_MAPS: readonly string[] = BpfObjects.altpathDscp.maps.filter((m) => m !== MapName.altpathCache);
/** Pinned maps whose contents may be dropped when their definition changed (counters). */
const DISPOSABLE_MAPS: readonly string[] = [MapName.altpathStats];

export type AltpathCounts = Record<PsAltpathStatName, bigint>;

export interface AltpathLocation {
  /** '' in the initial namespace, `ns/NAME` in a named one. */
  scope: string;
  pinDir: string;
  stateFile: string;
}

export function locateAltpath(roots: Roots = {}): AltpathLocation {
  const scope = netnsScope();
  return {
    scope,
    pinDir: join(roots.pinRoot ?? PIN_ROOT, scope, 'altpath'),
    stateFile: join(roots.stateRoot ?? STATE_ROOT, scope, 'altpath', 'sampler.json'),
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
    point: z.literal('egress'),
    handle: z.number().int(),
    priority: z.number().int(),
    progId: z.number().int(),
  }),
  hookCreated: z.boolean(),
  /** Pins detach removes (the ones attach created, or adopted leftovers of --keep-pins). */
  pinsOwned: z.array(z.string()),
  /** The process that attached (a live one on another interface blocks a second attach). */
  ownerPid: z.number().int(),
  attachedAt: z.string(),
});
export type AltpathRecord = z.infer<typeof RecordSchema>;

export function readAltpathRecord(loc: AltpathLocation): AltpathRecord | undefined {
  let text: string;
  try {
    text = readFileSync(loc.stateFile, 'utf8');
  } catch {
    return undefined;
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new PathsteerError(`${loc.stateFile} is not valid JSON; remove it if no AltPath sampler runs`);
  }
  const r = RecordSchema.safeParse(json);
  if (!r.success) throw new PathsteerError(`${loc.stateFile} is not a pathsteer AltPath record: ${r.error.issues[0]?.message}`);
  return r.data;
}

function writeAltpathRecord(loc: AltpathLocation, rec: AltpathRecord): void {
  writeJsonAtomic(loc.stateFile, rec);
}

function alive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The generation after g (never 0: 0 marks an empty cache slot). */
function nextGen(g: number): number {
  return (g + 1) >>> 0 || 1;
}

/** altpath_dscp's `const volatile` switch for its flow cache (1 = off), set with BpfObject.setGlobal before load. */
export const ALTPATH_NO_CACHE = 'ps_altpath_no_cache';

/** A ps_altpath value checked against what the program can hold. */
export function checkAltpath(a: Altpath): Altpath {
  if (a.rules.length > PS_ALTPATH_MAX_RULES) throw new UsageError(`at most ${PS_ALTPATH_MAX_RULES} AltPath rules, got ${a.rules.length}`);
  let total = 0;
  const seen = new Set<number>();
  for (const r of a.rules) {
    if (!Number.isInteger(r.dscp) || r.dscp < 1 || r.dscp > 63) throw new UsageError(`AltPath DSCP must be 1..63, got ${r.dscp}`);
    if (!Number.isInteger(r.basisPoints) || r.basisPoints < 0 || r.basisPoints > 10_000) {
      throw new UsageError(`AltPath share must be 0..10000 basis points, got ${r.basisPoints}`);
    }
    if (seen.has(r.dscp)) throw new UsageError(`AltPath DSCP ${r.dscp} appears in two rules; give it one share`);
    seen.add(r.dscp);
    total += r.basisPoints;
  }
  if (total > 10_000) throw new UsageError(`AltPath rules add up to ${total / 100}% of flows, more than 100%`);
  if (!Number.isInteger(a.seed) || a.seed < 0 || a.seed > 0xffff_ffff) throw new UsageError(`AltPath seed must be a u32, got ${a.seed}`);
  return a;
}

/** Typed views of altpath_dscp's maps (pinned, or an unpinned object's for BPF_PROG_TEST_RUN). */
export class AltpathTables {
  readonly config: TypedMap<number, Altpath>;
  readonly exclude: TypedMap<LpmPrefix, number>;
  readonly statsMap: BpfMap;

  constructor(map: (name: string) => BpfMap) {
    this.config = new TypedMap(map(MapName.altpath), U32Codec, AltpathCodec);
    this.exclude = new TypedMap(map(MapName.altpathExclude), LpmKeyCodec, U8Codec);
    this.statsMap = map(MapName.altpathStats);
  }

  /** The three maps by name (for conn_stats' reuseMap). */
  maps(): Array<[string, BpfMap]> {
    return [
      [MapName.altpath, this.config.map],
      [MapName.altpathExclude, this.exclude.map],
      [MapName.altpathStats, this.statsMap],
    ];
  }

  /** ps_altpath[0] (gen included); undefined only for a map nobody wrote. */
  readConfig(): Altpath | undefined {
    return this.config.get(0);
  }

  /**
   * Write ps_altpath[0] (checked first) and advance its generation, in two
   * writes: the new rules under the old generation, then the same with the
   * next one. An array value is copied, not swapped, so a packet racing the
   * first write may see a mix of old and new rules, but only under the old
   * generation (its cached decision is dropped after the second write); one
   * that sees the new generation sees only new rules. Returns the generation.
   */
  writeConfig(a: Pick<Altpath, 'seed' | 'onlyUnmarked' | 'rules'>): number {
    const v = checkAltpath({ seed: a.seed, onlyUnmarked: a.onlyUnmarked, rules: a.rules });
    const cur = this.config.get(0)?.gen ?? 0;
    if (cur) this.config.set(0, { ...v, gen: cur });
    const gen = nextGen(cur);
    this.config.set(0, { ...v, gen });
    return gen;
  }

  /** Advance the generation alone (after a change to ps_altpath_exclude): cached decisions are taken afresh. */
  bumpGen(): number {
    const cur = this.config.get(0) ?? { seed: 0, onlyUnmarked: true, rules: [], gen: 0 };
    const gen = nextGen(cur.gen ?? 0);
    this.config.set(0, { ...cur, gen });
    return gen;
  }

  /** Excluded prefixes as text (`a.b.c.d/len`, `x::/len`). */
  exclusions(): string[] {
    return [...this.exclude.map.keys()].map((k) => {
      const p = LpmKeyCodec.decode(k);
      return parsePrefix(`${p.addr}/${p.len}`).text;
    });
  }

  /**
   * Make the exclusion trie hold exactly `prefixes`: new ones are added
   * before old ones are removed, so a prefix in both lists is never unexcluded.
   */
  setExclusions(prefixes: readonly (string | IpPrefix)[]): { added: number; removed: number } {
    const want = new Map<string, IpPrefix>();
    for (const p of prefixes) {
      const q = typeof p === 'string' ? parsePrefix(p) : p;
      want.set(q.text, q);
    }
    const have = new Set(this.exclusions());
    const key = (p: IpPrefix): LpmPrefix => ({ addr: formatAddr(p), len: p.len });
    let added = 0;
    for (const [text, p] of want) {
      if (have.has(text)) continue;
      this.exclude.set(key(p), 1);
      added++;
    }
    let removed = 0;
    for (const text of have) {
      if (want.has(text)) continue;
      this.exclude.delete(key(parsePrefix(text)));
      removed++;
    }
    if (added + removed > 0) this.bumpGen();
    return { added, removed };
  }

  /** ps_altpath_stats summed over CPUs. */
  counts(): AltpathCounts {
    return readCounters(this.statsMap, PsAltpathStat);
  }

  resetCounts(): void {
    resetCounters(this.statsMap, PS_AP_STAT_MAX);
  }
}

/** The pinned maps of this namespace's AltPath data plane, each checked against the program's definition. */
export class AltpathMaps extends AltpathTables {
  private constructor(
    readonly location: AltpathLocation,
    private readonly owned: BpfMap[],
  ) {
    const byName = new Map(ALTPATH_MAPS.map((n, i) => [n, owned[i]!]));
    super((name) => byName.get(name)!);
  }

  static open(roots: Roots = {}): AltpathMaps {
    const loc = locateAltpath(roots);
    const missing = ALTPATH_MAPS.filter((n) => !existsSync(join(loc.pinDir, n)));
    if (missing.length > 0) {
      throw new UsageError(`AltPath is not attached in this network namespace (missing ${missing.map((n) => join(loc.pinDir, n)).join(', ')})`);
    }
    const obj = BpfObject.open(objectPath('altpathDscp'));
    try {
      const maps = openCheckedPins(obj, loc.pinDir, ALTPATH_MAPS);
      return new AltpathMaps(loc, ALTPATH_MAPS.map((n) => maps.get(n)!));
    } finally {
      obj.close();
    }
  }

  close(): void {
    for (const m of this.owned) m.close();
    this.owned.length = 0;
  }
}

export interface AltpathAttachOptions extends Roots {
  ifname: string;
  /** Rules and only_unmarked to write before the filter goes live; seed: see `seed`. @default kept from the pins, else none (marks nothing) */
  rules?: Altpath['rules'];
  /** Mark only packets without a DSCP. @default kept, else true */
  onlyUnmarked?: boolean;
  /** Flow-hash seed. @default kept from reused pins, else random */
  seed?: number;
  /** Destinations never marked (replaces the trie's contents when given). @default kept */
  exclude?: readonly (string | IpPrefix)[];
  /** altpath_dscp's per-CPU flow cache (false: every packet is decided afresh). @default true */
  flowCache?: boolean;
}

export interface AltpathAttachResult {
  record: AltpathRecord;
  /** An earlier filter of ours on this interface was swapped in place. */
  replaced: boolean;
  /** Pinned maps adopted with their contents. */
  reusedPins: string[];
  config: Altpath;
}

/**
 * Load altpath_dscp with its maps pinned in this namespace's AltPath pin
 * directory (adopting compatible pins), write the configuration, and attach
 * it to `ifname`'s clsact egress at PS_ALTPATH_TC_PRIORITY (accepting an
 * existing clsact). Attaching again on the same interface swaps the program
 * in place; a record of a dead sampler on another interface is taken over
 * (its filter removed); a live one is a UsageError. On failure everything
 * this call created is removed again, newest first.
 */
export function attachAltpath(o: AltpathAttachOptions): AltpathAttachResult {
  const loc = locateAltpath(o);
  locate(o.ifname, o); // validates the interface name
  const ifindex = ifIndex(o.ifname);
  if (!ifindex) throw new UsageError(`no interface ${o.ifname} in this network namespace`);
  let prev = readAltpathRecord(loc);
  if (prev && prev.ifname !== o.ifname) {
    if (prev.ownerPid !== process.pid && alive(prev.ownerPid)) {
      throw new UsageError(`an AltPath sampler (pid ${prev.ownerPid}) already runs on ${prev.ifname} in this network namespace; stop it first`);
    }
    log.info({ ifname: prev.ifname, pid: prev.ownerPid }, 'taking over from an AltPath sampler that is gone: removing its filter');
    if (ifIndex(prev.ifname) === prev.ifindex) removeFilterIfOurs(prev.filter, log);
    prev = { ...prev, hookCreated: false };
  }
  const live = prev && prev.ifname === o.ifname && prev.ifindex === ifindex ? prev : undefined;
  const file = objectPath('altpathDscp');
  const undo = new Teardown();
  const obj = BpfObject.open(file);
  try {
    obj.setGlobal(ALTPATH_NO_CACHE, o.flowCache === false ? 1 : 0);
    const dirExisted = existsSync(loc.pinDir);
    if (dirExisted) dropChangedPins(obj, loc.pinDir, DISPOSABLE_MAPS, log);
    const plans = obj.pinMaps(loc.pinDir, ALTPATH_MAPS);
    if (!dirExisted) undo.push(`rmdir ${loc.pinDir}`, () => removeEmptyDirs(loc.pinDir, o.pinRoot ?? PIN_ROOT));
    obj.load();
    const created = plans.filter((p) => !p.reused);
    for (const p of created) undo.push(`unpin ${p.path}`, () => rmSync(p.path, { force: true }));

    const t = new AltpathTables((n) => obj.map(n));
    const old = t.readConfig();
    const wanted = {
      seed: o.seed ?? (old && old.seed !== 0 ? old.seed : randomInt(1, 2 ** 32 - 1)),
      onlyUnmarked: o.onlyUnmarked ?? old?.onlyUnmarked ?? true,
      rules: o.rules ?? old?.rules ?? [],
    };
    // exclusions first: a rule must never meet an empty trie it was meant to respect
    if (o.exclude) t.setExclusions(o.exclude);
    const config: Altpath = { ...wanted, gen: t.writeConfig(wanted) };

    const hookCreated = tcHookCreate(ifindex);
    if (hookCreated) undo.push('destroy clsact', () => tcHookDestroy(ifindex));
    const progFd = obj.program(ProgName.altpathDscp).fd;
    let filter: TcFilter;
    if (live) {
      filter = tcAttach(progFd, ifindex, 'egress', { replace: live.filter });
    } else {
      filter = tcAttach(progFd, ifindex, 'egress', { priority: PS_ALTPATH_TC_PRIORITY, handle: PS_ALTPATH_TC_HANDLE });
      undo.push('detach egress filter', () => tcDetach(filter));
    }
    const record: AltpathRecord = {
      version: 1,
      ifname: o.ifname,
      ifindex,
      scope: loc.scope,
      pinDir: loc.pinDir,
      object: file,
      program: ProgName.altpathDscp,
      filter: { ...filter, point: 'egress' },
      hookCreated: hookCreated || (live?.hookCreated ?? false),
      pinsOwned: prev ? [...new Set([...prev.pinsOwned, ...created.map((p) => p.name)])] : plans.map((p) => p.name),
      ownerPid: process.pid,
      attachedAt: new Date().toISOString(),
    };
    writeAltpathRecord(loc, record);
    undo.commit();
    log.debug({ ifname: o.ifname, filter, replaced: !!live }, 'altpath_dscp attached');
    return { record, replaced: !!live, reusedPins: plans.filter((p) => p.reused).map((p) => p.name), config };
  } catch (e) {
    try {
      undo.run();
    } catch (cleanup) {
      log.warn({ err: cleanup }, 'cleanup after a failed AltPath attach was incomplete');
    }
    throw e;
  } finally {
    obj.close();
  }
}

export interface AltpathDetachOptions extends Roots {
  /** Keep the pinned maps (seed, rules, exclusions) for a later attach. @default false */
  keepMaps?: boolean;
  /** Where attach put pins and record (a sampler remembers it: its namespace may lose its name meanwhile). @default this namespace's */
  location?: AltpathLocation;
}

export interface AltpathDetachResult {
  ifname: string;
  filter: 'removed' | 'gone' | 'replaced-by-other' | 'interface-gone';
  /** The clsact hook we had created was removed (only when no pathsteer data plane shares it). */
  hookDestroyed: boolean;
  unpinned: string[];
}

/**
 * Undo attachAltpath: our filter (if it still runs our program), the clsact
 * hook if we created it and the ZooRoute data plane (vxlan_sport, which has
 * no way to tell us it joined) is not attached there, the pins we own, the
 * record. UsageError when nothing is attached.
 */
export function detachAltpath(o: AltpathDetachOptions = {}): AltpathDetachResult {
  const loc = o.location ?? locateAltpath(o);
  const rec = readAltpathRecord(loc);
  if (!rec) throw new UsageError(`AltPath is not attached in this network namespace (no ${loc.stateFile})`);
  const res: AltpathDetachResult = { ifname: rec.ifname, filter: 'interface-gone', hookDestroyed: false, unpinned: [] };
  const ifindex = ifIndex(rec.ifname);
  if (ifindex && ifindex === rec.ifindex) {
    res.filter = removeFilterIfOurs(rec.filter, log);
    let shared = false;
    try {
      shared = readRecord(locate(rec.ifname, o))?.ifindex === ifindex;
    } catch {
      shared = true; // unreadable record: assume someone else uses the hook
    }
    if (rec.hookCreated && res.filter !== 'replaced-by-other' && !shared) {
      tcHookDestroy(ifindex);
      res.hookDestroyed = true;
    }
  }
  if (!o.keepMaps) res.unpinned = removePins(rec.pinDir, rec.pinsOwned, o.pinRoot ?? PIN_ROOT);
  rmSync(loc.stateFile, { force: true });
  removeEmptyDirs(dirname(loc.stateFile), o.stateRoot ?? STATE_ROOT);
  log.debug(res, 'altpath_dscp detached');
  return res;
}
