/** Every `pathsteer bench` subcommand, one file each (keep the list sorted, one per line). */
import type { RegisterCommand } from '../../command.js';
import { registerBenchAltpath } from './altpath.js';
import { registerBenchAltpathDscp } from './altpath-dscp.js';
import { registerBenchDataplane } from './dataplane.js';
import { registerBenchFailover } from './failover.js';
import { registerBenchFleet } from './fleet.js';
import { registerBenchGatewayMemory } from './gateway-memory.js';
import { registerBenchGatewayUpdates } from './gateway-updates.js';
import { registerBenchMaps } from './maps.js';
import { registerBenchMaxmin } from './maxmin.js';
import { registerBenchProbes } from './probes.js';
import { registerBenchProbing } from './probing.js';
import { registerBenchRanker } from './ranker.js';

export const benchCommands: RegisterCommand[] = [
  registerBenchAltpath,
  registerBenchAltpathDscp,
  registerBenchDataplane,
  registerBenchFailover,
  registerBenchFleet,
  registerBenchGatewayMemory,
  registerBenchGatewayUpdates,
  registerBenchMaps,
  registerBenchMaxmin,
  registerBenchProbes,
  registerBenchProbing,
  registerBenchRanker,
];
