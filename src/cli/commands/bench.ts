/**
 * `pathsteer bench <name> [--json]`: the benchmark group. Each benchmark is one
 * file in ./bench/ registered in ./bench/index.ts; the measuring code itself
 * lives in bench/ at the repository root and prints JSON plus a one-line summary.
 */
import type { Command } from 'commander';
import type { CliContext } from '../command.js';
import { benchCommands } from './bench/index.js';

export function registerBench(program: Command, ctx: CliContext): void {
  const bench = program.command('bench').description('run a benchmark and print its figures (--json for scripts)');
  for (const register of benchCommands) register(bench, ctx);
}
