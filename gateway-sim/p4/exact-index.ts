/**
 * The hash index of an exact-match table keyed by one field of at most 32 bits
 * (a peer's IPv4 address): int32 key -> entry handle in one typed array of
 * (key, handle) pairs, so a data-plane lookup touches no JS Map, allocates
 * nothing and usually reads one cache line. Open addressing with linear
 * probing; grown to keep the load at most one half; deletion shifts the
 * following entries back (no tombstones), so lookups stay short however often
 * entries come and go. The model's memory figures come from the table's
 * declared size (resources.ts), not from this.
 *
 * Home slot: Fibonacci hashing of key >>> 3 picks a group of 8 slots (one
 * 64-byte line), the key's low 3 bits the slot in it. Keys that differ only in
 * their low bits (neighbouring VTEP addresses) share a line, so a batch of
 * updates for consecutive peers reads one line per 8 records instead of one
 * per record; any other keys spread as with plain Fibonacci hashing.
 */

const GOLDEN = 0x9e3779b1; // 2^32 / golden ratio
const EMPTY = -1;

/** Home slot of key k in a table of 2^(32 - shift) slots (shift <= 29). */
function home(k: number, shift: number): number {
  return ((Math.imul(k >>> 3, GOLDEN) >>> (shift + 3)) << 3) | (k & 7);
}

export class ExactIndex32 {
  /** Slot i is slots[2i] = key, slots[2i + 1] = handle (EMPTY: free). */
  private slots: Int32Array;
  private mask: number;
  private shift: number;
  private n = 0;

  constructor() {
    this.slots = ExactIndex32.alloc(16);
    this.mask = 15;
    this.shift = 28;
  }

  private static alloc(cap: number): Int32Array {
    const s = new Int32Array(cap * 2);
    for (let i = 1; i < s.length; i += 2) s[i] = EMPTY;
    return s;
  }

  /** Keys stored. */
  get size(): number {
    return this.n;
  }

  /** Handle of `key` (taken as int32), or -1. */
  get(key: number): number {
    const k = key | 0;
    const s = this.slots;
    const mask = this.mask;
    for (let i = home(k, this.shift); ; i = (i + 1) & mask) {
      const h = s[2 * i + 1]!;
      if (h === EMPTY || s[2 * i] === k) return h;
    }
  }

  /** Store `key` -> `handle` (a non-negative int32), replacing an existing mapping. */
  set(key: number, handle: number): void {
    if (!Number.isInteger(handle) || handle < 0 || handle > 0x7fff_ffff) throw new RangeError(`handle ${handle} is not a non-negative int32`);
    if ((this.n + 1) * 2 > this.mask + 1) this.grow();
    const k = key | 0;
    const s = this.slots;
    let i = home(k, this.shift);
    while (s[2 * i + 1] !== EMPTY && s[2 * i] !== k) i = (i + 1) & this.mask;
    if (s[2 * i + 1] === EMPTY) this.n++;
    s[2 * i] = k;
    s[2 * i + 1] = handle;
  }

  /** Remove `key`; returns whether it was there. */
  delete(key: number): boolean {
    const k = key | 0;
    const { slots: s, mask } = this;
    let i = home(k, this.shift);
    for (; s[2 * i + 1] !== EMPTY; i = (i + 1) & mask) {
      if (s[2 * i] !== k) continue;
      // backward shift: move later entries of the probe run into the hole unless their home slot lies after it
      for (let j = (i + 1) & mask; s[2 * j + 1] !== EMPTY; j = (j + 1) & mask) {
        const hj = home(s[2 * j]!, this.shift);
        if (((j - hj) & mask) >= ((j - i) & mask)) {
          s[2 * i] = s[2 * j]!;
          s[2 * i + 1] = s[2 * j + 1]!;
          i = j;
        }
      }
      s[2 * i + 1] = EMPTY;
      this.n--;
      return true;
    }
    return false;
  }

  clear(): void {
    this.slots = ExactIndex32.alloc(16);
    this.mask = 15;
    this.shift = 28;
    this.n = 0;
  }

  private grow(): void {
    const old = this.slots;
    const cap = (this.mask + 1) * 2;
    const s = ExactIndex32.alloc(cap);
    this.slots = s;
    this.mask = cap - 1;
    this.shift = 32 - Math.log2(cap);
    for (let o = 0; o < old.length; o += 2) {
      if (old[o + 1] === EMPTY) continue;
      let j = home(old[o]!, this.shift);
      while (s[2 * j + 1] !== EMPTY) j = (j + 1) & this.mask;
      s[2 * j] = old[o]!;
      s[2 * j + 1] = old[o + 1]!;
    }
  }
}
