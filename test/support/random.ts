/**
 * xorshift32 (Marsaglia 2003): the small seeded generator of the randomized
 * tests. A test derives the seed from the clock and prints it with a failure,
 * so the same seed replays the same cases.
 */
export interface Xorshift32 {
  /** The next 32-bit state, as a uint32. */
  u32(): number;
  /** Uniform in [0, 1). */
  rnd(): number;
  /** Uniform integer in lo..hi (inclusive). */
  int(lo: number, hi: number): number;
}

/** A generator from seed (0 becomes 1: xorshift's state must not be 0). */
export function xorshift32(seed: number): Xorshift32 {
  let x = seed >>> 0 || 1;
  const u32 = (): number => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x;
  };
  const rnd = (): number => u32() / 0x1_0000_0000;
  return { u32, rnd, int: (lo, hi) => lo + Math.floor(rnd() * (hi - lo + 1)) };
}
