/**
 * Turn a validated spec into a concrete plan: namespaces, interface names,
 * addresses, MACs and the static ECMP routes of every router. Pure (no I/O), so
 * the addressing and routing are unit-tested and the Vagrant generator uses the
 * very same plan as the namespace testbed.
 *
 * Addressing (DESIGN §9 ranges only):
 *   198.18.0.N/32         router loopbacks (spines, then leaves, N from 1)
 *   198.18.L.2k/31        leaf L (1-based) <-> its k-th host or gateway (leaf .2k, end .2k+1)
 *   198.19.S.2L/31        spine S <-> leaf L (spine .2L, leaf .2L+1)
 *   198.19.255.2w/31      WAN link w (a .2w, b .2w+1)
 *   192.0.2.j/24          tenant VM j (from .1); host bridges (local tenant) from .254 down
 *   203.0.113.0/24, 198.51.100.0/24  "Internet" prefixes behind gateways
 * Interface names: a router's interface to a neighbour is named after the
 * neighbour (spine1 has "leaf2"); hosts and gateways reach their leaf by "eth0";
 * a VM's interface is "eth0" and its bridge port on the host is named after the VM.
 */
import { UsageError } from '../common/errors.js';
import { formatIpv4, parseIpv4Prefix } from '../common/net.js';
import { nsName } from './netns.js';
import type { LinkProps, TestbedSpec } from './spec.js';

export type LinkKind = 'fabric' | 'access' | 'gateway' | 'wan';

export interface LinkEnd {
  node: string;
  netns: string;
  ifname: string;
  ip: string;
  prefixLen: number;
}

export interface PlanLink {
  /** `a-b` by node names: spine-leaf, leaf-host, leaf-gateway, wan as written. */
  name: string;
  kind: LinkKind;
  a: LinkEnd;
  b: LinkEnd;
  mtu: number;
  /** Static delay/jitter/rate from the spec (each direction). */
  props: Required<LinkProps>;
}

export interface Nexthop {
  via: string;
  dev: string;
}

export interface PlanRoute {
  dst: string;
  nexthops: Nexthop[];
}

export interface PlanRouter {
  name: string;
  role: 'spine' | 'leaf';
  region: string;
  netns: string;
  loopback: string;
  routes: PlanRoute[];
}

export interface PlanUplink {
  ifname: string;
  ip: string;
  prefixLen: number;
  peerIp: string;
  leaf: string;
  link: string;
}

export interface PlanVm {
  name: string;
  host: string;
  netns: string;
  ifname: string;
  /** The VM's bridge port in the host namespace. */
  hostPort: string;
  ip: string;
  prefixLen: number;
  mac: string;
}

export interface PlanHost {
  name: string;
  netns: string;
  leaf: string;
  uplinks: PlanUplink[];
  /** Tunnel source address (the uplink address). */
  vtep: string;
  bridge: string;
  bridgeMac: string;
  /** Address on the bridge when the tenant lives in the host namespace (`--local-tenant`). */
  tenantIp: string;
  vms: PlanVm[];
}

export interface PlanGateway {
  name: string;
  netns: string;
  leaf: string;
  uplinks: PlanUplink[];
  prefixes: string[];
}

export interface TopologyPlan {
  prefix: string;
  spec: TestbedSpec;
  routers: PlanRouter[];
  hosts: PlanHost[];
  gateways: PlanGateway[];
  vms: PlanVm[];
  links: PlanLink[];
  /** Every namespace the testbed creates, routers first. */
  namespaces: string[];
}

function hex2(n: number): string {
  return n.toString(16).padStart(2, '0');
}

function network(cidr: string): { first: string; len: number } {
  const p = parseIpv4Prefix(cidr);
  return { first: formatIpv4(p.len >= 31 ? p.net : p.net + 1), len: p.len };
}

/** The gateway's own address inside each announced prefix (first usable). */
export function gatewayAddress(prefix: string): { ip: string; len: number } {
  const n = network(prefix);
  return { ip: n.first, len: n.len };
}

