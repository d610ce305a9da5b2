/**
 * `pathsteer gateway ...`: gateway-sim, the userspace model of a Tofino gateway's
 * path tables. Subcommands: `bench memory`, `bench updates`, `inspect`.
 */
import type { Command } from 'commander';
import type { CliContext } from '../command.js';
import { registerGatewayBenchMemory } from './gateway/bench-memory.js';
import { registerGatewayBenchUpdates } from './gateway/bench-updates.js';
import { registerGatewayInspect } from './gateway/inspect.js';

export function registerGateway(program: Command, ctx: CliContext): void {
  const gw = program.command('gateway').description('gateway-sim: Tofino gateway path tables (PBM, HI) and their update channels');
  const bench = gw.command('bench').description('ZooRoute §7.1 experiments on gateway-sim (--json for scripts)');
  registerGatewayBenchMemory(bench, ctx);
  registerGatewayBenchUpdates(bench, ctx);
  registerGatewayInspect(gw, ctx);
}
