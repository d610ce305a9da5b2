/**
 * Failure injection on testbed links without netem (this kernel has none):
 * blackhole and random loss are iptables DROP rules (statistic match) in the
 * raw PREROUTING chain of the namespace a direction's packets arrive in, on
 * that link's interface; delay/jitter is the ps-delayq helper holding NFQUEUE'd
 * packets; link down sets both ends administratively down and gives every
 * router the routes a routing protocol would converge to without the link (a
 * detected failure, routed around; a blackhole is the silent kind). Everything
 * installed is recorded so heal removes exactly that.
 */
import { join } from 'node:path';
import { UsageError } from '../common/errors.js';
import { run } from '../common/exec.js';
import { checkFailFeatures } from './features.js';
import { ipBatch, routeLine, routeLines } from './fabric.js';
import { nsenterArgv } from './netns.js';
import { nativeBin } from './paths.js';
import { spawnHelper, stopHelper, type SpawnedHelper } from './processes.js';
import type { Direction, InstalledFailure, InstalledHelper, InstalledRule, InstalledShaping, TestbedState } from './state.js';
import { routesWithout, type LinkEnd, type PlanLink, type TopologyPlan } from './topology.js';

/** What to do to a link. Exactly one of blackhole, down, or loss and/or delay. */
export interface FailureRequest {
  /** Drop every packet. */
  blackhole?: boolean;
  /** Drop this percentage of packets at random (0 < pct <= 100). */
  lossPct?: number;
  /** Add this one-way delay in ms. */
  delayMs?: number;
  /** Uniform jitter (+-ms) around delayMs. @default 0 */
  jitterMs?: number;
  /** Set both ends administratively down (both directions only). */
  down?: boolean;
  /** Which direction, relative to the link name as given: a-b is traffic from the first-named node. @default both */
  direction?: Direction;
}

export type FailureKind = InstalledFailure['kind'];

/** A failure in the words users give it (`testbed fail` flags, experiment `fail` steps). */
export interface FailureWords {
  blackhole?: boolean;
  loss?: number;
  delay?: number;
  jitter?: number;
  down?: boolean;
  direction?: Direction;
}

/** The FailureRequest those words ask for (only the ones given; not validated: see failureKind). */
export function failureRequest(w: FailureWords): FailureRequest {
  return {
    ...(w.blackhole ? { blackhole: true } : {}),
    ...(w.loss !== undefined ? { lossPct: w.loss } : {}),
    ...(w.delay !== undefined ? { delayMs: w.delay } : {}),
    ...(w.jitter !== undefined ? { jitterMs: w.jitter } : {}),
    ...(w.down ? { down: true } : {}),
    ...(w.direction ? { direction: w.direction } : {}),
  };
}

/** Validate a request and name its kind; UsageError for contradictions. */
export function failureKind(req: FailureRequest): FailureKind {
  const loss = req.lossPct !== undefined;
  const delay = req.delayMs !== undefined;
  const chosen = [req.blackhole ? 'blackhole' : '', req.down ? 'down' : '', loss || delay ? 'loss/delay' : ''].filter(Boolean);
  if (chosen.length !== 1) {
    throw new UsageError('give exactly one of --blackhole, --down, or --loss PCT and/or --delay MS');
  }
  if (loss && !(req.lossPct! > 0 && req.lossPct! <= 100)) throw new UsageError(`--loss must be in (0, 100], got ${req.lossPct}`);
  if (delay && !(req.delayMs! >= 0 && req.delayMs! <= 10_000)) throw new UsageError(`--delay must be in [0, 10000] ms, got ${req.delayMs}`);
  if (req.jitterMs !== undefined) {
    if (!delay) throw new UsageError('--jitter needs --delay');
    if (!(req.jitterMs >= 0 && req.jitterMs <= 10_000)) throw new UsageError(`--jitter must be in [0, 10000] ms, got ${req.jitterMs}`);
  }
  if (req.down && (req.direction ?? 'both') !== 'both') {
    throw new UsageError('--down takes a link down in both directions; use --blackhole for one direction');
  }
  if (req.blackhole) return 'blackhole';
  if (req.down) return 'down';
  return loss && delay ? 'loss+delay' : loss ? 'loss' : 'delay';
}

