/**
 * `pathsteer gateway bench updates [--peers N] [--ports N] [--json]` (also
 * `pathsteer bench gateway-updates`): ZooRoute Fig. 18 on gateway-sim.
 */
import type { Command } from 'commander';
import { z } from 'zod';
import { benchGatewayUpdates, summarizeGatewayUpdates } from '../../../../bench/gateway-updates.js';
import { UsageError } from '../../../common/errors.js';
import { action, parseOptions, zcli, type CliContext, type CommandOutput } from '../../command.js';

const Options = z.object({
  peers: zcli.int(100, 200_000).default(50_000),
  ports: zcli.int(2, 64).default(32),
  m: zcli.int(1, 64).default(8),
  pcieRate: zcli.int(1, 100_000_000).default(10_000),
  runs: zcli.int(1, 50).default(5),
  warmup: zcli.int(0, 50).default(8),
  order: z.enum(['address', 'random']).default('address'),
  perPacket: zcli.int(1, 90).default(90),
  recircGbps: z.coerce.number().positive().max(10_000).default(100),
  seed: zcli.int(0, 2 ** 31).default(1),
  json: z.boolean().optional(),
});

export function addGatewayUpdatesOptions(c: Command): Command {
  return c
    .option('--peers <n>', 'peers of the gateway (default 50000)')
    .option('--ports <n>', 'ports per peer, Np (default 32)')
    .option('--m <n>', 'HI ports per group (default 8)')
    .option('--pcie-rate <n>', 'PCIe transactions per second (default 10000)')
    .option('--runs <n>', 'measured runs of the packet path, median and minimum reported (default 5)')
    .option('--warmup <n>', 'unmeasured runs before them (default 8)')
    .option('--order <order>', 'update records by peer address or in random order: address|random (default address)')
    .option('--per-packet <n>', 'records per table-update packet, 1..90 (default 90)')
    .option('--recirc-gbps <n>', 'recirculation bandwidth of the modelled ASIC time (default 100)')
    .option('--seed <n>', 'random seed (default 1)')
    .option('--json', 'print JSON');
}

export function gatewayUpdatesAction(ctx: CliContext) {
  return action((raw: Record<string, unknown>): CommandOutput => {
    const o = parseOptions(Options, raw);
    if (o.ports % o.m !== 0) throw new UsageError(`invalid options: --m ${o.m} must divide --ports ${o.ports}`);
    const r = benchGatewayUpdates({
      peers: o.peers,
      ports: o.ports,
      m: o.m,
      pcieRate: o.pcieRate,
      runs: o.runs,
      warmup: o.warmup,
      order: o.order,
      perPacket: o.perPacket,
      recircGbps: o.recircGbps,
      seed: o.seed,
      progress: ctx.progress,
    });
    return { data: r, text: summarizeGatewayUpdates(r) };
  });
}

export function registerGatewayBenchUpdates(parent: Command, ctx: CliContext, name = 'updates'): void {
  addGatewayUpdatesOptions(parent.command(name).description('path-table update time over PCIe vs table-update packets (ZooRoute Fig. 18)')).action(
    gatewayUpdatesAction(ctx),
  );
}
