/**
 * Every CLI command, one file each. Add a command by adding its register
 * function here (keep the list sorted).
 */
import type { RegisterCommand } from '../command.js';
import { registerBench } from './bench.js';
import { registerDoctor } from './doctor.js';
import { registerRank } from './rank.js';

export const commands: RegisterCommand[] = [registerBench, registerDoctor, registerRank];
