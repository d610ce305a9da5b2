/**
 * The userspace responder's part in the in-kernel reflector (sessions handed
 * to the kernel, expired when neither side used them, adopted after a
 * restart) and the middlebox role (answers on the port the peer used, answers
 * any peer of its version without negotiation, announces source-port learning).
 */
import { describe, expect, it } from 'vitest';
import { agentMetrics } from '../../src/agent/metrics.js';
import type { KernelSession, ReflectorSettings, ReflectorStore } from '../../src/agent/reflector.js';
import { Responder, type ResponderOptions } from '../../src/agent/responder.js';
import { logger } from '../../src/common/logger.js';
import { pathEntry } from '../../src/maps/path-entry.js';
import { Ctl, decode, Flag, ipv4ToU32, Mode, negotiationRequest, telemetryRequest, type Message } from '../../src/protocol/index.js';

const PEER = '198.18.0.2';
const ME = '198.18.0.1';

class FakeKernel implements ReflectorStore {
  readonly sessionsMap = new Map<string, KernelSession>();
  settings: ReflectorSettings | undefined;
  configure(s: ReflectorSettings): void {
    this.settings = s;
  }
  addSession(peer: string): void {
    if (!this.sessionsMap.has(peer)) this.sessionsMap.set(peer, { peer, lastNs: 0n, answered: 0n, bp: 0n });
  }
  removeSession(peer: string): void {
    this.sessionsMap.delete(peer);
  }
  sessions(): KernelSession[] {
    return [...this.sessionsMap.values()];
  }
}

function responder(o: Partial<ResponderOptions> = {}, entry = pathEntry({ basePort: 20000, nports: 8, healthy: 0xffn })) {
  const sent: Message[] = [];
  const transport = { send: (b: Buffer) => void sent.push(decode(b, 0, undefined, { versions: [1, 2] })), onMessage: () => undefined, close: async () => undefined };
  const r = new Responder(transport, ME, 0x020000000001, () => entry, agentMetrics(), logger, { tunnelPort: 4789, allow: [], sessionTtlMs: 10_000, ...o });
  return { r, sent };
}

const from = { data: Buffer.alloc(0), address: PEER, port: 14789 };
const nego = negotiationRequest({ srcVtep: ipv4ToU32(PEER), txSport: 10003, mode: Mode.FULL_PROBE });
const tele = (txSport = 10005, extra = {}) => telemetryRequest({ srcVtep: ipv4ToU32(PEER), txSport, mode: Mode.FULL_PROBE, ...extra });

describe('Responder and the in-kernel reflector', () => {
  it('a negotiation hands the source to the kernel; quiet sessions expire on both sides; kernel use keeps them', () => {
    const k = new FakeKernel();
    const { r } = responder({ kernel: k });
    r.handleRequest(nego, from, 0);
    expect(k.sessionsMap.has(PEER)).toBe(true);
    // the kernel answered the peer 1 s ago (ns clock): the session stays past its TTL in this process's clock
    k.sessionsMap.get(PEER)!.lastNs = 99_000_000_000n;
    r.prune(15_000, 100_000_000_000n);
    expect(r.sessionCount).toBe(1);
    expect(k.sessionsMap.has(PEER)).toBe(true);
    // nobody answered it for longer than the TTL: gone from both
    r.prune(40_000, 130_000_000_000n);
    expect(r.sessionCount).toBe(0);
    expect(k.sessionsMap.has(PEER)).toBe(false);
  });

  it('a restarted agent adopts the kernel\'s sessions: no RST for peers the kernel still answers', () => {
    const k = new FakeKernel();
    k.addSession(PEER);
    const { r, sent } = responder({ kernel: k });
    expect(r.adoptKernelSessions(0)).toBe(1);
    r.handleRequest(tele(), from, 1);
    expect(sent[0]!.ctl).toBe(Ctl.DEFAULT);
    const fresh = responder();
    fresh.r.handleRequest(tele(), from, 1);
    expect(fresh.sent[0]!.ctl).toBe(Ctl.RST);
  });
});

describe('Responder in the middlebox role', () => {
  it('answers on the port the peer used (source-port learning), even with a table entry; REPLY_PORT still wins', () => {
    const { r, sent } = responder({ role: 'middlebox' });
    r.handleRequest(nego, from, 0);
    r.handleRequest(tele(10005), from, 1);
    r.handleRequest(tele(10006, { flags: Flag.REPLY_PORT, aux: 20001 }), from, 2);
    expect(sent.map((m) => m.txSport)).toEqual([10003, 10005, 20001]);
    expect(sent[0]!.mode & Mode.SPORT_LEARNING).toBe(Mode.SPORT_LEARNING);
    // a host answers from its own table instead
    const host = responder();
    host.r.handleRequest(nego, from, 0);
    expect(host.sent[0]!.txSport).not.toBe(10003);
    expect(host.sent[0]!.mode & Mode.SPORT_LEARNING).toBe(0);
  });

  it('answers telemetry from a peer that negotiated with another instance of the vIP (no RST), and registers it with the kernel', () => {
    const k = new FakeKernel();
    const { r, sent } = responder({ role: 'middlebox', kernel: k });
    r.handleRequest(tele(), from, 0);
    expect(sent[0]!.ctl).toBe(Ctl.DEFAULT);
    expect(k.sessionsMap.has(PEER)).toBe(true);
    // a peer speaking another version is sent to negotiate (RST) instead
    const other = '198.18.0.3';
    r.handleRequest(telemetryRequest({ srcVtep: ipv4ToU32(other), txSport: 10005, version: 2 }), { ...from, address: other }, 1);
    expect(sent[1]!.ctl).toBe(Ctl.RST);
    expect(k.sessionsMap.has(other)).toBe(false);
  });
});