/**
 * The (from, to) ends a failure applies to. `reversed` says the user named the
 * link b-a; `direction` is relative to the name the user gave.
 */
export function directedEnds(link: PlanLink, reversed: boolean, direction: Direction): Array<{ from: LinkEnd; to: LinkEnd }> {
  const first = reversed ? link.b : link.a;
  const second = reversed ? link.a : link.b;
  const out: Array<{ from: LinkEnd; to: LinkEnd }> = [];
  if (direction === 'both' || direction === 'a-b') out.push({ from: first, to: second });
  if (direction === 'both' || direction === 'b-a') out.push({ from: second, to: first });
  return out;
}

/** Canonical direction (relative to link.name) of a direction given relative to a possibly reversed name. */
export function canonicalDirection(direction: Direction, reversed: boolean): Direction {
  if (!reversed || direction === 'both') return direction;
  return direction === 'a-b' ? 'b-a' : 'a-b';
}

/** iptables rule specs (after the chain) for a DROP, optionally random. */
export function dropRule(ifname: string, tag: string, lossPct?: number): string[] {
  const spec = ['-i', ifname];
  if (lossPct !== undefined && lossPct < 100) {
    spec.push('-m', 'statistic', '--mode', 'random', '--probability', (lossPct / 100).toFixed(6));
  }
  spec.push('-m', 'comment', '--comment', tag, '-j', 'DROP');
  return spec;
}

export function queueRule(ifname: string, tag: string, queue: number, extraMatch: string[] = []): string[] {
  return ['-i', ifname, ...extraMatch, '-m', 'comment', '--comment', tag, '-j', 'NFQUEUE', '--queue-num', String(queue), '--queue-bypass'];
}

async function iptables(netns: string, op: '-I' | '-A' | '-D', rule: InstalledRule, allowFail = false): Promise<void> {
  await run(nsenterArgv(netns, ['iptables', '-w', '5', '-t', rule.table, op, rule.chain, ...rule.spec]), { allowFail });
}

export async function insertRule(rule: InstalledRule): Promise<void> {
  await iptables(rule.netns, '-I', rule);
}

export async function appendRule(rule: InstalledRule): Promise<void> {
  await iptables(rule.netns, '-A', rule);
}

/** Delete a rule we added; a rule already gone (namespace deleted, manual edit) is not an error. */
export async function deleteRule(rule: InstalledRule): Promise<void> {
  await iptables(rule.netns, '-D', rule, true);
}

function nextQueue(state: TestbedState, netns: string): number {
  const q = state.queues[netns] ?? 1;
  state.queues[netns] = q + 1;
  return q;
}

/** Start ps-delayq on a new queue in `netns`. */
export async function startDelayHelper(
  logDir: string,
  netns: string,
  queue: number,
  args: { delayMs?: number; jitterMs?: number; dropAtNs?: bigint; dropForMs?: number; seed?: number },
): Promise<InstalledHelper & { ready: SpawnedHelper['ready'] }> {
  const argv = [nativeBin('ps-delayq'), '--queue', String(queue)];
  if (args.delayMs !== undefined) argv.push('--delay-ms', String(args.delayMs));
  if (args.jitterMs) argv.push('--jitter-ms', String(args.jitterMs));
  if (args.seed !== undefined) argv.push('--seed', String(args.seed));
  if (args.dropAtNs !== undefined) argv.push('--drop-at-ns', args.dropAtNs.toString());
  if (args.dropForMs !== undefined) argv.push('--drop-for-ms', String(args.dropForMs));
  const log = join(logDir, `delayq-${netns}-q${queue}.log`);
  const h = await spawnHelper(netns, argv, log);
  return { netns, pid: h.pid, program: h.program, queue, log, ready: h.ready };
}

/**
 * Install a failure on `link` (already resolved), recording it in `state`
 * (the caller persists). A link that already has a failure is healed first:
 * the new failure replaces it.
 */
