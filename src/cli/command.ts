/**
 * What every CLI command file uses: option validation with zod (bad input becomes
 * a UsageError naming the option), and a uniform way to return a result that main()
 * prints as text or, with --json, as JSON.
 */
import type { Command } from 'commander';
import { z } from 'zod';
import { UsageError } from '../common/errors.js';
import { zip } from '../common/net.js';

/** What an action returns: `data` is printed with --json, `text` otherwise. */
export interface CommandOutput {
  data: unknown;
  text: string;
}

/** Passed to every command: stop signal (SIGINT/SIGTERM), progress output. */
export interface CliContext {
  /** Aborted when the process receives SIGINT or SIGTERM (a second one exits at once). */
  signal: AbortSignal;
  /**
   * For daemons: after the first signal, exit anyway once `ms` have passed,
   * running the forced-exit cleanup first (undefined: wait as long as the command takes).
   */
  setStopDeadline(ms: number | undefined): void;
  /**
   * The synchronous cleanup to run when the process exits before the command
   * returns (a second signal, the stop deadline); undefined withdraws it.
   */
  setForcedExitCleanup(fn: (() => void) | undefined): void;
  /** Progress lines for long work; goes to stderr so stdout stays parseable. */
  progress(line: string): void;
  /**
   * Call fn on every SIGHUP (daemons re-read their configuration) until the
   * returned function is called. main() installs the handler only while
   * someone listens, so other commands keep the default (exit on hangup).
   */
  onHangup?(fn: () => void): () => void;
}

/** Parse with a zod schema; failures become a UsageError listing each bad field. */
export function parseOptions<T extends z.ZodType>(
  schema: T,
  input: unknown,
  what = 'options',
  /** How to name a field in messages when it is not `--kebab-case` of its key (e.g. config keys set by other flags). */
  names: Record<string, string> = {},
): z.infer<T> {
  const r = schema.safeParse(input);
  if (r.success) return r.data;
  const problems = r.error.issues.map((i) => {
    const key = String(i.path[0] ?? '');
    const name = names[key] ?? `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
    if (i.path.length === 0) return i.message;
    return `${name}${i.path.length > 1 ? `[${i.path.slice(1).join('.')}]` : ''}: ${i.message}`;
  });
  throw new UsageError(`invalid ${what}: ${problems.join('; ')}`);
}

/** zod helpers for common CLI value types (commander hands us strings). */
export const zcli = {
  int: (min: number, max: number) => z.coerce.number().int().min(min).max(max),
  port: () => z.coerce.number().int().min(1).max(65535),
  ipv4: zip.ipv4,
  ifname: () => z.string().regex(/^[A-Za-z0-9_.:@-]{1,15}$/, 'not a valid interface name (1-15 chars)'),
  hex64: () =>
    z
      .string()
      .regex(/^(0x)?[0-9a-fA-F]{1,16}$/, 'not a hexadecimal bitmap of at most 64 bits')
      .transform((s) => BigInt(s.startsWith('0x') ? s : `0x${s}`)),
};

/** Signature of a command module's register function. */
export type RegisterCommand = (program: Command, ctx: CliContext) => void;

/**
 * Wrap an action so that its returned CommandOutput is printed (JSON when the
 * command's own options contain `json: true`). Errors propagate to main().
 */
export function action<A extends unknown[]>(
  fn: (...args: A) => Promise<CommandOutput | void> | CommandOutput | void,
): (...args: A) => Promise<void> {
  return async (...args: A) => {
    const out = await fn(...args);
    if (!out) return;
    const cmd = args[args.length - 1] as Command;
    const opts = (typeof cmd?.opts === 'function' ? cmd.opts() : {}) as { json?: boolean };
    if (opts.json) process.stdout.write(`${JSON.stringify(out.data, jsonReplacer, 2)}\n`);
    else if (out.text) process.stdout.write(out.text.endsWith('\n') ? out.text : `${out.text}\n`);
  };
}

/** JSON.stringify replacer: bigint as hex strings ("0x..."), Maps as objects. */
export function jsonReplacer(_key: string, value: unknown): unknown {
  if (typeof value === 'bigint') return `0x${value.toString(16)}`;
  if (value instanceof Map) return Object.fromEntries(value);
  return value;
}
