/**
 * `pathsteer bench probing`: what probing at cloud scale costs (ZooRoute §4,
 * §7.1 Fig. 16), in three parts.
 *
 *  - matrix: probes per second a region of `peers` hosts needs with full-mesh,
 *    active-peer (on-demand) and active-port (partial-probe) probing, on a
 *    seeded synthetic sparse traffic matrix in which 99% of hosts talk to
 *    fewer than 25% of their peers (TrafficModel says how the rest is drawn).
 *    Full mesh and active-peer are counted exactly over every host; active-port
 *    runs a sample of host pairs through the agent's own ProbeScheduler (the
 *    code that decides what the agent sends) and scales its probes per pair.
 *  - agent: CPU of one real agent process (`pathsteer agent`, data plane
 *    attached) at 64 peers probed in full and at 2,000 active peers with
 *    tenant traffic (bench/tunnel-traffic.ts) in partial mode, against peers
 *    answered by the in-kernel reflector (bench/probe-reflector.ts negotiates).
 *  - reflector: responses per second of the in-kernel reflector and of the
 *    agent's userspace responder, through BPF_PROG_TEST_RUN (the program's
 *    cost per request) against the Responder's per-request cost in-process,
 *    and end to end with a load generator (ps-probegen, C, sendmmsg/recvmmsg)
 *    in another namespace against a real agent with and without the reflector.
 */
import { readFileSync, rmSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { agentMetrics } from '../src/agent/metrics.js';
import { Responder } from '../src/agent/responder.js';
import { ProbeScheduler } from '../src/agent/scheduler.js';
import { logger } from '../src/common/logger.js';
import { run } from '../src/common/exec.js';
import { BpfObject, testRun } from '../src/loader/index.js';
import { probeProgram } from '../src/maps/dataplane.js';
import { ConfigCodec } from '../src/maps/config.js';
import { BpfObjects, MapName } from '../src/maps/names.generated.js';
import { objectPath } from '../src/maps/objects.js';
import { PS_REFLECT_MAX_RATE, PS_RF_REFLECT, reflectTables } from '../src/maps/reflect.js';
import { U32Codec } from '../src/maps/scalar.js';
import { TypedMap } from '../src/maps/typed-map.js';
import { decode, encode, HostReflectCodec, ipv4ToU32, Mode, negotiationRequest, telemetryRequest, type TelemetryMessage } from '../src/protocol/index.js';
import { Rng } from '../src/ranker/rng.js';
import { udp4Frame } from './packets.js';
import { addNetns, addVeth, cleanupPrefix, nsenterArgv, nsName, runPrefix } from '../src/testbed/netns.js';
import { nativeBin, repoRoot } from '../src/testbed/paths.js';
import { jsonLines, spawnHelper, stopHelper, type SpawnedHelper } from '../src/testbed/processes.js';

// ---------------------------------------------------------------------------
// matrix

export interface TrafficModel {
  /** Candidate ports per peer (Np). @default 32 */
  ports: number;
  /** Share of the region a typical host talks to: lognormal median and sigma (p99 just under 25%). @default 0.08, 0.48 */
  shareMedian: number;
  shareSigma: number;
  /** Hosts that talk to 25-100% of the region (gateways, middleboxes, monitors): the other 1%. @default 0.01 */
  heavyShare: number;
  /** Tenant flows per communicating pair: lognormal median and sigma. @default 3, 1.2 */
  flowsMedian: number;
  flowsSigma: number;
  /** Communicating pairs that are inter-region (always probed in full). @default 0.05 */
  interRegionShare: number;
  /** Intra-region pairs probing in full at any moment after an anomaly. @default 0.01 */
  anomalyShare: number;
}

export const DEFAULT_MODEL: TrafficModel = {
  ports: 32,
  shareMedian: 0.08,
  shareSigma: 0.48,
  heavyShare: 0.01,
  flowsMedian: 3,
  flowsSigma: 1.2,
  interRegionShare: 0.05,
  anomalyShare: 0.01,
};

export interface MatrixResult {
  peers: number;
  model: TrafficModel;
  /** Hosts that talk to fewer than 25% of their peers (the model's premise: >= 99%). */
  hosts_below_25pct: number;
  mean_peer_share: number;
  /** Probes per second, whole region, 1 probe/s per port. */
  full_mesh_pps: number;
  active_peer_pps: number;
  active_port_pps: number;
  /** 1 - active/full. */
  active_peer_reduction: number;
  active_port_reduction: number;
  /** The busiest host's probes/s relative to full mesh (ZooRoute Fig. 16b). */
  max_host_active_peer_ratio: number;
  max_host_active_port_ratio: number;
  /** Probes per communicating pair per second, from the ProbeScheduler sample. */
  probes_per_pair: number;
  sampled_pairs: number;
  seed: number;
  ms: number;
}

function lognormal(rng: Rng, median: number, sigma: number): number {
  const u = Math.max(rng.next(), 1e-12);
  const v = rng.next();
  return median * Math.exp(sigma * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v));
}