export async function installFailure(
  plan: TopologyPlan,
  state: TestbedState,
  logDir: string,
  link: PlanLink,
  reversed: boolean,
  req: FailureRequest,
): Promise<InstalledFailure> {
  const kind = failureKind(req);
  checkFailFeatures(kind === 'loss+delay' ? 'delay' : kind === 'loss' ? 'loss' : kind);
  if (kind === 'loss+delay') checkFailFeatures('loss');
  if (state.failures[link.name]) await removeFailure(plan, state, link.name);
  const direction = req.direction ?? 'both';
  const f: InstalledFailure = {
    link: link.name,
    direction: canonicalDirection(direction, reversed),
    kind,
    ...(req.lossPct !== undefined ? { loss_pct: req.lossPct } : {}),
    ...(req.delayMs !== undefined ? { delay_ms: req.delayMs } : {}),
    ...(req.jitterMs !== undefined ? { jitter_ms: req.jitterMs } : {}),
    installed_at: new Date().toISOString(),
    rules: [],
    helpers: [],
    down: [],
  };
  // Record before acting, so a crash halfway still lets heal/down find what exists.
  state.failures[link.name] = f;
  const tag = `pathsteer:${link.name}`;
  try {
    if (kind === 'down') {
      for (const end of [link.a, link.b]) {
        f.down.push({ netns: end.netns, ifname: end.ifname });
        await ipBatch(end.netns, [`link set dev ${end.ifname} down`]);
      }
      await convergeRoutes(plan, downLinks(state));
      return f;
    }
    for (const { to } of directedEnds(link, reversed, direction)) {
      const rules: InstalledRule[] = [];
      if (kind === 'blackhole') rules.push({ netns: to.netns, table: 'raw', chain: 'PREROUTING', spec: dropRule(to.ifname, tag) });
      if (req.lossPct !== undefined) {
        rules.push({ netns: to.netns, table: 'raw', chain: 'PREROUTING', spec: dropRule(to.ifname, tag, req.lossPct) });
      }
      if (req.delayMs !== undefined) {
        const queue = nextQueue(state, to.netns);
        const h = await startDelayHelper(logDir, to.netns, queue, { delayMs: req.delayMs, jitterMs: req.jitterMs ?? 0 });
        f.helpers.push({ netns: h.netns, pid: h.pid, program: h.program, queue, log: h.log });
        rules.push({ netns: to.netns, table: 'raw', chain: 'PREROUTING', spec: queueRule(to.ifname, tag, queue) });
      }
      // Insert at the top in reverse so the final order is loss, then queue.
      for (const r of [...rules].reverse()) {
        f.rules.push(r);
        await insertRule(r);
      }
    }
  } catch (e) {
    await removeFailure(plan, state, link.name).catch(() => undefined);
    throw e;
  }
  return f;
}

/** Undo the failure on a link (canonical name): rules, helpers, link state and routes. */
export async function removeFailure(plan: TopologyPlan, state: TestbedState, linkName: string): Promise<InstalledFailure | undefined> {
  const f = state.failures[linkName];
  if (!f) return undefined;
  for (const r of [...f.rules].reverse()) await deleteRule(r);
  for (const h of f.helpers) await stopHelper(h);
  delete state.failures[linkName];
  if (f.down.length) {
    for (const d of f.down) await ipBatch(d.netns, [`link set dev ${d.ifname} up`]).catch(() => undefined);
    // Admin-down removed a host's or gateway's default route with its uplink; put it back.
    for (const netns of new Set(f.down.map((d) => d.netns))) {
      if (!plan.routers.some((r) => r.netns === netns)) await ipBatch(netns, routeLines(plan, netns));
    }
    await convergeRoutes(plan, downLinks(state));
  }
  return f;
}

/** Links currently taken down (kind 'down'). */
export function downLinks(state: TestbedState): Set<string> {
  return new Set(Object.values(state.failures).filter((f) => f.kind === 'down').map((f) => f.link));
}

/**
 * Give every router the routes a routing protocol would converge to with the
 * `down` links gone (replace changed routes, delete unreachable ones), so a
 * link taken down is routed around fabric-wide, unlike a silent blackhole.
 */
