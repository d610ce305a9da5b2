/** `pathsteer testbed status [--prefix NAME] [--json]` */
import type { Command } from 'commander';
import { z } from 'zod';
import { UsageError } from '../../../common/errors.js';
import { Testbed } from '../../../testbed/index.js';
import { listNetns } from '../../../testbed/netns.js';
import { action, parseOptions, type CliContext, type CommandOutput } from '../../command.js';
import { PREFIX_HELP, prefixOption } from './common.js';

const schema = z.object({ prefix: prefixOption, spec: z.string().optional() });

export function registerStatus(tb: Command, _ctx: CliContext): void {
  tb.command('status')
    .description('hosts (netns, uplinks, tunnel, VMs), routers, links and their failures')
    .option('--prefix <name>', PREFIX_HELP)
    .option('--spec <file>', 'accepted for symmetry with up; not needed')
    .option('--json', 'print JSON (schema pathsteer.testbed.status/v1)')
    .action(
      action(async (raw: unknown): Promise<CommandOutput> => {
        const o = parseOptions(schema, raw);
        let t: Testbed;
        try {
          t = Testbed.load(o.prefix);
        } catch (e) {
          const stray = (await listNetns()).filter((n) => n.startsWith(`${o.prefix}-`));
          if (e instanceof UsageError && stray.length) {
            throw new UsageError(
              `no state for testbed "${o.prefix}" but ${stray.length} namespaces exist (${stray.join(', ')}); a crash? run \`pathsteer testbed down --prefix ${o.prefix}\``,
            );
          }
          throw e;
        }
        const s = await t.status();
        const lines = [
          `testbed "${s.prefix}" (${s.name}): ${s.up ? 'up' : `NOT fully up (${s.phase}; missing ${s.namespaces.missing.join(', ') || 'nothing'})`}, tunnel ${s.tunnel.type} port ${s.tunnel.port} vni ${s.tunnel.vni}${s.local_tenant ? ', local tenant' : ''}`,
          'hosts:',
          ...s.hosts.map(
            (h) => `  ${h.name.padEnd(8)} ${h.netns.padEnd(14)} ${h.underlay.map((u) => `${u.ifname} ${u.ip}`).join(', ')}  ${h.tunnel.ifname}${h.tenant_ip ? `  tenant ${h.tenant_ip}` : ''}  vms ${h.vms.map((v) => `${v.name}=${v.ip}`).join(' ') || '-'}`,
          ),
          'links:',
          ...s.links.map(
            (l) =>
              `  ${l.name.padEnd(16)} ${l.kind.padEnd(8)} ${`${l.a.netns}:${l.a.ifname}`.padEnd(20)} ${`${l.b.netns}:${l.b.ifname}`.padEnd(20)}${l.failure ? ` FAILED ${l.failure.kind} ${l.failure.direction}` : ''}`,
          ),
        ];
        return { data: s, text: lines.join('\n') };
      }),
    );
}
