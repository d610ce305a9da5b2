/**
 * pathsteer agents on a testbed: one `pathsteer agent` process per host
 * namespace (entered with nsenter so /sys/fs/bpf stays visible), each with the
 * other hosts as static peers; started and stopped by PID, queried through the
 * CLI (`agent status --json`, `maps dump pin --json`). The experiment step
 * "start-agents" and the demo and failover benchmark use this. Runs the built
 * CLI (dist/), so it never imports agent code.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { PathsteerError, UsageError } from '../common/errors.js';
import { run } from '../common/exec.js';
import type { StepHandler } from './experiment.js';
import { repoRoot } from './paths.js';
import { logDir } from './state.js';
import { spawnHelper, stopHelper, type SpawnedHelper } from './processes.js';
import type { Testbed } from './testbed.js';

export interface AgentFleetOptions {
  /** Probe interval per port (ms). @default 1000 */
  probeIntervalMs?: number;
  /** @default 50 */
  rttThresholdMs?: number;
  /** Candidate ports per window. @default 32 */
  ports?: number;
  /** Hosts to run agents on. @default every host */
  hosts?: string[];
  /** More `pathsteer agent` flags. */
  extraArgs?: string[];
  /** Keep pins when stopped (fail-static). @default false */
  keepPins?: boolean;
  /**
   * Publish to this fleet store (`--redis`), each agent named after its host
   * and grouped by its leaf. Agents run in the hosts' namespaces: give a
   * `unix://` URL (a socket on the shared file system) or an address they reach.
   */
  redis?: string;
  /** Give each agent the other hosts as static peers (false: peers only from tenant traffic, ps_activity). @default true */
  staticPeers?: boolean;
}

export interface AgentProcess extends SpawnedHelper {
  host: string;
  iface: string;
}

export function cliPath(): string {
  const p = join(repoRoot(), 'dist', 'src', 'cli', 'main.js');
  if (!existsSync(p)) throw new UsageError(`${p} is missing; build pathsteer first (npm run build)`);
  return p;
}

/** argv of the agent for `host` of the testbed. */
export function agentArgv(tb: Testbed, host: string, o: AgentFleetOptions = {}): string[] {
  const h = tb.host(host);
  const iface = h.underlay[0]!.ifname;
  const peers =
    o.staticPeers === false
      ? []
      : tb
          .hosts()
          .filter((x) => x.name !== host && (!o.hosts || o.hosts.includes(x.name)))
          .flatMap((x) => ['--peer', x.vtep_ip]);
  return [
    process.execPath,
    cliPath(),
    'agent',
    '--iface',
    iface,
    '--tunnel-port',
    String(h.tunnel.port),
    ...peers,
    ...(o.probeIntervalMs ? ['--probe-interval', String(o.probeIntervalMs)] : []),
    ...(o.rttThresholdMs ? ['--rtt-threshold', String(o.rttThresholdMs)] : []),
    ...(o.ports ? ['--ports', String(o.ports)] : []),
    ...(o.keepPins ? ['--keep-pins'] : []),
    ...(o.redis ? ['--redis', o.redis, '--fleet-name', host, '--fleet-group', h.leaf] : []),
    ...(o.extraArgs ?? []),
  ];
}

/** Start an agent on `host`; resolves when it logged that it runs. */
export async function startAgent(tb: Testbed, host: string, o: AgentFleetOptions = {}): Promise<AgentProcess> {
  const dir = logDir(tb.prefix);
  const argv = agentArgv(tb, host, o);
  const h = await spawnHelper(tb.netns(host), argv, join(dir, `agent-${host}.log`), 15_000);
  return { ...h, program: 'node', host, iface: tb.host(host).underlay[0]!.ifname };
}

export async function startAgents(tb: Testbed, o: AgentFleetOptions = {}): Promise<AgentProcess[]> {
  const hosts = o.hosts ?? tb.hosts().map((h) => h.name);
  return Promise.all(hosts.map((h) => startAgent(tb, h, o)));
}

/** SIGTERM (clean detach unless --keep-pins), SIGKILL after the grace time. */
export async function stopAgent(a: AgentProcess, graceMs = 5000): Promise<void> {
  await stopHelper(a, graceMs);
}

