/** `pathsteer testbed traffic --from VM --to VM --flows N --rate PPS --duration S [--tcp] [--json]` */
import type { Command } from 'commander';
import { z } from 'zod';
import { Testbed, formatTrafficResult, trafficOptions } from '../../../testbed/index.js';
import { action, parseOptions, type CliContext, type CommandOutput } from '../../command.js';
import { PREFIX_HELP, prefixOption } from './common.js';

const schema = z.object({
  prefix: prefixOption,
  from: z.string().min(1),
  to: z.string().min(1),
  flows: z.coerce.number().int().min(1).max(1024).default(8),
  rate: z.coerce.number().gt(0).max(100_000).default(1000),
  duration: z.coerce.number().gt(0).max(3600).default(5),
  tcp: z.boolean().default(false),
  port: z.coerce.number().int().min(1024).max(65535).optional(),
  size: z.coerce.number().int().min(32).max(1400).optional(),
  stallMs: z.coerce.number().min(0).optional(),
});

export function registerTraffic(tb: Command, ctx: CliContext): void {
  tb.command('traffic')
    .description('send sequence-numbered tenant flows and measure per-flow loss and outage')
    .requiredOption('--from <endpoint>', 'sending VM (or host, with --local-tenant testbeds)')
    .requiredOption('--to <endpoint>', 'receiving VM (or host)')
    .option('--flows <n>', 'concurrent flows, each its own 5-tuple', '8')
    .option('--rate <pps>', 'packets per second per flow', '1000')
    .option('--duration <s>', 'seconds of sending', '5')
    .option('--tcp', 'TCP flows instead of UDP')
    .option('--port <port>', 'receiver port (UDP flow f uses port+f)')
    .option('--size <bytes>', 'UDP datagram size')
    .option('--stall-ms <ms>', 'TCP hold-ups shorter than this are not outages (default 150; the minimum TCP RTO is 200 ms)')
    .option('--prefix <name>', PREFIX_HELP)
    .option('--json', 'print JSON (schema pathsteer.testbed.traffic/v1, per flow in per_flow)')
    .action(
      action(async (raw: unknown): Promise<CommandOutput> => {
        const o = parseOptions(schema, raw);
        const t = Testbed.load(o.prefix);
        ctx.progress(`sending ${o.flows} ${o.tcp ? 'TCP' : 'UDP'} flows ${o.from} -> ${o.to} for ${o.duration} s`);
        const r = await t.traffic({ ...trafficOptions({ ...o, protocol: o.tcp ? 'tcp' : 'udp' }), signal: ctx.signal });
        return { data: r, text: formatTrafficResult(r) };
      }),
    );
}
