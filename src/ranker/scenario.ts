/**
 * Scenario files (JSON): topology, routing, failures, ongoing mitigations,
 * traffic, transport, estimator settings, candidates and comparator (SWARM
 * §3.2 inputs 1-6). Validated with zod; every problem becomes a UsageError
 * naming the field (`invalid scenario x.json: traffic.load: ...`). Files the
 * scenario names (flow-size CDF, measured tables) are read here, relative to
 * the scenario, so the resolved scenario is plain data a worker can rebuild
 * everything from.
 */
import { RANKER_DEFAULTS } from './defaults.js';
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { z } from 'zod';
import { UsageError } from '../common/errors.js';
import { builtinCdf, cdfFromPoints, parseCdfText, type SizeCdf } from './cdf.js';
import { checkLossTable, checkQueueTable, checkRttTable, type LossTable, type QueueModel, type RttTable } from './transport.js';

const pos = () => z.number().positive();
const nonneg = () => z.number().min(0);
const int = (min: number) => z.number().int().min(min);
const prob = () => z.number().min(0).max(1);
const name = () => z.string().min(1);
const linkRef = () => z.tuple([name(), name()], { error: 'a link is a pair of node names, e.g. ["C0", "B1"]' });
const serverRef = () => z.union([int(0), name()], { error: 'a server is its index (0..) or its name' });

const closSchema = z.strictObject({
  kind: z.literal('clos'),
  pods: int(1),
  torsPerPod: int(1),
  t1PerPod: int(1),
  serversPerTor: int(1),
  t2: int(0),
  wiring: z.enum(['planes', 'full']).default('planes'),
  capacityGbps: z.strictObject({ server: pos().default(10), t0t1: pos().default(40), t1t2: pos().default(40) }).prefault({}),
  delayUs: z.strictObject({ server: nonneg().default(5), t0t1: nonneg().default(5), t1t2: nonneg().default(5) }).prefault({}),
  names: z
    .strictObject({ server: name().default('h'), t0: name().default('T0-'), t1: name().default('T1-'), t2: name().default('T2-') })
    .prefault({}),
});

const graphSchema = z.strictObject({
  kind: z.literal('graph'),
  switches: z.array(z.strictObject({ name: name(), tier: z.enum(['t0', 't1', 't2']), pod: int(0).default(0) })).min(1),
  links: z.array(z.strictObject({ a: name(), b: name(), capacityGbps: pos(), delayUs: nonneg().default(5) })),
  servers: z.array(z.strictObject({ tor: name(), count: int(1), capacityGbps: pos().default(10), delayUs: nonneg().default(5) })).min(1),
  serverPrefix: name().default('h'),
});

const failureSchema = z.discriminatedUnion(
  'type',
  [
    z.strictObject({ type: z.literal('link-drop'), link: linkRef(), dropRate: prob(), direction: z.enum(['both', 'forward', 'reverse']).default('both') }),
    z.strictObject({ type: z.literal('switch-drop'), node: name(), dropRate: prob() }),
    z.strictObject({ type: z.literal('capacity'), link: linkRef(), fraction: z.number().min(0).max(1) }),
    z.strictObject({ type: z.literal('link-down'), link: linkRef() }),
  ],
  { error: 'failure type must be one of link-drop, switch-drop, capacity, link-down' },
);

const actionSchema = z.union(
  [
    z.strictObject({ type: z.literal('noop') }),
    z.strictObject({ type: z.enum(['disable-link', 'enable-link']), link: linkRef() }),
    z.strictObject({ type: z.enum(['disable-switch', 'enable-switch', 'drain-tor']), node: name() }),
    z.strictObject({ type: z.literal('wcmp'), mode: z.literal('capacity') }),
    z.strictObject({ type: z.literal('wcmp'), weights: z.array(z.strictObject({ link: linkRef(), weight: nonneg() })).min(1) }),
    z.strictObject({ type: z.literal('ecmp') }),
  ],
  {
    error:
      'an action is {type: noop|ecmp}, {type: disable-link|enable-link, link}, {type: disable-switch|enable-switch|drain-tor, node}, {type: wcmp, mode: "capacity"} or {type: wcmp, weights: [{link, weight}]}',
  },
);

const comparatorSchema = z.union(
  [
    z.enum(['PriorityFCT', 'PriorityAvgT', 'Priority1pT']),
    z.strictObject({ kind: z.literal('Linear'), weights: z.tuple([nonneg(), nonneg(), nonneg()]).default([1, 1, 1]) }),
  ],
  { error: 'comparator must be PriorityFCT, PriorityAvgT, Priority1pT or {kind: "Linear", weights: [w99pFCT, w1pT, wAvgT]}' },
);

const fileOr = <T extends z.ZodType>(inner: T) => z.union([z.strictObject({ file: name() }), inner]);

