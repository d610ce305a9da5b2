/**
 * Build and tear down the namespace fabric of a plan. Command generation is
 * pure (`fabricCommands`, unit-tested); `applyFabric` runs it with one batched
 * `ip`/`bridge` process per namespace (argv and stdin, never a shell string).
 */
import { run } from '../common/exec.js';
import { cleanupPrefix, listNetns, nsenterArgv } from './netns.js';
import { killNetnsProcesses } from './processes.js';
import { gatewayAddress, type PlanHost, type PlanRouter, type TopologyPlan } from './topology.js';

export interface NsCommands {
  netns: string;
  role: 'router' | 'host' | 'gateway' | 'vm';
  /** Must succeed. */
  sysctl: Record<string, string | number>;
  /** Set when the kernel has them (best effort). */
  optionalSysctl: Record<string, string | number>;
  /** `ip -batch` lines run inside the namespace. */
  ip: string[];
  /** `bridge -batch` lines run inside the namespace. */
  bridge: string[];
  /** `tc -batch` lines run inside the namespace. */
  tc: string[];
}

export interface FabricCommands {
  /** `ip -batch` lines run in the root namespace: `netns add`. */
  netnsAdd: string[];
  /** `ip -batch` lines run in the root namespace: veth pairs created straight inside their namespaces. */
  veth: string[];
  perNs: NsCommands[];
}

export interface FabricOptions {
  /** Put an address on each host's bridge so tenant sockets can live in the host namespace. */
  localTenant: boolean;
  /**
   * BPF object that invalidates the skb hash, attached at TC ingress of every VM
   * bridge port (build/native/clear_hash.bpf.o). A veth keeps the hash the VM's
   * socket chose, so without it a VM's TCP rehash-on-RTO would move its outer
   * source port, which a real VM behind virtio cannot do.
   */
  clearHashObj?: string;
}

const ROUTER_SYSCTL = {
  'net.ipv4.ip_forward': 1,
  // L4 hash: the outer UDP source port picks the ECMP path (DESIGN §9).
  'net.ipv4.fib_multipath_hash_policy': 1,
  // Asymmetric ECMP paths are normal here; strict reverse-path filtering would drop them.
  'net.ipv4.conf.all.rp_filter': 0,
  'net.ipv4.conf.default.rp_filter': 0,
  // A link whose peer is down leaves the ECMP set (as BFD would make a real router do).
  'net.ipv4.conf.all.ignore_routes_with_linkdown': 1,
};
const QUIET_IPV6 = { 'net.ipv6.conf.all.disable_ipv6': 1, 'net.ipv6.conf.default.disable_ipv6': 1 };

/** `ip route` line for one router route (ECMP when several next hops). */
export function routeLine(r: PlanRouter['routes'][number]): string {
  if (r.nexthops.length === 1) return `route replace ${r.dst} via ${r.nexthops[0]!.via} dev ${r.nexthops[0]!.dev}`;
  return `route replace ${r.dst} ${r.nexthops.map((n) => `nexthop via ${n.via} dev ${n.dev}`).join(' ')}`;
}

/** Lines that (re)install every route of a namespace: routers' ECMP routes, end nodes' default route. */
export function routeLines(plan: TopologyPlan, netns: string): string[] {
  const r = plan.routers.find((x) => x.netns === netns);
  if (r) return r.routes.map(routeLine);
  const end = [...plan.hosts, ...plan.gateways].find((x) => x.netns === netns);
  if (end) return [`route replace default via ${end.uplinks[0]!.peerIp} dev ${end.uplinks[0]!.ifname}`];
  return [];
}

/** A tunnel device on a host: one VXLAN device with FDB entries, or one Geneve device per peer. */
export interface TunnelDevice {
  ifname: string;
  /** Remote VTEP of a point-to-point (Geneve) device; undefined for VXLAN (FDB-driven). */
  peer?: string;
  line: string;
}

/** The tunnel devices of host `h` and the `ip link add` line of each. */
export function tunnelDevices(plan: TopologyPlan, h: PlanHost, uplink = h.uplinks[0]!.ifname): TunnelDevice[] {
  const t = plan.spec.tunnel;
  const mtu = plan.spec.tenantMtu;
  const csum = t.udpCsum === undefined ? '' : t.udpCsum ? ' udpcsum' : ' noudpcsum';
  if (t.type === 'geneve') {
    // Linux Geneve devices have a single remote: one per peer, bridge ports isolated
    // from each other so the full mesh of tunnels cannot loop.
    return plan.hosts
      .map((p, i) => ({ p, i }))
      .filter(({ p }) => p !== h)
      .map(({ p, i }) => ({
        ifname: `gnv${i + 1}`,
        peer: p.vtep,
        line: `link add name gnv${i + 1} mtu ${mtu} type geneve id ${t.vni} remote ${p.vtep} dstport ${t.port} ttl 64${csum}`,
      }));
  }
  return [
    {
      ifname: t.device,
      line: `link add name ${t.device} mtu ${mtu} type vxlan id ${t.vni} local ${h.vtep} dstport ${t.port} dev ${uplink} nolearning ttl 64${csum}`,
    },
  ];
}

