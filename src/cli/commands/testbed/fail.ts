/** `pathsteer testbed fail LINK --blackhole | --loss PCT | --delay MS [--jitter MS] | --down [--direction both|a-b|b-a]` */
import type { Command } from 'commander';
import { z } from 'zod';
import { Testbed, failureKind, failureRequest } from '../../../testbed/index.js';
import { action, parseOptions, type CliContext, type CommandOutput } from '../../command.js';
import { PREFIX_HELP, prefixOption } from './common.js';

const schema = z.object({
  prefix: prefixOption,
  blackhole: z.boolean().optional(),
  loss: z.coerce.number().gt(0).max(100).optional(),
  delay: z.coerce.number().min(0).max(10_000).optional(),
  jitter: z.coerce.number().min(0).max(10_000).optional(),
  down: z.boolean().optional(),
  direction: z.enum(['both', 'a-b', 'b-a']).default('both'),
});

export function registerFail(tb: Command, _ctx: CliContext): void {
  tb.command('fail')
    .description('break a link (named by its ends, e.g. spine1-leaf2); replaces a failure already on it')
    .argument('<link>', 'link name, e.g. spine1-leaf2 (leaf2-spine1 also works; a-b follows the order you write)')
    .option('--blackhole', 'drop every packet')
    .option('--loss <pct>', 'drop this percentage of packets at random')
    .option('--delay <ms>', 'add one-way delay (ms)')
    .option('--jitter <ms>', 'uniform +- jitter around --delay (ms)')
    .option('--down', 'set both ends administratively down (routers drop the next hop)')
    .option('--direction <dir>', 'both | a-b | b-a (a = first node in the name you wrote)', 'both')
    .option('--prefix <name>', PREFIX_HELP)
    .option('--json', 'print JSON')
    .action(
      action(async (link: string, raw: unknown): Promise<CommandOutput> => {
        const o = parseOptions(schema, raw);
        const req = failureRequest(o);
        failureKind(req); // usage errors before touching the testbed
        const t = Testbed.load(o.prefix);
        const f = await t.fail(link, req);
        const what =
          f.kind === 'blackhole' ? 'blackhole' : f.kind === 'down' ? 'down' : [f.loss_pct !== undefined ? `loss ${f.loss_pct}%` : '', f.delay_ms !== undefined ? `delay ${f.delay_ms} ms${f.jitter_ms ? ` +-${f.jitter_ms}` : ''}` : ''].filter(Boolean).join(', ');
        const { rules, helpers, down, ...pub } = f;
        return {
          data: { ...pub, rules: rules.length, helpers: helpers.map((h) => ({ netns: h.netns, pid: h.pid, queue: h.queue })), down },
          text: `${f.link}: ${what} (${f.direction})`,
        };
      }),
    );
}
