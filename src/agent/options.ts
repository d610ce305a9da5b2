/**
 * Agent configuration: a JSON config file and CLI flags, validated with zod;
 * flags override the file. Every option is documented here with its default.
 */
import { z } from 'zod';
import { UsageError } from '../common/errors.js';
import { readJsonFile } from '../common/json-file.js';
import { zip } from '../common/net.js';

const ipv4 = zip.ipv4();
const cidr = zip.ipv4Prefix();

export const AgentConfigSchema = z
  .object({
    /** Underlay interface the tunnel leaves by (vxlan_sport egress, probe_steer ingress). */
    iface: z.string().regex(/^[A-Za-z0-9_.:@-]{1,15}$/, 'not a valid interface name (1-15 chars)'),
    /** Peers probed from the start and never released for idleness. @default [] */
    peers: z.array(ipv4).default([]),
    /** VXLAN destination port (8472 for flannel). @default 4789 */
    tunnelPort: z.number().int().min(1).max(65535).default(4789),
    /** UDP port of the agent's socket; probe_steer steers probes to it. @default 14789 */
    agentPort: z.number().int().min(1).max(65535).default(14789),
    /** Probe interval per port (ms). @default 1000 */
    probeIntervalMs: z.number().int().min(10).max(60_000).default(1000),
    /** A probe without a response within this many ms failed. @default 50 */
    rttThresholdMs: z.number().min(1).max(10_000).default(50),
    /** full: probe every port; partial: only ports in use until an anomaly. @default full */
    probeMode: z.enum(['full', 'partial']).default('full'),
    /** First candidate source port. @default 10000 */
    basePort: z.number().int().min(1).max(65535).default(10000),
    /** Candidate ports per window (Np). @default 32 */
    ports: z.number().int().min(1).max(64).default(32),
    /** Consecutive successes before a bad port is good again (K). @default 3 */
    recoverAfter: z.number().int().min(1).max(100).default(3),
    /** A peer without tunnel traffic for this long stops being probed (ms). @default 60000 */
    idleTimeoutMs: z.number().int().min(1000).default(60_000),
    /** Peers this many hops away (TTL of negotiation responses) or more are inter-region. @default 6 */
    interRegionHops: z.number().int().min(1).max(255).default(6),
    /** Answer probes only from these prefixes. @default [] (any) */
    allow: z.array(cidr).default([]),
    /** Prometheus endpoint, host:port (off when absent). */
    metrics: z
      .string()
      .regex(/^[^:]*:\d{1,5}$/, 'expected host:port, e.g. 127.0.0.1:9464')
      .optional(),
    /** Back off the probe rate when the host CPU is busy (ZooRoute §4.2). @default true */
    cpuBackoff: z.boolean().default(true),
    /** Keep filters and pinned maps when the agent stops (fail-static across restarts). @default false */
    keepPins: z.boolean().default(false),
    /**
     * Publish heartbeat, path summaries and events to this fleet store
     * (redis://host:port, rediss://..., unix:///path.sock; the CLI checks the
     * rest of the URL). Off when absent. Redis being down never stops the agent.
     */
    redis: z
      .string()
      .regex(/^(redis|rediss|unix|redis\+unix):\/\//, 'expected redis://host:port, rediss://host:port or unix:///path/redis.sock')
      .optional(),
    /** Name of this agent in the fleet. @default the hostname */
    fleetName: z.string().regex(/^[A-Za-z0-9_.:@/-]{1,128}$/, '1-128 of A-Z a-z 0-9 _ . : @ / -').optional(),
    /** Roll-up group on the dashboard (leaf/ToR name). @default the VTEP address's /24 */
    fleetGroup: z.string().min(1).max(64).optional(),
    /** Publish every this many ms. @default 1000 */
    publishIntervalMs: z.number().int().min(100).max(60_000).default(1000),
  })
  .strict();

export type AgentConfig = z.infer<typeof AgentConfigSchema>;

/** Read a JSON config file (a UsageError says what is wrong with it). */
export function readConfigFile(path: string): Record<string, unknown> {
  const v = readJsonFile(path, 'config file');
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new UsageError(`config file ${path} is not valid JSON: expected a JSON object`);
  return v as Record<string, unknown>;
}
