/**
 * `pathsteer altpath collector --listen ADDR [--http ADDR]`: run the BMP
 * collector alone in the foreground until SIGINT/SIGTERM. Routers connect to
 * --listen; the RIB is served as JSON at http://--http/v1/status (read it
 * with `pathsteer altpath status --controller URL`). Prints one JSON line
 * when listening: {"ready":true,"bmp":"host:port","http":"host:port","pid":N}.
 */
import type { Command } from 'commander';
import { once } from 'node:events';
import { z } from 'zod';
import { logger } from '../../../common/logger.js';
import { BmpCollector } from '../../../altpath/bmp/collector.js';
import { HttpApi } from '../../../altpath/controller/http.js';
import { formatAddress, parseHostPort, zHostPort } from '../../../altpath/controller/listen.js';
import { ribView } from '../../../altpath/rib/view.js';
import { action, parseOptions, type CliContext } from '../../command.js';

const schema = z.object({ listen: zHostPort(), http: zHostPort(), keepCommunities: z.boolean().optional() });

export const COLLECTOR_SCHEMA = 'pathsteer.altpath.collector/v1';

export function registerAltpathCollector(altpath: Command, ctx: CliContext): void {
  altpath
    .command('collector')
    .description('run the BMP collector alone (routers connect to --listen) and serve its RIB as JSON')
    .requiredOption('--listen <host:port>', 'BMP listener address (port 0: any free port)')
    .option('--http <host:port>', 'serve the RIB at http://ADDR/v1/status', '127.0.0.1:0')
    .option('--keep-communities', 'keep BGP communities on routes')
    .action(
      action(async (raw: Record<string, unknown>) => {
        const o = parseOptions(schema, raw);
        const log = logger.child({ module: 'altpath/collector-cli' });
        const collector = new BmpCollector({ keepCommunities: o.keepCommunities });
        const api = new HttpApi({
          maxBodyBytes: 1024,
          status: (q) => ({ schema: COLLECTOR_SCHEMA, ...collector.status(), rib: ribView(collector.rib, { limit: Number(q.get('limit') ?? 10_000) }) }),
        });
        try {
          const l = parseHostPort(o.listen);
          const b = await collector.listen(l.host, l.port);
          const h = parseHostPort(o.http);
          const a = await api.listen(h.host, h.port);
          log.info({ bmp: formatAddress(b), http: formatAddress(a) }, 'BMP collector listening');
          process.stdout.write(`${JSON.stringify({ ready: true, bmp: formatAddress(b), http: formatAddress(a), pid: process.pid })}\n`);
          if (!ctx.signal.aborted) await once(ctx.signal, 'abort');
        } finally {
          await collector.close();
          await api.close();
        }
      }),
    );
}