/** The matrix part: exact over every host for full mesh and active peers, sampled pairs for active ports. */
export function probeReduction(o: { peers: number; seed?: number; samplePairs?: number; model?: Partial<TrafficModel> }): MatrixResult {
  const t0 = performance.now();
  const m: TrafficModel = { ...DEFAULT_MODEL, ...o.model };
  const n = o.peers;
  const seed = o.seed ?? 1;
  const rng = new Rng('probing-matrix', seed);
  let pairs = 0;
  let below = 0;
  let maxDegree = 0;
  for (let h = 0; h < n; h++) {
    const share = rng.next() < m.heavyShare ? 0.25 + 0.75 * rng.next() : Math.min(0.2499, Math.max(1 / (n - 1), lognormal(rng, m.shareMedian, m.shareSigma)));
    if (share < 0.25) below++;
    const d = Math.max(1, Math.min(n - 1, Math.round(share * (n - 1))));
    pairs += d;
    if (d > maxDegree) maxDegree = d;
  }
  // active ports: communicating pairs through the agent's scheduler (full for
  // inter-region and anomalous pairs, else the ports their flows use)
  const sample = o.samplePairs ?? 100_000;
  const perScheduler = 1000;
  let probes = 0;
  const srng = new Rng('probing-pairs', seed);
  for (let done = 0; done < sample; done += perScheduler) {
    const s = new ProbeScheduler({ intervalMs: 1000, mode: 'partial', fullHoldMs: 60_000 });
    for (let i = 0; i < Math.min(perScheduler, sample - done); i++) {
      const peer = `p${i}`;
      const inter = srng.next() < m.interRegionShare;
      s.upsert(peer, 0, m.ports, { mode: inter ? 'full' : 'partial' });
      const flows = Math.max(1, Math.round(lognormal(srng, m.flowsMedian, m.flowsSigma)));
      let inUse = 0n;
      for (let f = 0; f < flows; f++) inUse |= 1n << BigInt(srng.int(m.ports));
      s.setInUse(peer, inUse);
      if (!inter && srng.next() < m.anomalyShare) s.anomaly(peer, 0);
    }
    // the first round (t = 0) was planned at upsert, before the ports in use were known
    // (as for a new peer): count two steady rounds, [1000, 3000) ms
    for (let t = 0; t < 1000; t += 50) s.due(t);
    s.due(999);
    for (let t = 1000; t < 3000; t += 50) probes += s.due(t).length;
  }
  const perPair = probes / 2 / sample;
  const full = n * (n - 1) * m.ports;
  const activePeer = pairs * m.ports;
  const activePort = pairs * perPair;
  const r4 = (x: number): number => Math.round(x * 10000) / 10000;
  return {
    peers: n,
    model: m,
    hosts_below_25pct: r4(below / n),
    mean_peer_share: r4(pairs / (n * (n - 1))),
    full_mesh_pps: full,
    active_peer_pps: activePeer,
    active_port_pps: Math.round(activePort),
    active_peer_reduction: r4(1 - activePeer / full),
    active_port_reduction: r4(1 - activePort / full),
    max_host_active_peer_ratio: r4(maxDegree / (n - 1)),
    max_host_active_port_ratio: r4((maxDegree * perPair) / ((n - 1) * m.ports)),
    probes_per_pair: Math.round(perPair * 100) / 100,
    sampled_pairs: sample,
    seed,
    ms: Math.round(performance.now() - t0),
  };
}

// ---------------------------------------------------------------------------
// reflector: cost per response