export const scenarioSchema = z.strictObject({
  name: z.string().optional(),
  description: z.string().optional(),
  topology: z.discriminatedUnion('kind', [closSchema, graphSchema], { error: 'topology.kind must be "clos" or "graph"' }),
  routing: z.enum(['ecmp', 'wcmp-capacity']).default('ecmp'),
  failures: z.array(failureSchema).default([]),
  ongoing: z.array(actionSchema).default([]),
  traffic: z
    .strictObject({
      /** Flow arrivals per second over the whole network. */
      arrivalRate: pos().optional(),
      /** Or: offered load as a fraction of the servers' total NIC capacity. */
      load: z.number().positive().max(2).optional(),
      flowSizes: z
        .union([z.enum(['dctcp-websearch', 'fb-hadoop']), z.strictObject({ file: name() }), z.strictObject({ points: z.array(z.tuple([nonneg(), nonneg()])).min(2) })], {
          error: 'flowSizes must be "dctcp-websearch", "fb-hadoop", {file: "cdf.txt"} or {points: [[bytes, cumulative], ...]}',
        })
        .default('dctcp-websearch'),
      pairs: z
        .discriminatedUnion(
          'kind',
          [
            z.strictObject({ kind: z.literal('uniform') }),
            z.strictObject({
              kind: z.literal('servers'),
              weights: z.array(z.strictObject({ server: serverRef(), src: nonneg().default(1), dst: nonneg().default(1) })).min(1),
              defaultWeight: nonneg().default(0),
            }),
            z.strictObject({ kind: z.literal('pairs'), pairs: z.array(z.strictObject({ src: serverRef(), dst: serverRef(), weight: pos().default(1) })).min(1) }),
          ],
          { error: 'traffic.pairs.kind must be uniform, servers or pairs' },
        )
        .default({ kind: 'uniform' }),
      durationMs: pos(),
      measureMs: z.tuple([nonneg(), pos()]),
    })
    .refine((t) => (t.arrivalRate === undefined) !== (t.load === undefined), { message: 'give exactly one of arrivalRate or load', path: ['arrivalRate'] })
    .refine((t) => t.measureMs[0] < t.measureMs[1] && t.measureMs[1] <= t.durationMs, {
      message: 'measureMs must be [from, to] with from < to <= durationMs',
      path: ['measureMs'],
    }),
  transport: z
    .strictObject({
      mss: int(100).default(1460),
      initCwnd: int(1).default(10),
      minRtoMs: pos().default(200),
      initRtoMs: pos().default(1000),
      handshake: z.boolean().default(true),
      protocols: z.strictObject({ cubic: nonneg().optional(), bbr: nonneg().optional() }).default({ cubic: 1 }),
      lossTables: z.strictObject({ cubic: z.strictObject({ file: name() }).optional(), bbr: z.strictObject({ file: name() }).optional() }).default({}),
      rttTable: z.strictObject({ file: name() }).optional(),
      queue: fileOr(z.strictObject({ bufferKB: pos().default(512), standingFraction: prob().default(0.5) })).default({ bufferKB: 512, standingFraction: 0.5 }),
    })
    .prefault({}),
  estimator: z
    .strictObject({
      epochMs: pos().default(RANKER_DEFAULTS.epochMs),
      shortFlowBytes: int(1).default(RANKER_DEFAULTS.shortFlowBytes),
      solver: z.enum(['approx', 'exact']).default('approx'),
      /** Stop simulating at this time even if measured flows still run (default 20x durationMs). */
      horizonMs: pos().optional(),
    })
    .prefault({}),
  confidence: z
    .strictObject({
      alpha: z.number().gt(0).lt(1).default(RANKER_DEFAULTS.alpha),
      /** DKW epsilon for the number of traffic samples K. */
      trafficEpsilon: z.number().gt(0).lt(1).default(RANKER_DEFAULTS.trafficEpsilon),
      /** DKW epsilon for the number of routing samples N per traffic sample. */
      routingEpsilon: z.number().gt(0).lt(1).default(RANKER_DEFAULTS.routingEpsilon),
      /** Override K (traffic samples). */
      trafficSamples: int(1).optional(),
      /** Override N (routing samples per traffic sample). */
      routingSamples: int(1).optional(),
    })
    .prefault({}),
  candidates: z
    .union([z.literal('auto'), z.array(z.strictObject({ name: name(), actions: z.array(actionSchema).min(1) })).min(1)], {
      error: 'candidates must be "auto" or a list of {name, actions: [...]}',
    })
    .default('auto'),
  comparator: comparatorSchema.default('PriorityFCT'),
  /** Two candidates tie on a metric within this relative band (SWARM §4.1: 10%). */
  tieBand: z.number().min(0).max(1).default(0.1),
  /** Point estimate of a composite distribution used for ranking. */
  statistic: z.enum(['median', 'mean']).default('median'),
  seed: int(0).default(1),
});

