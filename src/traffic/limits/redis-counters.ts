import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { RateLimiterRedis } from 'rate-limiter-flexible';
import { QUOTA_LIMITER_POINTS, quotaKey, quotaTtlSeconds, type Counters } from './counters.ts';
import { CounterHealth, redisWhere } from './health.ts';
import type { Period } from './periods.ts';
import { GCRA_REFUND, GCRA_RESERVE, type GcraCommands } from './redis-scripts.ts';
import type { CompiledRate } from './types.ts';

export interface RedisCountersOptions {
  readonly url: string;
  readonly keyPrefix: string;
  readonly timeoutMs: number;
  readonly log: Logger;
}

/** Redis could not answer in time (or was known to be down): the caller fails closed or counts locally. */
export class RedisUnavailable extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'RedisUnavailable';
  }
}

/**
 * Counters in Redis, shared by every gateway using the same Redis and key prefix. The client never
 * queues commands while disconnected and never resends one after a reconnect (a resent reservation
 * would take a token twice): a command either answers within `timeoutMs` or counts as Redis being
 * unreachable. It reconnects with a bounded backoff on its own, and never crashes the process.
 */
export class RedisCounters implements Counters {
  readonly kind = 'redis';
  readonly client: Redis;
  readonly health: CounterHealth;
  readonly #commands: GcraCommands;
  readonly #quota: RateLimiterRedis;
  readonly #ratePrefix: string;
  readonly #timeoutMs: number;
  #everReady = false;
  readonly #firstReady: Promise<void>;

  constructor(opts: RedisCountersOptions) {
    this.health = new CounterHealth(opts.log, redisWhere(opts.url));
    this.#timeoutMs = opts.timeoutMs;
    this.#ratePrefix = `${opts.keyPrefix}:rate:`;
    this.client = new Redis(opts.url, {
      enableOfflineQueue: false,
      autoResendUnfulfilledCommands: false,
      maxRetriesPerRequest: 0,
      commandTimeout: opts.timeoutMs,
      connectTimeout: Math.max(1_000, opts.timeoutMs * 4),
      // Bounded: a long outage is retried every 2 s at most, never given up on.
      retryStrategy: (attempt) => Math.min(50 * 2 ** Math.min(attempt, 6), 2_000),
      lazyConnect: false,
    });
    const { promise, resolve } = Promise.withResolvers<void>();
    this.#firstReady = promise;
    this.client.on('ready', () => {
      this.#everReady = true;
      resolve();
      this.health.recovered();
    });
    // Without an 'error' listener a refused connection would be an uncaught exception.
    this.client.on('error', (err) => this.health.failed(err, false));
    this.client.on('close', () => {
      if (this.#everReady) this.health.failed(new Error('connection closed'), false);
    });
    this.client.defineCommand('gatehouseGcraReserve', { numberOfKeys: 1, lua: GCRA_RESERVE });
    this.client.defineCommand('gatehouseGcraRefund', { numberOfKeys: 1, lua: GCRA_REFUND });
    this.#commands = this.client as unknown as GcraCommands;
    this.#quota = new RateLimiterRedis({
      storeClient: this.client,
      points: QUOTA_LIMITER_POINTS,
      duration: 3600,
      keyPrefix: `${opts.keyPrefix}:quota`,
      rejectIfRedisNotReady: true,
    });
  }

  get status(): string {
    return this.client.status;
  }

  async reserve(key: string, rate: CompiledRate, maxWaitMs: number): Promise<number> {
    const [ok, value] = await this.#run(() => this.#commands.gatehouseGcraReserve(this.#ratePrefix + key, String(rate.intervalMs), String(rate.capacityMs), String(maxWaitMs)));
    const ms = Number(value);
    // A refusal is always negative, even when the next token is less than a microsecond away.
    return ok === 1 ? ms : -Math.max(ms, 0.001);
  }

  async unreserve(key: string, rate: CompiledRate): Promise<void> {
    await this.#run(() => this.#commands.gatehouseGcraRefund(this.#ratePrefix + key, String(rate.intervalMs)));
  }

  async count(key: string, period: Period, now: number): Promise<number> {
    const res = await this.#run(() => this.#quota.consume(quotaKey(key, period), 1, { customDuration: quotaTtlSeconds(period, now) }));
    return res.consumedPoints;
  }

  async uncount(key: string, period: Period, now: number): Promise<void> {
    await this.#run(() => this.#quota.reward(quotaKey(key, period), 1, { customDuration: quotaTtlSeconds(period, now) }));
  }

  /** Ends the connection; commands still unanswered fail (and are handled like an outage). */
  async close(): Promise<void> {
    if (this.client.status === 'ready') {
      const quit = this.client.quit().catch(() => undefined);
      const late = new Promise<void>((r) => setTimeout(r, this.#timeoutMs).unref());
      await Promise.race([quit, late]);
    }
    this.client.disconnect();
  }

  #isReady(): boolean {
    return this.client.status === 'ready';
  }

  async #run<T>(command: () => Promise<T>): Promise<T> {
    if (!this.#isReady()) await this.#waitForFirstConnection();
    let out: T;
    try {
      out = await command();
    } catch (err) {
      // A rejection that is not an Error is rate-limiter-flexible saying "over the limit", which its
      // threshold (the largest safe integer) never is; either way the count cannot be trusted.
      this.health.failed(err, true);
      throw new RedisUnavailable(`Redis did not answer: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
    this.health.recovered();
    return out;
  }

  /**
   * Right after start the connection may still be opening: a call waits for it up to `timeoutMs`
   * instead of failing. Once it has been up, a dropped connection fails at once (no call waits on an outage).
   */
  async #waitForFirstConnection(): Promise<void> {
    if (!this.#everReady && (this.client.status === 'wait' || this.client.status === 'connecting' || this.client.status === 'connect')) {
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<'late'>((r) => (timer = setTimeout(() => r('late'), this.#timeoutMs)));
      const first = await Promise.race([this.#firstReady, late]);
      clearTimeout(timer);
      // Read again: the status changed while this call waited.
      if (first !== 'late' && this.#isReady()) return;
    }
    const err = new RedisUnavailable(`Redis is not connected (${this.client.status})`);
    this.health.failed(err, true);
    throw err;
  }
}
