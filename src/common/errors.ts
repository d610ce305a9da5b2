/**
 * Error classes shared by every pathsteer module. Each carries an exit code the
 * CLI uses (2 = the caller must change something: arguments, privileges;
 * 1 = the operation failed) and a message that says what to do.
 */

export class PathsteerError extends Error {
  /** Process exit code the CLI uses when this error ends a command. */
  readonly exitCode: number = 1;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Bad CLI arguments, bad config file, bad spec: the caller must fix the input. */
export class UsageError extends PathsteerError {
  override readonly exitCode = 2;
}

/** The process lacks a capability (CAP_BPF, CAP_NET_ADMIN, ...) it needs. */
export class PrivilegeError extends PathsteerError {
  override readonly exitCode = 2;
  constructor(
    readonly missing: readonly string[],
    what: string,
  ) {
    super(
      `${what} needs ${missing.join(' and ')}, which this process does not have; run it as root (sudo pathsteer ...)`,
    );
  }
}

/** The running kernel lacks a feature (module or config option) an operation needs. */
export class KernelFeatureError extends PathsteerError {
  constructor(
    readonly feature: string,
    what: string,
  ) {
    super(`${what} needs the kernel feature ${feature}, which this kernel does not have`);
  }
}

/** An external command (ip, iptables, ...) exited non-zero. argv is never a shell string. */
export class CommandError extends PathsteerError {
  constructor(
    readonly argv: readonly string[],
    readonly code: number | null,
    readonly stderr: string,
  ) {
    super(`command failed (exit ${code}): ${argv.join(' ')}${stderr ? `: ${stderr.trim()}` : ''}`);
  }
}
