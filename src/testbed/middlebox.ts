/**
 * The SLB testbed of ZooRoute Fig. 19 (§6), in namespaces: a stateful
 * middlebox service (vIP) run by `instances` instance namespaces that share
 * the vIP and a tenant service address, each doing conntrack DNAT (+SNAT) to a
 * backend, behind a router doing ECMP to them (the "LVS switch"; this kernel
 * has no IP_VS, DESIGN §9). A client host reaches the vIP over VXLAN across
 * two spines, so every outer source port maps to one (spine, instance) pair
 * and ports of one instance exist on both spines:
 *
 *   vm --br0/vx0-- client --leaf== sp1/sp2 ==agg-- lsw == i1..iN --w-- web
 *
 * Every router hashes L4 (fib_multipath_hash_policy=1) with its own seed
 * (fib_multipath_hash_seed), and each ECMP decision is taken by a different
 * router: the leaf picks the spine towards the vIP, the lsw the instance, agg
 * the spine back to the client. (Linux hashes both directions of a flow alike,
 * so one router taking two of these decisions would tie them together: every
 * port of some instance would come back over one spine, and that spine
 * failing would take the whole instance with it.) Instances drop nothing: a packet of a
 * connection they do not know (nf_conntrack_tcp_loose=0) reaches their own
 * stack, which answers RST, as an SLB instance resets a session it lacks.
 *
 * `runSlbRounds` runs HTTP-like request rounds (request-worker.ts) from the
 * VM while spine failures alternate, forcing the client's agent to switch
 * ports, and counts retries: with middlebox sensing a flow keeps to its
 * instance; without it a switch lands on another instance about 2 times in 3.
 */
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { PathsteerError } from '../common/errors.js';
import { run } from '../common/exec.js';
import { cliPath } from './agents.js';
import { deleteRule, dropRule, insertRule } from './failures.js';
import { addNetns, addVeth, cleanupPrefix, nsenterArgv, nsName, sysctl } from './netns.js';
import { nativeBin, stateDir } from './paths.js';
import { requestWorkerPath, startRequestServer } from './requests.js';
import { alive, jsonLines, killNetnsProcesses, spawnHelper, stopHelper, type SpawnedHelper } from './processes.js';
import type { InstalledRule } from './state.js';
import type { ClientConfig, RoundResult } from './request-worker.js';

export const SLB_VIP = '198.18.50.1';
export const SLB_CLIENT_VTEP = '198.18.40.1';
export const SLB_SERVICE_IP = '192.0.2.100';
export const SLB_VM_IP = '192.0.2.1';
const VM_MAC = '02:5b:00:00:00:01';
const ANYCAST_MAC = '02:5b:00:00:00:64';
const SERVICE_PORT = 80;
const BACKEND_PORT = 8080;
const VNI = 100;

export interface SlbBed {
  prefix: string;
  instances: number;
  ns: { client: string; vm: string; leaf: string; spines: string[]; agg: string; lsw: string; inst: string[]; web: string };
  logDir: string;
}

async function ip(netns: string, ...args: string[]): Promise<void> {
  await run(['ip', ...args], { netns });
}

const ROUTER_SYSCTL = (seed: number): Record<string, number> => ({
  'net.ipv4.ip_forward': 1,
  'net.ipv4.fib_multipath_hash_policy': 1,
  'net.ipv4.fib_multipath_hash_seed': seed,
  'net.ipv4.conf.all.rp_filter': 0,
  'net.ipv4.conf.default.rp_filter': 0,
});

