/**
 * Baselines SWARM compares against (§4.1), each turned into the actions it
 * would take from the current state, and the performance-penalty metric.
 *
 * - NetPilot (Wu et al., SIGCOMM'12): for every candidate, the maximum link
 *   utilisation under the expected traffic (ECMP/WCMP splits of the mean
 *   demand); it does not model utilisation on faulty links, so it only accepts
 *   actions that take every faulty (dropping) component out, and picks the one
 *   with the lowest maximum utilisation (NetPilot-Orig). NetPilot-80/-99 take
 *   that action only if its maximum utilisation stays below 80%/99%, else do
 *   nothing. With no dropping component (pure congestion) it minimises maximum
 *   utilisation over all candidates.
 * - CorrOpt (Zhuo et al., SIGCOMM'17): only corrupting links above the ToR;
 *   disables them, worst first, while every ToR keeps at least the threshold
 *   fraction (25/50/75%) of its healthy paths to the spine.
 * - Operator playbook (Azure, §2 and §4.1): a link above the ToR dropping at
 *   >= 1e-6 is disabled if its lower switch keeps at least the threshold
 *   fraction (25/50/75%) of its uplinks; loss above 1e-3 at or below a ToR
 *   drains the ToR; congestion gets no action.
 *
 * Baselines never bring back a link an earlier mitigation disabled.
 */
import { meanSize } from './cdf.js';
import type { CandidateSpec } from './candidates.js';
import { METRIC_INFO, type MetricKey } from './comparators.js';
import { stateWith, type Model } from './model.js';
import { Router } from './routing.js';
import { linkUsable, type Action, type NetState } from './state.js';
import { TIER_SERVER, TIER_T1, TIER_T2, type Topology } from './topology.js';

export interface BaselineChoice {
  baseline: string;
  /** The actions taken (empty = no action); undefined when the baseline does not handle the failure. */
  actions?: Action[];
  note: string;
}

/** Expected bps each server sends to each other server, as a ToR-level matrix plus server totals. */
function torDemand(model: Model, st: NetState): { tors: number[]; matrix: Float64Array; serverTx: Float64Array; serverRx: Float64Array } {
  const topo = model.topo;
  const S = topo.nServers;
  const perFlowBits = meanSize(model.traffic.cdf) * 8;
  const totalBps = model.traffic.arrivalRate * perFlowBits;
  // Servers whose ToR is drained have their VMs elsewhere: move their weight uniformly over the others.
  const moved = (s: number): boolean => st.drained[topo.serverTor[s]!] === 1;
  const pm = model.traffic.pairs;
  const srcW = new Float64Array(S);
  const dstW = new Float64Array(S);
  const tors = Array.from(topo.tors);
  const torIdx = new Map(tors.map((t, i) => [t, i]));
  const T = tors.length;
  const matrix = new Float64Array(T * T);
  const serverTx = new Float64Array(S);
  const serverRx = new Float64Array(S);
  const keep: number[] = [];
  for (let s = 0; s < S; s++) if (!moved(s)) keep.push(s);
  const spread = (w: Float64Array): Float64Array => {
    let m = 0;
    for (let s = 0; s < S; s++) if (moved(s)) m += w[s]!;
    const out = w.slice();
    for (let s = 0; s < S; s++) if (moved(s)) out[s] = 0;
    for (const s of keep) out[s]! += m / keep.length;
    return out;
  };
  if (pm.kind === 'pairs') {
    let wsum = 0;
    for (let i = 0; i < pm.weight.length; i++) wsum += pm.weight[i]!;
    for (let i = 0; i < pm.weight.length; i++) {
      const a = moved(pm.src[i]!) ? keep[0]! : pm.src[i]!;
      const b = moved(pm.dst[i]!) ? keep[keep.length - 1]! : pm.dst[i]!;
      const bps = (totalBps * pm.weight[i]!) / wsum;
      matrix[torIdx.get(topo.serverTor[a]!)! * T + torIdx.get(topo.serverTor[b]!)!]! += bps;
      serverTx[a]! += bps;
      serverRx[b]! += bps;
    }
    return { tors, matrix, serverTx, serverRx };
  }
  for (let s = 0; s < S; s++) {
    srcW[s] = pm.kind === 'uniform' ? 1 : pm.src[s]!;
    dstW[s] = pm.kind === 'uniform' ? 1 : pm.dst[s]!;
  }
  const sw = spread(srcW);
  const dw = spread(dstW);
  let ssum = 0;
  let dsum = 0;
  for (let s = 0; s < S; s++) {
    ssum += sw[s]!;
    dsum += dw[s]!;
  }
  // Approximation: independent src and dst choice (ignores the src != dst exclusion).
  const torSrc = new Float64Array(T);
  const torDst = new Float64Array(T);
  for (let s = 0; s < S; s++) {
    const i = torIdx.get(topo.serverTor[s]!)!;
    torSrc[i]! += sw[s]! / ssum;
    torDst[i]! += dw[s]! / dsum;
    serverTx[s] = (totalBps * sw[s]!) / ssum;
    serverRx[s] = (totalBps * dw[s]!) / dsum;
  }
  for (let a = 0; a < T; a++) for (let b = 0; b < T; b++) matrix[a * T + b] = totalBps * torSrc[a]! * torDst[b]!;
  return { tors, matrix, serverTx, serverRx };
}

