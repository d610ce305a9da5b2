/** A small seeded PRNG (mulberry32) so experiments and fixtures are reproducible. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A bitmap of n ports where each port is unavailable with probability `bad`. */
export function randomBitmap(next: () => number, n: number, bad: number): bigint {
  let lo = 0;
  let hi = 0;
  for (let i = 0; i < n; i++) {
    if (next() >= bad) {
      if (i < 32) lo |= 1 << i;
      else hi |= 1 << (i - 32);
    }
  }
  return (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);
}
