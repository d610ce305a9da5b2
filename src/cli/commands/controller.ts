/**
 * `pathsteer controller --redis URL [--listen 127.0.0.1:8080] [--token T] [--read-only] [--poll-in auto|worker|thread]`:
 * the fleet controller in the foreground (JSON API, SSE, dashboard, /metrics)
 * until SIGINT/SIGTERM.
 */
import type { Command } from 'commander';
import { z } from 'zod';
import { RedisUrlSchema } from '../../controller/store/index.js';
import { parseListen, runController } from '../../controller/run.js';
import { action, parseOptions, zcli, type CliContext } from '../command.js';

const Options = z.object({
  redis: RedisUrlSchema,
  listen: z.string().superRefine((s, ctx) => {
    try {
      parseListen(s);
    } catch (e) {
      ctx.addIssue({ code: 'custom', message: (e as Error).message.replace(/^--listen [^:]+: /, '') });
    }
  }),
  token: z.string().min(8, 'at least 8 characters').max(256).regex(/^[\x21-\x7e]+$/, 'printable ASCII without spaces').optional(),
  readOnly: z.boolean().optional(),
  staleAfter: zcli.int(500, 3_600_000),
  poll: zcli.int(100, 60_000),
  maxMatrixHosts: zcli.int(2, 2000),
  pollIn: z.enum(['auto', 'worker', 'thread']),
});

export function registerController(program: Command, ctx: CliContext): void {
  program
    .command('controller')
    .description('serve the fleet dashboard, JSON API and live events from the fleet store (foreground)')
    .requiredOption('--redis <URL>', 'the fleet store: redis://host:port, rediss://..., unix:///path.sock')
    .option('--listen <host:port>', 'address to serve on (localhost unless you say otherwise)', '127.0.0.1:8080')
    .option('--token <T>', 'require this token on every request (Authorization: Bearer T; open the dashboard as /?token=T)')
    .option('--read-only', 'refuse every write (forgetting hosts)')
    .option('--stale-after <ms>', 'an agent silent this long is stale', '5000')
    .option('--poll <ms>', 'read the store every this many ms', '1000')
    .option('--max-matrix-hosts <n>', 'above this many hosts the matrix rolls up by group', '64')
    .option('--poll-in <where>', 'run the store poll and decoding in a worker thread or on the serving thread: auto|worker|thread (auto: worker for Redis)', 'auto')
    .action(
      action(async (raw: Record<string, unknown>) => {
        const o = parseOptions(Options, { ...raw, token: raw.token ?? process.env.PATHSTEER_CONTROLLER_TOKEN });
        await runController(
          {
            redis: o.redis,
            listen: o.listen,
            ...(o.token ? { token: o.token } : {}),
            readOnly: !!o.readOnly,
            staleAfterMs: o.staleAfter,
            pollMs: o.poll,
            maxMatrixHosts: o.maxMatrixHosts,
            pollIn: o.pollIn,
          },
          ctx.signal,
          (c) => {
            ctx.progress(`pathsteer controller: ${c.url} (store ${c.store.target}); Ctrl-C to stop`);
            // one JSON line for supervisors and tests: the controller is up
            process.stdout.write(`${JSON.stringify({ ready: true, url: c.url, pid: process.pid })}\n`);
          },
        );
      }),
    );
}
