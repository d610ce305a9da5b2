/**
 * Routing-probability computation on the SWARM Fig. 2 Clos (C = ToRs, B =
 * T1s, A = spines; B0/B2 reach A0,A1 and B1/B3 reach A2,A3): ECMP, WCMP
 * weights, capacity WCMP, disabled links and switches, the valley-free / one-AS
 * -per-pod rule, partitions, and that sampled paths follow the probabilities.
 */
import { describe, expect, it } from 'vitest';
import { Router } from '../../src/ranker/routing.js';
import { applyAction, applyFailure, baseState, type NetState } from '../../src/ranker/state.js';
import { buildClos, buildGraph, linkByNames, linkLabel } from '../../src/ranker/topology.js';
import { UsageError } from '../../src/common/errors.js';

const topo = buildClos({
  pods: 2,
  torsPerPod: 2,
  t1PerPod: 2,
  t2: 4,
  serversPerTor: 2,
  wiring: 'planes',
  capacityGbps: { server: 10, t0t1: 10, t1t2: 10 },
  delayUs: { server: 5, t0t1: 5, t1t2: 5 },
  names: { server: 'h', t0: 'C', t1: 'B', t2: 'A' },
});
const h = (i: number): number => topo.nodeByName.get(`h${i}`)!;

/** Path distribution as "node-node-..." -> probability. */
function dist(st: NetState, s: number, t: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (const p of new Router(st).pathDistribution(s, t)) {
    const nodes = [topo.nodeName[topo.from[p.links[0]!]!]!, ...p.links.map((l) => topo.nodeName[topo.to[l]!]!)];
    out[nodes.join(' ')] = p.probability;
  }
  return out;
}

