/**
 * Network state = topology + failures + mitigations (SWARM Alg. A.1 line 2,
 * `apply_mitigation`): per directed link whether it is up, its drop rate and
 * remaining capacity, per node whether it is up and its drop rate, and the
 * routing mode. Mitigations only flip these arrays, so a candidate's state is
 * a cheap copy of the base state with its actions applied (§3.4 "efficient
 * network state update").
 */
import { UsageError } from '../common/errors.js';
import { linkByNames, nodeByName, TIER_T0, type Topology } from './topology.js';

/** A link by the names of its two ends. */
export type LinkRef = readonly [string, string];

export type Failure =
  | { type: 'link-drop'; link: LinkRef; dropRate: number; direction: 'both' | 'forward' | 'reverse' }
  | { type: 'switch-drop'; node: string; dropRate: number }
  | { type: 'capacity'; link: LinkRef; fraction: number }
  | { type: 'link-down'; link: LinkRef };

export type Action =
  | { type: 'noop' }
  | { type: 'disable-link'; link: LinkRef }
  | { type: 'enable-link'; link: LinkRef }
  | { type: 'disable-switch'; node: string }
  | { type: 'enable-switch'; node: string }
  | { type: 'drain-tor'; node: string }
  | { type: 'wcmp'; mode: 'capacity' }
  | { type: 'wcmp'; weights: Array<{ link: LinkRef; weight: number }> }
  | { type: 'ecmp' };

export interface NetState {
  topo: Topology;
  /** Link failed down (a failure, cannot be undone by a mitigation). */
  linkFailed: Uint8Array;
  /** Link disabled by an operator (mitigation). */
  linkDisabled: Uint8Array;
  linkDrop: Float64Array;
  capacity: Float64Array;
  /** Static WCMP weight a link's upstream node gives it (1 = ECMP). */
  weight: Float64Array;
  nodeDisabled: Uint8Array;
  nodeDrop: Float64Array;
  /** ToRs whose servers' traffic was moved elsewhere (drain). */
  drained: Uint8Array;
  /** Capacity-proportional WCMP (weights follow the capacity left towards each destination). */
  wcmpCapacity: boolean;
}

export function baseState(topo: Topology): NetState {
  return {
    topo,
    linkFailed: new Uint8Array(topo.nLinks),
    linkDisabled: new Uint8Array(topo.nLinks),
    linkDrop: new Float64Array(topo.nLinks),
    capacity: Float64Array.from(topo.capacityBps),
    weight: new Float64Array(topo.nLinks).fill(1),
    nodeDisabled: new Uint8Array(topo.nNodes),
    nodeDrop: new Float64Array(topo.nNodes),
    drained: new Uint8Array(topo.nNodes),
    wcmpCapacity: false,
  };
}

export function cloneState(s: NetState): NetState {
  return {
    topo: s.topo,
    linkFailed: s.linkFailed.slice(),
    linkDisabled: s.linkDisabled.slice(),
    linkDrop: s.linkDrop.slice(),
    capacity: s.capacity.slice(),
    weight: s.weight.slice(),
    nodeDisabled: s.nodeDisabled.slice(),
    nodeDrop: s.nodeDrop.slice(),
    drained: s.drained.slice(),
    wcmpCapacity: s.wcmpCapacity,
  };
}

/** Is directed link l usable for routing (up, ends up, capacity left)? */
export function linkUsable(s: NetState, l: number): boolean {
  const t = s.topo;
  return !s.linkFailed[l] && !s.linkDisabled[l] && !s.nodeDisabled[t.from[l]!] && !s.nodeDisabled[t.to[l]!] && s.capacity[l]! > 0;
}

