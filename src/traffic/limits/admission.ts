import { setTimeout as sleep } from 'node:timers/promises';
import { gatewayError, type GatewayError } from '../../errors/codes.ts';
import { CONTINUE, deny, type Decision } from '../../pipeline/decision.ts';
import type { Exchange } from '../../pipeline/exchange.ts';
import type { Counters } from './counters.ts';
import { Admission, type HeldSlot } from './hold.ts';
import type { Period } from './periods.ts';
import { RedisUnavailable } from './redis-counters.ts';
import { cancelledWhileWaiting, concurrencyRefusal, quotaRefusal, rateRefusal, unavailableRefusal } from './refusal.ts';
import type { LimitsRuntime } from './runtime.ts';
import type { RefusalReason } from './stats.ts';
import type { CompiledLimit, CompiledRate, Counted } from './types.ts';

/** One limit as it applies to one call: the figures it is held to and the key it counts under. */
export interface Applied {
  readonly limit: CompiledLimit;
  readonly counted: Counted;
  readonly key: string;
}

/** Something a call took, to give back when a later limit refuses it (a refused call spends nothing). */
type Taken =
  | { readonly store: Counters; readonly key: string; readonly rate: CompiledRate; readonly period?: undefined; readonly now?: undefined }
  | { readonly store: Counters; readonly key: string; readonly rate?: undefined; readonly period: Period; readonly now: number };

class Refused {
  readonly error: GatewayError;
  readonly reason: RefusalReason | 'cancelled';
  readonly limit: string;
  constructor(limit: string, reason: RefusalReason | 'cancelled', error: GatewayError) {
    this.limit = limit;
    this.reason = reason;
    this.error = error;
  }
}

/**
 * Admits one call under every limit that applies to it, in config order:
 *
 * 1. Counters, limit by limit: the quota counts the call, the bucket reserves a token (to be used at
 *    once, or after a wait when the queue has room and the token comes within `maxWaitMs`).
 * 2. The longest wait any bucket asked for (cancellable: a cancelled call leaves and gives its tokens back).
 * 3. Concurrency slots, limit by limit, always in the same order (no two calls can wait on each other
 *    in a cycle), each waiting in its key's bounded queue when full.
 *
 * A refusal at any step gives back what the call took before it, then answers with the refusing
 * limit's error. Slots are held on `x.admission` until the exchange ends.
 */
export async function admit(rt: LimitsRuntime, x: Exchange, plan: readonly Applied[]): Promise<Decision> {
  const taken: Taken[] = [];
  const waiters: Applied[] = [];
  try {
    const waitMs = await takeCounters(rt, plan, taken, waiters);
    if (waitMs > 0) {
      try {
        await sleep(waitMs, undefined, { signal: x.signal });
      } catch {
        const name = waiters[0]!.limit.name;
        throw new Refused(name, 'cancelled', cancelledWhileWaiting(name, 'rate'));
      }
      for (const a of waiters) rt.statsOf(a.limit.name).waited++;
      endWaits(rt, waiters);
    }
    const slots = await takeSlots(rt, x, plan);
    for (const a of plan) rt.statsOf(a.limit.name).admitted++;
    if (slots !== undefined) x.admission = new Admission(slots, rt.dropSemaphore);
    return CONTINUE;
  } catch (err) {
    endWaits(rt, waiters);
    await giveBack(taken);
    if (!(err instanceof Refused)) throw err;
    const s = rt.statsOf(err.limit);
    if (err.reason === 'cancelled') s.cancelled++;
    else s.refused[err.reason]++;
    return deny(err.error);
  }
}

/**
 * Step 1. Resolves with the longest wait a reserved token asked for (0: none). A call that will wait
 * for a token joins that bucket's queue at once (`waiters`), so concurrent calls cannot overfill it.
 */