/** Build the SLB testbed (namespaces `<prefix>-*`); on failure everything is removed again. */
export async function upSlb(prefix: string, instances = 3): Promise<SlbBed> {
  if (instances < 2 || instances > 8) throw new RangeError('instances must be 2..8');
  const n = (x: string): string => nsName(prefix, x);
  const bed: SlbBed = {
    prefix,
    instances,
    ns: { client: n('cl'), vm: n('vm'), leaf: n('leaf'), spines: [n('sp1'), n('sp2')], agg: n('agg'), lsw: n('lsw'), inst: [], web: n('web') },
    logDir: join(stateDir(), prefix),
  };
  for (let i = 1; i <= instances; i++) bed.ns.inst.push(n(`i${i}`));
  mkdirSync(bed.logDir, { recursive: true });
  const { client, vm, leaf, spines, agg, lsw, inst, web } = bed.ns;
  try {
    for (const x of [client, vm, leaf, ...spines, agg, lsw, ...inst, web]) await addNetns(x);
    // underlay links (1600 MTU: VXLAN adds 50)
    const link = async (a: string, ai: string, aip: string, b: string, bi: string, bip: string): Promise<void> => {
      await addVeth({ ns: a, ifname: ai }, { ns: b, ifname: bi });
      for (const [ns, ifn, addr] of [[a, ai, aip], [b, bi, bip]] as const) {
        await ip(ns, 'link', 'set', 'dev', ifn, 'mtu', '1600');
        await ip(ns, 'addr', 'add', addr, 'dev', ifn);
      }
    };
    await link(leaf, 'cl', '198.18.40.0/31', client, 'eth0', `${SLB_CLIENT_VTEP}/31`);
    for (let s = 0; s < 2; s++) {
      await link(leaf, `sp${s + 1}`, `198.18.41.${2 * s}/31`, spines[s]!, 'leaf', `198.18.41.${2 * s + 1}/31`);
      await link(spines[s]!, 'agg', `198.18.42.${2 * s}/31`, agg, `sp${s + 1}`, `198.18.42.${2 * s + 1}/31`);
    }
    await link(agg, 'lsw', '198.18.44.0/31', lsw, 'agg', '198.18.44.1/31');
    for (let i = 0; i < instances; i++) {
      await link(lsw, `i${i + 1}`, `198.18.43.${2 * i}/31`, inst[i]!, 'eth0', `198.18.43.${2 * i + 1}/31`);
    }
    // routers: ECMP to the vIP (leaf over the spines, lsw over the instances), back to the client (agg over the spines)
    const seeds = [11, 22, 33, 44, 55];
    await sysctl(leaf, ROUTER_SYSCTL(seeds[0]!));
    await ip(leaf, 'route', 'add', `${SLB_VIP}/32`, 'nexthop', 'via', '198.18.41.1', 'dev', 'sp1', 'nexthop', 'via', '198.18.41.3', 'dev', 'sp2');
    for (let s = 0; s < 2; s++) {
      await sysctl(spines[s]!, ROUTER_SYSCTL(seeds[1 + s]!));
      await ip(spines[s]!, 'route', 'add', `${SLB_VIP}/32`, 'via', `198.18.42.${2 * s + 1}`, 'dev', 'agg');
      await ip(spines[s]!, 'route', 'add', '198.18.40.0/31', 'via', `198.18.41.${2 * s}`, 'dev', 'leaf');
    }
    await sysctl(agg, ROUTER_SYSCTL(seeds[3]!));
    await ip(agg, 'route', 'add', `${SLB_VIP}/32`, 'via', '198.18.44.1', 'dev', 'lsw');
    await ip(agg, 'route', 'add', '198.18.40.0/31', 'nexthop', 'via', '198.18.42.0', 'dev', 'sp1', 'nexthop', 'via', '198.18.42.2', 'dev', 'sp2');
    await sysctl(lsw, ROUTER_SYSCTL(seeds[4]!));
    await ip(lsw, 'route', 'add', `${SLB_VIP}/32`, ...inst.flatMap((_, i) => ['nexthop', 'via', `198.18.43.${2 * i + 1}`, 'dev', `i${i + 1}`]));
    await ip(lsw, 'route', 'add', '198.18.40.0/31', 'via', '198.18.44.0', 'dev', 'agg');

    // client host: VXLAN to the vIP, the VM behind a bridge
    await sysctl(client, { 'net.ipv4.conf.all.rp_filter': 0, 'net.ipv4.conf.default.rp_filter': 0 });
    await ip(client, 'route', 'add', 'default', 'via', '198.18.40.0', 'dev', 'eth0');
    await ip(client, 'link', 'add', 'name', 'br0', 'type', 'bridge', 'stp_state', '0');
    await ip(client, 'link', 'add', 'name', 'vx0', 'mtu', '1500', 'type', 'vxlan', 'id', String(VNI), 'local', SLB_CLIENT_VTEP, 'dstport', '4789', 'dev', 'eth0', 'nolearning', 'ttl', '64');
    await ip(client, 'link', 'set', 'dev', 'vx0', 'master', 'br0', 'up');
    await ip(client, 'link', 'set', 'dev', 'br0', 'up');
    await run(['bridge', 'fdb', 'append', '00:00:00:00:00:00', 'dev', 'vx0', 'dst', SLB_VIP, 'self', 'permanent'], { netns: client });
    await run(['bridge', 'fdb', 'replace', ANYCAST_MAC, 'dev', 'vx0', 'dst', SLB_VIP, 'self', 'permanent'], { netns: client });
    await run(['ip', 'link', 'add', 'name', 'vmp', 'netns', client, 'mtu', '1500', 'type', 'veth', 'peer', 'name', 'eth0', 'address', VM_MAC, 'mtu', '1500', 'netns', vm]);
    await ip(client, 'link', 'set', 'dev', 'vmp', 'master', 'br0', 'up');
    // a VM's own TCP rehash-on-RTO must not move its tunnel port (as behind virtio): clear the hash
    await run(['tc', 'qdisc', 'add', 'dev', 'vmp', 'clsact'], { netns: client });
    await run(['tc', 'filter', 'add', 'dev', 'vmp', 'ingress', 'bpf', 'direct-action', 'obj', nativeBin('clear_hash.bpf.o'), 'sec', 'tc'], { netns: client });
    await ip(vm, 'addr', 'add', `${SLB_VM_IP}/24`, 'dev', 'eth0');
    await ip(vm, 'link', 'set', 'dev', 'eth0', 'up');
    await ip(vm, 'neigh', 'replace', SLB_SERVICE_IP, 'lladdr', ANYCAST_MAC, 'dev', 'eth0', 'nud', 'permanent');

    // instances: the vIP, the service address on an anycast MAC, conntrack DNAT + SNAT to the backend
    for (let i = 0; i < instances; i++) {
      const x = inst[i]!;
      await sysctl(x, { 'net.ipv4.ip_forward': 1, 'net.ipv4.conf.all.rp_filter': 0, 'net.ipv4.conf.default.rp_filter': 0 });
      await ip(x, 'addr', 'add', `${SLB_VIP}/32`, 'dev', 'lo');
      await ip(x, 'route', 'add', 'default', 'via', `198.18.43.${2 * i}`, 'dev', 'eth0', 'src', SLB_VIP);
      await ip(x, 'link', 'add', 'name', 'vx0', 'mtu', '1500', 'address', ANYCAST_MAC, 'type', 'vxlan', 'id', String(VNI), 'local', SLB_VIP, 'dstport', '4789', 'dev', 'eth0', 'nolearning', 'ttl', '64');
      await ip(x, 'addr', 'add', `${SLB_SERVICE_IP}/24`, 'dev', 'vx0');
      await ip(x, 'link', 'set', 'dev', 'vx0', 'up');
      await run(['bridge', 'fdb', 'append', '00:00:00:00:00:00', 'dev', 'vx0', 'dst', SLB_CLIENT_VTEP, 'self', 'permanent'], { netns: x });
      await run(['bridge', 'fdb', 'replace', VM_MAC, 'dev', 'vx0', 'dst', SLB_CLIENT_VTEP, 'self', 'permanent'], { netns: x });
      await ip(x, 'neigh', 'replace', SLB_VM_IP, 'lladdr', VM_MAC, 'dev', 'vx0', 'nud', 'permanent');
      const backend = `203.0.113.${4 * i + 2}`;
      await addVeth({ ns: x, ifname: 'w0' }, { ns: web, ifname: `w${i + 1}` });
      await ip(x, 'addr', 'add', `203.0.113.${4 * i + 1}/30`, 'dev', 'w0');
      await ip(web, 'addr', 'add', `${backend}/30`, 'dev', `w${i + 1}`);
      const ipt = (...a: string[]): Promise<unknown> => run(nsenterArgv(x, ['iptables', '-w', '5', ...a]));
      await ipt('-t', 'nat', '-A', 'PREROUTING', '-i', 'vx0', '-d', SLB_SERVICE_IP, '-p', 'tcp', '--dport', String(SERVICE_PORT), '-j', 'DNAT', '--to-destination', `${backend}:${BACKEND_PORT}`);
      await ipt('-t', 'nat', '-A', 'POSTROUTING', '-o', 'w0', '-j', 'MASQUERADE');
      // a segment of a connection this instance never saw is not picked up mid-stream;
      // segments of one it knows are never judged by TCP window tracking (retransmissions
      // after a path failure must not turn into resets, as they do not on an SLB)
      await sysctl(x, { 'net.netfilter.nf_conntrack_tcp_loose': 0, 'net.netfilter.nf_conntrack_tcp_be_liberal': 1 });
    }
    return bed;
  } catch (e) {
    await downSlb(prefix);
    throw e;
  }
}