export function applyFailure(s: NetState, f: Failure, where: string): void {
  const t = s.topo;
  switch (f.type) {
    case 'link-drop': {
      const l = linkByNames(t, f.link[0], f.link[1], `${where}.link`);
      if (f.direction !== 'reverse') s.linkDrop[l] = combineDrop(s.linkDrop[l]!, f.dropRate);
      if (f.direction !== 'forward') s.linkDrop[t.reverse[l]!] = combineDrop(s.linkDrop[t.reverse[l]!]!, f.dropRate);
      return;
    }
    case 'switch-drop': {
      const v = nodeByName(t, f.node, `${where}.node`);
      if (v < t.nServers) throw new UsageError(`${where}.node: ${f.node} is a server, not a switch`);
      s.nodeDrop[v] = combineDrop(s.nodeDrop[v]!, f.dropRate);
      return;
    }
    case 'capacity': {
      const l = linkByNames(t, f.link[0], f.link[1], `${where}.link`);
      s.capacity[l]! *= f.fraction;
      s.capacity[t.reverse[l]!]! *= f.fraction;
      return;
    }
    case 'link-down': {
      const l = linkByNames(t, f.link[0], f.link[1], `${where}.link`);
      s.linkFailed[l] = 1;
      s.linkFailed[t.reverse[l]!] = 1;
      return;
    }
  }
}

function combineDrop(a: number, b: number): number {
  return 1 - (1 - a) * (1 - b);
}

/** Apply one mitigation action; errors name `where` (e.g. `candidates[2].actions[0]`). */
export function applyAction(s: NetState, a: Action, where: string): void {
  const t = s.topo;
  switch (a.type) {
    case 'noop':
      return;
    case 'disable-link':
    case 'enable-link': {
      const l = linkByNames(t, a.link[0], a.link[1], `${where}.link`);
      if (a.type === 'enable-link') {
        if (s.linkFailed[l]) throw new UsageError(`${where}: ${a.link[0]}-${a.link[1]} is down by a failure; enabling it cannot bring it back`);
        if (!s.linkDisabled[l]) throw new UsageError(`${where}: ${a.link[0]}-${a.link[1]} is not disabled, so there is nothing to bring back`);
      }
      const v = a.type === 'disable-link' ? 1 : 0;
      s.linkDisabled[l] = v;
      s.linkDisabled[t.reverse[l]!] = v;
      return;
    }
    case 'disable-switch':
    case 'enable-switch': {
      const v = nodeByName(t, a.node, `${where}.node`);
      if (v < t.nServers) throw new UsageError(`${where}.node: ${a.node} is a server, not a switch`);
      if (a.type === 'enable-switch' && !s.nodeDisabled[v]) throw new UsageError(`${where}: ${a.node} is not disabled`);
      s.nodeDisabled[v] = a.type === 'disable-switch' ? 1 : 0;
      if (a.type === 'enable-switch') s.drained[v] = 0;
      return;
    }
    case 'drain-tor': {
      const v = nodeByName(t, a.node, `${where}.node`);
      if (t.tier[v] !== TIER_T0) throw new UsageError(`${where}.node: ${a.node} is not a ToR (t0); only ToRs are drained`);
      s.nodeDisabled[v] = 1;
      s.drained[v] = 1;
      return;
    }
    case 'wcmp': {
      if ('mode' in a) {
        s.wcmpCapacity = true;
        return;
      }
      a.weights.forEach((w, i) => {
        const l = linkByNames(t, w.link[0], w.link[1], `${where}.weights[${i}].link`);
        s.weight[l] = w.weight;
      });
      return;
    }
    case 'ecmp':
      s.wcmpCapacity = false;
      s.weight.fill(1);
      return;
  }
}

/** A short human label for an action. */
export function actionLabel(a: Action): string {
  switch (a.type) {
    case 'noop':
      return 'no action';
    case 'disable-link':
      return `disable ${a.link[0]}-${a.link[1]}`;
    case 'enable-link':
      return `bring back ${a.link[0]}-${a.link[1]}`;
    case 'disable-switch':
      return `disable ${a.node}`;
    case 'enable-switch':
      return `bring back ${a.node}`;
    case 'drain-tor':
      return `drain ${a.node}`;
    case 'wcmp':
      return 'mode' in a ? 'WCMP (capacity)' : `WCMP (${a.weights.length} weights)`;
    case 'ecmp':
      return 'ECMP';
  }
}
