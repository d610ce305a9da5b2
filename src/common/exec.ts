/**
 * Run external programs by argv (never through a shell) and return their output;
 * a non-zero exit becomes a CommandError carrying argv and stderr.
 */
import { execFile, execFileSync } from 'node:child_process';
import { CommandError } from './errors.js';

export interface RunOptions {
  /** Run inside this network namespace (`ip netns exec NAME ...`). */
  netns?: string;
  /** Data written to the child's stdin. */
  input?: string;
  /** Kill the child after this many milliseconds. @default 60000 */
  timeoutMs?: number;
  /** Return instead of throwing when the exit code is non-zero. @default false */
  allowFail?: boolean;
}

export interface RunResult {
  stdout: string;
  stderr: string;
  code: number;
}

export function withNetns(argv: readonly string[], netns?: string): string[] {
  return netns ? ['ip', 'netns', 'exec', netns, ...argv] : [...argv];
}

export function run(argv: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const full = withNetns(argv, opts.netns);
  return new Promise((resolve, reject) => {
    const child = execFile(
      full[0]!,
      full.slice(1),
      { timeout: opts.timeoutMs ?? 60_000, maxBuffer: 64 * 1024 * 1024, encoding: 'utf8' },
      (err, stdout, stderr) => {
        const errCode = (err as { code?: unknown } | null)?.code;
        if (errCode === 'ENOENT') {
          reject(new CommandError(full, null, `${full[0]} not found; run scripts/setup.sh`));
          return;
        }
        const code = err ? (typeof errCode === 'number' ? errCode : -1) : 0;
        if (code !== 0 && !opts.allowFail) reject(new CommandError(full, code, stderr));
        else resolve({ stdout, stderr, code });
      },
    );
    if (opts.input !== undefined) child.stdin?.end(opts.input);
  });
}

/** Synchronous variant for exit handlers and cleanup paths that cannot await. */
export function runSync(argv: readonly string[], opts: Omit<RunOptions, 'input'> = {}): RunResult {
  const full = withNetns(argv, opts.netns);
  try {
    const stdout = execFileSync(full[0]!, full.slice(1), {
      timeout: opts.timeoutMs ?? 60_000,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    return { stdout, stderr: '', code: 0 };
  } catch (e) {
    const err = e as { status?: number | null; stdout?: string; stderr?: string };
    const res = { stdout: err.stdout ?? '', stderr: err.stderr ?? '', code: err.status ?? -1 };
    if (!opts.allowFail) throw new CommandError(full, res.code, res.stderr);
    return res;
  }
}
