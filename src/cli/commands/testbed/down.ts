/** `pathsteer testbed down [--prefix NAME] [--json]`: works from namespace names alone, also after a crash. */
import type { Command } from 'commander';
import { z } from 'zod';
import { Testbed } from '../../../testbed/index.js';
import { action, parseOptions, type CliContext, type CommandOutput } from '../../command.js';
import { PREFIX_HELP, prefixOption } from './common.js';

const schema = z.object({ prefix: prefixOption, spec: z.string().optional() });

export function registerDown(tb: Command, _ctx: CliContext): void {
  tb.command('down')
    .description('remove every namespace named <prefix>-* (and processes in them) and the state file')
    .option('--prefix <name>', PREFIX_HELP)
    .option('--spec <file>', 'accepted for symmetry with up; not needed')
    .option('--json', 'print JSON')
    .action(
      action(async (raw: unknown): Promise<CommandOutput> => {
        const o = parseOptions(schema, raw);
        const r = await Testbed.down(o.prefix);
        return {
          data: r,
          text: `testbed "${o.prefix}" down in ${r.duration_ms} ms: removed ${r.namespaces_removed.length} namespaces, ended ${r.processes_ended} processes`,
        };
      }),
    );
}
