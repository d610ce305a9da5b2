/**
 * The network graph the ranker reasons about: servers under ToRs (T0), an
 * aggregation tier (T1) grouped in pods, and a spine tier (T2), joined by
 * directed links stored in typed arrays (SWARM §3.3 "network state
 * representation": every edge has a capacity and a drop rate, every node a drop
 * rate). Built from a Clos generator (SWARM Fig. 2 is `pods 2, torsPerPod 2,
 * t1PerPod 2, t2 4`) or from an explicit graph.
 *
 * Node ids: servers are 0..nServers-1, switches follow. Each undirected link
 * is two directed links `l` and `reverse[l]`.
 */
import { UsageError } from '../common/errors.js';

export const TIER_SERVER = 0;
export const TIER_T0 = 1;
export const TIER_T1 = 2;
export const TIER_T2 = 3;
export const TIER_NAMES = ['server', 't0', 't1', 't2'] as const;

export interface Topology {
  nNodes: number;
  nServers: number;
  nodeName: string[];
  nodeByName: Map<string, number>;
  /** TIER_* per node. */
  tier: Int8Array;
  /** Pod of servers, T0 and T1 nodes; -1 for T2. */
  pod: Int32Array;
  /** The ToR of each server. */
  serverTor: Int32Array;
  /** Servers of each ToR (CSR over node ids of ToRs): torServers[torServerPtr[t]..torServerPtr[t+1]). */
  torServerPtr: Int32Array;
  torServers: Int32Array;
  /** Node ids of all ToRs. */
  tors: Int32Array;
  nLinks: number;
  from: Int32Array;
  to: Int32Array;
  reverse: Int32Array;
  capacityBps: Float64Array;
  delayS: Float64Array;
  /** Outgoing directed links per node (CSR). */
  outPtr: Int32Array;
  outLinks: Int32Array;
  /** Outgoing links to a higher tier per node (CSR). */
  upPtr: Int32Array;
  upLinks: Int32Array;
  /** "a b" -> directed link a->b. */
  linkByPair: Map<string, number>;
  /** Directed link server -> its ToR, and ToR -> server, per server. */
  serverUplink: Int32Array;
  serverDownlink: Int32Array;
  /** T1 switches per pod (CSR over pod numbers) and all T2 switches. */
  podT1Ptr: Int32Array;
  podT1: Int32Array;
  t2s: Int32Array;
}

export interface ClosSpec {
  pods: number;
  torsPerPod: number;
  t1PerPod: number;
  serversPerTor: number;
  /** Number of spine (T2) switches; 0 builds a two-tier leaf-spine (pods must be 1). */
  t2: number;
  /** `planes`: T1 j of every pod connects to the j-th group of t2/t1PerPod spines (fat-tree); `full`: every T1 to every T2. */
  wiring: 'planes' | 'full';
  capacityGbps: { server: number; t0t1: number; t1t2: number };
  delayUs: { server: number; t0t1: number; t1t2: number };
  names: { server: string; t0: string; t1: string; t2: string };
}

export interface GraphSpec {
  switches: Array<{ name: string; tier: 't0' | 't1' | 't2'; pod: number }>;
  links: Array<{ a: string; b: string; capacityGbps: number; delayUs: number }>;
  servers: Array<{ tor: string; count: number; capacityGbps: number; delayUs: number }>;
  serverPrefix: string;
}

class Builder {
  names: string[] = [];
  tiers: number[] = [];
  pods: number[] = [];
  byName = new Map<string, number>();
  from: number[] = [];
  to: number[] = [];
  cap: number[] = [];
  delay: number[] = [];
  pair = new Map<string, number>();

  node(name: string, tier: number, pod: number): number {
    if (this.byName.has(name)) throw new UsageError(`topology: node name ${JSON.stringify(name)} is used twice`);
    const id = this.names.length;
    this.names.push(name);
    this.tiers.push(tier);
    this.pods.push(pod);
    this.byName.set(name, id);
    return id;
  }

  link(a: number, b: number, capBps: number, delayS: number): void {
    const key = `${a} ${b}`;
    if (this.pair.has(key)) throw new UsageError(`topology: link ${this.names[a]}-${this.names[b]} is listed twice`);
    for (const [x, y] of [
      [a, b],
      [b, a],
    ] as const) {
      this.pair.set(`${x} ${y}`, this.from.length);
      this.from.push(x);
      this.to.push(y);
      this.cap.push(capBps);
      this.delay.push(delayS);
    }
  }

