/**
 * vxlan_sport loaded for BPF_PROG_TEST_RUN (no interface, maps not pinned),
 * with typed maps and a __sk_buff context builder for the test runs. Writes
 * to ps_path and ps_pin go through TypedMaps that advance path_gen, as every
 * pathsteer API does (src/maps/path-gen.ts); `raw` gives the bare maps for
 * tests that show what happens without that.
 */
import { Btf, BpfObject, testRun, type BpfMap, type TestRunResult } from '../../src/loader/index.js';
import type { Activity } from '../../src/maps/activity.js';
import type { PsConfig } from '../../src/maps/config.js';
import { activityWithPending, NO_FLOW_CACHE, sportTables } from '../../src/maps/dataplane.js';
import { EMPTY_FLOW_SLOT, PS_FLOW_CACHE_SLOTS, type FlowSlot } from '../../src/maps/flow-cache.js';
import { MapName } from '../../src/maps/names.generated.js';
import { objectPath } from '../../src/maps/objects.js';
import type { PathEntry } from '../../src/maps/path-entry.js';
import { PathGen } from '../../src/maps/path-gen.js';
import type { PinKey, PinVal } from '../../src/maps/pin.js';
import { readStats, resetStats, type StatCounts } from '../../src/maps/stats.js';
import type { TypedMap } from '../../src/maps/typed-map.js';

let skbLayout: { size: number; gsoSize: number } | undefined;

/** struct __sk_buff from the running kernel's BTF, with gso_size set. */
export function skbCtx(o: { gsoSize?: number }): Buffer {
  if (!skbLayout) {
    const s = Btf.fromRaw('/sys/kernel/btf/vmlinux').struct('__sk_buff');
    if (!s) throw new Error('kernel BTF has no struct __sk_buff');
    skbLayout = { size: s.size, gsoSize: s.members.find((m) => m.name === 'gso_size')!.offset };
  }
  const b = Buffer.alloc(skbLayout.size);
  if (o.gsoSize) b.writeUInt32LE(o.gsoSize, skbLayout.gsoSize);
  return b;
}

export class SportUnderTest {
  readonly obj: BpfObject;
  readonly config: TypedMap<number, PsConfig>;
  readonly path: TypedMap<string, PathEntry>;
  readonly pin: TypedMap<PinKey, PinVal>;
  readonly activity: TypedMap<string, Activity>;
  readonly flowCache: TypedMap<number, FlowSlot>;
  readonly gen: PathGen;

  /** Load both builds of the program, sharing one set of (unpinned) maps; flowCache false loads them without the cache. */
  constructor(config: PsConfig, o: { flowCache?: boolean } = {}) {
    this.obj = BpfObject.open(objectPath('vxlanSport'));
    this.obj.setGlobal(NO_FLOW_CACHE, o.flowCache === false ? 1 : 0);
    this.obj.load();
    this.gen = PathGen.open(this.obj.map(MapName.config), this.obj.map(MapName.stats));
    const t = sportTables((name) => this.obj.map(name), () => this.gen.bump());
    this.config = t.config;
    this.path = t.path;
    this.pin = t.pin;
    this.activity = t.activity;
    this.flowCache = t.flowCache;
    this.config.set(0, config);
  }

  /** The bare maps (writes here do not advance path_gen). */
  raw(name: typeof MapName.path | typeof MapName.pin): BpfMap {
    return this.obj.map(name);
  }

  run(prog: string, data: Buffer, ctx?: { gsoSize?: number }): TestRunResult {
    return testRun(this.obj.program(prog).fd, { data, ...(ctx ? { ctx: skbCtx(ctx) } : {}) });
  }

  stats(): StatCounts {
    return readStats(this.obj.map(MapName.stats));
  }

  /** Empty the path, pin and activity maps and the flow cache, and zero the counters. */
  reset(): void {
    for (const m of [this.path, this.pin, this.activity]) {
      const keys = [...m.map.keys()];
      for (const k of keys) m.map.delete(k);
    }
    this.flowCache.setMany(Array.from({ length: PS_FLOW_CACHE_SLOTS }, (_, i) => [i, EMPTY_FLOW_SLOT] as const));
    resetStats(this.obj.map(MapName.stats));
  }

  /** A peer's activity as user space sees it (SportMaps.activityByPeer): ps_activity plus what cache slots have not flushed yet. */
  activityOf(peer: string): Activity | undefined {
    return activityWithPending(this).find(([p]) => p === peer)?.[1];
  }

  close(): void {
    this.gen.close();
    this.obj.close();
  }
}
