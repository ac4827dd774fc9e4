import type { CompiledRate } from './types.ts';

/**
 * The token bucket as GCRA (generic cell rate algorithm): per key one number, the bucket's theoretical
 * arrival time (TAT). It is exact (no window edges), and it says precisely how long until the next
 * token, which is what a waiting call and a refusal's retry time need.
 *
 * A call takes a token when `max(TAT, now) + interval - capacity <= now`; taking it moves TAT on by one
 * interval. A call that would have to wait `w` may reserve the token anyway when `w <= maxWaitMs`: TAT
 * moves on just the same and the call goes at `now + w`. That is the queue's smoothing: waiting callers
 * are spaced exactly one interval apart.
 *
 * Outcomes are one number, so the hot path allocates nothing: `>= 0` a token is reserved and the call
 * may go after that many ms (0: at once); `< 0` refused, and the next token comes in `-result` ms.
 * The Redis script (redis-scripts.ts) is this same arithmetic.
 *
 * This is the in-memory store of one gateway instance. `now` is injectable for tests; monotonic by default.
 */
export class MemoryGcra {
  readonly #tat = new Map<string, number>();
  readonly #now: () => number;
  #sweepAt = 1024;

  constructor(now: () => number = () => performance.now()) {
    this.#now = now;
  }

  get size(): number {
    return this.#tat.size;
  }

  /** Reserves a token when one comes within `maxWaitMs`; see above for the result. */
  reserve(key: string, rate: CompiledRate, maxWaitMs: number): number {
    const now = this.#now();
    const stored = this.#tat.get(key);
    const tat = stored !== undefined && stored > now ? stored : now;
    const next = tat + rate.intervalMs;
    // (tat - now) first: it is exactly 0 for an idle bucket, where `next - capacity - now` on fractional
    // timestamps can come out a hair above 0 and refuse the first call of a bucket of one token.
    const wait = tat - now + (rate.intervalMs - rate.capacityMs);
    if (wait > maxWaitMs) return -wait;
    this.#tat.set(key, next);
    if (this.#tat.size >= this.#sweepAt) this.#sweep(now);
    return wait > 0 ? wait : 0;
  }

  /**
   * Gives one token back (the call that took it was refused by a later limit, or cancelled while
   * waiting). Moving TAT back one interval frees exactly one token; calls already waiting keep their turn.
   */
  refund(key: string, rate: CompiledRate): void {
    const stored = this.#tat.get(key);
    if (stored === undefined) return;
    const tat = stored - rate.intervalMs;
    if (tat <= this.#now()) this.#tat.delete(key);
    else this.#tat.set(key, tat);
  }

  /** A TAT in the past is the same as none: dropping those keeps memory bounded by the keys in use. */
  #sweep(now: number): void {
    for (const [k, tat] of this.#tat) if (tat <= now) this.#tat.delete(k);
    this.#sweepAt = Math.max(1024, this.#tat.size * 2);
  }
}
