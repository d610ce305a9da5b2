/**
 * The AltPath sampler's configuration: a JSON file and CLI flags, validated
 * with zod; flags override the file (also when SIGHUP re-reads the file).
 * Every option is documented here with its default.
 */
import { hostname } from 'node:os';
import { z } from 'zod';
import { UsageError } from '../../common/errors.js';
import { readJsonFile } from '../../common/json-file.js';
import { parsePrefix, zip } from '../../common/net.js';
import { PS_ALTPATH_MAX_RULES, type AltpathRule } from '../../maps/altpath.js';
import { DEFAULT_MARKED_MULTIPLIER, DEFAULT_SAMPLE_RATE } from '../../maps/conn-stats.js';

const RULE_RE = /^(\d{1,3}(?:\.\d{1,4})?)(%|bp):(\d{1,2})$/;

/**
 * One rule as text: `SHARE:DSCP`, SHARE a percentage of flows in steps of
 * 0.01% (`0.75%`) or basis points (`75bp`); DSCP 1..63. `0.75%:12` marks
 * 0.75% of flows with DSCP 12.
 */
export function parseRule(text: string): AltpathRule {
  const m = RULE_RE.exec(text.trim());
  if (!m) throw new UsageError(`"${text}" is not an AltPath rule: expected SHARE:DSCP, e.g. 0.75%:12 or 75bp:12`);
  const dscp = Number(m[3]);
  if (dscp < 1 || dscp > 63) throw new UsageError(`"${text}": DSCP must be 1..63 (0 is the default route)`);
  let bp: number;
  if (m[2] === '%') {
    const pct = Number(m[1]);
    bp = Math.round(pct * 100);
    if (Math.abs(pct * 100 - bp) > 1e-6) throw new UsageError(`"${text}": shares are in steps of 0.01% (one basis point)`);
  } else {
    if (m[1]!.includes('.')) throw new UsageError(`"${text}": basis points are whole numbers`);
    bp = Number(m[1]);
  }
  if (bp > 10_000) throw new UsageError(`"${text}": a share cannot exceed 100%`);
  return { dscp, basisPoints: bp };
}

/** A rule in a config file: the text form, or `{dscp, percent}` / `{dscp, basisPoints}`. */
const RuleSchema = z.union([
  z.string(),
  z.object({ dscp: z.number().int(), percent: z.number().min(0).max(100) }).strict(),
  z.object({ dscp: z.number().int(), basisPoints: z.number().int().min(0).max(10_000) }).strict(),
]);

function toRule(r: z.infer<typeof RuleSchema>): AltpathRule {
  if (typeof r === 'string') return parseRule(r);
  if ('percent' in r) return parseRule(`${r.percent}%:${r.dscp}`);
  return parseRule(`${r.basisPoints}bp:${r.dscp}`);
}

const u32 = z.number().int().min(0).max(0xffff_ffff);

export const SamplerConfigSchema = z
  .object({
    /** Interface whose egress altpath_dscp marks (the front-end server's uplink). */
    iface: z.string().regex(/^[A-Za-z0-9_.:@-]{1,15}$/, 'not a valid interface name (1-15 chars)'),
    /** DSCP rules, at most 8, shares adding up to at most 100%. @default [] (nothing marked) */
    rules: z.array(RuleSchema).max(PS_ALTPATH_MAX_RULES, `at most ${PS_ALTPATH_MAX_RULES} rules`).default([]),
    /** Destination prefixes (IPv4 or IPv6) whose flows are never marked. @default [] */
    exclude: z.array(zip.prefix()).default([]),
    /** N: sample 1 in N TCP connections at close. @default 1000 */
    sampleRate: z.number().int().min(1).max(0xffff_ffff).default(DEFAULT_SAMPLE_RATE),
    /** M: AltPath-marked connections are sampled M times as often. @default 100 */
    markedMultiplier: z.number().int().min(1).max(0xffff_ffff).default(DEFAULT_MARKED_MULTIPLIER),
    /** Flow-hash seed. @default kept from the pins of an earlier run, else random */
    seed: u32.optional(),
    /** Mark only packets whose DSCP is 0. @default true */
    onlyUnmarked: z.boolean().default(true),
    /** AltPath controller base URL: samples go to POST {controller}/v1/samples as NDJSON. */
    controller: z
      .string()
      .refine((s) => {
        try {
          const u = new URL(s);
          return u.protocol === 'http:' || u.protocol === 'https:';
        } catch {
          return false;
        }
      }, 'not an http(s) URL')
      .optional(),
    /** Also write samples as JSON lines to this file ('-' = stdout). */
    out: z.string().min(1).optional(),
    /** Name of this server in samples. @default os.hostname() */
    host: z.string().min(1).max(255).optional(),
    /** Samples per POST. @default 500 */
    batchSize: z.number().int().min(1).max(100_000).default(500),
    /** Send what is buffered at least this often (ms). @default 1000 */
    flushIntervalMs: z.number().int().min(10).max(600_000).default(1000),
    /** Samples kept while the controller is unreachable; beyond it the oldest are dropped (counted). @default 10000 */
    maxBuffer: z.number().int().min(1).max(10_000_000).default(10_000),
    /** Longest wait between retries while the controller is unreachable (ms; the wait doubles from 500 ms up to this). @default 30000 */
    retryMaxMs: z.number().int().min(100).max(600_000).default(30_000),
    /** Keep the filter and pinned maps on exit (flows stay marked; the next sampler adopts them). @default false */
    keepPins: z.boolean().default(false),
  })
  .strict()
  .superRefine((c, ctx) => {
    if (!c.controller && !c.out) ctx.addIssue({ code: 'custom', path: ['controller'], message: 'give --controller URL and/or --out FILE|- (samples must go somewhere)' });
    let rules: AltpathRule[];
    try {
      rules = c.rules.map(toRule);
    } catch (e) {
      ctx.addIssue({ code: 'custom', path: ['rules'], message: (e as Error).message });
      return;
    }
    const seen = new Set<number>();
    for (const r of rules) {
      if (seen.has(r.dscp)) ctx.addIssue({ code: 'custom', path: ['rules'], message: `DSCP ${r.dscp} appears in two rules` });
      seen.add(r.dscp);
    }
    const total = rules.reduce((a, r) => a + r.basisPoints, 0);
    if (total > 10_000) ctx.addIssue({ code: 'custom', path: ['rules'], message: `shares add up to ${total / 100}%, more than 100%` });
  })
  .transform((c) => ({ ...c, rules: c.rules.map(toRule), exclude: c.exclude.map((p) => parsePrefix(p).text), host: c.host ?? hostname() }));

export type SamplerConfig = z.output<typeof SamplerConfigSchema>;
export type SamplerConfigInput = z.input<typeof SamplerConfigSchema>;

/** What a SIGHUP may change without a restart; everything else is logged and ignored until then. */
export const LIVE_KEYS = ['rules', 'exclude', 'sampleRate', 'markedMultiplier', 'seed', 'onlyUnmarked'] as const;

/** Read a JSON config file (a UsageError says what is wrong with it). */
export function readSamplerConfigFile(path: string): Record<string, unknown> {
  const v = readJsonFile(path, 'config file');
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new UsageError(`config file ${path} is not valid: expected a JSON object`);
  return v as Record<string, unknown>;
}

/** Human summary of the rules: `0.75%->12, 0.25%->24`. */
export function rulesSummary(rules: readonly AltpathRule[]): string {
  return rules.length ? rules.map((r) => `${r.basisPoints / 100}%->${r.dscp}`).join(', ') : 'none';
}
