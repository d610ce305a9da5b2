/**
 * `pathsteer altpath ...`: Edge Fabric's AltPath. Each subcommand is one file
 * in ./altpath/ registered in ./altpath/index.ts.
 */
import type { Command } from 'commander';
import type { CliContext } from '../command.js';
import { altpathCommands } from './altpath/index.js';

export function registerAltpath(program: Command, ctx: CliContext): void {
  const altpath = program.command('altpath').description('AltPath: BMP-fed alternate routes per DSCP, TCP-close measurements, overrides');
  for (const register of altpathCommands) register(altpath, ctx);
}
