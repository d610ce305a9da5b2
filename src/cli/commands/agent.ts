/**
 * `pathsteer agent --iface IF [--config FILE] [options]`: run the host agent in
 * the foreground until SIGINT/SIGTERM (then detach, unless --keep-pins).
 * `pathsteer agent status [--iface IF] [--json]`: ask a running agent.
 */
import type { Command } from 'commander';
import { z } from 'zod';
import { requireCaps } from '../../common/privileges.js';
import { hostname } from 'node:os';
import { UsageError } from '../../common/errors.js';
import { logger } from '../../common/logger.js';
import { packageVersion } from '../../common/version.js';
import type { Agent } from '../../agent/agent.js';
import { fleetSource } from '../../agent/fleet-snapshot.js';
import { AgentConfigSchema, readConfigFile, type AgentConfig } from '../../agent/options.js';
import { Publisher } from '../../controller/publisher.js';
import { parseRedisUrl, RedisStore } from '../../controller/store/index.js';
import { runAgent } from '../../agent/run.js';
import { queryAgent } from '../../agent/status-server.js';
import type { AgentStatus } from '../../agent/agent.js';
import { resolveIface } from '../../maps/dataplane.js';
import { action, parseOptions, zcli, type CliContext, type CommandOutput } from '../command.js';

const collect = (v: string, prev: string[] = []): string[] => [...prev, v];

/** After SIGINT/SIGTERM the agent exits within this, stopped cleanly or not (detach runs either way). */
export const AGENT_STOP_DEADLINE_MS = 1500;

const log = logger.child({ module: 'agent/publish' });

/**
 * The agent's fleet publisher: the Redis store (connecting in the background:
 * an unreachable Redis is not fatal, events wait in the buffer) fed by the
 * agent's fleetSource. Wired here so agent and controller stay siblings.
 */
function startFleetPublisher(a: Agent, cfg: AgentConfig): Publisher {
  const vtep = a.status().local_vtep;
  const host = cfg.fleetName ?? hostname();
  const group = cfg.fleetGroup ?? `${vtep.split('.').slice(0, 3).join('.')}.0/24`;
  const store = RedisStore.fromUrlBackground(cfg.redis!, { log, name: `pathsteer-agent:${host}` });
  const p = new Publisher(store, fleetSource(a), {
    host,
    group,
    version: packageVersion(),
    intervalMs: cfg.publishIntervalMs,
    registry: a.metrics.registry,
    log,
  });
  p.start();
  log.info({ redis: store.target, host, group, intervalMs: cfg.publishIntervalMs }, `publishing to the fleet store ${store.target} as ${host}`);
  return p;
}

/** CLI flag name -> config key, with the value converted for the schema. */
function flagsToConfig(raw: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const num = (v: unknown): unknown => (typeof v === 'string' && v.trim() !== '' && !Number.isNaN(Number(v)) ? Number(v) : v);
  const map: Array<[string, string, (v: unknown) => unknown]> = [
    ['iface', 'iface', (v) => v],
    ['peer', 'peers', (v) => v],
    ['tunnelPort', 'tunnelPort', num],
    ['agentPort', 'agentPort', num],
    ['probeInterval', 'probeIntervalMs', num],
    ['rttThreshold', 'rttThresholdMs', num],
    ['probeMode', 'probeMode', (v) => v],
    ['basePort', 'basePort', num],
    ['ports', 'ports', num],
    ['recoverAfter', 'recoverAfter', num],
    ['idleTimeout', 'idleTimeoutMs', num],
    ['interRegionHops', 'interRegionHops', num],
    ['allow', 'allow', (v) => v],
    ['metrics', 'metrics', (v) => v],
    ['keepPins', 'keepPins', (v) => v],
    ['redis', 'redis', (v) => v],
    ['fleetName', 'fleetName', (v) => v],
    ['fleetGroup', 'fleetGroup', (v) => v],
    ['publishInterval', 'publishIntervalMs', num],
    // commander defaults a --no- flag to true: only an explicit --no-cpu-backoff overrides the file
    ['cpuBackoff', 'cpuBackoff', (v) => (v === false ? false : undefined)],
    // cloud scale (issue 12)
    ['reflector', 'reflector', (v) => (v === false ? false : undefined)],
    ['role', 'role', (v) => v],
    ['vtep', 'vtep', (v) => v],
    ['backendId', 'backendId', (v) => v],
    ['middleboxSensing', 'middleboxSensing', (v) => (v === false ? false : undefined)],
    ['latencyPreference', 'latencyPreference', (v) => (v === false ? false : undefined)],
    ['rttRise', 'rttRiseMs', num],
    ['fullHold', 'fullHoldMs', num],
    ['inUseWindow', 'inUseWindowMs', num],
    ['cpuBackoffMinPps', 'cpuBackoffMinPps', num],
    ['cpuStat', 'cpuStat', (v) => v],
    ['responderRate', 'responderRate', num],
    ['responderBurst', 'responderBurst', num],
  ];
  for (const [flag, key, conv] of map) {
    const v = raw[flag] === undefined ? undefined : conv(raw[flag]);
    if (v !== undefined) out[key] = v;
  }
  return out;
}

