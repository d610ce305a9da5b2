/** Every `pathsteer altpath` subcommand, one file each (keep the list sorted, one per line). */
import type { RegisterCommand } from '../../command.js';
import { registerAltpathSampler } from './sampler.js';

export const altpathCommands: RegisterCommand[] = [
  registerAltpathSampler,
];