  build(nServers: number, serverTor: number[]): Topology {
    const nNodes = this.names.length;
    const nLinks = this.from.length;
    const from = Int32Array.from(this.from);
    const to = Int32Array.from(this.to);
    const reverse = new Int32Array(nLinks);
    for (let l = 0; l < nLinks; l++) reverse[l] = l ^ 1;
    const outPtr = new Int32Array(nNodes + 1);
    for (let l = 0; l < nLinks; l++) outPtr[from[l]! + 1]!++;
    for (let v = 0; v < nNodes; v++) outPtr[v + 1]! += outPtr[v]!;
    const fill = outPtr.slice(0, nNodes);
    const outLinks = new Int32Array(nLinks);
    for (let l = 0; l < nLinks; l++) outLinks[fill[from[l]!]!++] = l;
    const tier = Int8Array.from(this.tiers);
    const upPtr = new Int32Array(nNodes + 1);
    const isUp = (l: number): boolean => tier[to[l]!]! > tier[from[l]!]!;
    for (let l = 0; l < nLinks; l++) if (isUp(l)) upPtr[from[l]! + 1]!++;
    for (let v = 0; v < nNodes; v++) upPtr[v + 1]! += upPtr[v]!;
    const ufill = upPtr.slice(0, nNodes);
    const upLinks = new Int32Array(upPtr[nNodes]!);
    for (let l = 0; l < nLinks; l++) if (isUp(l)) upLinks[ufill[from[l]!]!++] = l;
    const tors: number[] = [];
    for (let v = 0; v < nNodes; v++) if (tier[v] === TIER_T0) tors.push(v);
    const torServerPtr = new Int32Array(nNodes + 1);
    for (const t of serverTor) torServerPtr[t + 1]!++;
    for (let v = 0; v < nNodes; v++) torServerPtr[v + 1]! += torServerPtr[v]!;
    const sfill = torServerPtr.slice(0, nNodes);
    const torServers = new Int32Array(nServers);
    serverTor.forEach((t, s) => {
      torServers[sfill[t]!++] = s;
    });
    const linkByPair = new Map<string, number>();
    for (const [k, v] of this.pair) linkByPair.set(k, v);
    const serverUplink = new Int32Array(nServers);
    const serverDownlink = new Int32Array(nServers);
    serverTor.forEach((t, sv) => {
      serverUplink[sv] = this.pair.get(`${sv} ${t}`)!;
      serverDownlink[sv] = this.pair.get(`${t} ${sv}`)!;
    });
    const pods = Int32Array.from(this.pods);
    let maxPod = 0;
    for (let v = 0; v < nNodes; v++) if (tier[v] === TIER_T1) maxPod = Math.max(maxPod, pods[v]!);
    const podT1Ptr = new Int32Array(maxPod + 2);
    for (let v = 0; v < nNodes; v++) if (tier[v] === TIER_T1) podT1Ptr[pods[v]! + 1]!++;
    for (let q = 0; q <= maxPod; q++) podT1Ptr[q + 1]! += podT1Ptr[q]!;
    const pfill = podT1Ptr.slice(0, maxPod + 1);
    const podT1 = new Int32Array(podT1Ptr[maxPod + 1]!);
    for (let v = 0; v < nNodes; v++) if (tier[v] === TIER_T1) podT1[pfill[pods[v]!]!++] = v;
    const t2s: number[] = [];
    for (let v = 0; v < nNodes; v++) if (tier[v] === TIER_T2) t2s.push(v);
    return {
      nNodes,
      nServers,
      nodeName: this.names,
      nodeByName: this.byName,
      tier,
      pod: pods,
      serverTor: Int32Array.from(serverTor),
      torServerPtr,
      torServers,
      tors: Int32Array.from(tors),
      nLinks,
      from,
      to,
      reverse,
      capacityBps: Float64Array.from(this.cap),
      delayS: Float64Array.from(this.delay),
      outPtr,
      outLinks,
      upPtr,
      upLinks,
      linkByPair,
      serverUplink,
      serverDownlink,
      podT1Ptr,
      podT1,
      t2s: Int32Array.from(t2s),
    };
  }
}

/** Generate a Clos (SWARM Fig. 2 shape at any size). */
export function buildClos(s: ClosSpec): Topology {
  if (s.t2 === 0 && s.pods !== 1) throw new UsageError('topology: a two-tier Clos (t2: 0) must have exactly one pod');
  if (s.wiring === 'planes' && s.t2 > 0 && s.t2 % s.t1PerPod !== 0) {
    throw new UsageError(`topology: planes wiring needs t2 (${s.t2}) to be a multiple of t1PerPod (${s.t1PerPod}); use wiring "full" otherwise`);
  }
  const b = new Builder();
  const nTor = s.pods * s.torsPerPod;
  const nServers = nTor * s.serversPerTor;
  // Servers first so their ids are 0..nServers-1; their ToR ids are known in advance.
  const torBase = nServers;
  const serverTor: number[] = [];
  for (let i = 0; i < nServers; i++) {
    const t = Math.floor(i / s.serversPerTor);
    b.node(`${s.names.server}${i}`, TIER_SERVER, Math.floor(t / s.torsPerPod));
    serverTor.push(torBase + t);
  }
  for (let t = 0; t < nTor; t++) b.node(`${s.names.t0}${t}`, TIER_T0, Math.floor(t / s.torsPerPod));
  const t1Base = b.names.length;
  for (let p = 0; p < s.pods; p++) for (let j = 0; j < s.t1PerPod; j++) b.node(`${s.names.t1}${p * s.t1PerPod + j}`, TIER_T1, p);
  const t2Base = b.names.length;
  for (let k = 0; k < s.t2; k++) b.node(`${s.names.t2}${k}`, TIER_T2, -1);
  const g = 1e9;
  const us = 1e-6;
  for (let i = 0; i < nServers; i++) b.link(i, serverTor[i]!, s.capacityGbps.server * g, s.delayUs.server * us);
  for (let t = 0; t < nTor; t++) {
    const p = Math.floor(t / s.torsPerPod);
    for (let j = 0; j < s.t1PerPod; j++) b.link(torBase + t, t1Base + p * s.t1PerPod + j, s.capacityGbps.t0t1 * g, s.delayUs.t0t1 * us);
  }
  const perPlane = s.t2 / s.t1PerPod;
  for (let p = 0; p < s.pods; p++) {
    for (let j = 0; j < s.t1PerPod; j++) {
      const t1 = t1Base + p * s.t1PerPod + j;
      for (let k = 0; k < s.t2; k++) {
        if (s.wiring === 'planes' && Math.floor(k / perPlane) !== j) continue;
        b.link(t1, t2Base + k, s.capacityGbps.t1t2 * g, s.delayUs.t1t2 * us);
      }
    }
  }
  return b.build(nServers, serverTor);
}

