/**
 * Candidate mitigations. Either listed in the scenario or generated from the
 * failures and ongoing mitigations per SWARM Table 2:
 * - packet drop on a link above the ToR: leave it, or disable the link;
 * - packet drop at a ToR: leave it, or drain it (disable it and move its
 *   servers' traffic); at a T1/T2: leave it, or disable the switch;
 * - capacity loss (congestion) on a link: leave it, disable the link, or
 *   disable the device at its upper end (SWARM §E);
 * - every ongoing disable/drain: keep it, or bring the link/switch back;
 * - routing: ECMP, or capacity-proportional WCMP when that changes some
 *   split (the network is asymmetric where it matters).
 * Candidates are the cross product, minus duplicates of the same state.
 */
import { UsageError } from '../common/errors.js';
import type { Scenario } from './scenario.js';
import { actionLabel, type Action, type Failure } from './state.js';
import { TIER_SERVER, TIER_T0, type Topology } from './topology.js';

export interface CandidateSpec {
  name: string;
  actions: Action[];
}

const MAX_AUTO = 96;

function tierOf(t: Topology, name: string): number {
  const v = t.nodeByName.get(name);
  return v === undefined ? -1 : t.tier[v]!;
}

/** Options (each a list of actions) one failure offers. */
function failureOptions(t: Topology, f: Failure): Action[][] {
  switch (f.type) {
    case 'link-drop': {
      const above = tierOf(t, f.link[0]) !== TIER_SERVER && tierOf(t, f.link[1]) !== TIER_SERVER;
      return above ? [[], [{ type: 'disable-link', link: f.link }]] : [[]];
    }
    case 'switch-drop':
      return tierOf(t, f.node) === TIER_T0 ? [[], [{ type: 'drain-tor', node: f.node }]] : [[], [{ type: 'disable-switch', node: f.node }]];
    case 'capacity': {
      if (f.fraction >= 1) return [[]];
      const [a, b] = f.link;
      const upper = tierOf(t, a) > tierOf(t, b) ? a : b;
      const opts: Action[][] = [[], [{ type: 'disable-link', link: f.link }]];
      if (tierOf(t, upper) > TIER_T0) opts.push([{ type: 'disable-switch', node: upper }]);
      return opts;
    }
    case 'link-down':
      return [[]];
  }
}

function ongoingOptions(a: Action): Action[][] {
  switch (a.type) {
    case 'disable-link':
      return [[], [{ type: 'enable-link', link: a.link }]];
    case 'disable-switch':
    case 'drain-tor':
      return [[], [{ type: 'enable-switch', node: a.node }]];
    default:
      return [[]];
  }
}

/**
 * Generate candidates from the failures (Table 2); `routingMatters(actions, other)`
 * says whether switching routing mode after `actions` changes any split.
 */
export function autoCandidates(s: Scenario, t: Topology, routingMatters: (actions: Action[], other: Action) => boolean): CandidateSpec[] {
  // A failure on a link or switch an ongoing mitigation already took out is
  // decided by that mitigation's options (keep it out, or bring it back).
  const key = (x: readonly [string, string]): string => [...x].sort().join(' ');
  const outLinks = new Set<string>();
  const outNodes = new Set<string>();
  for (const a of s.ongoing) {
    if (a.type === 'disable-link') outLinks.add(key(a.link));
    if (a.type === 'disable-switch' || a.type === 'drain-tor') outNodes.add(a.node);
  }
  const live = s.failures.filter((f) => ('link' in f ? !outLinks.has(key(f.link)) : !outNodes.has(f.node)));
  const groups: Action[][][] = [...live.map((f) => failureOptions(t, f)), ...s.ongoing.map(ongoingOptions)];
  let combos: Action[][] = [[]];
  for (const g of groups) {
    const next: Action[][] = [];
    for (const c of combos) for (const o of g) next.push([...c, ...o]);
    combos = next;
  }
  const out: CandidateSpec[] = [];
  const current = s.routing;
  for (const c of combos) {
    const base = c.length === 0 ? 'no action' : c.map(actionLabel).join(' + ');
    out.push({ name: base, actions: c.length ? c : [{ type: 'noop' }] });
    const other: Action = current === 'ecmp' ? { type: 'wcmp', mode: 'capacity' } : { type: 'ecmp' };
    if (routingMatters(c, other)) {
      out.push({ name: `${base} + ${current === 'ecmp' ? 'WCMP' : 'ECMP'}`, actions: [...c, other] });
    }
  }
  if (out.length > MAX_AUTO) {
    throw new UsageError(`candidates: "auto" would generate ${out.length} candidates (more than ${MAX_AUTO}); list the candidates explicitly`);
  }
  return out;
}
