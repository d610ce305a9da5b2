/** `pathsteer testbed run EXPERIMENT.json [--prefix NAME] [--json]` */
import type { Command } from 'commander';
import { z } from 'zod';
import { Testbed, formatTrafficResult, loadExperiment, runExperiment } from '../../../testbed/index.js';
import { action, parseOptions, type CliContext, type CommandOutput } from '../../command.js';
import { PREFIX_HELP, prefixOption } from './common.js';

const schema = z.object({ prefix: prefixOption });

export function registerRun(tb: Command, ctx: CliContext): void {
  tb.command('run')
    .description('run an experiment timeline (traffic + timed fail/heal) on the testbed with this prefix')
    .argument('<experiment>', 'experiment file, e.g. examples/testbed/blackhole-experiment.json')
    .option('--prefix <name>', PREFIX_HELP)
    .option('--json', 'print JSON (the traffic schema plus experiment, timeline, healed_after)')
    .action(
      action(async (file: string, raw: unknown): Promise<CommandOutput> => {
        const o = parseOptions(schema, raw);
        const exp = loadExperiment(file);
        const t = Testbed.load(o.prefix);
        const r = await runExperiment(t, exp, { signal: ctx.signal, progress: ctx.progress });
        const lines = [
          `${exp.name}: ${formatTrafficResult(r)}`,
          ...r.timeline.map((s) => `  t=${(s.started_ms / 1000).toFixed(3)} s ${s.do}${s.link ? ` ${s.link}` : ''} (${(s.finished_ms - s.started_ms).toFixed(1)} ms)`),
        ];
        return { data: r, text: lines.join('\n') };
      }),
    );
}
