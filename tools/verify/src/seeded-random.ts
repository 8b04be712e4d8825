/**
 * mulberry32: a tiny, fast 32-bit PRNG. Good enough statistical quality for
 * choosing test traffic, and fully determined by its seed so that a failing
 * run can be replayed exactly.
 */
export class SeededRandom {
  private state: number;

  constructor(seed: number) {
    this.state = seed | 0;
  }

  nextUint32(): number {
    this.state = (this.state + 0x6d2b79f5) | 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }

  /** Uniform in [0, 1). */
  nextFloat(): number {
    return this.nextUint32() / 0x1_0000_0000;
  }

  /** Uniform integer in [0, maxExclusive). */
  nextInt(maxExclusive: number): number {
    return Math.floor(this.nextFloat() * maxExclusive);
  }
}

/**
 * Independent random streams derived from the one user-facing seed, so that
 * e.g. the event sequence does not change when the number of clients does.
 */
export const RandomStream = {
  events: 0x0e7e_0001,
  shuffle: 0x05f1_0002,
  connectedUsers: 0x0c11_0003,
} as const;

export function streamFor(randomSeed: number, stream: number): SeededRandom {
  return new SeededRandom(Math.imul(randomSeed ^ stream, 0x9e37_79b1));
}
