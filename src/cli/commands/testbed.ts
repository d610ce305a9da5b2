/**
 * `pathsteer testbed <sub>`: the namespace testbed group. Each subcommand is
 * one file in ./testbed/ registered in ./testbed/index.ts; the work itself is
 * in src/testbed (its README documents every --json schema).
 */
import type { Command } from 'commander';
import type { CliContext } from '../command.js';
import { testbedCommands } from './testbed/index.js';

export function registerTestbed(program: Command, ctx: CliContext): void {
  const tb = program
    .command('testbed')
    .description('namespace Clos testbed: up, down, status, fail, heal, traffic, run, baseline, vagrant');
  for (const register of testbedCommands) register(tb, ctx);
}
