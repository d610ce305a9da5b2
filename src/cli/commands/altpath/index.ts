/** Every `pathsteer altpath` subcommand, one file each (keep the list sorted, one per line). */
import type { RegisterCommand } from '../../command.js';
import { registerAltpathCollector } from './collector.js';
import { registerAltpathController } from './controller.js';
import { registerAltpathSampler } from './sampler.js';
import { registerAltpathStatus } from './status.js';

export const altpathCommands: RegisterCommand[] = [
  registerAltpathCollector,
  registerAltpathController,
  registerAltpathSampler,
  registerAltpathStatus,
];
