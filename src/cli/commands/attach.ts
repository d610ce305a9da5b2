/**
 * `pathsteer attach --iface IF [--tunnel-port 4789] [--geneve-port P]
 * [--agent-port 14789] [--no-ingress] [--no-flow-cache] [--json]`: load vxlan_sport onto IF's TC
 * egress and probe_steer onto its TC ingress, sharing maps pinned under
 * /sys/fs/bpf/pathsteer/[ns/NETNS/]IF/. Attaching again swaps the programs in
 * place and keeps the tables. The filters stay after this command exits.
 */
import type { Command } from 'commander';
import { z } from 'zod';
import { requireCaps } from '../../common/privileges.js';
import { attach, type ProgramRecord, type Variant } from '../../maps/dataplane.js';
import { action, parseOptions, zcli, type CliContext, type CommandOutput } from '../command.js';

const Options = z.object({
  iface: zcli.ifname(),
  tunnelPort: zcli.port(),
  genevePort: zcli.int(0, 65535),
  agentPort: zcli.port().optional(),
  ingress: z.boolean(),
  flowCache: z.boolean(),
  seed: zcli.int(0, 0xffff_ffff).optional(),
  variant: z.enum(['auto', 'precise', 'compat']),
  json: z.boolean().optional(),
});

export function registerAttach(program: Command, _ctx: CliContext): void {
  program
    .command('attach')
    .description('attach the data plane to an underlay interface: vxlan_sport (egress) and probe_steer (ingress)')
    .requiredOption('--iface <IF>', 'underlay interface the tunnel leaves by')
    .option('--tunnel-port <port>', 'VXLAN destination port to steer (8472 for flannel)', '4789')
    .option('--geneve-port <port>', 'Geneve destination port to steer, 0 = none', '0')
    .option('--agent-port <port>', 'UDP port of the agent probe socket; probe_steer delivers probes there (default: keep the current one, else 14789)')
    .option('--no-ingress', 'attach vxlan_sport only, without probe_steer on ingress (probes then reach the tunnel driver, which drops them)')
    .option('--no-flow-cache', 'load vxlan_sport without its per-CPU flow cache (every packet takes the full table lookup)')
    .option('--seed <n>', 'flow-hash seed (default: keep the current one, else random)')
    .option('--variant <v>', 'program build: auto | precise (Linux >= 6.2) | compat', 'auto')
    .option('--json', 'print JSON')
    .action(
      action((raw: Record<string, unknown>): CommandOutput => {
        const o = parseOptions(Options, raw);
        requireCaps(['CAP_BPF', 'CAP_NET_ADMIN', 'CAP_PERFMON'], 'pathsteer attach');
        const r = attach({
          ifname: o.iface,
          vxlanPort: o.tunnelPort,
          genevePort: o.genevePort,
          agentPort: o.agentPort,
          ingress: o.ingress,
          flowCache: o.flowCache,
          seed: o.seed,
          variant: o.variant as Variant,
        });
        const line = (p: ProgramRecord): string =>
          `${r.replaced ? 'replaced' : 'attached'} ${p.program} on ${o.iface} ${p.filter.point} (handle ${p.filter.handle}, priority ${p.filter.priority}, prog id ${p.filter.progId})`;
        const ports = `${r.config.vxlanPort}${r.config.genevePort ? ` and ${r.config.genevePort}` : ''}`;
        const text = [
          line(r.record.egress),
          ...(r.record.ingress ? [line(r.record.ingress)] : []),
          `maps pinned in ${r.record.pinDir}${r.reusedPins.length ? ` (adopted: ${r.reusedPins.join(', ')})` : ''}${r.replacedPins.length ? ` (replaced, from another version: ${r.replacedPins.join(', ')})` : ''}`,
          `steering UDP to port ${ports}${r.record.ingress ? `; probes arriving there go to port ${r.config.agentPort}` : ''}`,
        ].join('\n');
        return { data: { ...r.record, replaced: r.replaced, reusedPins: r.reusedPins, replacedPins: r.replacedPins, config: r.config }, text };
      }),
    );
}
