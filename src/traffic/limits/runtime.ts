import type { Logger } from 'pino';
import { MemoryCounters, type Counters } from './counters.ts';
import { PeriodClock } from './periods.ts';
import { RedisCounters } from './redis-counters.ts';
import { Semaphore } from './semaphore.ts';
import { emptyLimitStats, type LimitStats, type LimitsStats } from './stats.ts';
import type { CompiledTraffic } from './types.ts';

export interface LimitsRuntimeOptions {
  /** Wall clock (epoch ms) for quota periods; injectable for tests. */
  readonly now?: () => number;
  /** Monotonic clock (ms) for in-memory token buckets; injectable for tests. */
  readonly monotonic?: () => number;
}

/**
 * Traffic limits' state, outside the immutable snapshot: counters (memory, or a Redis connection),
 * concurrency semaphores, and statistics. The Gateway owns one and calls apply() with every snapshot
 * before it serves, so a reload that keeps the counter store (same `countersIdentity`) keeps the
 * connection and every count; counts are keyed by limit name, so changing a limit's figures keeps its
 * counts too (a bucket keeps how far ahead of now its arrival time runs: a new `burst` or `queue` reads
 * it as the same tokens spent, a new `tokens` or `per` rescales it). The admit filter reaches it through `Exchange.limits`, set by runExchange: compile()
 * stays pure, and no module-level registry ties snapshots to gateways (two gateways in one process,
 * as the tests run them, keep apart).
 *
 * Concurrency is per instance: semaphores live in this process. Rates and quotas are shared through
 * Redis when `counters.kind` is `redis`; in-flight counts are not.
 */
export class LimitsRuntime {
  readonly log: Logger;
  readonly clock: PeriodClock;
  /** This instance's counters: the store of `kind: memory`, and the fallback of `failureMode: local`. */
  readonly memory: MemoryCounters;
  #redis: RedisCounters | undefined = undefined;
  #identity = 'memory';
  #failureMode: 'fail_closed' | 'local' = 'fail_closed';
  readonly #semaphores = new Map<string, Semaphore>();
  readonly #rateWaiting = new Map<string, number>();
  readonly #stats = new Map<string, LimitStats>();
  #closed = false;

  constructor(log: Logger, opts: LimitsRuntimeOptions = {}) {
    this.log = log;
    this.clock = new PeriodClock(opts.now);
    this.memory = new MemoryCounters(opts.monotonic);
  }

  /** The store counters go to now. */
  get store(): Counters {
    return this.#redis ?? this.memory;
  }

  get redis(): RedisCounters | undefined {
    return this.#redis;
  }

  get failureMode(): 'fail_closed' | 'local' {
    return this.#failureMode;
  }

  /**
   * Makes the counter store of `traffic` the one in force. Called before the snapshot serves; a store
   * that changed is replaced (the old Redis connection ends once its last commands are answered), one
   * that did not is kept with its counts. Exchanges still running on an older snapshot count in the new
   * store: counters are where the configuration in force says.
   */
  apply(traffic: CompiledTraffic | undefined): void {
    if (this.#closed) return;
    const identity = traffic?.countersIdentity ?? 'memory';
    const c = traffic?.counters;
    this.#failureMode = c?.kind === 'redis' ? c.failureMode : 'fail_closed';
    if (identity !== this.#identity) {
      const old = this.#redis;
      this.#redis = c?.kind === 'redis' ? new RedisCounters({ url: c.url, keyPrefix: c.keyPrefix, timeoutMs: c.timeoutMs, log: this.log }) : undefined;
      this.#identity = identity;
      if (old !== undefined) void old.close();
    }
    if (this.#redis !== undefined) this.#redis.health.failureMode = this.#failureMode;
  }

  statsOf(limit: string): LimitStats {
    let s = this.#stats.get(limit);
    if (s === undefined) {
      s = emptyLimitStats();
      this.#stats.set(limit, s);
    }
    return s;
  }

  semaphore(key: string): Semaphore {
    let s = this.#semaphores.get(key);
    if (s === undefined) {
      s = new Semaphore();
      this.#semaphores.set(key, s);
    }
    return s;
  }

  /** Forgets an idle semaphore, so that memory stays bounded by the keys in use. */
  readonly dropSemaphore = (key: string, sem: Semaphore): void => {
    if (sem.idle && this.#semaphores.get(key) === sem) this.#semaphores.delete(key);
  };

  /** Calls of a rate key waiting for their reserved token (this instance): bounded by `queue.size`. */
  rateWaiting(key: string): number {
    return this.#rateWaiting.get(key) ?? 0;
  }

  rateWaitBegin(key: string): void {
    this.#rateWaiting.set(key, (this.#rateWaiting.get(key) ?? 0) + 1);
  }

  rateWaitEnd(key: string): void {
    const n = (this.#rateWaiting.get(key) ?? 1) - 1;
    if (n <= 0) this.#rateWaiting.delete(key);
    else this.#rateWaiting.set(key, n);
  }

  /** Per limit: admitted, refused by reason, waited, in flight, queued; and the counter store's health. */
  stats(): LimitsStats {
    const limits: Record<string, LimitStats> = {};
    for (const [name, s] of this.#stats) limits[name] = { ...s, refused: { ...s.refused } };
    const r = this.#redis;
    return {
      limits,
      counters:
        r === undefined
          ? { kind: 'memory', status: 'ready', failureMode: undefined, redisFailures: 0, fallbacks: 0 }
          : { kind: 'redis', status: r.status, failureMode: this.#failureMode, redisFailures: r.health.failures, fallbacks: r.health.fallbacks },
    };
  }

  /** Ends waits and the Redis connection. Calls still in flight keep their slots until they end. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const s of this.#semaphores.values()) s.close();
    const r = this.#redis;
    this.#redis = undefined;
    await r?.close();
  }
}