/**
 * The traffic meter's receiver ports (47000 + flow, src/testbed/traffic.ts) are
 * inside the ephemeral range: a sender's source port could take one that a
 * receiver of another run in the same namespace binds next (EADDRINUSE once
 * in a CI run). Reserved, no ephemeral port is handed out from them.
 */
const TRAFFIC_PORTS_RESERVED = { 'net.ipv4.ip_local_reserved_ports': '47000-47999' };

export function fabricCommands(plan: TopologyPlan, opts: FabricOptions): FabricCommands {
  const { spec } = plan;
  const per = new Map<string, NsCommands>();
  const get = (netns: string, role: NsCommands['role']): NsCommands => {
    let c = per.get(netns);
    if (!c) {
      c = { netns, role, sysctl: {}, optionalSysctl: {}, ip: ['link set dev lo up'], bridge: [], tc: [] };
      per.set(netns, c);
    }
    return c;
  };
  for (const r of plan.routers) {
    const c = get(r.netns, 'router');
    Object.assign(c.sysctl, ROUTER_SYSCTL);
    Object.assign(c.optionalSysctl, QUIET_IPV6);
    c.ip.push(`addr add ${r.loopback}/32 dev lo`);
  }
  for (const h of plan.hosts) {
    const c = get(h.netns, 'host');
    Object.assign(c.sysctl, { 'net.ipv4.conf.all.rp_filter': 0, 'net.ipv4.conf.default.rp_filter': 0 }, TRAFFIC_PORTS_RESERVED);
    // TCP re-hashes its flow (new sk_txhash -> new VXLAN source port) on RTO: the
    // kernel baseline `--local-tenant` measures. 1 is the kernel default; set it explicitly.
    Object.assign(c.optionalSysctl, QUIET_IPV6, { 'net.core.txrehash': 1, 'net.bridge.bridge-nf-call-iptables': 0 });
  }
  for (const g of plan.gateways) {
    const c = get(g.netns, 'gateway');
    Object.assign(c.sysctl, { 'net.ipv4.ip_forward': 1, 'net.ipv4.conf.all.rp_filter': 0, 'net.ipv4.conf.default.rp_filter': 0 });
    Object.assign(c.optionalSysctl, QUIET_IPV6);
  }
  for (const v of plan.vms) {
    const c = get(v.netns, 'vm');
    Object.assign(c.sysctl, TRAFFIC_PORTS_RESERVED);
    Object.assign(c.optionalSysctl, QUIET_IPV6);
  }

  const veth: string[] = [];
  for (const l of plan.links) {
    veth.push(
      `link add name ${l.a.ifname} mtu ${l.mtu} netns ${l.a.netns} type veth peer name ${l.b.ifname} mtu ${l.mtu} netns ${l.b.netns}`,
    );
    for (const end of [l.a, l.b]) {
      const c = per.get(end.netns)!;
      c.ip.push(`addr add ${end.ip}/${end.prefixLen} dev ${end.ifname}`, `link set dev ${end.ifname} up`);
    }
  }
  for (const v of plan.vms) {
    const host = plan.hosts.find((h) => h.name === v.host)!;
    veth.push(
      `link add name ${v.hostPort} mtu ${spec.tenantMtu} netns ${host.netns} type veth peer name ${v.ifname} address ${v.mac} mtu ${spec.tenantMtu} netns ${v.netns}`,
    );
    get(v.netns, 'vm').ip.push(`addr add ${v.ip}/${v.prefixLen} dev ${v.ifname}`, `link set dev ${v.ifname} up`);
  }

  for (const h of plan.hosts) {
    const c = per.get(h.netns)!;
    const tunnels = tunnelDevices(plan, h);
    c.ip.push(
      `link add name ${h.bridge} address ${h.bridgeMac} mtu ${spec.tenantMtu} type bridge stp_state 0 mcast_snooping 0`,
      ...tunnels.flatMap((d) => [d.line, `link set dev ${d.ifname} master ${h.bridge} up`]),
      ...h.vms.map((v) => `link set dev ${v.hostPort} master ${h.bridge} up`),
    );
    if (opts.localTenant) c.ip.push(`addr add ${h.tenantIp}/24 dev ${h.bridge}`);
    if (opts.clearHashObj) {
      for (const v of h.vms) {
        c.tc.push(`qdisc add dev ${v.hostPort} clsact`, `filter add dev ${v.hostPort} ingress bpf direct-action obj ${opts.clearHashObj} sec tc`);
      }
    }
    c.ip.push(`link set dev ${h.bridge} up`, ...routeLines(plan, h.netns));
    // Head-end replication of broadcast/unknown traffic to every other VTEP, and
    // static entries for every remote tenant MAC (no flooding of known unicast).
    if (spec.tunnel.type === 'geneve') {
      for (const d of tunnels) c.bridge.push(`link set dev ${d.ifname} isolated on`);
      continue;
    }
    for (const peer of plan.hosts) {
      if (peer === h) continue;
      c.bridge.push(`fdb append 00:00:00:00:00:00 dev ${spec.tunnel.device} dst ${peer.vtep} self permanent`);
      for (const v of peer.vms) c.bridge.push(`fdb replace ${v.mac} dev ${spec.tunnel.device} dst ${peer.vtep} self permanent`);
      if (opts.localTenant) c.bridge.push(`fdb replace ${peer.bridgeMac} dev ${spec.tunnel.device} dst ${peer.vtep} self permanent`);
    }
  }
  for (const g of plan.gateways) {
    const c = per.get(g.netns)!;
    // "Internet" prefixes live on lo: every address in them answers locally.
    for (const p of g.prefixes) {
      const a = gatewayAddress(p);
      c.ip.push(`addr add ${a.ip}/${a.len} dev lo`);
    }
    c.ip.push(...routeLines(plan, g.netns));
  }
  for (const r of plan.routers) per.get(r.netns)!.ip.push(...routeLines(plan, r.netns));

  return {
    netnsAdd: plan.namespaces.map((n) => `netns add ${n}`),
    veth,
    perNs: plan.namespaces.map((n) => per.get(n) ?? get(n, 'vm')),
  };
}

