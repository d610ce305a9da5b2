/**
 * Redis dies while real agents run on clos-2x2 with tenant traffic, and a
 * spine link breaks while it is gone. What matters: the agents keep probing
 * and steering (flows off the broken spine recover as they always do, the
 * others lose nothing), the failover is buffered, and once Redis is back
 * (empty: no persistence) the agents' state and the buffered failover and
 * port events arrive, with the times they happened.
 */
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisStore, type StoredEvent } from '../../src/controller/store/index.js';
import { agentStatus, startAgent, stopAgent, waitConverged, type AgentProcess } from '../../src/testbed/agents.js';
import { runPrefix } from '../../src/testbed/netns.js';
import { Testbed } from '../../src/testbed/testbed.js';
import { canLoadBpf } from '../support/privileged.js';
import { startRedis, type TestRedis } from '../support/redis.js';

describe.runIf(canLoadBpf)('agents publishing to Redis: Redis killed and restarted mid-run', () => {
  const prefix = runPrefix('fr');
  let redis: TestRedis;
  let tb: Testbed;
  let reader: RedisStore | undefined;
  const agents: AgentProcess[] = [];

  beforeAll(async () => {
    // the agents' logs are read below (vitest silences child processes' pino otherwise)
    process.env.PATHSTEER_LOG_LEVEL = 'info';
    redis = await startRedis();
    tb = await Testbed.up('examples/testbed/clos-2x2.json', { prefix });
    for (const h of ['host1', 'host2']) agents.push(await startAgent(tb, h, { probeIntervalMs: 1000, redis: redis.unixUrl }));
    await waitConverged(tb, agents);
    reader = await RedisStore.open(redis.url, { waitReady: true });
  }, 180_000);

  afterAll(async () => {
    await reader?.close();
    for (const a of agents) await stopAgent(a).catch(() => undefined);
    await Testbed.down(prefix).catch(() => undefined);
    await redis?.stop();
  }, 60_000);

  it('the agents keep probing and steering without Redis; buffered events and state arrive after it returns', async () => {
    // publishing works first
    for (let i = 0; i < 50; i++) {
      const hs = await reader!.hosts();
      if (hs.filter((h) => h.state && Date.now() - h.state.last_seen < 3000).length === 2) break;
      await sleep(200);
    }
    expect((await reader!.hosts()).map((h) => h.host).sort()).toEqual(['host1', 'host2']);

    const traffic = tb.startTraffic({ from: 'vm1', to: 'vm2', flows: 16, ratePps: 100, durationS: 12, protocol: 'udp' });
    traffic.result.catch(() => undefined); // awaited below
    await traffic.started;
    await sleep(1000);

    const killedAt = Date.now();
    await redis.kill();
    const probes0 = (await agentStatus(tb, 'host1')).counters.probes_sent!;
    await sleep(1000);
    await tb.fail('spine1-leaf2', { blackhole: true, direction: 'both' });
    const failedAt = Date.now();
    await sleep(4000);
    // probing went on while Redis was gone (32 ports at 1/s, plus bursts and re-probes)
    const probes1 = (await agentStatus(tb, 'host1')).counters.probes_sent!;
    expect(probes1 - probes0).toBeGreaterThan(100);
    await tb.heal('spine1-leaf2');
    await redis.restart();
    const restartedAt = Date.now();

    const r = await traffic.result;
    // tenant traffic did not care about Redis: flows off the broken spine recovered once, the rest lost nothing
    expect(r.affected_flows).toBeGreaterThan(0);
    expect(r.affected_flows, JSON.stringify(r.per_flow.map((f) => [f.lost, Math.round(f.outage_ms), f.outages]))).toBeLessThan(r.flows);
    for (const f of r.per_flow) {
      if (f.affected) expect(f.outage_ms, `flow ${f.flow}`).toBeLessThan(3000);
      else expect(f.lost, `flow ${f.flow}`).toBe(0);
    }

    // state comes back (Redis restarted empty) and the buffered events arrive
    let fleet: StoredEvent[] = [];
    let hostEvs: StoredEvent[] = [];
    for (let i = 0; i < 100; i++) {
      try {
        fleet = await reader!.eventsAfter('0-0', 1000);
        hostEvs = await reader!.hostEvents('host1', 1000);
        const hs = await reader!.hosts();
        if (hs.length === 2 && fleet.some((e) => e.host === 'host1' && e.at >= failedAt)) break;
      } catch {
        // the reader reconnects too
      }
      await sleep(200);
    }
    const failovers = fleet.filter((e) => e.type === 'failover' && e.host === 'host1' && e.data.peer === tb.host('host2').vtep_ip && e.at >= failedAt - 100 && e.at < restartedAt);
    expect(failovers.length, JSON.stringify(fleet.map((e) => [e.type, e.host, e.at - killedAt]))).toBeGreaterThan(0);
    const fo = failovers[0]!;
    if (fo.type === 'failover') {
      expect(fo.data.ports_down.length).toBeGreaterThan(0);
      expect(fo.data.detect_ms).not.toBeNull();
    }
    // port changes of the outage made it too, in order
    const ports = hostEvs.filter((e) => e.type === 'port' && e.at >= failedAt - 100 && e.at < restartedAt);
    expect(ports.length).toBeGreaterThan(0);
    // (failovers are written after their move window, so only port events keep time order in the stream)
    const ats = hostEvs.filter((e) => e.type === 'port').map((e) => e.at);
    expect([...ats].sort((a, b) => a - b)).toEqual(ats);
    const hs = await reader!.hosts();
    expect(hs.every((h) => h.state && h.state.last_seen >= restartedAt)).toBe(true);
    // the agents said what happened: one line when publishing started, and each way when Redis went and came back
    const log = readFileSync(agents[0]!.log, 'utf8');
    expect(log).toMatch(/publishing to the fleet store unix:\/\/.* as host1/);
    expect(log).toMatch(/cannot publish to the fleet store: buffering events/);
    expect(log).toMatch(/fleet store reachable again/);
    for (const a of agents) process.kill(a.pid, 0); // still running
  }, 120_000);
});