/** End every process in the bed's namespaces and delete them. */
export async function downSlb(prefix: string): Promise<void> {
  const mine = (await run(['ip', '-json', 'netns', 'list'], { allowFail: true })).stdout;
  for (const name of (mine.trim() ? (JSON.parse(mine) as Array<{ name: string }>) : []).map((x) => x.name)) {
    if (name.startsWith(`${prefix}-`)) await killNetnsProcesses(name);
  }
  await cleanupPrefix(prefix);
  for (const dir of ['/sys/fs/bpf/pathsteer/ns', '/run/pathsteer/ns']) {
    for (const x of ['cl', 'i1', 'i2', 'i3', 'i4', 'i5', 'i6', 'i7', 'i8']) rmSync(join(dir, nsName(prefix, x)), { recursive: true, force: true });
  }
  rmSync(join(stateDir(), prefix), { recursive: true, force: true });
}

/** Drop everything arriving on each (netns, interface): both ends of a link make it a blackhole both ways. */
async function blackhole(tag: string, ends: Array<[string, string]>): Promise<InstalledRule[]> {
  const rules = ends.map(([netns, ifname]): InstalledRule => ({ netns, table: 'raw', chain: 'PREROUTING', spec: dropRule(ifname, tag) }));
  for (const r of rules) await insertRule(r);
  return rules;
}

