/** `pathsteer testbed heal LINK | --all [--prefix NAME] [--json]` */
import type { Command } from 'commander';
import { z } from 'zod';
import { UsageError } from '../../../common/errors.js';
import { Testbed } from '../../../testbed/index.js';
import { action, parseOptions, type CliContext, type CommandOutput } from '../../command.js';
import { PREFIX_HELP, prefixOption } from './common.js';

const schema = z.object({ prefix: prefixOption, all: z.boolean().optional() });

export function registerHeal(tb: Command, _ctx: CliContext): void {
  tb.command('heal')
    .description('undo the failure on a link, or on every link with --all')
    .argument('[link]', 'link name, e.g. spine1-leaf2')
    .option('--all', 'heal every failed link')
    .option('--prefix <name>', PREFIX_HELP)
    .option('--json', 'print JSON')
    .action(
      action(async (link: string | undefined, raw: unknown): Promise<CommandOutput> => {
        const o = parseOptions(schema, raw);
        if ((link === undefined) === !o.all) throw new UsageError('give either a LINK or --all');
        const t = Testbed.load(o.prefix);
        const healed = await t.heal(o.all ? undefined : link);
        return { data: { healed }, text: healed.length ? `healed ${healed.join(', ')}` : 'nothing to heal' };
      }),
    );
}
