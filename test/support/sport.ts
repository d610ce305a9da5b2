/**
 * vxlan_sport loaded for BPF_PROG_TEST_RUN (no interface, maps not pinned),
 * with typed maps and a __sk_buff context builder for the test runs.
 */
import { Btf, BpfObject, testRun, type TestRunResult } from '../../src/loader/index.js';
import { ActivityCodec, combineActivity, type Activity } from '../../src/maps/activity.js';
import { ConfigCodec, type PsConfig } from '../../src/maps/config.js';
import { MapName } from '../../src/maps/names.generated.js';
import { objectPath } from '../../src/maps/objects.js';
import { PathEntryCodec, type PathEntry } from '../../src/maps/path-entry.js';
import { PinKeyCodec, PinValCodec, type PinKey, type PinVal } from '../../src/maps/pin.js';
import { PeerCodec, U32Codec } from '../../src/maps/scalar.js';
import { readStats, resetStats, type StatCounts } from '../../src/maps/stats.js';
import { TypedMap } from '../../src/maps/typed-map.js';

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

  /** Load both builds of the program, sharing one set of (unpinned) maps. */
  constructor(config: PsConfig) {
    this.obj = BpfObject.open(objectPath('vxlanSport')).load();
    this.config = new TypedMap(this.obj.map(MapName.config), U32Codec, ConfigCodec);
    this.path = new TypedMap(this.obj.map(MapName.path), PeerCodec, PathEntryCodec);
    this.pin = new TypedMap(this.obj.map(MapName.pin), PinKeyCodec, PinValCodec);
    this.activity = new TypedMap(this.obj.map(MapName.activity), PeerCodec, ActivityCodec);
    this.config.set(0, config);
  }

  run(prog: string, data: Buffer, ctx?: { gsoSize?: number }): TestRunResult {
    return testRun(this.obj.program(prog).fd, { data, ...(ctx ? { ctx: skbCtx(ctx) } : {}) });
  }

  stats(): StatCounts {
    return readStats(this.obj.map(MapName.stats));
  }

  /** Empty the path, pin and activity maps and zero the counters. */
  reset(): void {
    for (const m of [this.path, this.pin, this.activity]) {
      const keys = [...m.map.keys()];
      for (const k of keys) m.map.delete(k);
    }
    resetStats(this.obj.map(MapName.stats));
  }

  activityOf(peer: string): Activity | undefined {
    const v = this.activity.getPerCpu(peer);
    return v ? combineActivity(v) : undefined;
  }

  close(): void {
    this.obj.close();
  }
}
