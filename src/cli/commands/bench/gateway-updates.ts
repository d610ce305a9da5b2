/** `pathsteer bench gateway-updates`: the same as `pathsteer gateway bench updates`. */
import type { Command } from 'commander';
import type { CliContext } from '../../command.js';
import { registerGatewayBenchUpdates } from '../gateway/bench-updates.js';

export function registerBenchGatewayUpdates(bench: Command, ctx: CliContext): void {
  registerGatewayBenchUpdates(bench, ctx, 'gateway-updates');
}
