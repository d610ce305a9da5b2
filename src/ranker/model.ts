/**
 * Everything the estimator needs, built deterministically from a resolved
 * scenario: topology, the current network state (failures + ongoing
 * mitigations), one state per candidate, the traffic and transport models and
 * the sample counts. The main thread and every worker build the same model
 * from the same data, so a sample's result does not depend on where it runs.
 */
import { UsageError } from '../common/errors.js';
import { autoCandidates, type CandidateSpec } from './candidates.js';
import { meanSize } from './cdf.js';
import type { EstimatorConfig, TransportModel } from './estimator.js';
import { Router } from './routing.js';
import type { ResolvedScenario, Scenario } from './scenario.js';
import { applyAction, applyFailure, baseState, cloneState, type Action, type NetState } from './state.js';
import { dkwSampleCount } from './stats.js';
import { buildClos, buildGraph, type Topology } from './topology.js';
import { moveDrainedTraffic, type PairModel, type Trace, type TrafficModel } from './traffic.js';
import { modelLossTable, modelRttTable, type LossTable, type Protocol, type TransportParams } from './transport.js';

export interface Candidate {
  name: string;
  actions: Action[];
  state: NetState;
  router: Router;
  /** False when the candidate partitions the network for the traffic's server pairs. */
  feasible: boolean;
  /** Why it is infeasible. */
  note?: string;
}

export interface Model {
  resolved: ResolvedScenario;
  scenario: Scenario;
  topo: Topology;
  /** State with failures and ongoing mitigations: what "no action" leaves. */
  current: NetState;
  /** The topology with no failures and no mitigations (Linear comparator's reference). */
  healthy: NetState;
  candidates: Candidate[];
  traffic: TrafficModel;
  transport: TransportModel;
  cfg: EstimatorConfig;
  trafficSamples: number;
  routingSamples: number;
}

export function buildTopology(s: Scenario): Topology {
  const t = s.topology;
  if (t.kind === 'clos') return buildClos(t);
  return buildGraph(t);
}

function serverIndex(topo: Topology, ref: number | string, where: string): number {
  if (typeof ref === 'number') {
    if (ref >= topo.nServers) throw new UsageError(`${where}: server ${ref} does not exist (0..${topo.nServers - 1})`);
    return ref;
  }
  const v = topo.nodeByName.get(ref);
  if (v === undefined || v >= topo.nServers) throw new UsageError(`${where}: no server named ${JSON.stringify(ref)}`);
  return v;
}

function pairModel(s: Scenario, topo: Topology): PairModel {
  const p = s.traffic.pairs;
  if (p.kind === 'uniform') {
    if (topo.nServers < 2) throw new UsageError('traffic.pairs: uniform traffic needs at least 2 servers');
    return p;
  }
  if (p.kind === 'servers') {
    const src = new Float64Array(topo.nServers).fill(p.defaultWeight);
    const dst = new Float64Array(topo.nServers).fill(p.defaultWeight);
    p.weights.forEach((w, i) => {
      const v = serverIndex(topo, w.server, `traffic.pairs.weights[${i}].server`);
      src[v] = w.src;
      dst[v] = w.dst;
    });
    const pos = (a: Float64Array): number => a.reduce((n, x) => n + (x > 0 ? 1 : 0), 0);
    if (pos(src) < 1 || pos(dst) < 1 || (pos(src) === 1 && pos(dst) === 1 && src.findIndex((x) => x > 0) === dst.findIndex((x) => x > 0))) {
      throw new UsageError('traffic.pairs.weights: needs servers with positive src and dst weights that are not all the same server');
    }
    return { kind: 'servers', src, dst };
  }
  const src = new Int32Array(p.pairs.length);
  const dst = new Int32Array(p.pairs.length);
  const weight = new Float64Array(p.pairs.length);
  p.pairs.forEach((x, i) => {
    src[i] = serverIndex(topo, x.src, `traffic.pairs.pairs[${i}].src`);
    dst[i] = serverIndex(topo, x.dst, `traffic.pairs.pairs[${i}].dst`);
    if (src[i] === dst[i]) throw new UsageError(`traffic.pairs.pairs[${i}]: src and dst are the same server`);
    weight[i] = x.weight;
  });
  return { kind: 'pairs', src, dst, weight };
}

