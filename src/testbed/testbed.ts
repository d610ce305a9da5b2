/**
 * The Testbed class: the TypeScript API other modules (agents, demo,
 * benchmarks) and the CLI use to bring a namespace fabric up, inspect it,
 * break and heal links, run traffic and experiments, and tear it down.
 *
 *   const tb = await Testbed.up(loadSpec('examples/testbed/clos-2x2.json'), { prefix: 'ps' });
 *   const host = tb.host('host1');        // netns, uplink ifname/IP, vxlan device, VMs
 *   await tb.fail('spine1-leaf2', { blackhole: true });
 *   const r = await tb.traffic({ from: 'vm1', to: 'vm2', flows: 32, ratePps: 200, durationS: 5 });
 *   await tb.heal();
 *   await Testbed.down('ps');
 *
 * State lives in /run/pathsteer/testbed/<prefix>.json, so `Testbed.load(prefix)`
 * in another process sees the same testbed. `up` on a prefix that is already
 * up is an error (UsageError naming the prefix); it never half-reuses one.
 */
import { performance } from 'node:perf_hooks';
import { PathsteerError, UsageError } from '../common/errors.js';
import { run, type RunOptions, type RunResult } from '../common/exec.js';
import { logger } from '../common/logger.js';
import { applyFabric, teardownPrefix, tunnelDevices } from './fabric.js';
import { checkUpFeatures } from './features.js';
import { installFailure, installShaping, removeFailure, startDropWindow, type DropWindow, type FailureRequest } from './failures.js';
import { checkPrefix, listNetns, nsenterArgv } from './netns.js';
import { nativeBin } from './paths.js';
import { loadSpec, type TestbedSpec } from './spec.js';
import { logDir, readState, removeState, writeState, type InstalledFailure, type TestbedState } from './state.js';
import { planTopology, resolveLink, type PlanHost, type TopologyPlan } from './topology.js';
import { startTraffic, type TrafficOptions, type TrafficRun } from './traffic.js';
import type { TrafficResult } from './meter.js';

const log = logger.child({ module: 'testbed' });

export interface UpOptions {
  /** Namespace prefix (1-8 chars [a-z0-9]). @default 'ps' */
  prefix?: string;
  /** Address each host's bridge so tenant sockets can run in the host namespace. @default false */
  localTenant?: boolean;
  progress?: (line: string) => void;
}

export interface DownResult {
  prefix: string;
  namespaces_removed: string[];
  processes_ended: number;
  duration_ms: number;
}

export const STATUS_SCHEMA = 'pathsteer.testbed.status/v1';

/** `pathsteer testbed status --json`; documented in src/testbed/README.md. */
export interface TestbedStatus {
  schema: typeof STATUS_SCHEMA;
  prefix: string;
  name: string;
  phase: TestbedState['phase'];
  /** Every namespace of the plan exists. */
  up: boolean;
  created_at: string;
  local_tenant: boolean;
  tunnel: { type: string; port: number; vni: number; device: string };
  mtu: { underlay: number; tenant: number };
  namespaces: { expected: number; present: number; missing: string[] };
  hosts: HostInfo[];
  gateways: Array<{ name: string; netns: string; leaf: string; underlay: UnderlayInfo[]; prefixes: string[] }>;
  routers: Array<{ name: string; role: 'spine' | 'leaf'; region: string; netns: string; loopback: string; routes: number }>;
  links: LinkInfo[];
}

export interface UnderlayInfo {
  ifname: string;
  ip: string;
  prefix_len: number;
  peer_ip: string;
  leaf: string;
  link: string;
}

export interface HostInfo {
  name: string;
  netns: string;
  leaf: string;
  /** Tunnel source address (= the first uplink's address). */
  vtep_ip: string;
  underlay: UnderlayInfo[];
  /** `ifname` is the (first) tunnel device; `devices` lists all (Geneve: one per peer). */
  tunnel: { ifname: string; type: string; vni: number; port: number; devices: Array<{ ifname: string; peer_vtep: string | null }> };
  bridge: string;
  /** Bridge address in local-tenant mode, else null. */
  tenant_ip: string | null;
  vms: Array<{ name: string; netns: string; ifname: string; ip: string; mac: string; host_port: string }>;
}

