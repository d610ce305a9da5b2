/**
 * `pathsteer attach --iface IF [--tunnel-port 4789] [--geneve-port P] [--json]`:
 * load vxlan_sport onto IF's TC egress with its maps pinned under
 * /sys/fs/bpf/pathsteer/[ns/NETNS/]IF/. Attaching again swaps the program in
 * place and keeps the tables. The filter stays after this command exits.
 */
import type { Command } from 'commander';
import { z } from 'zod';
import { requireCaps } from '../../common/privileges.js';
import { attach, type Variant } from '../../maps/dataplane.js';
import { action, parseOptions, zcli, type CliContext, type CommandOutput } from '../command.js';

const Options = z.object({
  iface: zcli.ifname(),
  tunnelPort: zcli.port(),
  genevePort: zcli.int(0, 65535),
  seed: zcli.int(0, 0xffff_ffff).optional(),
  variant: z.enum(['auto', 'precise', 'compat']),
  json: z.boolean().optional(),
});

export function registerAttach(program: Command, _ctx: CliContext): void {
  program
    .command('attach')
    .description('attach the source-port data plane (vxlan_sport) to an underlay interface')
    .requiredOption('--iface <IF>', 'underlay interface the tunnel leaves by')
    .option('--tunnel-port <port>', 'VXLAN destination port to steer (8472 for flannel)', '4789')
    .option('--geneve-port <port>', 'Geneve destination port to steer, 0 = none', '0')
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
          seed: o.seed,
          variant: o.variant as Variant,
        });
        const f = r.record.filter;
        const text = [
          `${r.replaced ? 'replaced' : 'attached'} ${r.record.program} on ${o.iface} egress (handle ${f.handle}, priority ${f.priority}, prog id ${f.progId})`,
          `maps pinned in ${r.record.pinDir}${r.reusedPins.length ? ` (adopted: ${r.reusedPins.join(', ')})` : ''}`,
          `steering UDP to port ${r.config.vxlanPort}${r.config.genevePort ? ` and ${r.config.genevePort}` : ''}`,
        ].join('\n');
        return { data: { ...r.record, replaced: r.replaced, reusedPins: r.reusedPins, config: r.config }, text };
      }),
    );
}