/** Server pairs (as ToR pairs plus server access links) that carry traffic: used for the partition check. */
function activeServers(pm: PairModel, topo: Topology): { src: Uint8Array; dst: Uint8Array; pairs?: Array<[number, number]> } {
  const S = topo.nServers;
  if (pm.kind === 'uniform') return { src: new Uint8Array(S).fill(1), dst: new Uint8Array(S).fill(1) };
  if (pm.kind === 'servers') return { src: Uint8Array.from(pm.src, (x) => (x > 0 ? 1 : 0)), dst: Uint8Array.from(pm.dst, (x) => (x > 0 ? 1 : 0)) };
  const pairs: Array<[number, number]> = [];
  for (let i = 0; i < pm.src.length; i++) pairs.push([pm.src[i]!, pm.dst[i]!]);
  return { src: new Uint8Array(S), dst: new Uint8Array(S), pairs };
}

/** Why a state cannot carry the traffic (a partition), or undefined when it can. */
export function partitionCheck(model: Pick<Model, 'topo' | 'traffic'>, state: NetState, router: Router): string | undefined {
  const topo = model.topo;
  const act = activeServers(model.traffic.pairs, topo);
  const drained = state.drained;
  const bad: string[] = [];
  const moved = (s: number): boolean => drained[topo.serverTor[s]!] === 1; // its traffic runs elsewhere
  if (act.pairs) {
    for (const [a, b] of act.pairs) {
      if (moved(a) || moved(b)) continue;
      if (!router.reachable(a, b)) bad.push(`${topo.nodeName[a]}->${topo.nodeName[b]}`);
      if (bad.length > 3) break;
    }
  } else {
    // Reachability is per ToR pair plus each server's access link.
    const srcTors = new Set<number>();
    const dstTors = new Set<number>();
    for (let s = 0; s < topo.nServers && bad.length <= 3; s++) {
      if (moved(s)) continue;
      const t = topo.serverTor[s]!;
      const up = topo.serverUplink[s]!;
      const down = topo.serverDownlink[s]!;
      if (act.src[s]) {
        srcTors.add(t);
        if (!router.usable[up]) bad.push(`${topo.nodeName[s]} (no uplink)`);
      }
      if (act.dst[s]) {
        dstTors.add(t);
        if (!router.usable[down]) bad.push(`${topo.nodeName[s]} (no downlink)`);
      }
    }
    outer: for (const ta of srcTors) {
      for (const tb of dstTors) {
        if (ta !== tb && !router.torReachable(ta, tb)) {
          bad.push(`${topo.nodeName[ta]}->${topo.nodeName[tb]}`);
          if (bad.length > 3) break outer;
        }
      }
    }
  }
  if (bad.length === 0) return undefined;
  return `partitions the network: no route for ${bad.slice(0, 3).join(', ')}${bad.length > 3 ? ', ...' : ''}`;
}

/** A state is asymmetric when anything is disabled, down or has lost capacity (WCMP then differs from ECMP). */
export function isAsymmetric(st: NetState): boolean {
  const t = st.topo;
  for (let l = 0; l < t.nLinks; l++) {
    if (st.linkFailed[l] || st.linkDisabled[l] || st.capacity[l]! < t.capacityBps[l]!) return true;
  }
  for (let v = t.nServers; v < t.nNodes; v++) if (st.nodeDisabled[v]) return true;
  return false;
}

export function stateWith(current: NetState, actions: Action[], where: string): NetState {
  const st = cloneState(current);
  actions.forEach((a, i) => applyAction(st, a, `${where}.actions[${i}]`));
  return st;
}

