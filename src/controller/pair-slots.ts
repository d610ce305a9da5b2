/**
 * Per-pair state the controller keeps between polls (RTT baseline and a ring
 * of recent RTT/loss points), in flat typed arrays indexed by a slot per
 * (host, peer): tens of thousands of pairs cost a few arrays, not tens of
 * thousands of small objects for the garbage collector. Slots of pairs that
 * stopped being reported are reused.
 */
export class PairSlots {
  private readonly slotOf = new Map<string, Map<string, number>>();
  private keys: Array<[string, string] | undefined> = [];
  private gen = new Uint32Array(0);
  private free: number[] = [];
  private cap = 0;
  baseline: Float32Array<ArrayBuffer> = new Float32Array(0);
  p50: Float32Array<ArrayBuffer> = new Float32Array(0);
  p99: Float32Array<ArrayBuffer> = new Float32Array(0);
  loss: Float32Array<ArrayBuffer> = new Float32Array(0);

  /** Slots assigned since drainFresh() was last called. */
  private fresh: number[] = [];

  constructor(readonly points: number) {}

  drainFresh(): number[] {
    const f = this.fresh;
    this.fresh = [];
    return f;
  }

  /** The slot of (host, peer), marked as seen in poll `g`; new pairs start with no baseline and empty series. */
  slot(host: string, peer: string, g: number): number {
    let m = this.slotOf.get(host);
    if (!m) {
      m = new Map();
      this.slotOf.set(host, m);
    }
    let s = m.get(peer);
    if (s === undefined) {
      s = this.free.pop() ?? this.grow();
      this.fresh.push(s);
      m.set(peer, s);
      this.keys[s] = [host, peer];
      this.baseline[s] = Number.NaN;
      this.p50.fill(Number.NaN, s * this.points, (s + 1) * this.points);
      this.p99.fill(Number.NaN, s * this.points, (s + 1) * this.points);
      this.loss.fill(Number.NaN, s * this.points, (s + 1) * this.points);
    }
    this.gen[s] = g;
    return s;
  }

  find(host: string, peer: string): number | undefined {
    return this.slotOf.get(host)?.get(peer);
  }

  /** Free every slot not seen in poll `g`. */
  sweep(g: number): void {
    for (let s = 0; s < this.keys.length; s++) {
      const k = this.keys[s];
      if (!k || this.gen[s] === g) continue;
      this.slotOf.get(k[0])?.delete(k[1]);
      if (this.slotOf.get(k[0])?.size === 0) this.slotOf.delete(k[0]);
      this.keys[s] = undefined;
      this.free.push(s);
    }
  }

  private grow(): number {
    const s = this.keys.length;
    if (s >= this.cap) {
      const cap = Math.max(1024, this.cap * 2);
      const resize = (a: Float32Array, per: number): Float32Array<ArrayBuffer> => {
        const b = new Float32Array(cap * per);
        b.set(a);
        return b;
      };
      this.baseline = resize(this.baseline, 1);
      this.p50 = resize(this.p50, this.points);
      this.p99 = resize(this.p99, this.points);
      this.loss = resize(this.loss, this.points);
      const g = new Uint32Array(cap);
      g.set(this.gen);
      this.gen = g;
      this.cap = cap;
    }
    this.keys.push(undefined);
    return s;
  }
}

const NIBBLE_BITS = [0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4];

/** Set bits of a `0x...` hex bitmap (0 for anything else). */
export function popcountHex(hex: string): number {
  let n = 0;
  for (let i = hex.startsWith('0x') ? 2 : 0; i < hex.length; i++) {
    const c = hex.charCodeAt(i);
    const v = c >= 48 && c <= 57 ? c - 48 : c >= 97 && c <= 102 ? c - 87 : c >= 65 && c <= 70 ? c - 55 : -1;
    if (v < 0) return 0;
    n += NIBBLE_BITS[v]!;
  }
  return n;
}
