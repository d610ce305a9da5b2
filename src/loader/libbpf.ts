/**
 * koffi bindings for the parts of libbpf 1.1 (Debian's libbpf.so.1) pathsteer
 * uses, loaded on first use. Option structs are passed as Buffers laid out by
 * hand (layouts from /usr/include/bpf/{libbpf,bpf}.h of libbpf 1.1.2; every
 * struct starts with `size_t sz`, so libbpf accepts them from older and newer
 * callers). libbpf's log goes to the pino logger and the most recent lines are
 * kept so a failed load can say what the verifier said.
 */
import { arch } from 'node:os';
import koffi from 'koffi';
import { logger } from '../common/logger.js';
import { BpfError, LibbpfMissingError } from './errors.js';

/** Opaque libbpf handles (koffi External pointers). */
export type Ptr = unknown;

/* eslint-disable @typescript-eslint/no-explicit-any */
type Fn = (...args: any[]) => any;

export interface Libbpf {
  bpf_object__open_file: Fn;
  bpf_object__load: Fn;
  bpf_object__close: Fn;
  bpf_object__name: Fn;
  bpf_object__next_map: Fn;
  bpf_object__next_program: Fn;
  bpf_object__find_map_by_name: Fn;
  bpf_object__find_program_by_name: Fn;
  bpf_map__name: Fn;
  bpf_map__type: Fn;
  bpf_map__key_size: Fn;
  bpf_map__value_size: Fn;
  bpf_map__max_entries: Fn;
  bpf_map__set_max_entries: Fn;
  bpf_map__map_flags: Fn;
  bpf_map__fd: Fn;
  bpf_map__set_pin_path: Fn;
  bpf_map__reuse_fd: Fn;
  bpf_map__is_pinned: Fn;
  bpf_map__initial_value: Fn;
  bpf_map__set_initial_value: Fn;
  bpf_program__name: Fn;
  bpf_program__fd: Fn;
  bpf_program__set_autoload: Fn;
  bpf_program__autoload: Fn;
  bpf_program__attach: Fn;
  bpf_link__fd: Fn;
  bpf_link__destroy: Fn;
  bpf_map_update_elem: Fn;
  bpf_map_lookup_elem: Fn;
  bpf_map_delete_elem: Fn;
  bpf_map_get_next_key: Fn;
  bpf_map_update_batch: Fn;
  bpf_map_lookup_batch: Fn;
  bpf_map_delete_batch: Fn;
  bpf_map_create: Fn;
  bpf_obj_pin: Fn;
  bpf_obj_get: Fn;
  bpf_obj_get_info_by_fd: Fn;
  bpf_prog_test_run_opts: Fn;
  bpf_tc_hook_create: Fn;
  bpf_tc_hook_destroy: Fn;
  bpf_tc_attach: Fn;
  bpf_tc_detach: Fn;
  bpf_tc_query: Fn;
  ring_buffer__new: Fn;
  ring_buffer__poll: Fn;
  ring_buffer__consume: Fn;
  ring_buffer__free: Fn;
  libbpf_num_possible_cpus: Fn;
  libbpf_set_print: Fn;
  /** libc */
  if_nametoindex: Fn;
  mount: Fn;
  bpf_prog_get_fd_by_id: Fn;
  bpf_map_get_fd_by_id: Fn;
  close: Fn;
  vsnprintf: Fn;
}

let lib: Libbpf | undefined;
let sampleFnType: unknown;
const recentLog: Array<{ seq: number; line: string }> = [];
let logSeq = 0;
const LOG_KEEP = 60;
const log = logger.child({ module: 'loader/libbpf' });

/** The ring buffer sample callback type: int (*)(void *ctx, void *data, size_t size). */
export function sampleFnPointerType(): unknown {
  libbpf();
  return sampleFnType;
}

