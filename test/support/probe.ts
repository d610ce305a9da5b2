/**
 * probe_steer loaded for BPF_PROG_TEST_RUN (no interface, maps not pinned),
 * with its ps_config and ps_stats.
 */
import { BpfObject, testRun, type TestRunResult } from '../../src/loader/index.js';
import { ConfigCodec, type PsConfig } from '../../src/maps/config.js';
import { MapName } from '../../src/maps/names.generated.js';
import { objectPath } from '../../src/maps/objects.js';
import { U32Codec } from '../../src/maps/scalar.js';
import { readStats, resetStats, type StatCounts } from '../../src/maps/stats.js';
import { TypedMap } from '../../src/maps/typed-map.js';

export class ProbeUnderTest {
  readonly obj: BpfObject;
  readonly config: TypedMap<number, PsConfig>;

  /** Load both builds of the program, sharing one set of (unpinned) maps. */
  constructor(config: PsConfig) {
    this.obj = BpfObject.open(objectPath('probeSteer')).load();
    this.config = new TypedMap(this.obj.map(MapName.config), U32Codec, ConfigCodec);
    this.config.set(0, config);
  }

  /** complete: run the skb as CHECKSUM_COMPLETE (the kernel checks skb->csum against the packet afterwards). */
  run(prog: string, data: Buffer, complete = false): TestRunResult {
    return testRun(this.obj.program(prog).fd, { data, checksumComplete: complete });
  }

  stats(): StatCounts {
    return readStats(this.obj.map(MapName.stats));
  }

  reset(config: PsConfig): void {
    this.config.set(0, config);
    resetStats(this.obj.map(MapName.stats));
  }

  close(): void {
    this.obj.close();
  }
}