export interface LinkInfo {
  name: string;
  kind: string;
  a: { node: string; netns: string; ifname: string; ip: string };
  b: { node: string; netns: string; ifname: string; ip: string };
  mtu: number;
  delay_ms: number;
  jitter_ms: number;
  rate_mbit: number;
  failure: null | {
    kind: InstalledFailure['kind'];
    direction: InstalledFailure['direction'];
    loss_pct?: number;
    delay_ms?: number;
    jitter_ms?: number;
    installed_at: string;
  };
}

function hostInfo(plan: TopologyPlan, h: PlanHost, localTenant: boolean): HostInfo {
  const t = plan.spec.tunnel;
  const devices = tunnelDevices(plan, h);
  return {
    name: h.name,
    netns: h.netns,
    leaf: h.leaf,
    vtep_ip: h.vtep,
    underlay: h.uplinks.map((u) => ({ ifname: u.ifname, ip: u.ip, prefix_len: u.prefixLen, peer_ip: u.peerIp, leaf: u.leaf, link: u.link })),
    tunnel: {
      ifname: devices[0]?.ifname ?? t.device,
      type: t.type,
      vni: t.vni,
      port: t.port,
      devices: devices.map((d) => ({ ifname: d.ifname, peer_vtep: d.peer ?? null })),
    },
    bridge: h.bridge,
    tenant_ip: localTenant ? h.tenantIp : null,
    vms: h.vms.map((v) => ({ name: v.name, netns: v.netns, ifname: v.ifname, ip: v.ip, mac: v.mac, host_port: v.hostPort })),
  };
}

export class Testbed {
  private constructor(
    readonly plan: TopologyPlan,
    private state: TestbedState,
  ) {}

  get prefix(): string {
    return this.plan.prefix;
  }

  get spec(): TestbedSpec {
    return this.plan.spec;
  }

  get localTenant(): boolean {
    return this.state.localTenant;
  }

  /**
   * Build the fabric. Rejects (UsageError) when anything with this prefix
   * already exists; on failure halfway everything created is removed again.
   */
  static async up(specOrPath: TestbedSpec | string, opts: UpOptions = {}): Promise<Testbed> {
    const spec = typeof specOrPath === 'string' ? loadSpec(specOrPath) : specOrPath;
    const prefix = checkPrefix(opts.prefix ?? 'ps');
    const plan = planTopology(spec, prefix);
    checkUpFeatures(spec.tunnel.type, {
      delay: plan.links.some((l) => l.props.delayMs > 0 || l.props.jitterMs > 0),
      rate: plan.links.some((l) => l.props.rateMbit > 0),
    });
    const existing = (await listNetns()).filter((n) => n.startsWith(`${prefix}-`));
    if (readState(prefix) || existing.length) {
      throw new UsageError(
        `testbed "${prefix}" is already up (${existing.length} namespaces${readState(prefix) ? ', state file present' : ''}); ` +
          `run \`pathsteer testbed down --prefix ${prefix}\` first or pick another --prefix`,
      );
    }
    const state: TestbedState = {
      schema: 'pathsteer.testbed.state/v1',
      prefix,
      spec,
      localTenant: opts.localTenant ?? false,
      created_at: new Date().toISOString(),
      phase: 'creating',
      failures: {},
      shaping: [],
      queues: {},
    };
    writeState(state);
    const t0 = performance.now();
    try {
      await applyFabric(
        plan,
        { localTenant: state.localTenant, ...(plan.vms.length ? { clearHashObj: nativeBin('clear_hash.bpf.o') } : {}) },
        opts.progress,
      );
      if (plan.links.some((l) => l.props.delayMs || l.props.jitterMs || l.props.rateMbit)) {
        opts.progress?.('installing link delay/rate from the spec');
        await installShaping(plan, state, logDir(prefix));
      }
    } catch (e) {
      log.warn({ err: String(e) }, 'testbed up failed; removing what was created');
      await teardownPrefix(prefix).catch(() => undefined);
      removeState(prefix);
      throw e;
    }
    state.phase = 'up';
    writeState(state);
    log.debug({ prefix, namespaces: plan.namespaces.length, ms: Math.round(performance.now() - t0) }, 'testbed up');
    return new Testbed(plan, state);
  }