/** kill -9: the data plane keeps forwarding on its last table. */
export function killAgent(a: AgentProcess): void {
  try {
    process.kill(a.pid, 'SIGKILL');
  } catch {
    // gone already
  }
}

/** Run the CLI inside a host namespace (nsenter, bpffs visible) and parse its --json output. */
export async function cliJson<T = unknown>(tb: Testbed, host: string, args: string[]): Promise<T> {
  const r = await run(tb.nsenterArgv(host, [process.execPath, cliPath(), ...args, '--json']), { timeoutMs: 20_000 });
  try {
    return JSON.parse(r.stdout) as T;
  } catch {
    throw new PathsteerError(`pathsteer ${args.join(' ')} on ${host} printed no JSON: ${r.stdout.slice(0, 200)} ${r.stderr.slice(0, 200)}`);
  }
}

export interface AgentPeerStatus {
  peer: string;
  state: string;
  nports: number;
  healthy: string;
  bad_ports: number[];
  unknown_ports: number;
  inter_region?: boolean;
  hops?: number | null;
  mode?: string | null;
  window?: number | null;
  probes_sent?: number;
  bp_responses?: number;
  groups?: number;
  in_table?: { healthy: string; preferred: string; flags: number } | null;
  port_rtt_ms?: Array<number | null>;
}

/** `pathsteer agent status --json` of the agent on `host`. */
export function agentStatus(
  tb: Testbed,
  host: string,
): Promise<{ peers: AgentPeerStatus[]; counters: Record<string, number>; last_changes: unknown[]; backoff_level?: number; probe_rate_pps?: number; dataplane?: Record<string, number> | null }> {
  return cliJson(tb, host, ['agent', 'status', '--iface', tb.host(host).underlay[0]!.ifname]);
}

/** Wait until every agent probes every peer and has proven `minHealthy` ports towards each. */
export async function waitConverged(tb: Testbed, agents: AgentProcess[], minHealthy = 1, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    let ok = true;
    for (const a of agents) {
      const s = await agentStatus(tb, a.host).catch((e: Error) => ({ error: e.message }) as never);
      const peers = (s as { peers?: AgentPeerStatus[] }).peers ?? [];
      const expected = tb.hosts().filter((h) => h.name !== a.host && agents.some((x) => x.host === h.name)).length;
      const ready = peers.filter((p) => p.state === 'probing' && p.unknown_ports === 0 && countBits(p.healthy) >= minHealthy);
      if (ready.length < expected) {
        ok = false;
        last = `${a.host}: ${JSON.stringify(peers.map((p) => ({ peer: p.peer, state: p.state, healthy: p.healthy, unknown: p.unknown_ports })))}`;
        break;
      }
    }
    if (ok) return;
    if (Date.now() > deadline) throw new PathsteerError(`agents did not converge within ${timeoutMs} ms: ${last}`);
    await sleep(200);
  }
}

export function countBits(hex: string): number {
  let v = BigInt(hex);
  let n = 0;
  while (v) {
    n += Number(v & 1n);
    v >>= 1n;
  }
  return n;
}

/** The experiment step `{"at": 0, "do": "start-agents", "probeIntervalMs": 1000}`. */
export function startAgentsStep(fleet: AgentProcess[], defaults: AgentFleetOptions = {}): StepHandler<never> {
  const schema = z.strictObject({
    at: z.number().min(0),
    do: z.literal('start-agents'),
    probeIntervalMs: z.number().int().min(10).optional(),
    rttThresholdMs: z.number().min(1).optional(),
    hosts: z.array(z.string()).optional(),
    waitConverged: z.boolean().default(true),
  });
  return {
    schema,
    async run(ctx, s: z.infer<typeof schema>) {
      const o: AgentFleetOptions = { ...defaults, ...(s.probeIntervalMs ? { probeIntervalMs: s.probeIntervalMs } : {}), ...(s.rttThresholdMs ? { rttThresholdMs: s.rttThresholdMs } : {}), ...(s.hosts ? { hosts: s.hosts } : {}) };
      const started = await startAgents(ctx.testbed, o);
      fleet.push(...started);
      if (s.waitConverged) await waitConverged(ctx.testbed, started);
      return { agents: started.map((a) => ({ host: a.host, pid: a.pid })) };
    },
  } as StepHandler<z.infer<typeof schema>> as StepHandler<never>;
}