/** Blackhole the lsw-instance link of instance i (1-based) both ways: the instance is gone for the client. */
export function failInstance(bed: SlbBed, i: number): Promise<InstalledRule[]> {
  return blackhole(`pathsteer:${bed.prefix}-i${i}`, [
    [bed.ns.lsw, `i${i}`],
    [bed.ns.inst[i - 1]!, 'eth0'],
  ]);
}

/** Blackhole the leaf-spine link of spine s (1 or 2) both ways; returns what to remove on heal. */
export function failSpine(bed: SlbBed, s: 1 | 2): Promise<InstalledRule[]> {
  return blackhole(`pathsteer:${bed.prefix}-sp${s}`, [
    [bed.ns.leaf, `sp${s}`],
    [bed.ns.spines[s - 1]!, 'leaf'],
  ]);
}

export async function heal(rules: InstalledRule[]): Promise<void> {
  for (const r of rules) await deleteRule(r);
}

export interface SlbAgent extends SpawnedHelper {
  where: string;
}

/** Start the client's agent (probing the vIP) and the instances' agents (middlebox role). */
export async function startSlbAgents(bed: SlbBed, o: { sensing: boolean; probeIntervalMs?: number }): Promise<SlbAgent[]> {
  const cli = cliPath();
  const node = process.execPath;
  const agents: SlbAgent[] = [];
  const start = async (netns: string, where: string, args: string[]): Promise<void> => {
    const h = await spawnHelper(netns, [node, cli, 'agent', '--iface', 'eth0', ...args], join(bed.logDir, `agent-${where}.log`), 20_000);
    agents.push({ ...h, program: 'node', where });
  };
  for (let i = 0; i < bed.instances; i++) await start(bed.ns.inst[i]!, `i${i + 1}`, ['--role', 'middlebox', '--vtep', SLB_VIP]);
  await start(bed.ns.client, 'client', [
    '--peer',
    SLB_VIP,
    '--probe-interval',
    String(o.probeIntervalMs ?? 100),
    ...(o.sensing ? [] : ['--no-middlebox-sensing']),
  ]);
  return agents;
}

export async function stopSlbAgents(agents: SlbAgent[]): Promise<void> {
  for (const a of agents) await stopHelper(a, 5000).catch(() => undefined);
}

