/**
 * Run the agent for real on one interface: attach (or adopt) the data plane,
 * open its pinned maps, bind the agent socket, serve status and metrics, and
 * run until the signal aborts. On the way out: detach, unless keepPins (then
 * filters and maps stay: the data plane forwards on the last table, and the
 * next agent adopts it).
 */
import { networkInterfaces } from 'node:os';
import { PathsteerError, UsageError } from '../common/errors.js';
import { logger } from '../common/logger.js';
import { attach, detach, SportMaps } from '../maps/dataplane.js';
import type { PathEntry } from '../maps/path-entry.js';
import { macToBackendId } from '../protocol/index.js';
import { Agent } from './agent.js';
import type { PathStore } from './fast-table.js';
import type { AgentConfig } from './options.js';
import { clearPortsInUse } from '../maps/activity.js';
import { MapReflector } from './reflector.js';
import { readUdpSocket } from './socket-drops.js';
import { StatusServer } from './status-server.js';
import { UdpTransport } from './transport.js';

const log = logger.child({ module: 'agent' });

/** ps_path through the pinned map. */
export class MapPathStore implements PathStore {
  constructor(private readonly maps: SportMaps) {}
  readAll(): Map<string, PathEntry> {
    return new Map(this.maps.path.getAll().map(([k, v]) => [k, v[0]!]));
  }
  write(peer: string, e: PathEntry): void {
    this.maps.path.set(peer, e);
  }
  writeMany(entries: ReadonlyArray<readonly [string, PathEntry]>): void {
    this.maps.path.setMany(entries);
  }
  remove(peer: string): void {
    this.maps.path.delete(peer);
  }
}

/** IPv4 address and MAC of an interface in this network namespace. */
export function interfaceAddress(ifname: string): { ip: string; mac: string } {
  const addrs = networkInterfaces()[ifname];
  if (!addrs) throw new UsageError(`no interface ${ifname} in this network namespace`);
  const v4 = addrs.find((a) => a.family === 'IPv4' && !a.internal);
  if (!v4) throw new UsageError(`interface ${ifname} has no IPv4 address: the agent needs one as its VTEP address`);
  return { ip: v4.address, mac: v4.mac };
}

export interface RunningAgent {
  agent: Agent;
  stop(): Promise<void>;
}

export async function startAgent(cfg: AgentConfig): Promise<RunningAgent> {
  const { ip, mac } = interfaceAddress(cfg.iface);
  const att = attach({ ifname: cfg.iface, vxlanPort: cfg.tunnelPort, agentPort: cfg.agentPort });
  log.info({ iface: cfg.iface, egress: att.record.egress.program, ingress: att.record.ingress?.program, adopted: att.reusedPins, pinDir: att.record.pinDir }, 'data plane ready');
  const maps = SportMaps.open(cfg.iface);
  let transport: UdpTransport;
  try {
    transport = await UdpTransport.open(cfg.agentPort);
  } catch (e) {
    maps.close();
    if (!cfg.keepPins) detach(cfg.iface);
    throw e;
  }
  const agent = new Agent(
    cfg,
    {
      transport,
      store: new MapPathStore(maps),
      activity: () => maps.activityByPeer(),
      dataplaneStats: () => maps.stats(),
      localVtep: cfg.vtep ?? ip,
      backendId: macToBackendId(cfg.backendId ?? mac),
      socketState: () => readUdpSocket(cfg.agentPort),
      reflector: new MapReflector(maps.reflect),
      clearPortsInUse: (peers) => clearPortsInUse(maps.activity, peers),
    },
    log,
  );
  let server: StatusServer | undefined;
  try {
    server = await StatusServer.start(cfg.iface, { status: () => agent.status(), metrics: () => agent.metrics.registry.expose() }, cfg.metrics);
  } catch (e) {
    await transport.close();
    maps.close();
    if (!cfg.keepPins) detach(cfg.iface);
    throw e;
  }
  agent.start();
  log.info(
    { iface: cfg.iface, vtep: cfg.vtep ?? ip, role: cfg.role, reflector: cfg.reflector, agentPort: cfg.agentPort, peers: cfg.peers, intervalMs: cfg.probeIntervalMs },
    'agent running',
  );
  let stopped = false;
  return {
    agent,
    async stop() {
      if (stopped) return;
      stopped = true;
      await agent.stop();
      await server?.close();
      maps.close();
      if (cfg.keepPins) log.info({ iface: cfg.iface }, 'stopped; filters and pinned maps kept (fail-static)');
      else {
        const d = detach(cfg.iface);
        log.info({ iface: cfg.iface, ...d }, 'stopped and detached');
      }
    },
  };
}

/** Run until `signal` aborts; `onReady` is called once the agent runs. */
export async function runAgent(cfg: AgentConfig, signal: AbortSignal, onReady?: (a: Agent) => void): Promise<void> {
  if (signal.aborted) throw new PathsteerError('agent stopped before it started');
  const running = await startAgent(cfg);
  onReady?.(running.agent);
  await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
  await running.stop();
}
