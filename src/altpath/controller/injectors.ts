/**
 * Injectors from the controller config. A gateway-sim peering router lives in
 * gateway-sim, which altpath does not import (DESIGN §1): the caller (the CLI)
 * passes a factory for it.
 */
import { UsageError } from '../../common/errors.js';
import type { Logger } from '../../common/logger.js';
import type { Injector } from '../inject/injector.js';
import { LinuxInjector } from '../inject/linux.js';
import { MemoryInjector } from '../inject/memory.js';
import { TableTargetInjector, type RouteTableTarget } from '../inject/table-target.js';
import type { ControllerConfig } from './config.js';

export function buildInjectors(c: ControllerConfig, log: Logger, gatewaySim?: (dscps: readonly number[]) => RouteTableTarget): Injector[] {
  return c.injectors.map((i) => {
    switch (i.kind) {
      case 'memory':
        return new MemoryInjector('memory', false, log);
      case 'gateway-sim': {
        if (!gatewaySim) throw new UsageError('injector gateway-sim is not available here');
        return new TableTargetInjector('gateway-sim', gatewaySim(c.dscps), log);
      }
      case 'linux':
        return new LinuxInjector({
          dscps: c.dscps,
          netns: i.netns,
          tables: i.tables ? Object.fromEntries(Object.entries(i.tables).map(([k, v]) => [Number(k), v])) : undefined,
          overrideTable: i.overrideTable,
          markBase: i.markBase,
          rulePriority: i.rulePriority,
          overridePriority: i.overridePriority,
          ingressInterfaces: i.ingressInterfaces,
          nftTable: i.nftTable,
          logger: log,
        });
    }
  });
}