export interface ClientPeerStatus {
  state: string;
  unknown_ports: number;
  groups: number;
  healthy: string;
  in_table: { healthy: string; flags: number } | null;
}

/** The client agent's view of the vIP. */
export async function clientPeer(bed: SlbBed): Promise<ClientPeerStatus | undefined> {
  const r = await run(nsenterArgv(bed.ns.client, [process.execPath, cliPath(), 'agent', 'status', '--iface', 'eth0', '--json']), { allowFail: true });
  try {
    return (JSON.parse(r.stdout) as { peers: Array<ClientPeerStatus & { peer: string }> }).peers.find((p) => p.peer === SLB_VIP);
  } catch {
    return undefined;
  }
}

async function dataplaneStats(netns: string): Promise<Record<string, number>> {
  const r = await run(nsenterArgv(netns, [process.execPath, cliPath(), 'maps', 'dump', 'stats', '--iface', 'eth0', '--json']));
  return JSON.parse(r.stdout) as Record<string, number>;
}

function clientStats(bed: SlbBed): Promise<Record<string, number>> {
  return dataplaneStats(bed.ns.client);
}

async function agentStats(netns: string): Promise<{ counters: Record<string, number> }> {
  const r = await run(nsenterArgv(netns, [process.execPath, cliPath(), 'agent', 'status', '--iface', 'eth0', '--json']));
  return JSON.parse(r.stdout) as { counters: Record<string, number> };
}

/** Wait until the client has an entry for the vIP with every port probed (and, with sensing, one group per instance). */
export async function waitSlbReady(bed: SlbBed, sensing: boolean, timeoutMs = 30_000): Promise<ClientPeerStatus> {
  const deadline = Date.now() + timeoutMs;
  let last: ClientPeerStatus | undefined;
  for (;;) {
    last = await clientPeer(bed);
    if (last?.state === 'probing' && last.unknown_ports === 0 && last.in_table && (!sensing || last.groups === bed.instances)) return last;
    if (Date.now() > deadline) throw new PathsteerError(`the client agent did not get ready for ${SLB_VIP}: ${JSON.stringify(last)}`);
    await sleep(250);
  }
}

export interface SlbRunOptions {
  sensing: boolean;
  /** Seconds of request rounds. @default 20 */
  durationS?: number;
  /** Concurrent request loops. @default 8 */
  concurrency?: number;
  /** Request/response exchanges per connection and the gap between them. @default 10, 100 ms */
  exchanges?: number;
  gapMs?: number;
  /** Each spine fails for this long, then everything is healthy for as long, alternating spines (ms). @default 1500 */
  flapMs?: number;
  /** Instead of spine failures: instance 1 fails (blackholed) this many seconds in, until the end. */
  failInstanceAtS?: number;
  /** Client agent probe interval (ms). @default 100 */
  probeIntervalMs?: number;
  progress?: (line: string) => void;
}

export interface SlbRunResult {
  sensing: boolean;
  rounds: number;
  /** Rounds that needed more than one attempt. */
  rounds_retried: number;
  /** Failed attempts over all rounds (each is a broken session the client retried). */
  retries: number;
  /** Rounds that hit the cap of 10 attempts and still failed. */
  rounds_failed: number;
  /** Share of rounds done in 1, 2, ... 10 attempts, and failed (the CDF of ZooRoute Fig. 19). */
  attempts_histogram: Record<string, number>;
  /** Why attempts failed: reset (the other instance answered RST), timeout, ... */
  errors: Record<string, number>;
  /** Flows the client's data plane moved to another port (ps_stats pin_moved). */
  port_switches: number;
  /** Moves that found no healthy port in the flow's group and left it (ps_stats group_fallback). */
  group_fallbacks: number;
  spine_failures: number;
  groups: number;
  duration_s: number;
  /** The instances' agents (middlebox role), summed: probes they sent (none: they learn), tenant packets sent on a learned port, probes their kernels answered. */
  middlebox: { probes_sent: number; learned_tx: number; reflect_tx: number };
}

