/**
 * An in-memory two-spine fabric for agent unit tests: each datagram's outer
 * source port is the header's tx_sport (as vxlan_sport stamps it), ECMP picks a
 * spine from (src, dst, sport) per direction, a blackhole drops a spine in one
 * direction, and responses get the ingress TTL in `aux` (as probe_steer
 * stores it). Delivery goes through setTimeout, so vitest's fake timers drive it.
 */
import type { Datagram, Transport } from '../../src/agent/transport.js';
import { ipv4ToU32 } from '../../src/protocol/index.js';

export function spineOf(src: string, dst: string, sport: number, spines = 2): number {
  let h = (ipv4ToU32(src) ^ Math.imul(ipv4ToU32(dst), 0x9e3779b1) ^ Math.imul(sport, 0x85ebca6b)) >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x7feb352d) >>> 0;
  h ^= h >>> 15;
  return (h >>> 0) % spines;
}

export class FakeFabric {
  /** `${src}>${dst}` -> blackholed spines in that direction. */
  readonly blackholes = new Map<string, Set<number>>();
  /** Random loss probability per spine per direction (deterministic PRNG). */
  readonly loss = new Map<string, Map<number, number>>();
  private readonly endpoints = new Map<string, FakeTransport>();
  delivered = 0;
  dropped = 0;
  private rng = 12345;
  hops = 3;
  latencyMs = 0.2;

  transport(ip: string): FakeTransport {
    const t = new FakeTransport(ip, this);
    this.endpoints.set(ip, t);
    return t;
  }

  blackhole(src: string, dst: string, spine: number): void {
    const k = `${src}>${dst}`;
    if (!this.blackholes.has(k)) this.blackholes.set(k, new Set());
    this.blackholes.get(k)!.add(spine);
  }

  heal(): void {
    this.blackholes.clear();
    this.loss.clear();
  }

  private random(): number {
    this.rng = (Math.imul(this.rng, 1103515245) + 12345) >>> 0;
    return this.rng / 2 ** 32;
  }

  deliver(src: string, dst: string, data: Buffer): void {
    const sport = data.readUInt16BE(10); // header tx_sport: vxlan_sport stamps it
    const spine = spineOf(src, dst, sport);
    const k = `${src}>${dst}`;
    const lossP = this.loss.get(k)?.get(spine) ?? 0;
    if (this.blackholes.get(k)?.has(spine) || (lossP > 0 && this.random() < lossP)) {
      this.dropped++;
      return;
    }
    const to = this.endpoints.get(dst);
    if (!to || to.closed) return;
    const copy = Buffer.from(data);
    const type = copy[3];
    if (type === 0x18 || type === 0x7f) {
      // probe_steer: ingress TTL of responses into the reserved word
      copy[26] = 64 - this.hops;
      copy[27] = 0x01;
    }
    setTimeout(() => {
      this.delivered++;
      to.handler?.({ data: copy, address: src, port: sport });
    }, this.latencyMs);
  }
}

export class FakeTransport implements Transport {
  handler: ((d: Datagram) => void) | undefined;
  closed = false;
  constructor(
    readonly ip: string,
    private readonly fabric: FakeFabric,
  ) {}
  send(data: Buffer, address: string): void {
    if (!this.closed) this.fabric.deliver(this.ip, address, data);
  }
  onMessage(h: (d: Datagram) => void): void {
    this.handler = h;
  }
  async close(): Promise<void> {
    this.closed = true;
  }
  /** Inject a datagram as if it arrived from `from` with outer sport `port`. */
  inject(data: Buffer, from: string, port: number): void {
    this.handler?.({ data, address: from, port });
  }
}
