/**
 * `pathsteer altpath controller --config FILE`: run the AltPath controller in
 * the foreground (BMP collector, RIB and ranking, injection every cycle,
 * sample ingest at POST /v1/samples, overrides, status at GET /v1/status)
 * until SIGINT/SIGTERM; then it removes the routes, rules and marks it
 * injected unless `keepRoutes` (or --keep-routes). Prints one JSON line when
 * ready: {"ready":true,"bmp":"host:port","http":"host:port","pid":N}.
 * With `--redis URL` it also publishes its route tables, measurements and
 * overrides to the fleet store (src/controller/altpath-publisher.ts) for the
 * fleet dashboard; it never waits on Redis.
 */
import type { Command } from 'commander';
import { once } from 'node:events';
import { hostname } from 'node:os';
import { z } from 'zod';
import { PeeringRouter } from '../../../../gateway-sim/altpath/peering-router.js';
import { logger } from '../../../common/logger.js';
import { readControllerConfig } from '../../../altpath/controller/config.js';
import { AltpathController } from '../../../altpath/controller/controller.js';
import { buildInjectors } from '../../../altpath/controller/injectors.js';
import { fleetReport } from '../../../altpath/controller/fleet-report.js';
import { formatAddress } from '../../../altpath/controller/listen.js';
import { AltPathPublisher } from '../../../controller/altpath-publisher.js';
import { checkHostName, RedisStore, RedisUrlSchema } from '../../../controller/store/index.js';
import { action, parseOptions, zcli, type CliContext } from '../../command.js';

const schema = z.object({
  config: z.string().min(1),
  keepRoutes: z.boolean().optional(),
  redis: RedisUrlSchema.optional(),
  fleetName: z.string().optional(),
  publishInterval: zcli.int(200, 3_600_000),
  publishMaxPrefixes: zcli.int(1, 100_000),
});

export function registerAltpathController(altpath: Command, ctx: CliContext): void {
  altpath
    .command('controller')
    .description('run the AltPath controller: BMP in, alternate routes per DSCP out, samples in, overrides out')
    .requiredOption('--config <FILE>', 'JSON config (see src/altpath/README.md)')
    .option('--keep-routes', 'leave injected routes, rules and marks in place on exit')
    .option('--redis <URL>', 'publish routes, measurements and overrides to this fleet store (the fleet dashboard): redis://host:port, rediss://..., unix:///path.sock')
    .option('--fleet-name <NAME>', 'this controller\'s name in the fleet store [altpath@hostname]')
    .option('--publish-interval <ms>', 'publish to the fleet store every this many ms (and after every cycle)', '5000')
    .option('--publish-max-prefixes <n>', 'prefixes per fleet report at most (overridden ones first, then by latest traffic)', '500')
    .action(
      action(async (raw: Record<string, unknown>) => {
        const o = parseOptions(schema, raw);
        const config = readControllerConfig(o.config);
        if (o.keepRoutes) config.keepRoutes = true;
        const log = logger.child({ module: 'altpath/controller-cli' });
        const controller = new AltpathController(config, {
          injectorsFromConfig: (c, l) => buildInjectors(c, l, (dscps) => new PeeringRouter({ dscps })),
        });
        let publisher: AltPathPublisher | undefined;
        let store: RedisStore | undefined;
        try {
          const a = await controller.start();
          if (o.redis) {
            const reporter = checkHostName(o.fleetName ?? `altpath@${hostname()}`);
            store = RedisStore.fromUrlBackground(o.redis, { log, name: `pathsteer-altpath:${reporter}` });
            const intervalMs = o.publishInterval;
            publisher = new AltPathPublisher(
              store,
              {
                snapshot: () => fleetReport(controller, { intervalMs, maxPrefixes: o.publishMaxPrefixes }),
                onCycle: (cb) => controller.onCycle(() => cb()),
              },
              { reporter, intervalMs, log },
            );
            publisher.start();
            log.info({ redis: store.target, reporter, interval_ms: intervalMs }, `publishing AltPath state to the fleet store ${store.target} as ${reporter}`);
          }
          const fmt = formatAddress;
          log.info({ bmp: fmt(a.bmp), http: fmt(a.http), cycle_ms: config.cycleMs, dscps: config.dscps, injectors: controller.injectors.map((i) => i.name) }, 'AltPath controller running');
          process.stdout.write(`${JSON.stringify({ ready: true, bmp: fmt(a.bmp), http: fmt(a.http), pid: process.pid })}\n`);
          if (!ctx.signal.aborted) await once(ctx.signal, 'abort');
        } finally {
          await publisher?.stop();
          await store?.close();
          await controller.stop();
        }
      }),
    );
}