describe('routing probabilities', () => {
  it('the Fig. 2 Clos has the expected shape', () => {
    expect(topo.nServers).toBe(8);
    expect(topo.tors.length).toBe(4);
    expect(linkLabel(topo, linkByNames(topo, 'B0', 'A1', 'x'))).toBe('B0-A1');
    expect(() => linkByNames(topo, 'B0', 'A2', 'failures[0].link')).toThrow(/failures\[0\]\.link: there is no link between B0 and A2/);
  });

  it('ECMP: four equal inter-pod paths, two intra-pod paths that never touch a spine, one intra-rack path', () => {
    const st = baseState(topo);
    expect(dist(st, h(0), h(4))).toEqual({
      'h0 C0 B0 A0 B2 C2 h4': 0.25,
      'h0 C0 B0 A1 B2 C2 h4': 0.25,
      'h0 C0 B1 A2 B3 C2 h4': 0.25,
      'h0 C0 B1 A3 B3 C2 h4': 0.25,
    });
    expect(dist(st, h(0), h(2))).toEqual({ 'h0 C0 B0 C1 h2': 0.5, 'h0 C0 B1 C1 h2': 0.5 });
    expect(dist(st, h(0), h(1))).toEqual({ 'h0 C0 h1': 1 });
  });

  it('a disabled link is withdrawn everywhere upstream', () => {
    const st = baseState(topo);
    applyAction(st, { type: 'disable-link', link: ['C2', 'B2'] }, 'test');
    // C2 is reachable only via B3, so only the plane of A2/A3 carries C0 -> C2 traffic.
    expect(dist(st, h(0), h(4))).toEqual({ 'h0 C0 B1 A2 B3 C2 h4': 0.5, 'h0 C0 B1 A3 B3 C2 h4': 0.5 });
    // Within pod 1, C3 -> C2 now only via B3.
    expect(dist(st, h(6), h(4))).toEqual({ 'h6 C3 B3 C2 h4': 1 });
  });

  it('a pod never routes back into itself through a spine (one AS per pod)', () => {
    const st = baseState(topo);
    applyAction(st, { type: 'disable-link', link: ['C1', 'B0'] }, 'test');
    applyAction(st, { type: 'disable-link', link: ['C0', 'B1'] }, 'test');
    // C0 reaches only B0, C1 only B1: no path C0 -> B0 -> A -> B1 -> C1 in BGP, so they are cut off.
    const r = new Router(st);
    expect(r.pathDistribution(h(0), h(2))).toEqual([]);
    expect(r.reachable(h(0), h(2))).toBe(false);
    expect(r.reachable(h(0), h(4))).toBe(true);
  });

  it('static WCMP weights split in proportion', () => {
    const st = baseState(topo);
    applyAction(st, { type: 'wcmp', weights: [{ link: ['C0', 'B0'], weight: 3 }] }, 'test');
    const d = dist(st, h(0), h(4));
    expect(d['h0 C0 B0 A0 B2 C2 h4']).toBeCloseTo(0.375, 12);
    expect(d['h0 C0 B1 A2 B3 C2 h4']).toBeCloseTo(0.125, 12);
  });

  it('capacity WCMP follows the capacity left towards the destination', () => {
    const st = baseState(topo);
    applyFailure(st, { type: 'capacity', link: ['B0', 'A0'], fraction: 0.5 }, 'test');
    const ecmp = dist(st, h(0), h(4));
    expect(ecmp['h0 C0 B0 A0 B2 C2 h4']).toBeCloseTo(0.25, 12);
    st.wcmpCapacity = true;
    const w = dist(st, h(0), h(4));
    // C0: B0 has 5+10 Gbps up, B1 20, both above the 10 Gbps C0 uplink, so the ToR splits equally.
    // B0: A0 carries min(5, 10) = 5, A1 10 -> 1/3 vs 2/3.
    expect(w['h0 C0 B0 A0 B2 C2 h4']).toBeCloseTo(0.5 * (5 / 15), 12);
    expect(w['h0 C0 B0 A1 B2 C2 h4']).toBeCloseTo(0.5 * (10 / 15), 12);
    expect(Object.values(w).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
  });

  it('a disabled spine and a drained ToR are routed around; draining a ToR cuts its servers off', () => {
    const st = baseState(topo);
    applyAction(st, { type: 'disable-switch', node: 'A0' }, 'test');
    expect(Object.keys(dist(st, h(0), h(4)))).not.toContain('h0 C0 B0 A0 B2 C2 h4');
    expect(dist(st, h(0), h(4))['h0 C0 B0 A1 B2 C2 h4']).toBeCloseTo(0.5, 12);
    applyAction(st, { type: 'drain-tor', node: 'C2' }, 'test');
    expect(new Router(st).reachable(h(0), h(4))).toBe(false);
    expect(() => applyAction(st, { type: 'drain-tor', node: 'B0' }, 'ongoing[0]')).toThrow(/ongoing\[0\]\.node: B0 is not a ToR/);
    expect(() => applyAction(st, { type: 'enable-link', link: ['C0', 'B0'] }, 'x')).toThrow(/not disabled/);
  });

  it('sampled paths follow the computed probabilities', () => {
    const st = baseState(topo);
    applyAction(st, { type: 'wcmp', weights: [{ link: ['C0', 'B0'], weight: 3 }, { link: ['B1', 'A3'], weight: 4 }] }, 'test');
    const r = new Router(st);
    const want = r.pathDistribution(h(0), h(5));
    const counts = new Map<string, number>();
    const out = new Int32Array(16);
    const n = 40_000;
    let x = 12345;
    for (let i = 0; i < n; i++) {
      const end = r.samplePath(h(0), h(5), () => ((x = (Math.imul(x, 1103515245) + 12345) >>> 0) / 4294967296), out, 0);
      const key = Array.from(out.subarray(0, end)).join(',');
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    for (const p of want) expect(Math.abs((counts.get(p.links.join(',')) ?? 0) / n - p.probability)).toBeLessThan(0.01);
  });

  it('an explicit graph (testbed Clos: every T1 to every T2) routes the same way', () => {
    const g = buildGraph({
      switches: [
        { name: 'tor1', tier: 't0', pod: 0 },
        { name: 'tor2', tier: 't0', pod: 1 },
        { name: 'agg1', tier: 't1', pod: 0 },
        { name: 'agg2', tier: 't1', pod: 1 },
        { name: 'core1', tier: 't2', pod: 0 },
        { name: 'core2', tier: 't2', pod: 0 },
      ],
      links: [
        { a: 'tor1', b: 'agg1', capacityGbps: 10, delayUs: 1 },
        { a: 'tor2', b: 'agg2', capacityGbps: 10, delayUs: 1 },
        { a: 'agg1', b: 'core1', capacityGbps: 10, delayUs: 1 },
        { a: 'agg1', b: 'core2', capacityGbps: 10, delayUs: 1 },
        { a: 'agg2', b: 'core1', capacityGbps: 10, delayUs: 1 },
        { a: 'agg2', b: 'core2', capacityGbps: 10, delayUs: 1 },
      ],
      servers: [
        { tor: 'tor1', count: 1, capacityGbps: 10, delayUs: 1 },
        { tor: 'tor2', count: 1, capacityGbps: 10, delayUs: 1 },
      ],
      serverPrefix: 's',
    });
    const paths = new Router(baseState(g)).pathDistribution(0, 1);
    expect(paths.map((p) => p.probability)).toEqual([0.5, 0.5]);
    expect(() =>
      buildGraph({
        switches: [
          { name: 't', tier: 't0', pod: 0 },
          { name: 'c', tier: 't2', pod: 0 },
        ],
        links: [{ a: 't', b: 'c', capacityGbps: 1, delayUs: 1 }],
        servers: [{ tor: 't', count: 1, capacityGbps: 1, delayUs: 1 }],
        serverPrefix: 's',
      }),
    ).toThrow(UsageError);
  });
});