/** Build the full plan for `spec` under namespace prefix `prefix`. */
export function planTopology(spec: TestbedSpec, prefix: string): TopologyPlan {
  const ns = (node: string): string => nsName(prefix, node);
  const props = (name: string, own?: LinkProps): Required<LinkProps> => {
    const o = spec.linkOverrides[name] ?? {};
    return {
      delayMs: o.delayMs ?? own?.delayMs ?? spec.links.delayMs ?? 0,
      jitterMs: o.jitterMs ?? own?.jitterMs ?? spec.links.jitterMs ?? 0,
      rateMbit: o.rateMbit ?? own?.rateMbit ?? spec.links.rateMbit ?? 0,
    };
  };
  const links: PlanLink[] = [];
  const routers: PlanRouter[] = [];
  const routerIdx = new Map<string, number>();
  [...spec.spines.map((r) => ({ ...r, role: 'spine' as const })), ...spec.leaves.map((r) => ({ ...r, role: 'leaf' as const }))].forEach(
    (r, i) => {
      routerIdx.set(r.name, i);
      routers.push({ name: r.name, role: r.role, region: r.region, netns: ns(r.name), loopback: `198.18.0.${i + 1}`, routes: [] });
    },
  );

  // Spine <-> leaf fabric links.
  spec.spines.forEach((sp, si) => {
    spec.leaves.forEach((lf, li) => {
      if (sp.region !== lf.region) return;
      const S = si + 1;
      const L = li + 1;
      const name = `${sp.name}-${lf.name}`;
      links.push({
        name,
        kind: 'fabric',
        a: { node: sp.name, netns: ns(sp.name), ifname: lf.name, ip: `198.19.${S}.${2 * L}`, prefixLen: 31 },
        b: { node: lf.name, netns: ns(lf.name), ifname: sp.name, ip: `198.19.${S}.${2 * L + 1}`, prefixLen: 31 },
        mtu: spec.underlayMtu,
        props: props(name),
      });
    });
  });

  // Leaf <-> host / gateway access links.
  const endIndex = new Map<string, number>();
  const uplinkOf = (node: string, leaf: string, kind: 'access' | 'gateway'): PlanUplink => {
    const L = spec.leaves.findIndex((l) => l.name === leaf) + 1;
    const k = endIndex.get(leaf) ?? 0;
    endIndex.set(leaf, k + 1);
    const name = `${leaf}-${node}`;
    const leafIp = `198.18.${L}.${2 * k}`;
    const endIp = `198.18.${L}.${2 * k + 1}`;
    links.push({
      name,
      kind,
      a: { node: leaf, netns: ns(leaf), ifname: node, ip: leafIp, prefixLen: 31 },
      b: { node, netns: ns(node), ifname: 'eth0', ip: endIp, prefixLen: 31 },
      mtu: spec.underlayMtu,
      props: props(name),
    });
    return { ifname: 'eth0', ip: endIp, prefixLen: 31, peerIp: leafIp, leaf, link: name };
  };

  const vms: PlanVm[] = [];
  let vmNo = 0;
  const hosts: PlanHost[] = spec.hosts.map((h, hi) => {
    const up = uplinkOf(h.name, h.leaf, 'access');
    const hostVms = h.vms.map((v) => {
      vmNo += 1;
      const vm: PlanVm = {
        name: v,
        host: h.name,
        netns: ns(v),
        ifname: 'eth0',
        hostPort: v,
        ip: `192.0.2.${vmNo}`,
        prefixLen: 24,
        mac: `02:00:c0:00:02:${hex2(vmNo)}`,
      };
      vms.push(vm);
      return vm;
    });
    return {
      name: h.name,
      netns: ns(h.name),
      leaf: h.leaf,
      uplinks: [up],
      vtep: up.ip,
      bridge: 'br0',
      bridgeMac: `02:00:c0:00:02:${hex2(254 - hi)}`,
      tenantIp: `192.0.2.${254 - hi}`,
      vms: hostVms,
    };
  });
  const gateways: PlanGateway[] = spec.gateways.map((g) => ({
    name: g.name,
    netns: ns(g.name),
    leaf: g.leaf,
    uplinks: [uplinkOf(g.name, g.leaf, 'gateway')],
    prefixes: g.prefixes,
  }));

  spec.wan.forEach((w, wi) => {
    const name = `${w.a}-${w.b}`;
    links.push({
      name,
      kind: 'wan',
      a: { node: w.a, netns: ns(w.a), ifname: w.b, ip: `198.19.255.${2 * wi}`, prefixLen: 31 },
      b: { node: w.b, netns: ns(w.b), ifname: w.a, ip: `198.19.255.${2 * wi + 1}`, prefixLen: 31 },
      mtu: spec.underlayMtu,
      props: props(name, w),
    });
  });

  const names = new Set<string>();
  for (const l of links) {
    if (names.has(l.name)) throw new UsageError(`two links would both be named "${l.name}"`);
    names.add(l.name);
  }
  for (const key of Object.keys(spec.linkOverrides)) {
    if (!names.has(key)) {
      throw new UsageError(`linkOverrides: no link named "${key}" (links: ${[...names].join(', ')})`);
    }
  }

  const routes = computeRoutes(routers, gateways, links, spec, new Set());
  for (const r of routers) r.routes = routes.get(r.name) ?? [];

  const namespaces = [
    ...routers.map((r) => r.netns),
    ...hosts.map((h) => h.netns),
    ...gateways.map((g) => g.netns),
    ...vms.map((v) => v.netns),
  ];
  return { prefix, spec, routers, hosts, gateways, vms, links, namespaces };
}

