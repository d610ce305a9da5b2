/**
 * `pathsteer altpath sampler --iface IF [--config FILE] [--rule SHARE:DSCP ...]
 * [--exclude PREFIX ...] [--sample-rate N] [--marked-multiplier M]
 * [--controller URL] [--out FILE|-] [--keep-pins]`: run the AltPath sampler
 * of a front-end server in the foreground until SIGINT/SIGTERM (then detach,
 * unless --keep-pins). SIGHUP re-reads --config (flags still override it) and
 * applies rules, exclusions, seed, N and M live.
 */
import type { Command } from 'commander';
import { requireCaps } from '../../../common/privileges.js';
import { readSamplerConfigFile, rulesSummary, SamplerConfigSchema, type SamplerConfig } from '../../../altpath/sampler/config.js';
import { runSampler } from '../../../altpath/sampler/run.js';
import { action, parseOptions, type CliContext } from '../../command.js';

const collect = (v: string, prev: string[] = []): string[] => [...prev, v];

/** CLI flag -> config key, with the value converted for the schema. */
function flagsToConfig(raw: Record<string, unknown>): Record<string, unknown> {
  const num = (v: unknown): unknown => (typeof v === 'string' && v.trim() !== '' && !Number.isNaN(Number(v)) ? Number(v) : v);
  const map: Array<[string, string, (v: unknown) => unknown]> = [
    ['iface', 'iface', (v) => v],
    ['rule', 'rules', (v) => v],
    ['exclude', 'exclude', (v) => v],
    ['sampleRate', 'sampleRate', num],
    ['markedMultiplier', 'markedMultiplier', num],
    ['seed', 'seed', num],
    ['overwriteDscp', 'onlyUnmarked', (v) => (v === true ? false : undefined)],
    ['controller', 'controller', (v) => v],
    ['out', 'out', (v) => v],
    ['host', 'host', (v) => v],
    ['batchSize', 'batchSize', num],
    ['flushInterval', 'flushIntervalMs', num],
    ['maxBuffer', 'maxBuffer', num],
    ['retryMax', 'retryMaxMs', num],
    ['keepPins', 'keepPins', (v) => v],
  ];
  const out: Record<string, unknown> = {};
  for (const [flag, key, conv] of map) {
    const v = raw[flag] === undefined ? undefined : conv(raw[flag]);
    if (v !== undefined) out[key] = v;
  }
  return out;
}

/** Config key -> how messages name it (flag, and the config-file key). */
const NAMES: Record<string, string> = {
  rules: '--rule (rules)',
  exclude: '--exclude (exclude)',
  sampleRate: '--sample-rate (sampleRate)',
  markedMultiplier: '--marked-multiplier (markedMultiplier)',
  onlyUnmarked: '--overwrite-dscp (onlyUnmarked)',
  flushIntervalMs: '--flush-interval (flushIntervalMs)',
  batchSize: '--batch-size (batchSize)',
  maxBuffer: '--max-buffer (maxBuffer)',
  retryMaxMs: '--retry-max (retryMaxMs)',
  controller: '--controller',
};

/** Merge the config file (if any) and the flags, and validate; names the flag or key that is wrong. */
export function samplerConfig(raw: Record<string, unknown>): SamplerConfig {
  const file = typeof raw.config === 'string' ? readSamplerConfigFile(raw.config) : {};
  const what = typeof raw.config === 'string' ? `sampler configuration (${raw.config} and flags)` : 'sampler options';
  return parseOptions(SamplerConfigSchema, { ...file, ...flagsToConfig(raw) }, what, NAMES);
}

export function registerAltpathSampler(altpath: Command, ctx: CliContext): void {
  altpath
    .command('sampler')
    .description('mark a share of flows with AltPath DSCPs (altpath_dscp on TC egress) and sample TCP connections at close (conn_stats) for the AltPath controller')
    .option('--iface <IF>', 'interface whose egress is marked (the server\'s uplink)')
    .option('--config <FILE>', 'JSON config file (flags override it; SIGHUP re-reads it)')
    .option('--rule <SHARE:DSCP>', 'mark SHARE of flows (0.75% or 75bp) with DSCP 1..63 (repeatable, at most 8)', collect)
    .option('--exclude <PREFIX>', 'never mark flows to this IPv4/IPv6 prefix (repeatable)', collect)
    .option('--sample-rate <N>', 'sample 1 in N TCP connections at close [1000]')
    .option('--marked-multiplier <M>', 'sample AltPath-marked connections M times as often [100]')
    .option('--seed <u32>', 'flow-hash seed [kept from an earlier run, else random]')
    .option('--overwrite-dscp', 'also mark packets that already carry a DSCP (default: only DSCP 0)')
    .option('--controller <URL>', 'AltPath controller: POST URL/v1/samples (NDJSON)')
    .option('--out <FILE|->', 'also write samples as JSON lines to FILE (appended) or stdout (-)')
    .option('--host <NAME>', 'this server\'s name in samples [hostname]')
    .option('--batch-size <n>', 'samples per POST [500]')
    .option('--flush-interval <ms>', 'send buffered samples at least this often [1000]')
    .option('--max-buffer <n>', 'samples held while the controller is unreachable; the oldest are dropped beyond it [10000]')
    .option('--retry-max <ms>', 'longest wait between retries while the controller is unreachable (doubling from 500 ms) [30000]')
    .option('--keep-pins', 'keep the filter and pinned maps on exit (flows stay marked; the next sampler adopts them)')
    .action(
      action(async (raw: Record<string, unknown>) => {
        const cfg = samplerConfig(raw);
        requireCaps(['CAP_BPF', 'CAP_NET_ADMIN', 'CAP_PERFMON'], 'pathsteer altpath sampler');
        await runSampler(cfg, ctx.signal, {
          ...(ctx.onHangup ? { onHangup: (fn: () => void) => ctx.onHangup!(fn) } : {}),
          reload: () => samplerConfig(raw),
          onReady: (s) => {
            const a = s.altpath();
            ctx.progress(
              `pathsteer altpath sampler: running on ${cfg.iface} (rules ${rulesSummary(a.rules)}, seed ${a.seed}, 1 in ${cfg.sampleRate} connections, x${cfg.markedMultiplier} marked); SIGHUP reloads, Ctrl-C stops`,
            );
          },
        });
      }),
    );
}
