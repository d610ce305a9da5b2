/** `pathsteer bench gateway-memory`: the same as `pathsteer gateway bench memory`. */
import type { Command } from 'commander';
import type { CliContext } from '../../command.js';
import { registerGatewayBenchMemory } from '../gateway/bench-memory.js';

export function registerBenchGatewayMemory(bench: Command, ctx: CliContext): void {
  registerGatewayBenchMemory(bench, ctx, 'gateway-memory');
}