/** Maximum utilisation over usable links under the expected traffic (NetPilot's metric). */
export function maxUtilization(model: Model, st: NetState): number {
  const topo = model.topo;
  const router = new Router(st);
  const load = new Float64Array(topo.nLinks);
  const d = torDemand(model, st);
  const T = d.tors.length;
  for (let a = 0; a < T; a++) {
    for (let b = 0; b < T; b++) {
      const bps = d.matrix[a * T + b]!;
      if (bps > 0 && a !== b) router.addTorDemand(d.tors[a]!, d.tors[b]!, bps, load);
    }
  }
  for (let s = 0; s < topo.nServers; s++) {
    load[topo.serverUplink[s]!]! += d.serverTx[s]!;
    load[topo.serverDownlink[s]!]! += d.serverRx[s]!;
  }
  let max = 0;
  for (let l = 0; l < topo.nLinks; l++) {
    if (!router.usable[l]) continue;
    max = Math.max(max, load[l]! / st.capacity[l]!);
  }
  return max;
}

/** Components still in service that drop packets. */
function faultyInService(st: NetState): number {
  const t = st.topo;
  let n = 0;
  for (let l = 0; l < t.nLinks; l++) if (st.linkDrop[l]! > 0 && linkUsable(st, l)) n++;
  for (let v = t.nServers; v < t.nNodes; v++) if (st.nodeDrop[v]! > 0 && !st.nodeDisabled[v]) n++;
  return n;
}

function isNoop(c: CandidateSpec): boolean {
  return c.actions.every((a) => a.type === 'noop');
}

/** NetPilot: Orig (threshold undefined) or with a max-utilisation threshold. */
export function netpilot(model: Model, threshold?: number): BaselineChoice {
  const name = threshold === undefined ? 'NetPilot-Orig' : `NetPilot-${Math.round(threshold * 100)}`;
  const scored = model.candidates
    .filter((c) => !c.actions.some((a) => a.type === 'enable-link' || a.type === 'enable-switch'))
    .map((c) => ({ c, faulty: faultyInService(c.state), util: maxUtilization(model, c.state) }));
  const anyFaulty = faultyInService(model.current) > 0;
  const pool = anyFaulty ? scored.filter((x) => x.faulty === 0) : scored;
  if (pool.length === 0) return { baseline: name, actions: [], note: 'no candidate removes every faulty component: no action' };
  pool.sort((a, b) => a.util - b.util);
  const best = pool[0]!;
  if (threshold !== undefined && best.util >= threshold) {
    return { baseline: name, actions: [], note: `best action (${best.c.name}) leaves max utilisation ${(best.util * 100).toFixed(0)}% >= ${Math.round(threshold * 100)}%: no action` };
  }
  return { baseline: name, actions: isNoop(best.c) ? [] : best.c.actions, note: `${best.c.name}: max utilisation ${(best.util * 100).toFixed(0)}%` };
}

/** Paths from each ToR up to the top tier (spine if any, else the T1s) that are usable. */
function pathsToSpine(st: NetState, tor: number): number {
  const t = st.topo;
  const hasT2 = t.tier.some((x) => x === TIER_T2);
  let n = 0;
  for (let i = t.outPtr[tor]!; i < t.outPtr[tor + 1]!; i++) {
    const l = t.outLinks[i]!;
    const u = t.to[l]!;
    if (t.tier[u] !== TIER_T1 || !linkUsable(st, l)) continue;
    if (!hasT2) {
      n++;
      continue;
    }
    for (let j = t.outPtr[u]!; j < t.outPtr[u + 1]!; j++) {
      const l2 = t.outLinks[j]!;
      if (t.tier[t.to[l2]!] === TIER_T2 && linkUsable(st, l2)) n++;
    }
  }
  return n;
}

function aboveTor(t: Topology, l: number): boolean {
  return t.tier[t.from[l]!] !== TIER_SERVER && t.tier[t.to[l]!] !== TIER_SERVER;
}

function linkName(t: Topology, l: number): [string, string] {
  return [t.nodeName[t.from[l]!]!, t.nodeName[t.to[l]!]!];
}

/** Corrupting links above the ToR in service, worst first (one entry per undirected link). */
function corruptLinks(st: NetState): number[] {
  const t = st.topo;
  const out: number[] = [];
  for (let l = 0; l < t.nLinks; l += 2) {
    const d = Math.max(st.linkDrop[l]!, st.linkDrop[l + 1]!);
    if (d > 0 && aboveTor(t, l) && linkUsable(st, l)) out.push(l);
  }
  return out.sort((a, b) => Math.max(st.linkDrop[b]!, st.linkDrop[b + 1]!) - Math.max(st.linkDrop[a]!, st.linkDrop[a + 1]!));
}