/** Build an explicit graph; links must join adjacent tiers (t0-t1, t1-t2). */
export function buildGraph(s: GraphSpec): Topology {
  const b = new Builder();
  const tierOf: Record<string, number> = { t0: TIER_T0, t1: TIER_T1, t2: TIER_T2 };
  const sw = new Map<string, { tier: number; pod: number }>();
  for (const x of s.switches) {
    if (sw.has(x.name)) throw new UsageError(`topology: switch ${JSON.stringify(x.name)} is listed twice`);
    sw.set(x.name, { tier: tierOf[x.tier]!, pod: x.tier === 't2' ? -1 : x.pod });
  }
  const nServers = s.servers.reduce((a, x) => a + x.count, 0);
  const order = [...sw.keys()];
  const serverTorName: string[] = [];
  const serverCap: number[] = [];
  const serverDelay: number[] = [];
  s.servers.forEach((x, i) => {
    const t = sw.get(x.tor);
    if (!t) throw new UsageError(`topology.servers[${i}].tor: no switch named ${JSON.stringify(x.tor)}`);
    if (t.tier !== TIER_T0) throw new UsageError(`topology.servers[${i}].tor: ${x.tor} is not a t0 switch`);
    for (let k = 0; k < x.count; k++) {
      serverTorName.push(x.tor);
      serverCap.push(x.capacityGbps);
      serverDelay.push(x.delayUs);
    }
  });
  for (let i = 0; i < nServers; i++) b.node(`${s.serverPrefix}${i}`, TIER_SERVER, sw.get(serverTorName[i]!)!.pod);
  for (const n of order) b.node(n, sw.get(n)!.tier, sw.get(n)!.pod);
  const serverTor = serverTorName.map((n) => b.byName.get(n)!);
  for (let i = 0; i < nServers; i++) b.link(i, serverTor[i]!, serverCap[i]! * 1e9, serverDelay[i]! * 1e-6);
  s.links.forEach((x, i) => {
    const a = sw.get(x.a);
    const c = sw.get(x.b);
    if (!a) throw new UsageError(`topology.links[${i}].a: no switch named ${JSON.stringify(x.a)}`);
    if (!c) throw new UsageError(`topology.links[${i}].b: no switch named ${JSON.stringify(x.b)}`);
    if (Math.abs(a.tier - c.tier) !== 1) throw new UsageError(`topology.links[${i}]: ${x.a}-${x.b} must join adjacent tiers (t0-t1 or t1-t2)`);
    const lower = a.tier < c.tier ? a : c;
    const upper = a.tier < c.tier ? c : a;
    if (lower.tier === TIER_T0 && upper.pod !== lower.pod) throw new UsageError(`topology.links[${i}]: ${x.a}-${x.b} joins a t0 to a t1 of another pod`);
    b.link(b.byName.get(x.a)!, b.byName.get(x.b)!, x.capacityGbps * 1e9, x.delayUs * 1e-6);
  });
  return b.build(nServers, serverTor);
}

/** The directed link a->b by node names; throws UsageError naming `where` if absent. */
export function linkByNames(t: Topology, a: string, b: string, where: string): number {
  const x = t.nodeByName.get(a);
  const y = t.nodeByName.get(b);
  if (x === undefined) throw new UsageError(`${where}: no node named ${JSON.stringify(a)}`);
  if (y === undefined) throw new UsageError(`${where}: no node named ${JSON.stringify(b)}`);
  const l = t.linkByPair.get(`${x} ${y}`);
  if (l === undefined) throw new UsageError(`${where}: there is no link between ${a} and ${b}`);
  return l;
}

export function nodeByName(t: Topology, name: string, where: string): number {
  const v = t.nodeByName.get(name);
  if (v === undefined) throw new UsageError(`${where}: no node named ${JSON.stringify(name)}`);
  return v;
}

/** "a-b" label of a directed link. */
export function linkLabel(t: Topology, l: number): string {
  return `${t.nodeName[t.from[l]!]}-${t.nodeName[t.to[l]!]}`;
}
