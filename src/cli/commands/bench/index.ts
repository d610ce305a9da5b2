/** Every `pathsteer bench` subcommand, one file each (keep the list sorted). */
import type { RegisterCommand } from '../../command.js';
import { registerBenchDataplane } from './dataplane.js';
import { registerBenchMaps } from './maps.js';

export const benchCommands: RegisterCommand[] = [registerBenchDataplane, registerBenchMaps];
