/** `pathsteer testbed baseline [--spec FILE] [--json]`: TCP outage with the kernel's own txrehash repathing. */
import type { Command } from 'commander';
import { z } from 'zod';
import { runKernelBaseline, runPrefix } from '../../../testbed/index.js';
import { PREFIX_RE } from '../../../testbed/netns.js';
import { action, parseOptions, type CliContext, type CommandOutput } from '../../command.js';

const schema = z.object({
  spec: z.string().optional(),
  prefix: z.string().regex(PREFIX_RE, '1-8 characters [a-z0-9], starting with a letter').optional(),
  flows: z.coerce.number().int().min(1).max(256).default(16),
  rate: z.coerce.number().gt(0).max(10_000).default(200),
  duration: z.coerce.number().gt(0).max(600).default(10),
  failAt: z.coerce.number().min(0).default(2),
  healAt: z.coerce.number().min(0).default(8),
  link: z.string().default('spine1-leaf2'),
  compareVm: z.boolean().default(false),
});

export function registerBaseline(tb: Command, ctx: CliContext): void {
  tb.command('baseline')
    .description('bring up a --local-tenant testbed, blackhole a link under TCP flows from host namespaces (kernel txrehash), tear down')
    .option('--spec <file>', 'topology spec (default examples/testbed/clos-2x2.json)')
    .option('--prefix <name>', 'namespace prefix (default: a fresh one)')
    .option('--flows <n>', 'TCP flows', '16')
    .option('--rate <pps>', 'records per second per flow', '200')
    .option('--duration <s>', 'seconds of traffic', '10')
    .option('--fail-at <s>', 'blackhole starts', '2')
    .option('--heal-at <s>', 'blackhole ends', '8')
    .option('--link <name>', 'link to blackhole', 'spine1-leaf2')
    .option('--compare-vm', 'also run the same TCP flows between VMs (no kernel repathing)')
    .option('--json', 'print JSON (schema pathsteer.testbed.baseline/v1)')
    .action(
      action(async (raw: unknown): Promise<CommandOutput> => {
        const o = parseOptions(schema, raw);
        const r = await runKernelBaseline({
          ...(o.spec ? { spec: o.spec } : {}),
          prefix: o.prefix ?? runPrefix('bl'),
          flows: o.flows,
          ratePps: o.rate,
          durationS: o.duration,
          failAtS: o.failAt,
          healAtS: o.healAt,
          link: o.link,
          compareVm: o.compareVm,
          progress: ctx.progress,
          signal: ctx.signal,
        });
        const f = (x: { affected_flows: number; flows: number; outage_ms: { p50: number; p99: number; max: number } }): string =>
          `affected ${x.affected_flows}/${x.flows}, outage p50 ${x.outage_ms.p50.toFixed(0)} ms p99 ${x.outage_ms.p99.toFixed(0)} ms max ${x.outage_ms.max.toFixed(0)} ms`;
        const text = [
          `kernel txrehash baseline (${r.spec}, ${r.link} blackholed ${r.failure_s} s, txrehash=${r.sysctl['net.core.txrehash']}, cc=${r.sysctl['net.ipv4.tcp_congestion_control']}):`,
          `  host TCP: ${f(r.host_tcp)}`,
          ...(r.vm_tcp ? [`  VM TCP:   ${f(r.vm_tcp)}`] : []),
        ].join('\n');
        return { data: r, text };
      }),
    );
}
