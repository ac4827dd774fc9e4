import { RateLimiterMemory, type RateLimiterAbstract } from 'rate-limiter-flexible';
import { MemoryGcra } from './gcra.ts';
import type { Period } from './periods.ts';
import type { CompiledRate } from './types.ts';

/**
 * Where rate and quota counts live: this instance's memory, or Redis shared by every instance. Keys
 * come from counterKey(); each store adds its own prefix. A Redis store rejects when Redis cannot
 * answer (the caller decides: fail closed, or count locally); the memory store never does.
 */
export interface Counters {
  readonly kind: 'memory' | 'redis';
  /** GCRA (gcra.ts): `>= 0` a token is reserved and the call may go after that many ms; `< 0` refused, the next token in `-result` ms. */
  reserve(key: string, rate: CompiledRate, maxWaitMs: number): number | Promise<number>;
  /** Gives back one token reserve() took. */
  unreserve(key: string, rate: CompiledRate): void | Promise<void>;
  /** Counts one call in `period`'s quota counter and resolves with the count including it. */
  count(key: string, period: Period, now: number): Promise<number>;
  /** Takes back one call count() counted. */
  uncount(key: string, period: Period, now: number): Promise<void>;
}

/**
 * Quotas go through rate-limiter-flexible: an atomic counter with an expiry and reward(), the same in
 * memory and in Redis. One limiter per store, not one per limit, with the threshold checked by the
 * caller: an override's limit differs from its limit's, and a reload that changes a figure must not lose
 * the counts (a memory limiter keeps them inside its instance). The period id in the key is what resets
 * a count; the expiry only clears counters of periods that are over.
 */
export const QUOTA_LIMITER_POINTS = Number.MAX_SAFE_INTEGER;

/** Seconds a quota counter lives: to the period's end, plus a minute for clocks of instances that disagree a little. */
export function quotaTtlSeconds(period: Period, now: number): number {
  return Math.max(1, Math.ceil((period.endsAt - now) / 1000)) + 60;
}

export function quotaKey(key: string, period: Period): string {
  return `${period.id}:${key}`;
}

/** Counters of this instance alone: the store of `kind: memory`, and the fallback of `failureMode: local`. */
export class MemoryCounters implements Counters {
  readonly kind = 'memory';
  readonly gcra: MemoryGcra;
  readonly #quota: RateLimiterAbstract;

  constructor(now?: () => number) {
    this.gcra = new MemoryGcra(now);
    this.#quota = new RateLimiterMemory({ points: QUOTA_LIMITER_POINTS, duration: 3600, keyPrefix: 'quota' });
  }

  reserve(key: string, rate: CompiledRate, maxWaitMs: number): number {
    return this.gcra.reserve(key, rate, maxWaitMs);
  }

  unreserve(key: string, rate: CompiledRate): void {
    this.gcra.refund(key, rate);
  }

  async count(key: string, period: Period, now: number): Promise<number> {
    const res = await this.#quota.consume(quotaKey(key, period), 1, { customDuration: quotaTtlSeconds(period, now) });
    return res.consumedPoints;
  }

  async uncount(key: string, period: Period, now: number): Promise<void> {
    await this.#quota.reward(quotaKey(key, period), 1, { customDuration: quotaTtlSeconds(period, now) });
  }
}