/** Set sysctls in a namespace (one process for all keys). */
export async function nsSysctl(netns: string, settings: Record<string, string | number>, optional = false): Promise<void> {
  const keys = Object.entries(settings);
  if (!keys.length) return;
  if (!optional) {
    await run(nsenterArgv(netns, ['sysctl', '-q', '-w', ...keys.map(([k, v]) => `${k}=${v}`)]));
    return;
  }
  // sysctl -e skips keys this kernel or namespace does not have.
  await run(nsenterArgv(netns, ['sysctl', '-q', '-e', '-w', ...keys.map(([k, v]) => `${k}=${v}`)]), { allowFail: true });
}

/** Run `ip -batch` lines inside a namespace (or the root namespace when netns is undefined). */
export async function ipBatch(netns: string | undefined, lines: string[]): Promise<void> {
  if (!lines.length) return;
  const argv = netns ? ['ip', '-n', netns, '-batch', '-'] : ['ip', '-batch', '-'];
  await run(argv, { input: `${lines.join('\n')}\n` });
}

export async function tcBatch(netns: string, lines: string[]): Promise<void> {
  if (!lines.length) return;
  await run(['tc', '-n', netns, '-batch', '-'], { input: `${lines.join('\n')}\n` });
}

export async function bridgeBatch(netns: string, lines: string[]): Promise<void> {
  if (!lines.length) return;
  await run(['bridge', '-n', netns, '-batch', '-'], { input: `${lines.join('\n')}\n` });
}

/** Run `fn` over items with at most `limit` in flight (2 cores: keep process fan-out modest). */
export async function pool<T>(items: readonly T[], limit: number, fn: (x: T) => Promise<void>): Promise<void> {
  let i = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (i < items.length) {
      const x = items[i++]!;
      await fn(x);
    }
  });
  await Promise.all(workers);
}

/** Create every namespace, link, address, bridge, tunnel and route of the plan. */
export async function applyFabric(plan: TopologyPlan, opts: FabricOptions, progress?: (line: string) => void): Promise<void> {
  const cmds = fabricCommands(plan, opts);
  progress?.(`creating ${cmds.netnsAdd.length} namespaces`);
  await ipBatch(undefined, cmds.netnsAdd);
  await pool(cmds.perNs, 4, async (c) => {
    await nsSysctl(c.netns, c.sysctl);
    await nsSysctl(c.netns, c.optionalSysctl, true);
  });
  progress?.(`creating ${cmds.veth.length} veth pairs`);
  await ipBatch(undefined, cmds.veth);
  progress?.('configuring addresses, bridges, tunnels and routes');
  await pool(cmds.perNs, 4, async (c) => {
    await ipBatch(c.netns, c.ip);
    await bridgeBatch(c.netns, c.bridge);
    await tcBatch(c.netns, c.tc);
  });
}

/**
 * Remove every namespace named `<prefix>-*` after ending the processes inside
 * them. Needs nothing but the prefix, so it also cleans up after a crash.
 */
export async function teardownPrefix(prefix: string): Promise<{ namespaces: string[]; processes: number[] }> {
  const mine = (await listNetns()).filter((n) => n.startsWith(`${prefix}-`));
  const processes: number[] = [];
  await pool(mine, 4, async (n) => {
    processes.push(...(await killNetnsProcesses(n)));
  });
  const removed = await cleanupPrefix(prefix);
  return { namespaces: removed, processes };
}
