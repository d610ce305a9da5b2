/** Every `pathsteer bench` subcommand, one file each (keep the list sorted). */
import type { RegisterCommand } from '../../command.js';
import { registerBenchMaxmin } from './maxmin.js';
import { registerBenchRanker } from './ranker.js';

export const benchCommands: RegisterCommand[] = [registerBenchMaxmin, registerBenchRanker];