async function takeCounters(rt: LimitsRuntime, plan: readonly Applied[], taken: Taken[], waiters: Applied[]): Promise<number> {
  let waitMs = 0;
  for (const a of plan) {
    const f = a.counted.figures;
    const name = a.limit.name;
    if (f.quota !== undefined) {
      const now = rt.clock.now();
      const period = rt.clock.at(f.quota.per, now);
      let store = rt.store;
      let n: number;
      try {
        n = await store.count(a.key, period, now);
      } catch (err) {
        store = fallback(rt, name, err);
        n = await store.count(a.key, period, now);
      }
      taken.push({ store, key: a.key, period, now });
      if (n > f.quota.limit) throw new Refused(name, 'quota', quotaRefusal(name, f.quota, period, now));
    }
    if (f.rate !== undefined) {
      const q = f.queue;
      const maxWaitMs = q !== undefined && rt.rateWaiting(a.key) < q.size ? q.maxWaitMs : 0;
      let store = rt.store;
      let r: number;
      try {
        r = await store.reserve(a.key, f.rate, maxWaitMs);
      } catch (err) {
        store = fallback(rt, name, err);
        r = await store.reserve(a.key, f.rate, maxWaitMs);
      }
      if (r < 0) throw new Refused(name, 'rate', rateRefusal(name, -r));
      taken.push({ store, key: a.key, rate: f.rate });
      if (r > 0) {
        rt.rateWaitBegin(a.key);
        rt.statsOf(name).queued++;
        waiters.push(a);
        if (r > waitMs) waitMs = r;
      }
    }
  }
  return waitMs;
}

/** Redis could not answer: this instance's memory (`local`), or a refusal (`fail_closed`). Anything else is a bug. */
function fallback(rt: LimitsRuntime, limit: string, err: unknown): Counters {
  if (!(err instanceof RedisUnavailable)) throw err;
  if (rt.failureMode !== 'local') throw new Refused(limit, 'unavailable', unavailableRefusal(limit));
  const r = rt.redis;
  if (r !== undefined) r.health.fallbacks++;
  return rt.memory;
}

/** Leaves the buckets' queues (once: the list is emptied). */
function endWaits(rt: LimitsRuntime, waiters: Applied[]): void {
  for (const a of waiters) {
    rt.rateWaitEnd(a.key);
    rt.statsOf(a.limit.name).queued--;
  }
  waiters.length = 0;
}

/** Step 3. Undefined when no limit of the plan has a concurrency figure. */
async function takeSlots(rt: LimitsRuntime, x: Exchange, plan: readonly Applied[]): Promise<HeldSlot[] | undefined> {
  let held: HeldSlot[] | undefined;
  try {
    for (const a of plan) {
      const max = a.counted.figures.concurrency;
      if (max === undefined) continue;
      const sem = rt.semaphore(a.key);
      const stats = rt.statsOf(a.limit.name);
      if (!sem.tryAcquire(max)) {
        const q = a.counted.figures.queue;
        const name = a.limit.name;
        if (q === undefined) throw new Refused(name, 'concurrency', concurrencyRefusal(name, max, 'full', 0));
        stats.queued++;
        const t0 = performance.now();
        const outcome = await sem.acquire(max, q.size, q.maxWaitMs, x.signal);
        stats.queued--;
        if (outcome !== 'acquired') {
          rt.dropSemaphore(a.key, sem);
          if (outcome === 'aborted') throw new Refused(name, 'cancelled', cancelledWhileWaiting(name, 'concurrency'));
          if (outcome === 'closed') throw new Refused(name, 'unavailable', gatewayError('draining', 'the gateway is shutting down; retry on another instance', { limit: name, retryAfterMs: 1_000 }));
          throw new Refused(name, 'concurrency', concurrencyRefusal(name, max, outcome, performance.now() - t0));
        }
        stats.waited++;
      }
      stats.inFlight++;
      (held ??= []).push({ key: a.key, sem, stats });
    }
    return held;
  } catch (err) {
    if (held !== undefined) new Admission(held, rt.dropSemaphore).release();
    throw err;
  }
}

/** Gives back every token and quota count a refused call took. Best effort: a store that fails now has counted the failure. */
async function giveBack(taken: readonly Taken[]): Promise<void> {
  if (taken.length === 0) return;
  await Promise.all(
    taken.map(async (t) => {
      try {
        if (t.rate !== undefined) await t.store.unreserve(t.key, t.rate);
        else await t.store.uncount(t.key, t.period, t.now);
      } catch {
        // The token or count stays spent; the store's health has recorded why.
      }
    }),
  );
}