/** One run: agents up, rounds while the spines fail in turn, agents down. */
export async function runSlbRounds(bed: SlbBed, o: SlbRunOptions): Promise<SlbRunResult> {
  const progress = o.progress ?? (() => undefined);
  const durationS = o.durationS ?? 20;
  const flapMs = o.flapMs ?? 1500;
  const agents = await startSlbAgents(bed, { sensing: o.sensing, ...(o.probeIntervalMs ? { probeIntervalMs: o.probeIntervalMs } : {}) });
  let server: SpawnedHelper | undefined;
  let clientProc: SpawnedHelper | undefined;
  let rules: InstalledRule[] = [];
  try {
    const ready = await waitSlbReady(bed, o.sensing);
    progress(`[slb] sensing ${o.sensing ? 'on' : 'off'}: client probes ${SLB_VIP}, ${ready.groups} backend group(s)`);
    const worker = requestWorkerPath();
    server = await startRequestServer(bed.ns.web, BACKEND_PORT, join(bed.logDir, 'server.log'));
    const cfg: ClientConfig = {
      dst: SLB_SERVICE_IP,
      port: SERVICE_PORT,
      concurrency: o.concurrency ?? 8,
      exchanges: o.exchanges ?? 10,
      gap_ms: o.gapMs ?? 100,
      timeout_ms: 3000,
      max_attempts: 10,
      duration_s: durationS,
    };
    const s0 = await clientStats(bed);
    const log = join(bed.logDir, `client-${o.sensing ? 'sensing' : 'plain'}.log`);
    clientProc = await spawnHelper(bed.ns.vm, [process.execPath, worker, 'client', JSON.stringify(cfg)], log);
    clientProc = { ...clientProc, program: 'node' };
    const end = Date.now() + durationS * 1000;
    let failures = 0;
    if (o.failInstanceAtS !== undefined) {
      await sleep(o.failInstanceAtS * 1000);
      rules = await failInstance(bed, 1);
      progress('[slb] instance i1 blackholed');
    } else {
      let spine: 1 | 2 = 1;
      while (Date.now() + 2 * flapMs <= end) {
        await sleep(flapMs);
        rules = await failSpine(bed, spine);
        failures++;
        await sleep(flapMs);
        await heal(rules);
        rules = [];
        spine = spine === 1 ? 2 : 1;
      }
    }
    // rounds started before the end finish (each at most 10 attempts)
    const deadline = Date.now() + 120_000;
    while (alive(clientProc.pid) && Date.now() < deadline) await sleep(200);
    const done = jsonLines(readFileSync(log, 'utf8')).find((j) => j.done === true) as { rounds: RoundResult[] } | undefined;
    if (!done) throw new PathsteerError(`the request client did not finish: ${readFileSync(log, 'utf8').slice(-400)}`);
    const s1 = await clientStats(bed);
    const middlebox = { probes_sent: 0, learned_tx: 0, reflect_tx: 0 };
    for (const x of bed.ns.inst) {
      const st = await agentStats(x);
      middlebox.probes_sent += st.counters.probes_sent ?? 0;
      const dp = await dataplaneStats(x);
      middlebox.learned_tx += dp.learned_tx ?? 0;
      middlebox.reflect_tx += dp.reflect_tx ?? 0;
    }
    const rounds = done.rounds;
    const hist: Record<string, number> = {};
    const errors: Record<string, number> = {};
    for (const r of rounds) {
      const k = r.ok ? String(r.attempts) : 'failed';
      hist[k] = (hist[k] ?? 0) + 1;
      for (const e of r.errors) errors[e] = (errors[e] ?? 0) + 1;
    }
    return {
      sensing: o.sensing,
      rounds: rounds.length,
      rounds_retried: rounds.filter((r) => r.attempts > 1).length,
      retries: rounds.reduce((a, r) => a + r.errors.length, 0),
      rounds_failed: rounds.filter((r) => !r.ok).length,
      attempts_histogram: hist,
      errors,
      port_switches: (s1.pin_moved ?? 0) - (s0.pin_moved ?? 0),
      group_fallbacks: (s1.group_fallback ?? 0) - (s0.group_fallback ?? 0),
      spine_failures: failures,
      groups: ready.groups,
      duration_s: durationS,
      middlebox,
    };
  } finally {
    if (rules.length > 0) await heal(rules).catch(() => undefined);
    if (clientProc) await stopHelper(clientProc, 1000).catch(() => undefined);
    if (server) await stopHelper(server, 1000).catch(() => undefined);
    await stopSlbAgents(agents);
  }
}
