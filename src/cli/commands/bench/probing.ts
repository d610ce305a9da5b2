/**
 * `pathsteer bench probing [--peers N] [--parts matrix,agent,reflector] [--json]`:
 * probe reduction of on-demand probing on a sparse traffic matrix, agent CPU at
 * 64 and 2,000 active peers, and responses/s of the in-kernel reflector vs the
 * userspace responder (bench/probing.ts).
 */
import type { Command } from 'commander';
import { z } from 'zod';
import { benchProbing, type ProbingPart } from '../../../../bench/probing.js';
import { requireCaps } from '../../../common/privileges.js';
import { action, parseOptions, zcli, type CliContext, type CommandOutput } from '../../command.js';

const PARTS = ['matrix', 'agent', 'reflector'] as const;
const items = z.string().transform((s) => s.split(',').map((x) => x.trim()).filter(Boolean));

const Options = z.object({
  peers: zcli.int(100, 1_000_000),
  parts: items.pipe(z.array(z.enum(PARTS)).min(1)),
  seed: zcli.int(0, 2 ** 31),
  agentPeers: items.pipe(
    z
      .array(
        z
          .string()
          .regex(/^\d+$/, 'expected a number of peers')
          .transform(Number)
          .pipe(z.number().int().min(1).max(4000)),
      )
      .min(1),
  ),
  seconds: zcli.int(2, 600),
  json: z.boolean().optional(),
});

export function registerBenchProbing(bench: Command, ctx: CliContext): void {
  bench
    .command('probing')
    .description('probes/s with full-mesh vs active-peer vs active-port probing, agent CPU at 64 and 2,000 active peers, in-kernel vs userspace responses/s')
    .option('--peers <n>', 'hosts in the region of the synthetic traffic matrix', '50000')
    .option('--parts <list>', `which parts, comma-separated: ${PARTS.join(', ')}`, PARTS.join(','))
    .option('--seed <n>', 'traffic matrix seed', '1')
    .option('--agent-peers <list>', 'active peers of the agent CPU runs (64 and below: full probing; more: partial with tenant traffic)', '64,2000')
    .option('--seconds <s>', 'measurement window of the agent and load-generator runs', '10')
    .option('--json', 'print JSON')
    .action(
      action(async (raw: Record<string, unknown>): Promise<CommandOutput> => {
        const o = parseOptions(Options, raw);
        const parts = o.parts as ProbingPart[];
        if (parts.includes('agent') || parts.includes('reflector')) {
          requireCaps(['CAP_BPF', 'CAP_NET_ADMIN', 'CAP_PERFMON', 'CAP_SYS_ADMIN'], 'pathsteer bench probing (agent, reflector)');
        }
        const r = await benchProbing({ peers: o.peers, parts, seed: o.seed, agentPeers: o.agentPeers, seconds: o.seconds, progress: ctx.progress });
        const lines: string[] = [];
        if (r.matrix) {
          const m = r.matrix;
          lines.push(
            `${m.peers} hosts (${(m.hosts_below_25pct * 100).toFixed(1)}% talk to < 25% of peers): full mesh ${m.full_mesh_pps.toExponential(2)} probes/s, active peers ${m.active_peer_pps.toExponential(2)} (-${(m.active_peer_reduction * 100).toFixed(1)}%), active ports ${m.active_port_pps.toExponential(2)} (-${(m.active_port_reduction * 100).toFixed(2)}%)`,
          );
        }
        for (const a of r.agent ?? []) lines.push(`agent, ${a.peers} active peers (${a.mode}): ${a.probes_pps} probes/s at ${a.agent_cpu_pct}% of one core (${a.unanswered_pct}% unanswered)`);
        if (r.reflector) {
          const t = r.reflector;
          lines.push(
            `reflector: in kernel ${t.test_run.kernel_responses_per_s}/s (test run), ${t.load_generator.kernel_responses_per_s}/s (load generator; ${t.load_generator.kernel_responses_per_cpu_s} per CPU-second); userspace ${t.load_generator.userspace_responses_per_s}/s (load generator)`,
          );
        }
        lines.push(`load average ${r.loadavg_1m_before} -> ${r.loadavg_1m_after}`);
        return { data: r, text: lines.join('\n') };
      }),
    );
}
