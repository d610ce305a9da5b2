/**
 * altpath_dscp loaded for BPF_PROG_TEST_RUN (no interface, maps not pinned),
 * with its typed tables (src/maps/altpath-dataplane.ts AltpathTables), with
 * or without its flow cache.
 */
import { BpfObject, testRun, type TestRunResult } from '../../src/loader/index.js';
import type { Altpath } from '../../src/maps/altpath.js';
import { ALTPATH_NO_CACHE, AltpathTables, type AltpathCounts } from '../../src/maps/altpath-dataplane.js';
import { ProgName } from '../../src/maps/names.generated.js';
import { objectPath } from '../../src/maps/objects.js';

export class AltpathUnderTest {
  readonly obj: BpfObject;
  readonly tables: AltpathTables;

  /** flowCache false loads the build without the per-CPU flow cache. */
  constructor(o: { flowCache?: boolean } = {}) {
    this.obj = BpfObject.open(objectPath('altpathDscp'));
    this.obj.setGlobal(ALTPATH_NO_CACHE, o.flowCache === false ? 1 : 0);
    this.obj.load();
    this.tables = new AltpathTables((n) => this.obj.map(n));
  }

  get fd(): number {
    return this.obj.program(ProgName.altpathDscp).fd;
  }

  /** Set the configuration and the exclusions (exactly these), zero the counters. */
  configure(a: Altpath, exclude: readonly string[] = []): void {
    this.tables.setExclusions(exclude);
    this.tables.writeConfig(a);
    this.tables.resetCounts();
  }

  run(data: Buffer, o: { checksumComplete?: boolean } = {}): TestRunResult {
    return testRun(this.fd, { data, ...(o.checksumComplete ? { checksumComplete: true } : {}) });
  }

  counts(): AltpathCounts {
    return this.tables.counts();
  }

  close(): void {
    this.obj.close();
  }
}