export function transportModel(r: ResolvedScenario): TransportModel {
  const s = r.scenario;
  const tp = s.transport;
  const params: TransportParams = { mss: tp.mss, initCwnd: tp.initCwnd, minRtoMs: tp.minRtoMs, initRtoMs: tp.initRtoMs, handshake: tp.handshake };
  const protocols: Protocol[] = [];
  const weights: number[] = [];
  for (const p of ['cubic', 'bbr'] as const) {
    const w = tp.protocols[p] ?? 0;
    if (w > 0) {
      protocols.push(p);
      weights.push(w);
    }
  }
  const total = weights.reduce((a, b) => a + b, 0);
  let acc = 0;
  const protocolCum = weights.map((w) => (acc += w / total));
  protocolCum[protocolCum.length - 1] = 1;
  const lossTables: LossTable[] = protocols.map((p) => r.lossTables[p] ?? modelLossTable(p, params));
  const rttTable = r.rttTable ?? modelRttTable(params, s.estimator.shortFlowBytes);
  const q = tp.queue;
  const queue = r.queueTable ?? ('file' in q ? undefined : { kind: 'model' as const, bufferBytes: q.bufferKB * 1024, standingFraction: q.standingFraction, mss: tp.mss });
  if (!queue) throw new UsageError('transport.queue: table file was not resolved');
  return { params, protocols, protocolCum, lossTables, rttTable, queue };
}

/**
 * Build the model; `extra` adds candidates (e.g. baseline choices) after the
 * scenario's own. `specs`, when given, replaces the scenario's candidates
 * (workers get the main thread's list instead of regenerating it).
 */
export function buildModel(r: ResolvedScenario, extra: CandidateSpec[] = [], specs?: CandidateSpec[]): Model {
  const s = r.scenario;
  const topo = buildTopology(s);
  const current = baseState(topo);
  s.failures.forEach((f, i) => applyFailure(current, f, `failures[${i}]`));
  if (s.routing === 'wcmp-capacity') current.wcmpCapacity = true;
  s.ongoing.forEach((a, i) => applyAction(current, a, `ongoing[${i}]`));
  const healthy = baseState(topo);
  const totalServerBps = (() => {
    let sum = 0;
    for (let sv = 0; sv < topo.nServers; sv++) sum += topo.capacityBps[topo.serverUplink[sv]!]!;
    return sum;
  })();
  const pairs = pairModel(s, topo);
  const arrivalRate = s.traffic.arrivalRate ?? ((s.traffic.load ?? 0) * totalServerBps) / (8 * meanSize(r.cdf));
  const traffic: TrafficModel = { arrivalRate, durationS: s.traffic.durationMs / 1000, cdf: r.cdf, pairs };
  const own: CandidateSpec[] =
    specs ??
    (s.candidates === 'auto'
      ? autoCandidates(s, topo, (acts, other) => {
          const a = stateWith(current, acts, 'candidates');
          if (!isAsymmetric(a)) return false;
          return !new Router(a).sameSplits(new Router(stateWith(a, [other], 'candidates')));
        })
      : s.candidates);
  const names = new Set<string>();
  const all = [...own, ...extra];
  const candidates: Candidate[] = all.map((c, i) => {
    if (names.has(c.name)) throw new UsageError(`candidates[${i}].name: ${JSON.stringify(c.name)} is used twice`);
    names.add(c.name);
    const state = stateWith(current, c.actions, `candidates[${i}]`);
    const router = new Router(state);
    return { name: c.name, actions: c.actions, state, router, feasible: true };
  });
  const horizonS = (s.estimator.horizonMs ?? s.traffic.durationMs * 20) / 1000;
  const cfg: EstimatorConfig = {
    epochS: s.estimator.epochMs / 1000,
    shortFlowBytes: s.estimator.shortFlowBytes,
    solver: s.estimator.solver,
    measureFromS: s.traffic.measureMs[0] / 1000,
    measureToS: s.traffic.measureMs[1] / 1000,
    horizonS: Math.max(horizonS, s.traffic.measureMs[1] / 1000),
  };
  const c = s.confidence;
  const model: Model = {
    resolved: r,
    scenario: s,
    topo,
    current,
    healthy,
    candidates,
    traffic,
    transport: transportModel(r),
    cfg,
    trafficSamples: c.trafficSamples ?? dkwSampleCount(c.alpha, c.trafficEpsilon),
    routingSamples: c.routingSamples ?? dkwSampleCount(c.alpha, c.routingEpsilon),
  };
  for (const cand of candidates) {
    const note = partitionCheck(model, cand.state, cand.router);
    if (note) {
      cand.feasible = false;
      cand.note = note;
    }
  }
  return model;
}

/** The trace a candidate sees: drained ToRs' traffic moved (same move in every sample). */
export function candidateTrace(model: Model, cand: Candidate, tr: Trace): Trace {
  return moveDrainedTraffic(tr, model.topo, cand.state.drained, model.scenario.seed);
}

