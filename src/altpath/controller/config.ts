/**
 * `pathsteer altpath controller --config FILE`: the controller's JSON
 * configuration, validated with zod. Every field is documented with its
 * default; unknown keys are errors.
 */
import { z } from 'zod';
import { UsageError } from '../../common/errors.js';
import { readJsonFile } from '../../common/json-file.js';
import { zip } from '../../common/net.js';
import { zHostPort } from './listen.js';

const hostPort = zHostPort();

const dscp = z.number().int().min(1).max(63);

export const LinuxInjectorSchema = z
  .object({
    kind: z.literal('linux'),
    /** Network namespace of the peering router (the controller's own when absent). */
    netns: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'not a namespace name').optional(),
    /** Table per DSCP, {"12": 1012}. @default 1000 + dscp */
    tables: z.record(z.string().regex(/^\d+$/), z.number().int().min(1).max(0xfffffffe)).optional(),
    /** Override table. @default 1000 */
    overrideTable: z.number().int().min(1).max(0xfffffffe).optional(),
    /** fwmark = markBase + dscp. @default 0x7a00 (31232) */
    markBase: z.number().int().min(1).max(0xffffff00).optional(),
    /** Priority of the first DSCP rule. @default 1000 */
    rulePriority: z.number().int().min(1).max(32000).optional(),
    /** Priority of the override rule (after the DSCP rules, before main). @default 1100 */
    overridePriority: z.number().int().min(2).max(32765).optional(),
    /** Classify only packets arriving on these interfaces (the server side). @default all */
    ingressInterfaces: z.array(z.string().regex(/^[A-Za-z0-9_.:@-]{1,15}$/, 'not an interface name')).optional(),
    /** nftables table (family inet). @default pathsteer_altpath */
    nftTable: z.string().regex(/^[A-Za-z0-9_]{1,64}$/).optional(),
  })
  .strict();

export const ControllerConfigSchema = z
  .object({
    /** BMP listener, host:port; routers connect here. @default 127.0.0.1:11019 */
    bmpListen: hostPort.default('127.0.0.1:11019'),
    /** HTTP listener (samples, status), host:port. @default 127.0.0.1:11020 */
    httpListen: hostPort.default('127.0.0.1:11020'),
    /** Injection cycle (ms); Edge Fabric: 30 s. @default 30000 */
    cycleMs: z.number().int().min(100).max(3_600_000).default(30_000),
    /** A prefix is active while it had traffic within this long (ms); Edge Fabric: 10 min. @default 600000 */
    activeWindowMs: z.number().int().min(1000).default(600_000),
    /** Prefixes always active (routes inside them, of at least their length), besides those samples show. @default [] */
    activePrefixes: z.array(zip.prefix()).default([]),
    /** AltPath DSCP values: the 2nd-best route goes to the first one's table, the 3rd-best to the second's. @default [12, 24] */
    dscps: z.array(dscp).min(1).max(8).default([12, 24]).refine((a) => new Set(a).size === a.length, 'DSCP values must differ'),
    /** ASNs never used for alternates (Edge Fabric §6.2.2). @default [] */
    excludeAsns: z.array(z.number().int().min(0).max(0xffffffff)).default([]),
    /** Best-path weight per peer address. @default {} */
    peerWeights: z.record(z.string(), z.number().int().min(0).max(65535)).default({}),
    /** Keep BGP communities on routes. @default false */
    keepCommunities: z.boolean().default(false),
    /** Measurement window (ms). @default 600000 */
    windowMs: z.number().int().min(1000).default(600_000),
    /** Override: required median SRTT advantage (ms). @default 20 */
    improvementMs: z.number().min(0).default(20),
    /** Override: samples each route needs in the window. @default 30 */
    minSamples: z.number().int().min(1).default(30),
    /** Override: tolerated extra retransmit rate of the alternate (absolute). @default 0 */
    retransTolerance: z.number().min(0).max(1).default(0),
    /** Override lifetime before re-evaluation (ms). @default 600000 */
    overrideTtlMs: z.number().int().min(1000).default(600_000),
    /** Largest POST /v1/samples body (bytes). @default 4194304 */
    maxBodyBytes: z.number().int().min(1024).max(256 * 1024 * 1024).default(4 * 1024 * 1024),
    /** Keep injected routes, rules and marks when the controller stops. @default false */
    keepRoutes: z.boolean().default(false),
    /** Where routes go: the Linux peering router and/or a gateway-sim peering router (in process) and/or memory (dry run). @default [{kind: memory}] */
    injectors: z
      .array(z.discriminatedUnion('kind', [LinuxInjectorSchema, z.object({ kind: z.literal('gateway-sim') }).strict(), z.object({ kind: z.literal('memory') }).strict()]))
      .default([{ kind: 'memory' }]),
  })
  .strict();

export type ControllerConfig = z.infer<typeof ControllerConfigSchema>;
export type ControllerConfigInput = z.input<typeof ControllerConfigSchema>;

/** Validate a config object; UsageError listing every bad field. */
export function parseControllerConfig(v: unknown, what = 'controller configuration'): ControllerConfig {
  const r = ControllerConfigSchema.safeParse(v);
  if (r.success) return r.data;
  throw new UsageError(`invalid ${what}: ${r.error.issues.map((i) => `${i.path.join('.') || '(top level)'}: ${i.message}`).join('; ')}`);
}

export function readControllerConfig(path: string): ControllerConfig {
  return parseControllerConfig(readJsonFile(path, 'controller config file'), `controller config ${path}`);
}
