/**
 * `pathsteer gateway bench memory [--json]` (also `pathsteer bench gateway-memory`):
 * ZooRoute Fig. 17 on gateway-sim.
 */
import type { Command } from 'commander';
import { z } from 'zod';
import { benchGatewayMemory, summarizeGatewayMemory } from '../../../../bench/gateway-memory.js';
import { UsageError } from '../../../common/errors.js';
import { action, parseOptions, zcli, type CliContext, type CommandOutput } from '../../command.js';

const Options = z.object({
  populations: z
    .string()
    .regex(/^\d+(,\d+)*$/, 'a comma-separated list of peer counts')
    .transform((s) => s.split(',').map(Number))
    .refine((a) => a.every((n) => n >= 100 && n <= 1_000_000), 'each population must be in 100..1000000')
    .default([10_000, 50_000, 100_000]),
  npHg: zcli.int(2, 64).default(32),
  npGg: zcli.int(2, 64).default(64),
  m: zcli.int(1, 64).default(8),
  vipShare: z.coerce.number().min(0).max(0.5).default(0.002),
  badShare: z.coerce.number().min(0).max(1).default(0.03),
  seed: zcli.int(0, 2 ** 31).default(1),
  json: z.boolean().optional(),
});

export function addGatewayMemoryOptions(c: Command): Command {
  return c
    .option('--populations <list>', 'peer populations, comma-separated (default 10000,50000,100000)')
    .option('--np-hg <n>', 'ports per intra-region (H-G) peer, the HI case (default 32)')
    .option('--np-gg <n>', 'ports per cross-region (G-G) peer, the PBM case (default 64)')
    .option('--m <n>', 'HI ports per group (default 8)')
    .option('--vip-share <fraction>', 'share of peers that are stateful vIPs (default 0.002)')
    .option('--bad-share <fraction>', 'probability that a port is unavailable (default 0.03)')
    .option('--seed <n>', 'random seed (default 1)')
    .option('--json', 'print JSON');
}

export function gatewayMemoryAction(ctx: CliContext) {
  return action((raw: Record<string, unknown>): CommandOutput => {
    const o = parseOptions(Options, raw);
    if (o.npHg % o.m !== 0) throw new UsageError(`invalid options: --m ${o.m} must divide --np-hg ${o.npHg}`);
    const r = benchGatewayMemory({
      populations: o.populations,
      npHG: o.npHg,
      npGG: o.npGg,
      m: o.m,
      vipShare: o.vipShare,
      badShare: o.badShare,
      seed: o.seed,
      progress: ctx.progress,
    });
    return { data: r, text: summarizeGatewayMemory(r) };
  });
}

export function registerGatewayBenchMemory(parent: Command, ctx: CliContext, name = 'memory'): void {
  addGatewayMemoryOptions(parent.command(name).description('path-table memory of PBM and HI vs the naive table (ZooRoute Fig. 17)')).action(
    gatewayMemoryAction(ctx),
  );
}
