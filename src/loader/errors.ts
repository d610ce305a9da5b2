/**
 * The one error type at the libbpf boundary: every negative libbpf return (or
 * NULL pointer plus errno) becomes a BpfError {op, errno, code} whose message
 * is `${op}: ${code}`. A missing map key is not an error (lookups return
 * undefined); everything else a caller can act on has its own class.
 */
import { constants } from 'node:os';
import { PathsteerError } from '../common/errors.js';

const ERRNO_NAMES = new Map<number, string>();
for (const [name, num] of Object.entries(constants.errno)) {
  if (!ERRNO_NAMES.has(num)) ERRNO_NAMES.set(num, name);
}

/** `ENOENT` for 2; `E<n>` for numbers Node does not name. */
export function errnoCode(errno: number): string {
  return ERRNO_NAMES.get(Math.abs(errno)) ?? `E${Math.abs(errno)}`;
}

export class BpfError extends PathsteerError {
  /** Positive errno. */
  readonly errno: number;
  /** Symbolic errno, e.g. `EPERM`. */
  readonly code: string;
  constructor(
    /** The libbpf function (and what it acted on), e.g. `bpf_tc_attach egress ifindex 3`. */
    readonly op: string,
    errno: number,
    /** Last libbpf log lines (verifier output on a failed load), when any. */
    readonly log: readonly string[] = [],
  ) {
    const e = Math.abs(errno);
    const code = errnoCode(e);
    super(`${op}: ${code}`);
    this.errno = e;
    this.code = code;
  }
}

/** Throw BpfError when a libbpf call returned a negative errno; otherwise return it. */
export function check(op: string, ret: number): number {
  if (ret < 0) throw new BpfError(op, -ret);
  return ret;
}

/**
 * A pinned map exists but is not the map the object defines (an older build or
 * another tool's map). Lists every difference; re-create it with detach/attach.
 */
export class PinMismatchError extends PathsteerError {
  constructor(
    readonly path: string,
    readonly differences: readonly string[],
  ) {
    super(
      `pinned map ${path} does not match the program's map: ${differences.join('; ')}; remove the pin (pathsteer detach) and attach again`,
    );
  }
}

/** libbpf.so.1 could not be loaded. */
export class LibbpfMissingError extends PathsteerError {
  constructor(cause: unknown) {
    super('cannot load libbpf.so.1 (Debian package libbpf1); run scripts/setup.sh', { cause });
  }
}
