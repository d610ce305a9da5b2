/**
 * Run the AltPath sampler in the foreground until the signal aborts: start it
 * (one info line saying what runs where), re-read the configuration on every
 * hangup (SIGHUP: the file again, with the same flags on top; a bad file is
 * logged and the running configuration kept), stop it on abort (detach unless
 * keepPins) and log the final counters.
 */
import { PathsteerError } from '../../common/errors.js';
import { logger } from '../../common/logger.js';
import { rulesSummary, type SamplerConfig } from './config.js';
import { AltpathSampler, type SamplerOptions, type SamplerStatus } from './sampler.js';

const log = logger.child({ module: 'altpath/sampler' });

export interface RunSamplerOptions extends SamplerOptions {
  /** Subscribe to hangups (SIGHUP); returns the unsubscribe function. */
  onHangup?: (fn: () => void) => () => void;
  /** Re-read the configuration (file + flags) for a hangup; throws a UsageError when it is bad. */
  reload?: () => SamplerConfig;
  /** Called once the sampler runs. */
  onReady?: (s: AltpathSampler) => void;
}

export async function runSampler(cfg: SamplerConfig, signal: AbortSignal, o: RunSamplerOptions = {}): Promise<SamplerStatus> {
  if (signal.aborted) throw new PathsteerError('sampler stopped before it started');
  const s = AltpathSampler.start(cfg, { ...o, logger: o.logger ?? logger });
  const a = s.altpath();
  log.info(
    {
      iface: cfg.iface,
      programs: ['altpath_dscp (tc egress)', 'conn_stats (tracepoint sock/inet_sock_set_state)'],
      rules: rulesSummary(a.rules),
      seed: a.seed,
      onlyUnmarked: a.onlyUnmarked,
      exclude: cfg.exclude,
      sampleRate: cfg.sampleRate,
      markedMultiplier: cfg.markedMultiplier,
      controller: cfg.controller,
      out: cfg.out,
    },
    'AltPath sampler running',
  );
  o.onReady?.(s);
  const unsubscribe = o.onHangup?.(() => {
    if (!o.reload) return;
    try {
      s.apply(o.reload());
    } catch (e) {
      log.error({ err: (e as Error).message }, 'configuration reload failed; keeping the running configuration');
    }
  });
  try {
    await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
  } finally {
    unsubscribe?.();
  }
  const { status, detached } = await s.stop();
  log.info(
    { iface: cfg.iface, samples: status.samples, counters: status.counters, controller: status.controller, detached: detached ?? 'kept (--keep-pins)' },
    'AltPath sampler stopped',
  );
  return status;
}
