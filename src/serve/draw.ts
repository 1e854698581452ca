// The draws of native/policy.c, made the same way for the Bun.serve fallback,
// which cannot ask a ring: the same generator (xorshift64*, its first state
// from the seed by splitmix64, as ring 0's), and per request, in this order
// and only where there is something to draw from: a fault, a status, a delay,
// a size. So with the same seed and the same requests in the same order the
// fallback draws what one native ring draws.
import { FAULTS, type DrawFrom, type Fault, type SizeRange, type Weighted } from "../config/outcomes.ts";

const MASK = (1n << 64n) - 1n;
const PPM = 1_000_000n;

/** One ring's generator (rs_rand, rs_rand_seed). */
export class Rng {
  private state: bigint;

  constructor(seed: number, ring = 0) {
    let z = (BigInt(seed) + 0x9e3779b97f4a7c15n * BigInt(ring + 1)) & MASK;
    z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & MASK;
    z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & MASK;
    z ^= z >> 31n;
    this.state = z || 1n;
  }

  next(): bigint {
    let x = this.state;
    x ^= x >> 12n;
    x = (x ^ (x << 25n)) & MASK;
    x ^= x >> 27n;
    this.state = x;
    return (x * 0x2545f4914f6cdd1dn) & MASK;
  }

  /** A draw in [0, 1000000). */
  ppm(): number {
    return Number((((this.next() >> 32n) * PPM) >> 32n));
  }
}

/** What was drawn for one request. */
export interface Drawn {
  fault?: Fault;
  status: number;
  delayMs: number;
  /** A generated body of this many bytes, else the response's own body. */
  size?: number;
}

/** A value of w, or `otherwise` for the rest. */
function pick(w: readonly Weighted[], otherwise: number, rng: Rng): number {
  const r = rng.ppm();
  let cum = 0;
  for (const x of w) {
    cum += x.ppm;
    if (r < cum) return x.value;
  }
  return otherwise;
}

/** A size drawn uniformly in [min, max]; no draw when there is one. */
function pickSize({ min, max }: SizeRange, rng: Rng): number {
  return min === max ? min : min + Number(rng.next() % BigInt(max - min + 1));
}

/** One request's draws, in the library's order (draw_outcome). */
export function draw(from: DrawFrom, own: { status: number; delayMs: number }, rng: Rng): Drawn {
  const out: Drawn = { status: own.status, delayMs: own.delayMs };
  if (from.faults.length) {
    const f = pick(from.faults, -1, rng);
    if (f >= 0) out.fault = FAULTS[f];
  }
  if (from.statuses.length) out.status = pick(from.statuses, own.status, rng);
  if (from.delays.length) out.delayMs = pick(from.delays, own.delayMs, rng);
  if (from.size) out.size = pickSize(from.size, rng);
  return out;
}