  /** Bring a testbed up, run `fn` on it, and always take it down again (benchmarks, demos). */
  static async with<T>(specOrPath: TestbedSpec | string, opts: UpOptions, fn: (tb: Testbed) => Promise<T>): Promise<T> {
    const tb = await Testbed.up(specOrPath, opts);
    try {
      return await fn(tb);
    } finally {
      await Testbed.down(tb.prefix);
    }
  }

  /** The testbed brought up with `prefix` (by this or another process). */
  static load(prefix: string): Testbed {
    const state = readState(checkPrefix(prefix));
    if (!state) throw new UsageError(`no testbed "${prefix}" is up (no state file); bring one up with \`pathsteer testbed up --spec FILE --prefix ${prefix}\``);
    return new Testbed(planTopology(state.spec, prefix), state);
  }

  /**
   * Remove everything named `<prefix>-*` (processes inside, then namespaces)
   * and the state file. Needs no state, so it also cleans up after a crash.
   */
  static async down(prefix: string): Promise<DownResult> {
    checkPrefix(prefix);
    const t0 = performance.now();
    const r = await teardownPrefix(prefix);
    removeState(prefix);
    const left = (await listNetns()).filter((n) => n.startsWith(`${prefix}-`));
    if (left.length) throw new PathsteerError(`could not remove namespaces ${left.join(', ')}`);
    return {
      prefix,
      namespaces_removed: r.namespaces.sort(),
      processes_ended: r.processes.length,
      duration_ms: Math.round(performance.now() - t0),
    };
  }

  /** Re-read the state file (another process may have failed or healed links). */
  refresh(): this {
    const s = readState(this.prefix);
    if (!s) throw new UsageError(`testbed "${this.prefix}" is no longer up`);
    this.state = s;
    return this;
  }

  /** Host details the data plane and agents need (netns, uplinks, tunnel device, VMs). */
  host(name: string): HostInfo {
    const h = this.plan.hosts.find((x) => x.name === name);
    if (!h) throw new UsageError(`no host named "${name}"; hosts: ${this.plan.hosts.map((x) => x.name).join(', ')}`);
    return hostInfo(this.plan, h, this.localTenant);
  }

  hosts(): HostInfo[] {
    return this.plan.hosts.map((h) => hostInfo(this.plan, h, this.localTenant));
  }

  /** Namespace of any node (router, host, gateway, VM). */
  netns(node: string): string {
    const ns = `${this.prefix}-${node}`;
    if (!this.plan.namespaces.includes(ns)) throw new UsageError(`no node named "${node}" in testbed "${this.prefix}"`);
    return ns;
  }

  /** Run argv inside a node's namespace (nsenter --net: /sys/fs/bpf stays visible). */
  exec(node: string, argv: readonly string[], opts: Omit<RunOptions, 'netns'> = {}): Promise<RunResult> {
    return run(nsenterArgv(this.netns(node), argv), opts);
  }

  /** argv that runs a program inside a node's namespace, for callers that spawn it themselves. */
  nsenterArgv(node: string, argv: readonly string[]): string[] {
    return nsenterArgv(this.netns(node), argv);
  }