export interface ReflectorTestRunResult {
  /**
   * ns per telemetry request answered by probe_steer's reflector: the fastest
   * of `runs` single BPF_PROG_TEST_RUN runs on a fresh request (a repeated run
   * would see its own response, which takes another path), as the kernel
   * times it. It includes the kernel's clock reads around the run, so it is
   * an upper bound of the program's cost.
   */
  kernel_ns: number;
  kernel_responses_per_s: number;
  /** The same measurement of an empty TC program: the floor of a single timed run. */
  empty_program_ns: number;
  /** ns per request through the agent's Responder (decode, bucket, return port, encode) in this process, no syscalls. */
  userspace_logic_ns: number;
  userspace_logic_responses_per_s: number;
  program: string;
  runs: number;
}

function requestPacket(src: string, dst: string): Buffer {
  const payload = encode(
    telemetryRequest({
      mode: Mode.FULL_PROBE,
      txSport: 10007,
      seq: 1,
      srcVtep: ipv4ToU32(src),
      reflect: HostReflectCodec.encode({ probedPort: 10007, portIdx: 7, processId: 1, txNs: 1n }),
    }),
  );
  return udp4Frame(src, dst, 10007, 4789, payload, 61);
}

/** probe_steer's reflector per request through BPF_PROG_TEST_RUN, and the userspace Responder's logic per request. */
export function reflectorTestRun(o: { runs?: number } = {}): ReflectorTestRunResult {
  const runs = o.runs ?? 20_000;
  const src = '198.18.0.2';
  const dst = '198.18.0.1';
  const program = probeProgram();
  const pkt = requestPacket(src, dst);
  const fastest = (fd: number, expect: number): number => {
    let best = Infinity;
    for (let i = 0; i < runs; i++) {
      const r = testRun(fd, { data: pkt });
      if (r.retval !== expect) throw new Error(`unexpected verdict ${r.retval} (wanted ${expect})`);
      if (r.durationNs < best) best = r.durationNs;
    }
    return best;
  };
  const obj = BpfObject.open(objectPath('probeSteer')).load();
  let kernel: number;
  try {
    new TypedMap(obj.map(MapName.config), U32Codec, ConfigCodec).set(0, { vxlanPort: 4789, genevePort: 0, agentPort: 14789, flags: 0, hashSeed: 1, pathGen: 1 });
    const t = reflectTables((name) => obj.map(name));
    t.cfg.set(0, { backendId: 0x020000000001, flags: PS_RF_REFLECT, rate: PS_REFLECT_MAX_RATE, burst: PS_REFLECT_MAX_RATE });
    t.sources.set(src, { tokensMilli: 0n, refillNs: 0n, answered: 0n, bp: 0n });
    kernel = fastest(obj.program(program).fd, 7); // TC_ACT_REDIRECT: answered
  } finally {
    obj.close();
  }
  const empty = BpfObject.open(objectPath('empty')).load();
  let floor: number;
  try {
    floor = fastest(empty.program(BpfObjects.empty.programs[0]).fd, 0);
  } finally {
    empty.close();
  }
  // the userspace Responder on the same request, no socket (what it costs before any syscall)
  const transport = { send: () => undefined, onMessage: () => undefined, close: async () => undefined };
  const resp = new Responder(transport, dst, 1, () => undefined, agentMetrics(), logger, { tunnelPort: 4789, allow: [], sessionTtlMs: 60_000, bucket: { ratePerSec: 1e9, maxTokens: 1e9 } });
  const from = { data: Buffer.alloc(0), address: src, port: 14789 };
  resp.handleRequest(negotiationRequest({ srcVtep: ipv4ToU32(src), txSport: 10000 }), from, 0);
  const payload = pkt.subarray(42);
  const n = 200_000;
  let usBest = Infinity;
  for (let r = 0; r < 3; r++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) resp.handleRequest(decode(payload) as TelemetryMessage, from, i);
    usBest = Math.min(usBest, Number(process.hrtime.bigint() - t0) / n);
  }
  return {
    kernel_ns: kernel,
    kernel_responses_per_s: Math.round(1e9 / Math.max(kernel, 1)),
    empty_program_ns: floor,
    userspace_logic_ns: Math.round(usBest),
    userspace_logic_responses_per_s: Math.round(1e9 / usBest),
    program,
    runs,
  };
}

// ---------------------------------------------------------------------------
// namespaces shared by the agent and load-generator parts

const CLK_TCK = 100;

function cpuTicks(pid: number): number {
  const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
  return Number(f[11]) + Number(f[12]);
}

interface Pair {
  prefix: string;
  a: string;
  b: string;
  logDir: string;
  cli: string;
}