/** Config key -> how messages name it (flag, and the config-file key). */
const NAMES: Record<string, string> = {
  peers: '--peer (peers)',
  probeIntervalMs: '--probe-interval (probeIntervalMs)',
  rttThresholdMs: '--rtt-threshold (rttThresholdMs)',
  idleTimeoutMs: '--idle-timeout (idleTimeoutMs)',
  publishIntervalMs: '--publish-interval (publishIntervalMs)',
  rttRiseMs: '--rtt-rise (rttRiseMs)',
  fullHoldMs: '--full-hold (fullHoldMs)',
  inUseWindowMs: '--in-use-window (inUseWindowMs)',
};

/** Merge file and flags and validate; names the flag or config key that is wrong. */
export function agentConfig(raw: Record<string, unknown>) {
  const file = typeof raw.config === 'string' ? readConfigFile(raw.config) : {};
  const what = typeof raw.config === 'string' ? `agent configuration (${raw.config} and flags)` : 'agent options';
  const cfg = parseOptions(AgentConfigSchema, { ...file, ...flagsToConfig(raw) }, what, NAMES);
  if (cfg.redis) {
    try {
      parseRedisUrl(cfg.redis);
    } catch (e) {
      throw new UsageError(`invalid ${what}: --redis (redis): ${(e as Error).message}`);
    }
  }
  return cfg;
}

function statusText(s: AgentStatus): string {
  const lines = [
    `agent on ${s.iface} (VTEP ${s.local_vtep}), up since ${s.started_at}, ${s.probe_rate_pps} probes/s, backoff level ${s.backoff_level}`,
    `probes ${s.counters.probes_sent} sent, ${s.counters.responses} answered, ${s.counters.lost} lost; ${s.counters.table_writes} table writes`,
    'peer             state        hops  ports  healthy             bad ports',
  ];
  for (const p of s.peers) {
    lines.push(
      `${p.peer.padEnd(16)} ${p.state.padEnd(12)} ${String(p.hops ?? '-').padEnd(5)} ${String(p.nports).padEnd(6)} ${p.healthy.padEnd(19)} ${p.bad_ports.join(',') || '-'}`,
    );
  }
  if (s.last_changes.length > 0) {
    lines.push('last changes:');
    for (const c of s.last_changes.slice(-10)) lines.push(`  ${c.at} ${c.peer} port ${c.port} ${c.healthy ? 'healthy' : 'UNHEALTHY'} (${c.reason})`);
  }
  return lines.join('\n');
}