  async status(): Promise<TestbedStatus> {
    const present = new Set(await listNetns());
    const missing = this.plan.namespaces.filter((n) => !present.has(n));
    const { spec } = this.plan;
    return {
      schema: STATUS_SCHEMA,
      prefix: this.prefix,
      name: spec.name,
      phase: this.state.phase,
      up: missing.length === 0 && this.state.phase === 'up',
      created_at: this.state.created_at,
      local_tenant: this.localTenant,
      tunnel: { type: spec.tunnel.type, port: spec.tunnel.port, vni: spec.tunnel.vni, device: spec.tunnel.device },
      mtu: { underlay: spec.underlayMtu, tenant: spec.tenantMtu },
      namespaces: { expected: this.plan.namespaces.length, present: this.plan.namespaces.length - missing.length, missing },
      hosts: this.hosts(),
      gateways: this.plan.gateways.map((g) => ({
        name: g.name,
        netns: g.netns,
        leaf: g.leaf,
        underlay: g.uplinks.map((u) => ({ ifname: u.ifname, ip: u.ip, prefix_len: u.prefixLen, peer_ip: u.peerIp, leaf: u.leaf, link: u.link })),
        prefixes: g.prefixes,
      })),
      routers: this.plan.routers.map((r) => ({ name: r.name, role: r.role, region: r.region, netns: r.netns, loopback: r.loopback, routes: r.routes.length })),
      links: this.plan.links.map((l) => {
        const f = this.state.failures[l.name];
        return {
          name: l.name,
          kind: l.kind,
          a: { node: l.a.node, netns: l.a.netns, ifname: l.a.ifname, ip: l.a.ip },
          b: { node: l.b.node, netns: l.b.netns, ifname: l.b.ifname, ip: l.b.ip },
          mtu: l.mtu,
          delay_ms: l.props.delayMs,
          jitter_ms: l.props.jitterMs,
          rate_mbit: l.props.rateMbit,
          failure: f
            ? {
                kind: f.kind,
                direction: f.direction,
                ...(f.loss_pct !== undefined ? { loss_pct: f.loss_pct } : {}),
                ...(f.delay_ms !== undefined ? { delay_ms: f.delay_ms } : {}),
                ...(f.jitter_ms !== undefined ? { jitter_ms: f.jitter_ms } : {}),
                installed_at: f.installed_at,
              }
            : null,
        };
      }),
    };
  }

  /** Current failures by canonical link name. */
  failures(): Record<string, InstalledFailure> {
    return { ...this.state.failures };
  }

  /**
   * Break a link (`spine1-leaf2`; `leaf2-spine1` also works and flips a-b/b-a).
   * A failure already on the link is replaced.
   */
  async fail(linkName: string, req: FailureRequest): Promise<InstalledFailure> {
    const { link, reversed } = resolveLink(this.plan, linkName);
    try {
      return await installFailure(this.plan, this.state, logDir(this.prefix), link, reversed, req);
    } finally {
      writeState(this.state);
    }
  }

  /** Heal one link, or every failed link when `linkName` is omitted. Returns the healed link names. */
  async heal(linkName?: string): Promise<string[]> {
    const names = linkName === undefined ? Object.keys(this.state.failures) : [resolveLink(this.plan, linkName).link.name];
    const healed: string[] = [];
    try {
      for (const n of names) if (await removeFailure(this.plan, this.state, n)) healed.push(n);
    } finally {
      writeState(this.state);
    }
    return healed;
  }

  /** Start tenant traffic; see TrafficOptions. */
  startTraffic(opts: TrafficOptions): TrafficRun {
    return startTraffic(this.plan, this.localTenant, opts);
  }

  /** Run tenant traffic to the end and return the meter's result. */
  traffic(opts: TrafficOptions): Promise<TrafficResult> {
    return this.startTraffic(opts).result;
  }

  /** A precisely timed drop of matching packets arriving on a node's interface (see startDropWindow). */
  dropWindow(opts: { node: string; ifname: string; match: string[]; atNs: bigint; durationMs: number }): Promise<DropWindow> {
    return startDropWindow({ logDir: logDir(this.prefix), netns: this.netns(opts.node), ifname: opts.ifname, match: opts.match, atNs: opts.atNs, durationMs: opts.durationMs });
  }
}