/**
 * Two namespaces on a veth (ps0 each): A 198.18.200.1, B 198.18.200.2 and the
 * given peer addresses on its loopback, routed from A through B (one neighbour
 * each side: thousands of on-link peers would overflow the neighbour table).
 */
async function pairUp(base: string, peerAddrs: string[]): Promise<Pair> {
  const prefix = runPrefix(base);
  const p: Pair = { prefix, a: nsName(prefix, 'a'), b: nsName(prefix, 'b'), logDir: `/run/pathsteer/bench-${prefix}`, cli: join(repoRoot(), 'dist', 'src', 'cli', 'main.js') };
  await run(['mkdir', '-p', p.logDir]);
  await addNetns(p.a);
  await addNetns(p.b);
  await addVeth({ ns: p.a, ifname: 'ps0' }, { ns: p.b, ifname: 'ps0' });
  await run(['ip', 'addr', 'add', '198.18.200.1/24', 'dev', 'ps0'], { netns: p.a });
  await run(['ip', 'addr', 'add', '198.18.200.2/24', 'dev', 'ps0'], { netns: p.b });
  if (peerAddrs.length > 0) {
    await run(['ip', 'route', 'add', '198.18.192.0/20', 'via', '198.18.200.2', 'dev', 'ps0'], { netns: p.a });
    await run(['ip', '-batch', '-'], { netns: p.b, input: `${peerAddrs.map((x) => `addr add ${x}/32 dev lo`).join('\n')}\n` });
  }
  return p;
}

async function pairDown(p: Pair): Promise<void> {
  for (const ns of [p.a, p.b]) await run(nsenterArgv(ns, [process.execPath, p.cli, 'detach', '--iface', 'ps0']), { allowFail: true });
  await cleanupPrefix(p.prefix);
  for (const ns of [p.a, p.b]) {
    rmSync(`/sys/fs/bpf/pathsteer/ns/${ns}`, { recursive: true, force: true });
    rmSync(`/run/pathsteer/ns/${ns}`, { recursive: true, force: true });
  }
  rmSync(p.logDir, { recursive: true, force: true });
}

// ---------------------------------------------------------------------------
// agent CPU

export interface AgentCpuStep {
  peers: number;
  mode: 'full' | 'partial';
  /** Peers probing with every port proven, and how long that took after start (s). */
  converged_peers: number;
  converge_s: number;
  probes_pps: number;
  responses_pps: number;
  unanswered_pct: number;
  /** The agent process's CPU, percent of one core. */
  agent_cpu_pct: number;
  /** What full-mesh probing of these peers would send (32 ports, 1/s). */
  full_probes_pps: number;
  /** Peers by task state and mode when the measurement ended. */
  peer_states: Record<string, number>;
  /** Over the window: probes lost, answered too late, answers the agent's socket dropped; overload and CPU backoff levels at the end. */
  lost: number;
  slow: number;
  socket_drops: number;
  overload_level: number;
  backoff_level: number;
}