export async function convergeRoutes(plan: TopologyPlan, down: ReadonlySet<string>): Promise<void> {
  const want = routesWithout(plan, down);
  for (const r of plan.routers) {
    const routes = want.get(r.name) ?? [];
    await ipBatch(r.netns, routes.map(routeLine));
    const keep = new Set(routes.map((x) => x.dst));
    const gone = r.routes.filter((x) => !keep.has(x.dst)).map((x) => `route del ${x.dst}`);
    if (gone.length) await run(['ip', '-n', r.netns, '-force', '-batch', '-'], { input: `${gone.join('\n')}\n`, allowFail: true });
  }
}

/** Static delay/jitter/rate from the spec, installed at `up` and kept until `down`. */
export async function installShaping(plan: TopologyPlan, state: TestbedState, logDir: string): Promise<void> {
  for (const link of plan.links) {
    const { delayMs, jitterMs, rateMbit } = link.props;
    if (!delayMs && !jitterMs && !rateMbit) continue;
    const s: InstalledShaping = { link: link.name, rules: [], helpers: [], qdiscs: [] };
    state.shaping.push(s);
    const tag = `pathsteer-shaping:${link.name}`;
    for (const { from, to } of directedEnds(link, false, 'both')) {
      if (delayMs || jitterMs) {
        const queue = nextQueue(state, to.netns);
        const h = await startDelayHelper(logDir, to.netns, queue, { delayMs, jitterMs });
        s.helpers.push({ netns: h.netns, pid: h.pid, program: h.program, queue, log: h.log });
        const rule: InstalledRule = { netns: to.netns, table: 'raw', chain: 'PREROUTING', spec: queueRule(to.ifname, tag, queue) };
        s.rules.push(rule);
        await appendRule(rule);
      }
      if (rateMbit) {
        const bytesPerSec = (rateMbit * 1e6) / 8;
        const burst = Math.max(4 * link.mtu, Math.round(bytesPerSec / 250));
        await run(
          nsenterArgv(from.netns, ['tc', 'qdisc', 'replace', 'dev', from.ifname, 'root', 'tbf', 'rate', `${rateMbit}mbit`, 'burst', String(burst), 'latency', '50ms']),
        );
        s.qdiscs.push({ netns: from.netns, ifname: from.ifname });
      }
    }
  }
}

/** A precisely timed blackhole of the packets matching `match` that arrive in `netns`. */
export interface DropWindow {
  /** Stop the helper and remove the rule; returns what the helper saw. */
  stop(): Promise<{ dropped: number; first_drop_ns: bigint; last_drop_ns: bigint; queued: number }>;
}

/**
 * Drop every packet arriving on `ifname` in `netns` that matches the iptables
 * `match` (e.g. ["-p","udp","--sport","40000"]) during [atNs, atNs + durationMs)
 * on CLOCK_MONOTONIC (process.hrtime.bigint()), timed by ps-delayq to within
 * microseconds. Used to inject outages of exactly known length.
 */
export async function startDropWindow(opts: {
  logDir: string;
  netns: string;
  ifname: string;
  match: string[];
  atNs: bigint;
  durationMs: number;
  queue?: number;
}): Promise<DropWindow> {
  checkFailFeatures('window');
  const queue = opts.queue ?? 30_000 + Math.floor(Math.random() * 30_000);
  const h = await startDelayHelper(opts.logDir, opts.netns, queue, { dropAtNs: opts.atNs, dropForMs: opts.durationMs });
  const rule: InstalledRule = {
    netns: opts.netns,
    table: 'raw',
    chain: 'PREROUTING',
    spec: queueRule(opts.ifname, 'pathsteer:drop-window', queue, opts.match),
  };
  try {
    await insertRule(rule);
  } catch (e) {
    await stopHelper(h);
    throw e;
  }
  return {
    async stop() {
      await deleteRule(rule);
      const last = (await stopHelper(h)) ?? {};
      return {
        dropped: Number(last.dropped_window ?? 0),
        queued: Number(last.queued ?? 0),
        first_drop_ns: BigInt(String(last.first_drop_ns ?? 0)),
        last_drop_ns: BigInt(String(last.last_drop_ns ?? 0)),
      };
    },
  };
}
