/** `pathsteer testbed up --spec FILE [--prefix NAME] [--local-tenant] [--json]` */
import type { Command } from 'commander';
import { z } from 'zod';
import { loadSpec, Testbed } from '../../../testbed/index.js';
import { action, parseOptions, type CliContext, type CommandOutput } from '../../command.js';
import { PREFIX_HELP, prefixOption } from './common.js';

const schema = z.object({ spec: z.string().min(1), prefix: prefixOption, localTenant: z.boolean().default(false) });

export function registerUp(tb: Command, ctx: CliContext): void {
  tb.command('up')
    .description('build the testbed from a spec (an error if this prefix is already up)')
    .requiredOption('--spec <file>', 'topology spec (JSON), e.g. examples/testbed/clos-2x2.json')
    .option('--prefix <name>', PREFIX_HELP)
    .option('--local-tenant', 'also address each host bridge so tenant sockets can run in host namespaces (kernel baseline)')
    .option('--json', 'print the status JSON')
    .action(
      action(async (raw: unknown): Promise<CommandOutput> => {
        const o = parseOptions(schema, raw);
        const spec = loadSpec(o.spec);
        const t0 = performance.now();
        const t = await Testbed.up(spec, { prefix: o.prefix, localTenant: o.localTenant, progress: ctx.progress });
        const upMs = Math.round(performance.now() - t0);
        const status = await t.status();
        const text = [
          `testbed "${o.prefix}" (${spec.name}) up in ${upMs} ms: ${status.namespaces.expected} namespaces, ${status.links.length} links`,
          ...status.hosts.map(
            (h) => `  ${h.name.padEnd(8)} ${h.netns.padEnd(14)} ${h.underlay[0]!.ifname} ${h.vtep_ip.padEnd(12)} ${h.tunnel.ifname} vni ${h.tunnel.vni} port ${h.tunnel.port}  vms ${h.vms.map((v) => `${v.name}=${v.ip}`).join(' ')}`,
          ),
        ].join('\n');
        return { data: { ...status, up_ms: upMs }, text };
      }),
    );
}