export function libbpf(): Libbpf {
  if (lib) return lib;
  let so: ReturnType<typeof koffi.load>;
  let libc: ReturnType<typeof koffi.load>;
  try {
    so = koffi.load('libbpf.so.1');
    libc = koffi.load('libc.so.6');
  } catch (e) {
    throw new LibbpfMissingError(e);
  }
  koffi.opaque('bpf_object');
  koffi.opaque('bpf_map');
  koffi.opaque('bpf_program');
  koffi.opaque('ring_buffer');
  koffi.opaque('bpf_link');
  sampleFnType = koffi.pointer(koffi.proto('int ps_ring_buffer_sample_fn(void *ctx, void *data, size_t size)'));
  const printFn = koffi.proto('int ps_libbpf_print_fn(int level, void *fmt, void *ap)');
  const f = (d: string): Fn => so.func(d) as Fn;
  const l: Libbpf = {
    bpf_object__open_file: f('bpf_object *bpf_object__open_file(const char *path, void *opts)'),
    bpf_object__load: f('int bpf_object__load(bpf_object *obj)'),
    bpf_object__close: f('void bpf_object__close(bpf_object *obj)'),
    bpf_object__name: f('const char *bpf_object__name(bpf_object *obj)'),
    bpf_object__next_map: f('bpf_map *bpf_object__next_map(bpf_object *obj, bpf_map *map)'),
    bpf_object__next_program: f('bpf_program *bpf_object__next_program(bpf_object *obj, bpf_program *prog)'),
    bpf_object__find_map_by_name: f('bpf_map *bpf_object__find_map_by_name(bpf_object *obj, const char *name)'),
    bpf_object__find_program_by_name: f('bpf_program *bpf_object__find_program_by_name(bpf_object *obj, const char *name)'),
    bpf_map__name: f('const char *bpf_map__name(bpf_map *map)'),
    bpf_map__type: f('int bpf_map__type(bpf_map *map)'),
    bpf_map__key_size: f('uint32_t bpf_map__key_size(bpf_map *map)'),
    bpf_map__value_size: f('uint32_t bpf_map__value_size(bpf_map *map)'),
    bpf_map__max_entries: f('uint32_t bpf_map__max_entries(bpf_map *map)'),
    bpf_map__set_max_entries: f('int bpf_map__set_max_entries(bpf_map *map, uint32_t n)'),
    bpf_map__map_flags: f('uint32_t bpf_map__map_flags(bpf_map *map)'),
    bpf_map__fd: f('int bpf_map__fd(bpf_map *map)'),
    bpf_map__set_pin_path: f('int bpf_map__set_pin_path(bpf_map *map, const char *path)'),
    bpf_map__reuse_fd: f('int bpf_map__reuse_fd(bpf_map *map, int fd)'),
    bpf_map__is_pinned: f('bool bpf_map__is_pinned(bpf_map *map)'),
    bpf_map__initial_value: f('void *bpf_map__initial_value(bpf_map *map, _Out_ size_t *psize)'),
    bpf_map__set_initial_value: f('int bpf_map__set_initial_value(bpf_map *map, const void *data, size_t size)'),
    bpf_program__name: f('const char *bpf_program__name(bpf_program *prog)'),
    bpf_program__fd: f('int bpf_program__fd(bpf_program *prog)'),
    bpf_program__set_autoload: f('int bpf_program__set_autoload(bpf_program *prog, bool autoload)'),
    bpf_program__autoload: f('bool bpf_program__autoload(bpf_program *prog)'),
    bpf_program__attach: f('bpf_link *bpf_program__attach(bpf_program *prog)'),
    bpf_link__fd: f('int bpf_link__fd(bpf_link *link)'),
    bpf_link__destroy: f('int bpf_link__destroy(bpf_link *link)'),
    bpf_map_update_elem: f('int bpf_map_update_elem(int fd, const void *key, const void *value, uint64_t flags)'),
    bpf_map_lookup_elem: f('int bpf_map_lookup_elem(int fd, const void *key, void *value)'),
    bpf_map_delete_elem: f('int bpf_map_delete_elem(int fd, const void *key)'),
    bpf_map_get_next_key: f('int bpf_map_get_next_key(int fd, const void *key, void *next_key)'),
    bpf_map_update_batch: f('int bpf_map_update_batch(int fd, const void *keys, const void *values, void *count, const void *opts)'),
    bpf_map_lookup_batch: f('int bpf_map_lookup_batch(int fd, void *in_batch, void *out_batch, void *keys, void *values, void *count, const void *opts)'),
    bpf_map_delete_batch: f('int bpf_map_delete_batch(int fd, const void *keys, void *count, const void *opts)'),
    bpf_map_create: f('int bpf_map_create(int type, const char *name, uint32_t key_size, uint32_t value_size, uint32_t max_entries, const void *opts)'),
    bpf_obj_pin: f('int bpf_obj_pin(int fd, const char *path)'),
    bpf_obj_get: f('int bpf_obj_get(const char *path)'),
    bpf_obj_get_info_by_fd: f('int bpf_obj_get_info_by_fd(int fd, void *info, void *info_len)'),
    bpf_prog_get_fd_by_id: f('int bpf_prog_get_fd_by_id(uint32_t id)'),
    bpf_map_get_fd_by_id: f('int bpf_map_get_fd_by_id(uint32_t id)'),
    bpf_prog_test_run_opts: f('int bpf_prog_test_run_opts(int fd, void *opts)'),
    bpf_tc_hook_create: f('int bpf_tc_hook_create(void *hook)'),
    bpf_tc_hook_destroy: f('int bpf_tc_hook_destroy(void *hook)'),
    bpf_tc_attach: f('int bpf_tc_attach(const void *hook, void *opts)'),
    bpf_tc_detach: f('int bpf_tc_detach(const void *hook, const void *opts)'),
    bpf_tc_query: f('int bpf_tc_query(const void *hook, void *opts)'),
    ring_buffer__new: so.func('ring_buffer *ring_buffer__new(int map_fd, void *sample_cb, void *ctx, const void *opts)') as Fn,
    ring_buffer__poll: f('int ring_buffer__poll(ring_buffer *rb, int timeout_ms)'),
    ring_buffer__consume: f('int ring_buffer__consume(ring_buffer *rb)'),
    ring_buffer__free: f('void ring_buffer__free(ring_buffer *rb)'),
    libbpf_num_possible_cpus: f('int libbpf_num_possible_cpus()'),
    libbpf_set_print: so.func('void *libbpf_set_print(void *fn)') as Fn,
    if_nametoindex: libc.func('unsigned int if_nametoindex(const char *name)') as Fn,
    mount: libc.func('int mount(const char *source, const char *target, const char *fstype, unsigned long flags, const void *data)') as Fn,
    close: libc.func('int close(int fd)') as Fn,
    vsnprintf: libc.func('int vsnprintf(_Out_ uint8_t *buf, size_t size, void *fmt, void *ap)') as Fn,
  };
  lib = l;
  // va_list is a pointer to the register save area only on x86-64 (SysV); elsewhere
  // leave libbpf's default printer (stderr) alone.
  if (arch() === 'x64') {
    const buf = Buffer.alloc(4096);
    const cb = koffi.register((level: number, fmt: unknown, ap: unknown): number => {
      const n = l.vsnprintf(buf, buf.length, fmt, ap) as number;
      const text = buf.subarray(0, Math.max(0, Math.min(n, buf.length - 1))).toString('utf8');
      for (const line of text.split('\n')) {
        if (!line) continue;
        recentLog.push({ seq: ++logSeq, line });
        if (recentLog.length > LOG_KEEP) recentLog.shift();
        // libbpf levels: 0 warn, 1 info, 2 debug. Warnings also accompany errors
        // we handle (EEXIST on an existing clsact), so they stay at debug; a
        // failed load logs its lines itself (see BpfObject.load).
        log.debug({ libbpfLevel: level }, line);
      }
      return 0;
    }, koffi.pointer(printFn));
    l.libbpf_set_print(cb);
  }
  return l;
}

