/**
 * `pathsteer detach [--iface IF] [--keep-maps] [--json]`: remove what
 * `pathsteer attach` created on IF (its egress and ingress filters, the clsact
 * hook only if attach created it, the pins it created) and nothing else.
 */
import type { Command } from 'commander';
import { z } from 'zod';
import { requireCaps } from '../../common/privileges.js';
import { detach, resolveIface } from '../../maps/dataplane.js';
import { action, parseOptions, zcli, type CliContext, type CommandOutput } from '../command.js';

const Options = z.object({
  iface: zcli.ifname().optional(),
  keepMaps: z.boolean().optional(),
  json: z.boolean().optional(),
});

export function registerDetach(program: Command, _ctx: CliContext): void {
  program
    .command('detach')
    .description('detach the data plane (vxlan_sport and probe_steer) from an interface')
    .option('--iface <IF>', 'interface (default: the only attached one)')
    .option('--keep-maps', 'keep the pinned maps (tables survive for a later attach)')
    .option('--json', 'print JSON')
    .action(
      action((raw: Record<string, unknown>): CommandOutput => {
        const o = parseOptions(Options, raw);
        requireCaps(['CAP_BPF', 'CAP_NET_ADMIN'], 'pathsteer detach');
        const r = detach(resolveIface(o.iface), { keepMaps: o.keepMaps });
        const said = { removed: 'filter removed', gone: 'filter already gone', 'replaced-by-other': 'filter now runs another program, left alone' };
        const parts = [
          ...Object.entries(r.filters).map(([point, outcome]) => `${point} ${said[outcome]}`),
          r.hookDestroyed ? 'clsact removed' : 'clsact kept',
          r.unpinned.length ? `unpinned ${r.unpinned.join(', ')}` : 'no pins removed',
        ];
        return { data: r, text: `detached from ${r.ifname}: ${parts.join('; ')}` };
      }),
    );
}