async function agentStep(peers: number, mode: 'full' | 'partial', seconds: number, progress: (l: string) => void): Promise<AgentCpuStep> {
  const addrs = Array.from({ length: peers }, (_, i) => `198.18.${192 + Math.floor(i / 250)}.${1 + (i % 250)}`);
  const p = await pairUp('bq', addrs);
  const helpers: SpawnedHelper[] = [];
  try {
    await run(nsenterArgv(p.b, [process.execPath, p.cli, 'attach', '--iface', 'ps0', '--agent-port', '14789']));
    const reflector = join(repoRoot(), 'dist', 'bench', 'probe-reflector.js');
    const r = await spawnHelper(
      p.b,
      ['prlimit', `--nofile=${peers + 1024}`, '--', process.execPath, reflector, JSON.stringify({ addrs, port: 14789, tunnelPort: 4789, kernel: { iface: 'ps0', sources: ['198.18.200.1'] } })],
      join(p.logDir, 'reflector.log'),
      60_000,
    );
    helpers.push({ ...r, program: 'node' });
    const argv = [process.execPath, p.cli, 'agent', '--iface', 'ps0', '--rtt-threshold', '200'];
    if (mode === 'full') for (const x of addrs) argv.push('--peer', x);
    else argv.push('--probe-mode', 'partial');
    const t0 = performance.now();
    const agent = { ...(await spawnHelper(p.a, argv, join(p.logDir, 'agent.log'), 30_000)), program: 'node' };
    helpers.push(agent);
    if (mode === 'partial') {
      const gen = join(repoRoot(), 'dist', 'bench', 'tunnel-traffic.js');
      // 2 flows per peer, a packet each every 2 s: active (idle timeout 60 s), 1-2 ports in use;
      // peers join 200 a second, as new peers come to a host
      const g = await spawnHelper(
        p.a,
        [process.execPath, gen, JSON.stringify({ addrs, flows: 2, intervalMs: 2000, tunnelPort: 4789, rampPerSec: 200 })],
        join(p.logDir, 'traffic.log'),
        20_000,
      );
      helpers.push({ ...g, program: 'node' });
    }
    type St = { counters: Record<string, number>; overload_level: number; backoff_level: number; peers: Array<{ state: string; unknown_ports: number; mode: string | null; in_table: unknown }> };
    const status = async (): Promise<St> => JSON.parse((await run(nsenterArgv(p.a, [process.execPath, p.cli, 'agent', 'status', '--iface', 'ps0', '--json']), { timeoutMs: 30_000 })).stdout) as St;
    // full: every port proven; partial: the entry written and the traffic's ports probed
    const ready = (s: St): number =>
      s.peers.filter((x) => x.state === 'probing' && (mode === 'full' ? x.unknown_ports === 0 : x.mode === 'partial' && x.in_table !== null && x.unknown_ports < 32)).length;
    const deadline = Date.now() + 180_000;
    let s = await status();
    // (a status of thousands of peers is a few hundred kB of JSON: ask every 3 s, not more)
    while (ready(s) < peers && Date.now() < deadline) {
      await sleep(3000);
      s = await status();
    }
    const converged = ready(s);
    const convergeS = (performance.now() - t0) / 1000;
    progress(`[probing]   ${peers} peers (${mode}): ${converged} converged after ${convergeS.toFixed(1)} s`);
    await sleep(3000);
    const s0 = await status();
    const c0 = cpuTicks(agent.pid);
    const t1 = performance.now();
    await sleep(seconds * 1000);
    const c1 = cpuTicks(agent.pid);
    const s1 = await status();
    const dt = (performance.now() - t1) / 1000;
    const d = (k: string): number => (s1.counters[k] ?? 0) - (s0.counters[k] ?? 0);
    const sent = d('probes_sent') + d('reprobes_sent');
    return {
      peers,
      mode,
      converged_peers: converged,
      converge_s: Math.round(convergeS * 10) / 10,
      probes_pps: Math.round(sent / dt),
      responses_pps: Math.round(d('responses') / dt),
      unanswered_pct: sent > 0 ? Math.max(0, Math.round(((sent - d('responses')) / sent) * 10000) / 100) : 0,
      agent_cpu_pct: Math.round(((c1 - c0) / CLK_TCK / dt) * 1000) / 10,
      full_probes_pps: peers * 32,
      lost: d('lost'),
      slow: d('slow'),
      socket_drops: d('socket_drops'),
      overload_level: s1.overload_level,
      backoff_level: s1.backoff_level,
      peer_states: s1.peers.reduce<Record<string, number>>((acc, x) => {
        const k = `${x.state}/${x.mode ?? '-'}/${x.in_table ? 'entry' : 'no-entry'}/${x.unknown_ports === 32 ? 'unprobed' : 'probed'}`;
        acc[k] = (acc[k] ?? 0) + 1;
        return acc;
      }, {}),
    };
  } finally {
    for (const h of helpers.reverse()) await stopHelper(h, 5000).catch(() => undefined);
    await pairDown(p);
  }
}

// ---------------------------------------------------------------------------
// reflector: end to end with a load generator

export interface LoadGenResult {
  /** Responses per second the generator received from the in-kernel reflector / the agent's userspace responder. */
  kernel_responses_per_s: number;
  userspace_responses_per_s: number;
  /**
   * In-kernel answers per second of CPU the generator process used: on a veth
   * the reflector runs in the generator's own softirq work, so this is the
   * end-to-end rate of one free core (requests built and sent, answered,
   * received), where responses/s is what this shared machine gave the run.
   */
  kernel_responses_per_cpu_s: number;
  kernel: Record<string, number>;
  userspace: Record<string, number>;
  seconds: number;
}

