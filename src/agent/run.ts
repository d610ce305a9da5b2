/**
 * Run the agent for real on one interface. Phases, each of which a stop
 * (SIGINT/SIGTERM, the abort signal) can end within moments:
 *
 *   startup   everything that can fail is checked before the data plane is
 *             touched: bpffs (mounted when missing), the interface and its
 *             IPv4 address, no other agent on the interface (status socket),
 *             the agent's UDP port and the metrics address are bound;
 *   attach    the data plane is attached (or adopted): from here a stop or an
 *             error detaches again (unless keepPins), and a forced exit (second
 *             signal, stop deadline) runs the same detach synchronously;
 *   running   maps opened, agent started, one log line says so;
 *   shutdown  agent stopped, sockets closed, then detach (or keep the pins:
 *             the data plane forwards on its last table and the next agent
 *             adopts it).
 *
 * `PATHSTEER_TEST_PAUSE=phase=ms[,phase=ms]` holds the agent at a phase for
 * tests of stopping in that phase (logged as `test pause`); nothing else reads it.
 */
import { networkInterfaces } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { UsageError } from '../common/errors.js';
import { logger } from '../common/logger.js';
import { ensureBpffs, ifIndex } from '../loader/index.js';
import { clearPortsInUse } from '../maps/activity.js';
import { attach, detach, PIN_ROOT, SportMaps, type AttachResult } from '../maps/dataplane.js';
import type { PathEntry } from '../maps/path-entry.js';
import { macToBackendId } from '../protocol/index.js';
import { Agent } from './agent.js';
import type { PathStore } from './fast-table.js';
import type { AgentConfig } from './options.js';
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

/** IPv4 address and MAC of an interface in this network namespace; UsageError saying what is missing. */
export function interfaceAddress(ifname: string): { ip: string; mac: string } {
  if (!ifIndex(ifname)) throw new UsageError(`no interface ${ifname} in this network namespace (see ip link)`);
  // os.networkInterfaces() lists only interfaces that are up and running
  const v4 = (networkInterfaces()[ifname] ?? []).find((a) => a.family === 'IPv4' && !a.internal);
  if (!v4) throw new UsageError(`interface ${ifname} is down or has no IPv4 address: the agent needs it up, with one as its VTEP address`);
  return { ip: v4.address, mac: v4.mac };
}

/** Where the agent was when it stopped. */
export type AgentPhase = 'startup' | 'attach' | 'running' | 'shutdown';

export interface RunHooks {
  /** Called once the agent runs. */
  onReady?: (a: Agent) => void;
  /**
   * Hand over (or, with undefined, withdraw) the synchronous cleanup the
   * process must run if it exits before runAgent returns (a second signal, a
   * stop deadline): detach, unless keepPins.
   */
  onForcedExit?: (cleanup: (() => void) | undefined) => void;
}

function testPauses(): Map<string, number> {
  const out = new Map<string, number>();
  for (const part of (process.env.PATHSTEER_TEST_PAUSE ?? '').split(',')) {
    const [k, v] = part.split('=');
    if (k && v && Number(v) > 0) out.set(k.trim(), Number(v));
  }
  return out;
}

/** A stop arrived in this phase. */
class StopRequested extends Error {
  constructor(readonly phase: AgentPhase) {
    super(`stopped during ${phase}`);
  }
}

/**
 * Run until `signal` aborts. Returns the phase the stop arrived in; throws
 * (after undoing what it did) when the agent cannot start.
 */
