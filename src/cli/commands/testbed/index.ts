/** Every `pathsteer testbed` subcommand, one file each (keep the list sorted). */
import type { RegisterCommand } from '../../command.js';
import { registerBaseline } from './baseline.js';
import { registerDown } from './down.js';
import { registerFail } from './fail.js';
import { registerHeal } from './heal.js';
import { registerRun } from './run.js';
import { registerStatus } from './status.js';
import { registerTraffic } from './traffic.js';
import { registerUp } from './up.js';
import { registerVagrant } from './vagrant.js';

export const testbedCommands: RegisterCommand[] = [
  registerBaseline,
  registerDown,
  registerFail,
  registerHeal,
  registerRun,
  registerStatus,
  registerTraffic,
  registerUp,
  registerVagrant,
];
