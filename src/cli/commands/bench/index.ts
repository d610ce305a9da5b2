/** Every `pathsteer bench` subcommand, one file each (keep the list sorted). */
import type { RegisterCommand } from '../../command.js';
import { registerBenchDataplane } from './dataplane.js';
import { registerBenchFailover } from './failover.js';
import { registerBenchGatewayMemory } from './gateway-memory.js';
import { registerBenchGatewayUpdates } from './gateway-updates.js';
import { registerBenchMaps } from './maps.js';

export const benchCommands: RegisterCommand[] = [
  registerBenchDataplane,
  registerBenchFailover,
  registerBenchGatewayMemory,
  registerBenchGatewayUpdates,
  registerBenchMaps,
];
