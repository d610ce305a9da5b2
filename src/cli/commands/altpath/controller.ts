/**
 * `pathsteer altpath controller --config FILE`: run the AltPath controller in
 * the foreground (BMP collector, RIB and ranking, injection every cycle,
 * sample ingest at POST /v1/samples, overrides, status at GET /v1/status)
 * until SIGINT/SIGTERM; then it removes the routes, rules and marks it
 * injected unless `keepRoutes` (or --keep-routes). Prints one JSON line when
 * ready: {"ready":true,"bmp":"host:port","http":"host:port","pid":N}.
 */
import type { Command } from 'commander';
import { once } from 'node:events';
import { z } from 'zod';
import { PeeringRouter } from '../../../../gateway-sim/altpath/peering-router.js';
import { logger } from '../../../common/logger.js';
import { readControllerConfig } from '../../../altpath/controller/config.js';
import { AltpathController } from '../../../altpath/controller/controller.js';
import { buildInjectors } from '../../../altpath/controller/injectors.js';
import { formatAddress } from '../../../altpath/controller/listen.js';
import { action, parseOptions, type CliContext } from '../../command.js';

const schema = z.object({ config: z.string().min(1), keepRoutes: z.boolean().optional() });

export function registerAltpathController(altpath: Command, ctx: CliContext): void {
  altpath
    .command('controller')
    .description('run the AltPath controller: BMP in, alternate routes per DSCP out, samples in, overrides out')
    .requiredOption('--config <FILE>', 'JSON config (see src/altpath/README.md)')
    .option('--keep-routes', 'leave injected routes, rules and marks in place on exit')
    .action(
      action(async (raw: Record<string, unknown>) => {
        const o = parseOptions(schema, raw);
        const config = readControllerConfig(o.config);
        if (o.keepRoutes) config.keepRoutes = true;
        const log = logger.child({ module: 'altpath/controller-cli' });
        const controller = new AltpathController(config, {
          injectorsFromConfig: (c, l) => buildInjectors(c, l, (dscps) => new PeeringRouter({ dscps })),
        });
        try {
          const a = await controller.start();
          const fmt = formatAddress;
          log.info({ bmp: fmt(a.bmp), http: fmt(a.http), cycle_ms: config.cycleMs, dscps: config.dscps, injectors: controller.injectors.map((i) => i.name) }, 'AltPath controller running');
          process.stdout.write(`${JSON.stringify({ ready: true, bmp: fmt(a.bmp), http: fmt(a.http), pid: process.pid })}\n`);
          if (!ctx.signal.aborted) await once(ctx.signal, 'abort');
        } finally {
          await controller.stop();
        }
      }),
    );
}