export async function runAgent(cfg: AgentConfig, signal: AbortSignal, hooks: RunHooks = {}): Promise<AgentPhase> {
  const pauses = testPauses();
  const checkpoint = async (phase: AgentPhase): Promise<void> => {
    const ms = pauses.get(phase);
    if (ms && !signal.aborted) {
      log.info({ phase, ms }, 'test pause');
      await sleep(ms, undefined, { signal }).catch(() => undefined);
    }
    if (signal.aborted) throw new StopRequested(phase);
  };

  let server: StatusServer | undefined;
  let transport: UdpTransport | undefined;
  let att: AttachResult | undefined;
  let maps: SportMaps | undefined;
  let agent: Agent | undefined;
  let stoppedIn: AgentPhase = 'running';
  const undoAttach = (): void => {
    if (!att) return;
    att = undefined;
    hooks.onForcedExit?.(undefined);
    if (cfg.keepPins) {
      log.info({ iface: cfg.iface }, 'stopped; filters and pinned maps kept (fail-static)');
    } else {
      const d = detach(cfg.iface);
      log.info({ iface: cfg.iface, ...d }, 'stopped and detached');
    }
  };
  try {
    // -- startup: nothing attached yet; every check that can fail happens here
    await checkpoint('startup');
    const bpffs = ensureBpffs(PIN_ROOT);
    const { ip, mac } = interfaceAddress(cfg.iface);
    server = await StatusServer.start(
      cfg.iface,
      {
        status: () => agent?.status() ?? { schema: 'pathsteer.agent.status/v1', iface: cfg.iface, state: 'starting' },
        metrics: () => agent?.metrics.registry.expose() ?? '',
      },
      cfg.metrics,
    );
    transport = await UdpTransport.open(cfg.agentPort);
    await checkpoint('startup');

    // -- attach
    att = attach({ ifname: cfg.iface, vxlanPort: cfg.tunnelPort, agentPort: cfg.agentPort });
    const forced = (): void => {
      if (!cfg.keepPins) detach(cfg.iface);
    };
    hooks.onForcedExit?.(forced);
    await checkpoint('attach');

    // -- running
    maps = SportMaps.open(cfg.iface);
    const m = maps;
    agent = new Agent(
      cfg,
      {
        transport,
        store: new MapPathStore(m),
        activity: () => m.activityByPeer(),
        dataplaneStats: () => m.stats(),
        localVtep: cfg.vtep ?? ip,
        backendId: macToBackendId(cfg.backendId ?? mac),
        socketState: () => readUdpSocket(cfg.agentPort),
        reflector: new MapReflector(m.reflect),
        clearPortsInUse: (peers) => clearPortsInUse(m.activity, peers),
      },
      log,
    );
    agent.start();
    const rec = att.record;
    log.info(
      {
        iface: cfg.iface,
        vtep: cfg.vtep ?? ip,
        role: cfg.role,
        reflector: cfg.reflector,
        egress: rec.egress.program,
        ingress: rec.ingress?.program ?? null,
        pinDir: rec.pinDir,
        bpffs,
        adopted: att.reusedPins.length > 0,
        peers: cfg.peers,
        agentPort: cfg.agentPort,
        intervalMs: cfg.probeIntervalMs,
      },
      `agent started on ${cfg.iface} (VTEP ${cfg.vtep ?? ip}${cfg.role !== 'host' ? `, ${cfg.role}` : ''}): ${rec.egress.program} on egress, ${rec.ingress?.program ?? 'no program'} on ingress, maps in ${rec.pinDir}${bpffs === 'mounted' ? ' (bpffs mounted here)' : ''}, peers ${cfg.peers.length > 0 ? cfg.peers.join(' ') : 'from tunnel traffic'}`,
    );
    hooks.onReady?.(agent);
    await checkpoint('running');
    await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
  } catch (e) {
    if (!(e instanceof StopRequested)) throw e;
    stoppedIn = e.phase;
    log.info({ iface: cfg.iface, phase: e.phase }, `stopped during ${e.phase}`);
  } finally {
    // -- shutdown (also after a failed start: undo what was done, newest first)
    const ms = pauses.get('shutdown');
    if (ms && agent) {
      log.info({ phase: 'shutdown', ms }, 'test pause');
      await sleep(ms);
    }
    await agent?.stop(); // closes the transport too
    if (!agent) await transport?.close();
    await server?.close();
    maps?.close();
    undoAttach();
  }
  return stoppedIn;
}
