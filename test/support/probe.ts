/**
 * probe_steer loaded for BPF_PROG_TEST_RUN (no interface, maps not pinned),
 * with its ps_config and ps_stats, and for the reflector its ps_path and
 * ps_reflect* maps.
 */
import { BpfObject, testRun, type TestRunResult } from '../../src/loader/index.js';
import { ConfigCodec, type PsConfig } from '../../src/maps/config.js';
import { MapName } from '../../src/maps/names.generated.js';
import { objectPath } from '../../src/maps/objects.js';
import { PathEntryCodec, type PathEntry } from '../../src/maps/path-entry.js';
import { reflectTables, type ReflectTables } from '../../src/maps/reflect.js';
import { PeerCodec, U32Codec } from '../../src/maps/scalar.js';
import { readStats, resetStats, type StatCounts } from '../../src/maps/stats.js';
import { TypedMap } from '../../src/maps/typed-map.js';

export class ProbeUnderTest {
  readonly obj: BpfObject;
  readonly config: TypedMap<number, PsConfig>;
  readonly path: TypedMap<string, PathEntry>;
  readonly reflect: ReflectTables;

  /** Load both builds of the program, sharing one set of (unpinned) maps. */
  constructor(config: PsConfig) {
    this.obj = BpfObject.open(objectPath('probeSteer')).load();
    this.config = new TypedMap(this.obj.map(MapName.config), U32Codec, ConfigCodec);
    this.config.set(0, config);
    // probe_steer reads ps_path only (no flow cache): no path_gen to advance
    this.path = new TypedMap(this.obj.map(MapName.path), PeerCodec, PathEntryCodec);
    this.reflect = reflectTables((name) => this.obj.map(name));
  }

  /** complete: run the skb as CHECKSUM_COMPLETE (the kernel checks skb->csum against the packet afterwards). */
  run(prog: string, data: Buffer, complete = false): TestRunResult {
    return testRun(this.obj.program(prog).fd, { data, checksumComplete: complete });
  }

  stats(): StatCounts {
    return readStats(this.obj.map(MapName.stats));
  }

  /** New configuration, counters zeroed, no path entries, reflector off, no sessions or learned flows. */
  reset(config: PsConfig): void {
    this.config.set(0, config);
    resetStats(this.obj.map(MapName.stats));
    for (const k of [...this.path.keys()]) this.path.delete(k);
    this.reflect.cfg.set(0, { backendId: 0, flags: 0, rate: 0, burst: 0 });
    for (const k of [...this.reflect.sources.keys()]) this.reflect.sources.delete(k);
    for (const k of [...this.reflect.learn.keys()]) this.reflect.learn.delete(k);
  }

  close(): void {
    this.obj.close();
  }
}