export type ScenarioInput = z.input<typeof scenarioSchema>;
export type Scenario = z.output<typeof scenarioSchema>;
export type Comparator = Scenario['comparator'];
export type ComparatorName = 'PriorityFCT' | 'PriorityAvgT' | 'Priority1pT' | 'Linear';

/** A scenario with every referenced file read and checked: plain data. */
export interface ResolvedScenario {
  scenario: Scenario;
  cdf: SizeCdf;
  lossTables: { cubic?: LossTable; bbr?: LossTable };
  rttTable?: RttTable;
  queueTable?: Extract<QueueModel, { kind: 'table' }>;
  /** Where the scenario came from (for messages). */
  source: string;
}

function formatIssues(source: string, issues: readonly z.core.$ZodIssue[]): string {
  const lines = issues.slice(0, 8).map((i) => `${i.path.length ? i.path.join('.') : '(top level)'}: ${i.message}`);
  if (issues.length > 8) lines.push(`... and ${issues.length - 8} more`);
  return `invalid scenario ${source}: ${lines.join('; ')}`;
}

/** Validate a parsed JSON value; throws UsageError listing the problems. */
export function parseScenario(value: unknown, source = 'scenario'): Scenario {
  const r = scenarioSchema.safeParse(value);
  if (!r.success) throw new UsageError(formatIssues(source, r.error.issues));
  return r.data;
}

function readText(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    throw new UsageError(`${what}: cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

function readJson(path: string, what: string): unknown {
  const text = readText(path, what);
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new UsageError(`${what}: ${path} is not valid JSON: ${(e as Error).message}`);
  }
}

const lossTableSchema = z.strictObject({
  source: z.string().default('file'),
  rttUs: z.array(z.number()),
  lossRates: z.array(z.number()),
  mbps: z.array(z.array(z.array(z.number()))),
});
const rttTableSchema = z.strictObject({
  source: z.string().default('file'),
  sizeBytes: z.array(z.number()),
  lossRates: z.array(z.number()),
  rttUs: z.array(z.number()),
  rttCounts: z.array(z.array(z.array(z.array(z.number())))),
});
const queueTableSchema = z.strictObject({
  source: z.string().default('file'),
  utilization: z.array(z.number()),
  flows: z.array(z.number()),
  delayUs: z.array(z.array(z.number())),
});

function parseTable<T extends z.ZodType>(schema: T, path: string, what: string): z.output<T> {
  const r = schema.safeParse(readJson(path, what));
  if (!r.success) throw new UsageError(formatIssues(`${what} ${path}`, r.error.issues));
  return r.data;
}

/** Read every file a scenario refers to (paths relative to `baseDir`). */
export function resolveScenario(s: Scenario, baseDir: string, source = 'scenario'): ResolvedScenario {
  const at = (f: string): string => resolve(baseDir, f);
  let cdf: SizeCdf;
  const fs = s.traffic.flowSizes;
  if (typeof fs === 'string') cdf = builtinCdf(fs);
  else if ('file' in fs) cdf = parseCdfText(fs.file, readText(at(fs.file), 'traffic.flowSizes.file'));
  else cdf = cdfFromPoints('traffic.flowSizes.points', fs.points);
  const lossTables: ResolvedScenario['lossTables'] = {};
  for (const p of ['cubic', 'bbr'] as const) {
    const f = s.transport.lossTables[p];
    if (f) {
      const t = parseTable(lossTableSchema, at(f.file), `transport.lossTables.${p}`);
      lossTables[p] = checkLossTable({ ...t, source: `${f.file}${t.source === 'file' ? '' : ` (${t.source})`}` });
    }
  }
  let rttTable: RttTable | undefined;
  if (s.transport.rttTable) {
    const t = parseTable(rttTableSchema, at(s.transport.rttTable.file), 'transport.rttTable');
    rttTable = checkRttTable({ ...t, source: s.transport.rttTable.file });
  }
  let queueTable: ResolvedScenario['queueTable'];
  const q = s.transport.queue;
  if ('file' in q) {
    const t = parseTable(queueTableSchema, at(q.file), 'transport.queue');
    queueTable = checkQueueTable({ kind: 'table', ...t, source: q.file }) as Extract<QueueModel, { kind: 'table' }>;
  }
  const w = s.transport.protocols;
  if ((w.cubic ?? 0) + (w.bbr ?? 0) <= 0) throw new UsageError(`invalid scenario ${source}: transport.protocols: give a positive weight to cubic or bbr`);
  return { scenario: s, cdf, lossTables, rttTable, queueTable, source };
}

/** Load, validate and resolve a scenario file. */
export function loadScenarioFile(path: string): ResolvedScenario {
  const value = readJson(path, 'scenario');
  const s = parseScenario(value, path);
  return resolveScenario(s, dirname(resolve(path)), path);
}