/** A mark to pass to logSince() later. */
export function logMark(): number {
  return logSeq;
}

/** libbpf log lines printed after `mark` (the last few dozen at most). */
export function logSince(mark: number): string[] {
  return recentLog.filter((e) => e.seq > mark).map((e) => e.line);
}

/** Throw BpfError for NULL pointers from libbpf (errno set) and return the pointer otherwise. */
export function checkPtr<T>(op: string, p: T): NonNullable<T> {
  if (p === null || p === undefined) {
    const e = koffi.errno();
    throw new BpfError(op, e || 22);
  }
  return p as NonNullable<T>;
}

/** Address of a Buffer for pointer members of option structs. */
export function addressOf(b: Buffer | undefined): bigint {
  return b ? koffi.address(b) : 0n;
}

/** Number of possible CPUs (the stride of per-CPU map values). */
export function possibleCpus(): number {
  const n = libbpf().libbpf_num_possible_cpus() as number;
  if (n < 0) throw new BpfError('libbpf_num_possible_cpus', -n);
  return n;
}

/** ifindex of an interface in this process's network namespace (sysfs may show another one). */
export function ifIndex(ifname: string): number {
  return libbpf().if_nametoindex(ifname) as number;
}

/** close(2) a file descriptor we own. */
export function closeFd(fd: number): void {
  if (fd >= 0) libbpf().close(fd);
}
