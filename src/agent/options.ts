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

    // ---- cloud scale (issue 12): reflector, middlebox role, frequency control, latency preference ----
    /** Answer telemetry requests in the kernel (probe_steer); the agent keeps negotiation and answers what the kernel leaves to it. @default true */
    reflector: z.boolean().default(true),
    /** host: probe peers and answer them; middlebox: never probe, answer on the port the peer used and send tenant replies on it (source-port learning). @default host */
    role: z.enum(['host', 'middlebox']).default('host'),
    /** This host's VTEP address (default: the interface's first IPv4 address), e.g. a middlebox's anycast vIP. */
    vtep: ipv4.optional(),
    /** Backend id in responses (middlebox sensing), a MAC like 02:00:00:00:00:01. @default the interface MAC */
    backendId: z
      .string()
      .regex(/^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/, 'expected a MAC address, e.g. 02:00:00:00:00:01')
      .optional(),
    /** Group a stateful peer's ports by the backend id of its answers, so flows keep to their instance (ZooRoute §6). @default true */
    middleboxSensing: z.boolean().default(true),
    /** Inter-region peers: prefer the lowest-RTT 10% of healthy ports (ZooRoute §8). @default true */
    latencyPreference: z.boolean().default(true),
    /** A low-RTT port whose RTT keeps rising this long leaves the preferred set (ms). @default 120000 */
    rttRiseMs: z.number().int().min(100).max(3_600_000).default(120_000),
    /** Partial-probe mode probes every port for this long after an anomaly (ms). @default 60000 */
    fullHoldMs: z.number().int().min(0).max(3_600_000).default(60_000),
    /** Partial-probe mode: a port counts as in use while tunnel traffic used it within this window (ms). @default 10000 */
    inUseWindowMs: z.number().int().min(1000).max(3_600_000).default(10_000),
    /** CPU backoff only when probing at least this many probes/s (ZooRoute: 30 kpps). @default 30000 */
    cpuBackoffMinPps: z.number().int().min(0).default(30_000),
    /** Where host CPU times are read (/proc/stat format). @default /proc/stat */
    cpuStat: z.string().min(1).default('/proc/stat'),
    /** Responder token bucket per source: answers per second before CTL=BP. @default 2000 */
    responderRate: z.number().int().min(1).max(100_000_000).default(2000),
    /** Responder token bucket size per source at idle CPU (shrinks to 10% as CPU rises from 50% to 100%). @default 4000 */
    responderBurst: z.number().int().min(1).max(100_000_000).default(4000),
  })
  .strict()
  .superRefine((c, ctx) => {
    if (c.role === 'middlebox' && c.peers.length > 0) {
      ctx.addIssue({ code: 'custom', path: ['peers'], message: 'a middlebox never probes: --peer cannot be used with --role middlebox' });
    }
  });

export type AgentConfig = z.infer<typeof AgentConfigSchema>;

/** Read a JSON config file (a UsageError says what is wrong with it). */
export function readConfigFile(path: string): Record<string, unknown> {
  const v = readJsonFile(path, 'config file');
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new UsageError(`config file ${path} is not valid JSON: expected a JSON object`);
  return v as Record<string, unknown>;
}
