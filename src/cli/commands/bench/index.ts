/** Every `pathsteer bench` subcommand, one file each (keep the list sorted). */
import type { RegisterCommand } from '../../command.js';
import { registerBenchGatewayMemory } from './gateway-memory.js';
import { registerBenchGatewayUpdates } from './gateway-updates.js';

export const benchCommands: RegisterCommand[] = [registerBenchGatewayMemory, registerBenchGatewayUpdates];