/**
 * Static routes: for each destination (leaf subnet, router loopback, gateway
 * prefix) every router routes over all neighbours one hop closer to it (ECMP),
 * so both the forward and the return direction spread over every spine.
 */
function computeRoutes(
  routers: PlanRouter[],
  gateways: PlanGateway[],
  links: PlanLink[],
  spec: TestbedSpec,
  down: ReadonlySet<string>,
): Map<string, PlanRoute[]> {
  const out = new Map<string, PlanRoute[]>(routers.map((r) => [r.name, []]));
  const isRouter = new Set(routers.map((r) => r.name));
  // adjacency: node -> [{peer, dev (our ifname), via (peer ip)}]
  const adj = new Map<string, Array<{ peer: string; dev: string; via: string }>>();
  const add = (x: LinkEnd, y: LinkEnd): void => {
    if (!adj.has(x.node)) adj.set(x.node, []);
    adj.get(x.node)!.push({ peer: y.node, dev: x.ifname, via: y.ip });
  };
  for (const l of links) {
    if (down.has(l.name)) continue;
    add(l.a, l.b);
    add(l.b, l.a);
  }
  const dests: Array<{ dst: string; at: string }> = [];
  spec.leaves.forEach((l, i) => dests.push({ dst: `198.18.${i + 1}.0/24`, at: l.name }));
  for (const r of routers) dests.push({ dst: `${r.loopback}/32`, at: r.name });
  for (const g of gateways) for (const p of g.prefixes) dests.push({ dst: p, at: g.name });

  for (const d of dests) {
    const dist = new Map<string, number>([[d.at, 0]]);
    const queue = [d.at];
    while (queue.length) {
      const cur = queue.shift()!;
      if (cur !== d.at && !isRouter.has(cur)) continue; // hosts and gateways never transit
      for (const n of adj.get(cur) ?? []) {
        if (!dist.has(n.peer) && isRouter.has(n.peer)) {
          dist.set(n.peer, dist.get(cur)! + 1);
          queue.push(n.peer);
        }
      }
    }
    for (const r of routers) {
      const dr = dist.get(r.name);
      if (dr === undefined || dr === 0) continue;
      const nexthops = (adj.get(r.name) ?? [])
        .filter((n) => dist.get(n.peer) === dr - 1)
        .map((n) => ({ via: n.via, dev: n.dev }));
      if (nexthops.length) out.get(r.name)!.push({ dst: d.dst, nexthops });
    }
  }
  return out;
}

/**
 * Router routes as a routing protocol would converge to them with the links in
 * `down` gone (used when a link is taken down, so the fabric routes around it).
 */
export function routesWithout(plan: TopologyPlan, down: ReadonlySet<string>): Map<string, PlanRoute[]> {
  return computeRoutes(plan.routers, plan.gateways, plan.links, plan.spec, down);
}

/** A link picked by name, with `reversed` when the user wrote its ends the other way round. */
export interface ResolvedLink {
  link: PlanLink;
  reversed: boolean;
}

export function resolveLink(plan: Pick<TopologyPlan, 'links'>, name: string): ResolvedLink {
  const exact = plan.links.find((l) => l.name === name);
  if (exact) return { link: exact, reversed: false };
  const parts = name.split('-');
  if (parts.length === 2) {
    const rev = plan.links.find((l) => l.name === `${parts[1]}-${parts[0]}`);
    if (rev) return { link: rev, reversed: true };
  }
  throw new UsageError(`no link named "${name}"; links: ${plan.links.map((l) => l.name).join(', ')}`);
}

/** A tenant endpoint (VM, or a host's bridge address in local-tenant mode) by name. */
export interface TenantEndpoint {
  name: string;
  netns: string;
  ip: string;
  kind: 'vm' | 'host';
}

export function resolveEndpoint(plan: TopologyPlan, name: string, localTenant: boolean): TenantEndpoint {
  const vm = plan.vms.find((v) => v.name === name);
  if (vm) return { name, netns: vm.netns, ip: vm.ip, kind: 'vm' };
  const host = plan.hosts.find((h) => h.name === name);
  if (host) {
    if (!localTenant) {
      throw new UsageError(
        `"${name}" is a host; tenant sockets in a host namespace need a testbed brought up with --local-tenant`,
      );
    }
    return { name, netns: host.netns, ip: host.tenantIp, kind: 'host' };
  }
  const names = [...plan.vms.map((v) => v.name), ...(localTenant ? plan.hosts.map((h) => h.name) : [])];
  throw new UsageError(`no tenant endpoint named "${name}"; endpoints: ${names.join(', ')}`);
}
