/**
 * `pathsteer altpath <sub>`: Edge Fabric's AltPath (DESIGN §6). Each
 * subcommand is one file in ./altpath/ registered in ./altpath/index.ts.
 */
import type { Command } from 'commander';
import type { CliContext } from '../command.js';
import { altpathCommands } from './altpath/index.js';

export function registerAltpath(program: Command, ctx: CliContext): void {
  const ap = program
    .command('altpath')
    .description('AltPath: measure alternate BGP routes with a DSCP-marked share of real traffic; BMP-fed alternate routes per DSCP, overrides');
  for (const register of altpathCommands) register(ap, ctx);
}
