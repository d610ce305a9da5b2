/**
 * BPF_PROG_TEST_RUN (bpf_prog_test_run_opts): run a loaded program on a
 * crafted packet in the kernel, without a device (differential tests,
 * `pathsteer bench dataplane`), or run a syscall program with a context
 * (atomic map updates from user space, src/maps/path-gen.ts).
 */
import { check } from './errors.js';
import { addressOf, libbpf } from './libbpf.js';

export interface TestRunOptions {
  /** Packet, starting at the Ethernet header for TC programs. */
  data: Buffer;
  /** Run this many times (the kernel reports the mean duration). @default 1 */
  repeat?: number;
  /** Optional `struct __sk_buff` context in. */
  ctx?: Buffer;
  /** Room for the output packet. @default data.length + 256 */
  dataOutSize?: number;
  /**
   * Run the skb as CHECKSUM_COMPLETE (BPF_F_TEST_SKB_CHECKSUM_COMPLETE, Linux
   * >= 6.18): skb->csum starts as the sum of the packet from the network
   * header, and the kernel fails the run with EBADMSG when it no longer
   * matches the packet afterwards. @default false (CHECKSUM_NONE)
   */
  checksumComplete?: boolean;
}

/** BPF_F_TEST_SKB_CHECKSUM_COMPLETE (include/uapi/linux/bpf.h). */
export const BPF_F_TEST_SKB_CHECKSUM_COMPLETE = 1 << 2;

export interface TestRunResult {
  /** The program's return value (TC_ACT_*). */
  retval: number;
  /** Mean nanoseconds per run, as the kernel measured it. */
  durationNs: number;
  /** The packet after the program ran. */
  data: Buffer;
}

/** struct bpf_test_run_opts (libbpf 1.1) is 80 bytes. */
const OPTS_SIZE = 80;

export function testRun(progFd: number, o: TestRunOptions): TestRunResult {
  const out = Buffer.alloc(o.dataOutSize ?? o.data.length + 256);
  const opts = Buffer.alloc(OPTS_SIZE);
  opts.writeBigUInt64LE(BigInt(OPTS_SIZE), 0);
  opts.writeBigUInt64LE(addressOf(o.data), 8);
  opts.writeBigUInt64LE(addressOf(out), 16);
  opts.writeUInt32LE(o.data.length, 24);
  opts.writeUInt32LE(out.length, 28);
  if (o.ctx) {
    opts.writeBigUInt64LE(addressOf(o.ctx), 32);
    opts.writeUInt32LE(o.ctx.length, 48);
  }
  opts.writeInt32LE(o.repeat ?? 1, 60);
  if (o.checksumComplete) opts.writeUInt32LE(BPF_F_TEST_SKB_CHECKSUM_COMPLETE, 68);
  // the Buffers stay referenced (o.data, out, o.ctx) until the call returns
  check('bpf_prog_test_run_opts', libbpf().bpf_prog_test_run_opts(progFd, opts) as number);
  const outLen = opts.readUInt32LE(28);
  return { retval: opts.readUInt32LE(56), durationNs: opts.readUInt32LE(64), data: out.subarray(0, outLen) };
}

/**
 * Run a BPF_PROG_TYPE_SYSCALL program once with `ctx` as its context (the
 * kernel copies it in; no packet, no repeat). Returns the program's return value.
 */
export function testRunSyscall(progFd: number, ctx?: Buffer): number {
  const opts = Buffer.alloc(OPTS_SIZE);
  opts.writeBigUInt64LE(BigInt(OPTS_SIZE), 0);
  if (ctx) {
    opts.writeBigUInt64LE(addressOf(ctx), 32);
    opts.writeUInt32LE(ctx.length, 48);
  }
  // ctx stays referenced until the call returns
  check('bpf_prog_test_run_opts', libbpf().bpf_prog_test_run_opts(progFd, opts) as number);
  return opts.readUInt32LE(56);
}