async function loadGen(seconds: number, progress: (l: string) => void): Promise<LoadGenResult> {
  const out: Partial<LoadGenResult> = { seconds };
  for (const reflector of [true, false]) {
    const p = await pairUp('bg', []);
    const helpers: SpawnedHelper[] = [];
    try {
      const argv = [process.execPath, p.cli, 'agent', '--iface', 'ps0', '--responder-rate', String(PS_REFLECT_MAX_RATE), '--responder-burst', String(PS_REFLECT_MAX_RATE)];
      if (!reflector) argv.push('--no-reflector');
      helpers.push({ ...(await spawnHelper(p.b, argv, join(p.logDir, 'agent.log'), 30_000)), program: 'node' });
      const log = join(p.logDir, 'probegen.log');
      const r = await run(nsenterArgv(p.a, [nativeBin('ps-probegen'), '--dst', '198.18.200.2', '--seconds', String(seconds)]), { timeoutMs: (seconds + 30) * 1000 });
      const j = jsonLines(r.stdout)[0] as Record<string, number> | undefined;
      if (!j) throw new Error(`ps-probegen printed no result: ${r.stdout} ${r.stderr} (${log})`);
      progress(`[probing]   ${reflector ? 'in-kernel reflector' : 'userspace responder'}: ${j.responses_per_s} responses/s (${j.sent} sent, ${j.received} answered)`);
      if (reflector) {
        out.kernel = j;
        out.kernel_responses_per_s = j.responses_per_s;
        out.kernel_responses_per_cpu_s = j.responses_per_cpu_s;
      } else {
        out.userspace = j;
        out.userspace_responses_per_s = j.responses_per_s;
      }
    } finally {
      for (const h of helpers) await stopHelper(h, 5000).catch(() => undefined);
      await pairDown(p);
    }
  }
  return out as LoadGenResult;
}

// ---------------------------------------------------------------------------

export type ProbingPart = 'matrix' | 'agent' | 'reflector';

export interface ProbingBenchOptions {
  /** Hosts in the region (the traffic matrix). @default 50000 */
  peers?: number;
  parts?: ProbingPart[];
  seed?: number;
  /** Active peers of the agent CPU part (64: full mode; more: partial mode with tenant traffic). @default [64, 2000] */
  agentPeers?: number[];
  /** Measurement window of the agent part and the load generator (s). @default 10 */
  seconds?: number;
  progress?: (line: string) => void;
}

export interface ProbingBenchResult {
  matrix?: MatrixResult;
  agent?: AgentCpuStep[];
  reflector?: { test_run: ReflectorTestRunResult; load_generator: LoadGenResult };
  cores: number;
  loadavg_1m_before: number;
  loadavg_1m_after: number;
}

export async function benchProbing(o: ProbingBenchOptions = {}): Promise<ProbingBenchResult> {
  const parts = o.parts ?? ['matrix', 'agent', 'reflector'];
  const progress = o.progress ?? (() => undefined);
  const seconds = o.seconds ?? 10;
  const res: ProbingBenchResult = { cores: cpus().length, loadavg_1m_before: loadavg()[0]!, loadavg_1m_after: 0 };
  if (parts.includes('matrix')) {
    progress(`[probing] traffic matrix: ${o.peers ?? 50000} hosts`);
    res.matrix = probeReduction({ peers: o.peers ?? 50000, ...(o.seed !== undefined ? { seed: o.seed } : {}) });
    progress(`[probing]   reduction: active peers ${(res.matrix.active_peer_reduction * 100).toFixed(1)}%, active ports ${(res.matrix.active_port_reduction * 100).toFixed(2)}%`);
  }
  if (parts.includes('reflector')) {
    progress('[probing] reflector: BPF_PROG_TEST_RUN');
    const tr = reflectorTestRun();
    progress(`[probing]   in kernel ${tr.kernel_ns} ns per response (${tr.kernel_responses_per_s}/s); userspace logic ${tr.userspace_logic_ns} ns`);
    progress('[probing] reflector: load generator (ps-probegen) against a real agent');
    res.reflector = { test_run: tr, load_generator: await loadGen(Math.min(seconds, 5), progress) };
  }
  if (parts.includes('agent')) {
    res.agent = [];
    for (const n of o.agentPeers ?? [64, 2000]) {
      const mode = n <= 64 ? 'full' : 'partial';
      progress(`[probing] agent CPU: ${n} active peers, ${mode} probing`);
      res.agent.push(await agentStep(n, mode, seconds, progress));
    }
  }
  res.loadavg_1m_after = loadavg()[0]!;
  return res;
}
