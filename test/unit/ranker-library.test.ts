/**
 * The scenario library (examples/ranker/, SWARM's three incident classes on a
 * Fig. 2-like Clos) at small scale: 4 traffic x 2 routing samples each. The
 * asserted choices and the reasons are the ones documented in
 * src/ranker/README.md; they hold at the files' full sample counts too.
 */
import { describe, expect, it } from 'vitest';
import { rank } from '../../src/ranker/ranker.js';
import { loadScenarioFile, type Comparator } from '../../src/ranker/scenario.js';

const small = { trafficSamples: 4, routingSamples: 2, workers: 2 };

async function best(file: string, comparator?: Comparator): Promise<string> {
  const r = await rank(loadScenarioFile(`examples/ranker/${file}`), { ...small, comparator });
  return r.best;
}

describe('scenario library (SWARM Table A.1 classes)', () => {
  // Scenario 1: link corruption with redundancy.
  it('s1-link-high-loss: disable the 5% link', async () => {
    // 5% loss caps a Cubic flow at a few Mbps and makes tail FCTs wait for
    // 200 ms-1 s timeouts; the congestion on C0's remaining uplink costs far less.
    expect(await best('s1-link-high-loss.json')).toBe('disable C0-B1');
  });

  it('s1-link-low-loss: take no action on a 0.005% link', async () => {
    // At 0.005% few flows lose a packet and none is loss-limited, while
    // disabling halves C0's uplink capacity (1p throughput ~970 -> ~390 Mbps).
    expect(await best('s1-link-low-loss.json')).toBe('no action');
  });

  it('s1-spine-link-high-loss: disable the 5% T1-T2 link', async () => {
    // B0 keeps its other spine; the lossy link would cap every flow crossing it.
    expect(await best('s1-spine-link-high-loss.json')).toBe('disable B0-A0');
  });

  it('s1-two-failures-bring-back: disable the new 5% link and bring back the old 0.005% one', async () => {
    // SWARM App. F: disabling both would cut C0 off (infeasible); keeping the
    // 5% link hurts tail FCT; the 0.005% link is nearly harmless, so swap them.
    expect(await best('s1-two-failures-bring-back.json')).toBe('disable C0-B1 + bring back C0-B0');
  });

  it('s1-two-failures-low-second: leave the new 0.005% link alone and keep the 5% one out', async () => {
    // Bringing back C0-B0 (5%) would restore capacity but put the tail FCT
    // back at timeout scale; disabling C1-B1 too would congest both ToRs of the pod.
    expect(await best('s1-two-failures-low-second.json')).toBe('no action');
  });

  // Scenario 2: congestion after a capacity cut.
  it('s2-capacity-cut: shift traffic off the half-capacity link with WCMP', async () => {
    // Under ECMP B0 sends half its spine traffic into a 5 Gbps link that then
    // saturates; disabling the link or its spine removes capacity; capacity
    // WCMP moves B0's share to A1 and keeps all capacity (best 99p FCT and 1p).
    expect(await best('s2-capacity-cut.json')).toBe('no action + WCMP');
  });

  it('s2-capacity-cut-after-disable: bring back the 0.005% link and use WCMP', async () => {
    // The earlier mitigation left C0 one uplink at 50% load: congestion
    // dominates, and the 0.005% link costs almost nothing, so restore it.
    expect(await best('s2-capacity-cut-after-disable.json')).toBe('bring back C0-B1 + WCMP');
  });

  // Scenario 3: packet corruption at a ToR.
  it('s3-tor-high-loss: drain the 5% ToR', async () => {
    // Every flow to or from C0 crosses the lossy ToR: its tail FCT is seconds.
    // (Under PriorityAvgT draining costs ~10% of average throughput, right at
    // the tie band, so that choice flips between seeds: see the README.)
    expect(await best('s3-tor-high-loss.json')).toBe('drain C0');
  });

  it('s3-tor-low-loss: take no action on a 0.005% ToR', async () => {
    // Loss this low barely touches FCT; draining overloads the other servers.
    expect(await best('s3-tor-low-loss.json')).toBe('no action');
  });

  it('s3-tor-and-link: drain the 5% ToR, leave the 0.005% link in service', async () => {
    // The ToR's loss puts the tail FCT at timeout scale unless it is drained;
    // disabling the 0.005% link as well ties on 99p FCT but leaves C0 one
    // uplink and loses about half the 1p throughput.
    expect(await best('s3-tor-and-link.json')).toBe('drain C1');
  });
});
