/** `pathsteer testbed vagrant --spec FILE --out DIR [--json]`: generate what vagrant/Vagrantfile reads. */
import type { Command } from 'commander';
import { z } from 'zod';
import { loadSpec } from '../../../testbed/index.js';
import { generateVagrant, writeVagrantFiles } from '../../../testbed/vagrant.js';
import { action, parseOptions, type CliContext, type CommandOutput } from '../../command.js';

const schema = z.object({
  spec: z.string().min(1),
  out: z.string().min(1),
  box: z.string().optional(),
  udpBase: z.coerce.number().int().min(1024).max(60_000).optional(),
});

export function registerVagrant(tb: Command, _ctx: CliContext): void {
  tb.command('vagrant')
    .description('generate the Vagrant topology (machines, NICs, FRR configs, provisioning) from a spec')
    .requiredOption('--spec <file>', 'topology spec (JSON)')
    .requiredOption('--out <dir>', 'output directory (vagrant/.generated is what vagrant/Vagrantfile reads)')
    .option('--box <name>', 'Vagrant box (default debian/bookworm64)')
    .option('--udp-base <port>', 'first libvirt UDP tunnel port (default 10000)')
    .option('--json', 'print JSON')
    .action(
      action(async (raw: unknown): Promise<CommandOutput> => {
        const o = parseOptions(schema, raw);
        const gen = generateVagrant(loadSpec(o.spec), {
          ...(o.box ? { box: o.box } : {}),
          ...(o.udpBase !== undefined ? { udpBase: o.udpBase } : {}),
        });
        const files = writeVagrantFiles(o.out, gen);
        return {
          data: { topology: gen.topology, files },
          text: `wrote ${files.length} files for ${gen.topology.machines.length} machines to ${o.out}`,
        };
      }),
    );
}