export function registerAgent(program: Command, ctx: CliContext): void {
  const agent = program
    .command('agent')
    .description('run the host agent (probe peers, keep the path table healthy) in the foreground')
    .option('--iface <IF>', 'underlay interface the tunnel leaves by')
    .option('--config <FILE>', 'JSON config file (flags override it)')
    .option('--peer <IP>', 'static peer VTEP to probe from the start (repeatable)', collect)
    .option('--tunnel-port <port>', 'VXLAN destination port (8472 for flannel) [4789]')
    .option('--agent-port <port>', 'UDP port of the agent socket [14789]')
    .option('--probe-interval <ms>', 'probe interval per port [1000]')
    .option('--rtt-threshold <ms>', 'a probe without a response within this is a failure [50]')
    .option('--probe-mode <mode>', 'full | partial [full]')
    .option('--base-port <port>', 'first candidate source port [10000]')
    .option('--ports <n>', 'candidate ports per window, 1..64 [32]')
    .option('--recover-after <k>', 'successes before a bad port is good again [3]')
    .option('--idle-timeout <ms>', 'release a peer after this long without traffic [60000]')
    .option('--inter-region-hops <n>', 'hop count from which a peer is inter-region [6]')
    .option('--allow <CIDR>', 'answer probes only from this prefix (repeatable)', collect)
    .option('--metrics <host:port>', 'serve Prometheus metrics here')
    .option('--keep-pins', 'keep filters and pinned maps on exit (fail-static)')
    .option('--no-cpu-backoff', 'never slow probing down for host CPU load')
    .option('--redis <URL>', 'publish to this fleet store: redis://host:port, rediss://..., unix:///path.sock')
    .option('--fleet-name <NAME>', 'this agent\'s name in the fleet [hostname]')
    .option('--fleet-group <NAME>', 'dashboard roll-up group, e.g. the leaf/ToR [VTEP /24]')
    .option('--publish-interval <ms>', 'heartbeat and summaries every this many ms [1000]')
    .option('--no-reflector', 'answer every telemetry request in this process, not in the kernel')
    .option('--role <role>', 'host (probe and answer) | middlebox (only answer, on the ports peers use) [host]')
    .option('--vtep <IP>', "this host's VTEP address, e.g. a middlebox's anycast vIP [the interface's IPv4 address]")
    .option('--backend-id <MAC>', 'backend id in answers (middlebox sensing) [the interface MAC]')
    .option('--no-middlebox-sensing', 'do not group a stateful peer\'s ports by backend id')
    .option('--no-latency-preference', 'inter-region peers: do not prefer the lowest-RTT ports')
    .option('--rtt-rise <ms>', 'a low-RTT port whose RTT keeps rising this long is dropped [120000]')
    .option('--full-hold <ms>', 'partial mode: probe every port this long after an anomaly [60000]')
    .option('--in-use-window <ms>', 'partial mode: a port is in use while traffic used it within this [10000]')
    .option('--cpu-backoff-min-pps <n>', 'CPU backoff only at or above this probe rate [30000]')
    .option('--cpu-stat <FILE>', 'host CPU times in /proc/stat format [/proc/stat]')
    .option('--responder-rate <n>', 'answers per second per source before CTL=BP [2000]')
    .option('--responder-burst <n>', 'token bucket size per source, at idle CPU [4000]')
    .action(
      action(async (raw: Record<string, unknown>) => {
        const cfg = agentConfig(raw);
        requireCaps(['CAP_BPF', 'CAP_NET_ADMIN', 'CAP_PERFMON'], 'pathsteer agent');
        // SIGINT/SIGTERM: the agent stops (and detaches) well within 2 s; if it has not, it exits anyway
        ctx.setStopDeadline(AGENT_STOP_DEADLINE_MS);
        let publisher: Publisher | undefined;
        // the publisher's last flush (at most 500 ms) runs alongside the agent's stop, within the deadline
        const stopPublisher = async (): Promise<void> => {
          await publisher?.stop(500);
          await publisher?.store.close();
        };
        let publisherStopped: Promise<void> | undefined;
        ctx.signal.addEventListener('abort', () => (publisherStopped = stopPublisher()), { once: true });
        try {
          await runAgent(cfg, ctx.signal, {
            onForcedExit: (fn) => ctx.setForcedExitCleanup(fn),
            onReady: (a) => {
              if (cfg.redis) publisher = startFleetPublisher(a, cfg);
              ctx.progress(`pathsteer agent: running on ${cfg.iface} (VTEP ${a.status().local_vtep}); Ctrl-C to stop`);
              // one JSON line for supervisors and the testbed: the agent is up
              process.stdout.write(`${JSON.stringify({ ready: true, iface: cfg.iface, pid: process.pid, process_id: a.processId })}\n`);
            },
          });
        } finally {
          await (publisherStopped ?? stopPublisher());
        }
      }),
    );

  const StatusOptions = z.object({ iface: zcli.ifname().optional(), json: z.boolean().optional() });
  agent
    .command('status')
    .description('show the peers, port health and last switches of a running agent')
    .option('--iface <IF>', 'the agent\'s interface (default: the only attached one)')
    .option('--json', 'print JSON')
    .action(
      action(async (raw: Record<string, unknown>): Promise<CommandOutput> => {
        const o = parseOptions(StatusOptions, raw);
        const iface = resolveIface(o.iface);
        const s = JSON.parse(await queryAgent(iface, '/status')) as AgentStatus;
        return { data: s, text: statusText(s) };
      }),
    );
}
