/**
 * `pathsteer bench probes`: what probing costs one agent. Two namespaces on a
 * veth: the agent under test (the real CLI process, data plane attached) probes
 * `peers` peer VTEPs x `ports` ports; the peers are addresses of one namespace
 * answered by bench/probe-reflector.ts (the agent's own Responder). Reported:
 *  - at the default rate (1 probe/s per port): the agent's probe rate and its
 *    CPU share of one core (/proc/PID/stat utime+stime over the window);
 *  - the highest probes + responses per second it sustained (< 1% of probes
 *    unanswered, CPU backoff off) while stepping the interval down, with its CPU.
 */
import { readFileSync, rmSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { join } from 'node:path';
import { run } from '../src/common/exec.js';
import { addNetns, addVeth, cleanupPrefix, nsenterArgv, nsName, runPrefix } from '../src/testbed/netns.js';
import { repoRoot } from '../src/testbed/paths.js';
import { spawnHelper, stopHelper, type SpawnedHelper } from '../src/testbed/processes.js';

export interface ProbesBenchOptions {
  /** Peer VTEPs. @default 64 */
  peers?: number;
  /** Ports per peer. @default 32 */
  ports?: number;
  /** Measurement window per step (s). @default 10 */
  seconds?: number;
  /** Probe intervals (ms) stepped through to find the sustained maximum. @default [500, 250, 150, 100, 75, 50] */
  intervals?: number[];
  progress?: (line: string) => void;
}

export interface ProbeStep {
  interval_ms: number;
  offered_pps: number;
  probes_pps: number;
  responses_pps: number;
  unanswered_pct: number;
  agent_cpu_pct: number;
  reflector_cpu_pct: number;
}

export interface ProbesBenchResult {
  peers: number;
  ports: number;
  default_rate: ProbeStep;
  /** Highest (probes + responses)/s with < 1% unanswered. */
  max_probes_responses_per_s: number;
  max_at_interval_ms: number;
  max_agent_cpu_pct: number;
  steps: ProbeStep[];
  cores: number;
}

const CLK_TCK = 100;

function cpuTicks(pid: number): number {
  const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
  return Number(f[11]) + Number(f[12]); // utime + stime (fields 14, 15)
}

export async function benchProbes(o: ProbesBenchOptions = {}): Promise<ProbesBenchResult> {
  const peers = o.peers ?? 64;
  const ports = o.ports ?? 32;
  const seconds = o.seconds ?? 10;
  const progress = o.progress ?? (() => undefined);
  if (peers < 1 || peers > 200) throw new RangeError('peers must be 1..200');
  const prefix = runPrefix('bp');
  const A = nsName(prefix, 'a');
  const B = nsName(prefix, 'b');
  const cli = join(repoRoot(), 'dist', 'src', 'cli', 'main.js');
  const reflectorJs = join(repoRoot(), 'dist', 'bench', 'probe-reflector.js');
  const addrs = Array.from({ length: peers }, (_, i) => `198.18.200.${10 + i}`);
  const logDir = `/run/pathsteer/bench-${prefix}`;
  await run(['mkdir', '-p', logDir]);
  let reflector: SpawnedHelper | undefined;
  let agent: SpawnedHelper | undefined;
  const agentStatus = async (): Promise<{ counters: Record<string, number>; peers: Array<{ state: string; unknown_ports: number }> }> => {
    const r = await run(nsenterArgv(A, [process.execPath, cli, 'agent', 'status', '--iface', 'ps0', '--json']));
    return JSON.parse(r.stdout) as never;
  };
  const measure = async (interval: number, backoff: boolean): Promise<ProbeStep> => {
    const argv = [process.execPath, cli, 'agent', '--iface', 'ps0', '--ports', String(ports), '--probe-interval', String(interval)];
    for (const a of addrs) argv.push('--peer', a);
    if (!backoff) argv.push('--no-cpu-backoff');
    agent = await spawnHelper(A, argv, join(logDir, `agent-${interval}.log`), 20_000);
    agent = { ...agent, program: 'node' };
    // converged: every peer negotiated and every port answered once
    const deadline = Date.now() + 30_000;
    for (;;) {
      const s = await agentStatus();
      if (s.peers.length === peers && s.peers.every((p) => p.state === 'probing' && p.unknown_ports === 0)) break;
      if (Date.now() > deadline) break;
      await sleep(300);
    }
    await sleep(Math.max(1000, interval * 2));
    const s0 = await agentStatus();
    const a0 = cpuTicks(agent.pid);
    const r0 = cpuTicks(reflector!.pid);
    const t0 = performance.now();
    await sleep(seconds * 1000);
    const s1 = await agentStatus();
    const a1 = cpuTicks(agent.pid);
    const r1 = cpuTicks(reflector!.pid);
    const dt = (performance.now() - t0) / 1000;
    await stopHelper(agent, 5000);
    agent = undefined;
    const d = (k: string): number => (s1.counters[k] ?? 0) - (s0.counters[k] ?? 0);
    const sent = d('probes_sent') + d('reprobes_sent');
    const answered = d('responses');
    return {
      interval_ms: interval,
      offered_pps: Math.round((peers * ports * 1000) / interval),
      probes_pps: Math.round(sent / dt),
      responses_pps: Math.round(answered / dt),
      unanswered_pct: sent > 0 ? Math.max(0, Math.round(((sent - answered) / sent) * 10000) / 100) : 100,
      agent_cpu_pct: Math.round(((a1 - a0) / CLK_TCK / dt) * 1000) / 10,
      reflector_cpu_pct: Math.round(((r1 - r0) / CLK_TCK / dt) * 1000) / 10,
    };
  };
  try {
    progress(`[probes] namespaces ${A}, ${B}; ${peers} peer addresses`);
    await addNetns(A);
    await addNetns(B);
    await addVeth({ ns: A, ifname: 'ps0' }, { ns: B, ifname: 'ps0' });
    await run(['ip', 'addr', 'add', '198.18.200.1/24', 'dev', 'ps0'], { netns: A });
    for (const a of addrs) await run(['ip', 'addr', 'add', `${a}/24`, 'dev', 'ps0'], { netns: B });
    await run(nsenterArgv(B, [process.execPath, cli, 'attach', '--iface', 'ps0', '--agent-port', '14789']));
    reflector = await spawnHelper(B, [process.execPath, reflectorJs, JSON.stringify({ addrs, port: 14789, tunnelPort: 4789 })], join(logDir, 'reflector.log'), 20_000);
    reflector = { ...reflector, program: 'node' };
    progress(`[probes] default rate: ${peers} peers x ${ports} ports, 1 probe/s per port (${seconds} s)`);
    const def = await measure(1000, true);
    progress(`[probes] default: ${def.probes_pps} probes/s, agent CPU ${def.agent_cpu_pct}% of one core`);
    const steps: ProbeStep[] = [];
    for (const interval of o.intervals ?? [500, 250, 150, 100, 75, 50]) {
      progress(`[probes] interval ${interval} ms (offered ${Math.round((peers * ports * 1000) / interval)} probes/s)`);
      const st = await measure(interval, false);
      steps.push(st);
      progress(`[probes]   ${st.probes_pps} probes/s, ${st.responses_pps} responses/s, ${st.unanswered_pct}% unanswered, agent CPU ${st.agent_cpu_pct}%, reflector CPU ${st.reflector_cpu_pct}%`);
      if (st.unanswered_pct >= 1) break;
    }
    const good = steps.filter((s) => s.unanswered_pct < 1);
    const best = good.reduce<ProbeStep | undefined>((b, s) => (!b || s.probes_pps + s.responses_pps > b.probes_pps + b.responses_pps ? s : b), undefined);
    return {
      peers,
      ports,
      default_rate: def,
      max_probes_responses_per_s: best ? best.probes_pps + best.responses_pps : 0,
      max_at_interval_ms: best?.interval_ms ?? 0,
      max_agent_cpu_pct: best?.agent_cpu_pct ?? 0,
      steps,
      cores: (await import('node:os')).cpus().length,
    };
  } finally {
    if (agent) await stopHelper(agent, 5000).catch(() => undefined);
    if (reflector) await stopHelper(reflector, 2000).catch(() => undefined);
    await run(nsenterArgv(B, [process.execPath, cli, 'detach', '--iface', 'ps0']), { allowFail: true });
    await cleanupPrefix(prefix);
    for (const ns of [A, B]) {
      rmSync(`/sys/fs/bpf/pathsteer/ns/${ns}`, { recursive: true, force: true });
      rmSync(`/run/pathsteer/ns/${ns}`, { recursive: true, force: true });
    }
    rmSync(logDir, { recursive: true, force: true });
  }
}
