/**
 * BPF_PROG_TEST_RUN (bpf_prog_test_run_opts): run a loaded program on a
 * crafted packet in the kernel, without a device. Used by the differential
 * tests and `pathsteer bench dataplane`.
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
}

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
  // the Buffers stay referenced (o.data, out, o.ctx) until the call returns
  check('bpf_prog_test_run_opts', libbpf().bpf_prog_test_run_opts(progFd, opts) as number);
  const outLen = opts.readUInt32LE(28);
  return { retval: opts.readUInt32LE(56), durationNs: opts.readUInt32LE(64), data: out.subarray(0, outLen) };
}
