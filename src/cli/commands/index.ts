/**
 * Every CLI command, one file each. Add a command by adding its register
 * function here (keep the list sorted, one per line).
 */
import type { RegisterCommand } from '../command.js';
import { registerAgent } from './agent.js';
import { registerAltpath } from './altpath.js';
import { registerAttach } from './attach.js';
import { registerBench } from './bench.js';
import { registerController } from './controller.js';
import { registerDemo } from './demo.js';
import { registerDetach } from './detach.js';
import { registerDoctor } from './doctor.js';
import { registerGateway } from './gateway.js';
import { registerMaps } from './maps.js';
import { registerPath } from './path.js';
import { registerRank } from './rank.js';
import { registerTestbed } from './testbed.js';

export const commands: RegisterCommand[] = [
  registerAgent,
  registerAltpath,
  registerAttach,
  registerBench,
  registerController,
  registerDemo,
  registerDetach,
  registerDoctor,
  registerGateway,
  registerMaps,
  registerPath,
  registerRank,
  registerTestbed,
];
