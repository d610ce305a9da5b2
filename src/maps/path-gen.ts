/**
 * ps_config.path_gen, the generation of the path tables: vxlan_sport caches
 * each flow's port decision per CPU (ps_flow_cache) and trusts a slot only
 * while its generation equals path_gen, so every change to ps_path or ps_pin
 * from user space must be followed by a bump. SportMaps does that for every
 * write through its typed maps (TypedMap onChange), so nothing in pathsteer
 * writes those maps without one.
 *
 * The bump is an atomic add in the kernel (the `bump_path_gen` syscall
 * program of bpf/path_gen.bpf.c, run with BPF_PROG_TEST_RUN against the same
 * ps_config map), so concurrent writers (the agent and a `pathsteer path set`)
 * can neither lose an increment nor move path_gen back to a value that slots
 * were filled under. `writeConfig` rewrites the configuration the same way,
 * advancing path_gen instead of overwriting it. On kernels without syscall
 * programs (< 5.14) it falls back to a read-modify-write and says so: keep to
 * one writer there.
 */
import { logger } from '../common/logger.js';
import { BpfObject, testRunSyscall, type BpfMap } from '../loader/index.js';
import { ConfigCodec, type PsConfig } from './config.js';
import { MapName, ProgName } from './names.generated.js';
import { objectPath } from './objects.js';
import { U32Codec } from './scalar.js';
import { TypedMap } from './typed-map.js';

const log = logger.child({ module: 'maps/path-gen' });

export class PathGen {
  private closed = false;

  private constructor(
    private readonly config: TypedMap<number, PsConfig>,
    private readonly obj: BpfObject | undefined,
    private readonly bumpFd: number,
    private readonly writeFd: number,
  ) {}

  /**
   * For this ps_config map (pinned or not). Loads the two syscall programs
   * against it (they reuse the map; `stats` too, if given, so nothing new is
   * created).
   */
  static open(config: BpfMap, stats?: BpfMap): PathGen {
    const typed = new TypedMap(config, U32Codec, ConfigCodec);
    let obj: BpfObject | undefined;
    try {
      obj = BpfObject.open(objectPath('pathGen'));
      obj.reuseMap(MapName.config, config);
      if (stats) obj.reuseMap(MapName.stats, stats);
      obj.load();
      return new PathGen(typed, obj, obj.program(ProgName.bumpPathGen).fd, obj.program(ProgName.writeConfig).fd);
    } catch (e) {
      obj?.close();
      log.warn({ err: e }, 'syscall programs unavailable: path_gen is advanced by read-modify-write (keep to one writer)');
      return new PathGen(typed, undefined, -1, -1);
    }
  }

  /** True when bumps are atomic in the kernel. */
  get atomic(): boolean {
    return this.obj !== undefined;
  }

  /** The current generation. */
  current(): number {
    return this.config.get(0)?.pathGen ?? 0;
  }

  /** Make every flow-cache slot of the current generation stale. */
  bump(): void {
    this.live();
    if (this.obj) {
      if (testRunSyscall(this.bumpFd) !== 0) throw new Error('bump_path_gen: ps_config[0] missing');
      return;
    }
    const c = this.config.get(0)!;
    this.config.set(0, { ...c, pathGen: (c.pathGen + 1) >>> 0 });
  }

  /** Write ps_config (ports, flags, seed; `pathGen` is ignored) and advance path_gen. Returns the new value. */
  writeConfig(c: PsConfig): PsConfig {
    this.live();
    if (this.obj) {
      if (testRunSyscall(this.writeFd, ConfigCodec.encode(c)) !== 0) throw new Error('write_config: ps_config[0] missing');
    } else {
      const old = this.config.get(0);
      this.config.set(0, { ...c, pathGen: ((old?.pathGen ?? 0) + 1) >>> 0 });
    }
    return this.config.get(0)!;
  }

  private live(): void {
    if (this.closed) throw new Error('PathGen is closed');
  }

  /** Free the programs (the map stays with its owner). Safe twice. */
  close(): void {
    this.closed = true;
    this.obj?.close();
  }
}
