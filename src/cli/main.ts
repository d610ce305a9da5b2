#!/usr/bin/env node
/**
 * pathsteer CLI entry point. The only place that sets process.exitCode and
 * installs signal handlers; commands return or throw.
 */
import { Command, CommanderError } from 'commander';
import { PathsteerError } from '../common/errors.js';
import { logger, setLogLevel } from '../common/logger.js';
import type { CliContext } from './command.js';
import { commands } from './commands/index.js';

export function buildProgram(ctx: CliContext): Command {
  const program = new Command('pathsteer')
    .description('Route around network failures and measure alternate paths with eBPF')
    .option('--log-level <level>', 'pino log level (trace|debug|info|warn|error|silent)')
    .showHelpAfterError()
    .exitOverride();
  program.hook('preAction', (cmd) => {
    const lvl = cmd.opts().logLevel as string | undefined;
    if (lvl) setLogLevel(lvl);
  });
  for (const register of commands) register(program, ctx);
  // Every subcommand reports bad usage through commander's exitOverride too.
  const override = (c: Command): void => {
    c.exitOverride();
    c.commands.forEach(override);
  };
  override(program);
  return program;
}

const SIGNAL_EXIT: Record<string, number> = { SIGINT: 130, SIGTERM: 143 };

async function main(argv: string[]): Promise<void> {
  const abort = new AbortController();
  let stopDeadlineMs: number | undefined;
  let cleanup: (() => void) | undefined;
  /** Exit now, after the command's synchronous cleanup (detach), whatever it is doing. */
  const forceExit = (code: number, why: string): never => {
    process.stderr.write(`pathsteer: ${why}\n`);
    try {
      cleanup?.();
    } catch (e) {
      process.stderr.write(`pathsteer: cleanup before exit failed: ${(e as Error).message}\n`);
    }
    process.exit(code);
  };
  const onSignal = (sig: NodeJS.Signals): void => {
    if (abort.signal.aborted) forceExit(SIGNAL_EXIT[sig] ?? 1, `${sig} again: exiting now`);
    logger.info({ signal: sig }, 'stopping');
    abort.abort(sig);
    if (stopDeadlineMs !== undefined) {
      const ms = stopDeadlineMs;
      setTimeout(() => forceExit(1, `did not stop within ${ms} ms of ${sig}: exiting`), ms).unref();
    }
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const hangupListeners = new Set<() => void>();
  const onHangup = (): void => {
    logger.info({ signal: 'SIGHUP' }, 'reloading');
    for (const fn of hangupListeners) fn();
  };
  const ctx: CliContext = {
    signal: abort.signal,
    progress: (line) => process.stderr.write(`${line}\n`),
    setStopDeadline: (ms) => {
      stopDeadlineMs = ms;
    },
    setForcedExitCleanup: (fn) => {
      cleanup = fn;
    },
    onHangup(fn) {
      if (hangupListeners.size === 0) process.on('SIGHUP', onHangup);
      hangupListeners.add(fn);
      return () => {
        hangupListeners.delete(fn);
        if (hangupListeners.size === 0) process.off('SIGHUP', onHangup);
      };
    },
  };
  try {
    await buildProgram(ctx).parseAsync(argv);
  } catch (e) {
    if (e instanceof CommanderError) {
      // help and version exit 0; everything else is bad usage
      process.exitCode = e.exitCode === 0 ? 0 : 2;
    } else if (e instanceof PathsteerError) {
      process.stderr.write(`pathsteer: ${e.message}\n`);
      process.exitCode = e.exitCode;
    } else {
      process.stderr.write(`pathsteer: unexpected error: ${(e as Error)?.stack ?? String(e)}\n`);
      process.exitCode = 1;
    }
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    process.off('SIGHUP', onHangup);
  }
}

await main(process.argv);