export function corrOpt(model: Model, threshold: number): BaselineChoice {
  const name = `CorrOpt-${Math.round(threshold * 100)}`;
  const t = model.topo;
  const links = corruptLinks(model.current);
  if (links.length === 0) return { baseline: name, note: 'CorrOpt only handles corrupting links above the ToR' };
  const healthy = new Map<number, number>();
  for (const tor of t.tors) healthy.set(tor, pathsToSpine(model.healthy, tor));
  const actions: Action[] = [];
  const notes: string[] = [];
  let st = model.current;
  for (const l of links) {
    const act: Action = { type: 'disable-link', link: linkName(t, l) };
    const trial = stateWith(st, [act], name);
    let worst = Number.POSITIVE_INFINITY;
    for (const tor of t.tors) {
      if (trial.nodeDisabled[tor]) continue;
      worst = Math.min(worst, pathsToSpine(trial, tor) / Math.max(1, healthy.get(tor)!));
    }
    if (worst >= threshold) {
      actions.push(act);
      st = trial;
      notes.push(`disable ${act.link.join('-')} (worst ToR keeps ${(worst * 100).toFixed(0)}% of paths)`);
    } else notes.push(`keep ${act.link.join('-')} (would leave a ToR ${(worst * 100).toFixed(0)}% of paths)`);
  }
  return { baseline: name, actions, note: notes.join('; ') };
}

export function operatorPlaybook(model: Model, threshold: number): BaselineChoice {
  const name = `Operator-${Math.round(threshold * 100)}`;
  const t = model.topo;
  const actions: Action[] = [];
  const notes: string[] = [];
  let st = model.current;
  // Loss at or below the ToR above 1e-3: drain the ToR.
  for (const tor of t.tors) {
    let worst = st.nodeDrop[tor]!;
    for (let i = t.torServerPtr[tor]!; i < t.torServerPtr[tor + 1]!; i++) {
      const s = t.torServers[i]!;
      const up = t.serverUplink[s]!;
      worst = Math.max(worst, st.linkDrop[up]!, st.linkDrop[t.reverse[up]!]!);
    }
    if (worst > 1e-3 && !st.nodeDisabled[tor]) {
      const act: Action = { type: 'drain-tor', node: t.nodeName[tor]! };
      actions.push(act);
      st = stateWith(st, [act], name);
      notes.push(`drain ${t.nodeName[tor]} (loss ${worst})`);
    }
  }
  for (const l of corruptLinks(st)) {
    if (Math.max(st.linkDrop[l]!, st.linkDrop[l + 1]!) < 1e-6) continue;
    const lower = t.tier[t.from[l]!]! < t.tier[t.to[l]!]! ? t.from[l]! : t.to[l]!;
    let ups = 0;
    let usable = 0;
    for (let i = t.outPtr[lower]!; i < t.outPtr[lower + 1]!; i++) {
      const x = t.outLinks[i]!;
      if (t.tier[t.to[x]!]! <= t.tier[lower]!) continue;
      ups++;
      if (linkUsable(st, x) && t.to[x] !== t.to[l] && t.to[x] !== t.from[l]) usable++;
    }
    const frac = usable / Math.max(1, ups);
    const act: Action = { type: 'disable-link', link: linkName(t, l) };
    if (frac >= threshold) {
      actions.push(act);
      st = stateWith(st, [act], name);
      notes.push(`disable ${act.link.join('-')} (${usable}/${ups} uplinks left)`);
    } else notes.push(`keep ${act.link.join('-')} (only ${usable}/${ups} uplinks would be left)`);
  }
  if (notes.length === 0) notes.push('no loss the playbook acts on (congestion gets no action)');
  return { baseline: name, actions, note: notes.join('; ') };
}

/** Every baseline variant of SWARM §4.1. */
export function allBaselines(model: Model): BaselineChoice[] {
  return [
    netpilot(model),
    netpilot(model, 0.8),
    netpilot(model, 0.99),
    corrOpt(model, 0.25),
    corrOpt(model, 0.5),
    corrOpt(model, 0.75),
    operatorPlaybook(model, 0.25),
    operatorPlaybook(model, 0.5),
    operatorPlaybook(model, 0.75),
  ];
}

/** Same routing-relevant state? (used to map a baseline's actions to a candidate) */
export function sameState(a: NetState, b: NetState): boolean {
  const eq = (x: ArrayLike<number>, y: ArrayLike<number>): boolean => {
    for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
    return true;
  };
  return (
    a.wcmpCapacity === b.wcmpCapacity &&
    eq(a.linkDisabled, b.linkDisabled) &&
    eq(a.nodeDisabled, b.nodeDisabled) &&
    eq(a.drained, b.drained) &&
    eq(a.weight, b.weight) &&
    eq(a.capacity, b.capacity) &&
    eq(a.linkFailed, b.linkFailed)
  );
}

/**
 * SWARM §4.1 performance penalty (%) of `choice` relative to `best` on one
 * metric: how much worse the choice is (negative when it is better on a
 * metric the comparator ranks lower).
 */
export function penalty(k: MetricKey, choice: number, best: number): number {
  if (!Number.isFinite(choice) || !Number.isFinite(best) || best === 0) return Number.NaN;
  return METRIC_INFO[k].better === 'min' ? ((choice - best) / best) * 100 : ((best - choice) / best) * 100;
}

