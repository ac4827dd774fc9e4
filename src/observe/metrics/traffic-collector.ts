import type { Registry } from 'prom-client';
import type { Gateway } from '../../core/gateway.ts';
import type { CacheStats } from '../../traffic/cache/response-cache.ts';
import type { RefusalReason } from '../../traffic/limits/stats.ts';
import { StateMetrics, total, type Collector } from './collector.ts';

const REASONS: readonly RefusalReason[] = ['rate', 'quota', 'concurrency', 'unavailable'];

/** `gatehouse_cache_events_total{event}`: each running total of the response cache. */
const CACHE_EVENTS: readonly (readonly [string, keyof CacheStats])[] = [
  ['hit', 'hits'],
  ['miss', 'misses'],
  ['coalesced', 'coalesced'],
  ['store', 'stores'],
  ['eviction', 'evictions'],
  ['expiration', 'expirations'],
  ['invalidation', 'invalidations'],
  ['bypass', 'bypasses'],
  ['too_large', 'tooLarge'],
];

/**
 * Traffic limits (this instance's counts, as /v1/traffic shows them: Redis-shared buckets are not
 * summed across instances), the counter store's health, and the response cache.
 */
export function trafficCollector(registry: Registry, gw: Gateway): Collector {
  const m = new StateMetrics(registry);
  const limit = ['limit'];
  const admitted = m.counter('gatehouse_limit_admitted_total', 'Calls a limit applied to and let through.', limit);
  const refusals = m.counter('gatehouse_limit_refusals_total', 'Calls a limit refused, by reason (rate, quota, concurrency, unavailable: the shared counters could not answer).', ['limit', 'reason']);
  const waited = m.counter('gatehouse_limit_waited_total', 'Calls that waited for a token or a slot before going on.', limit);
  const cancelled = m.counter('gatehouse_limit_cancelled_total', 'Calls that left while waiting (their exchange was cancelled).', limit);
  const inFlight = m.gauge('gatehouse_limit_in_flight', 'Calls holding a concurrency slot of the limit (this instance).', limit);
  const queued = m.gauge('gatehouse_limit_queued', 'Calls waiting for a token or a slot of the limit (this instance).', limit);
  const countersUp = m.gauge('gatehouse_limit_counters_up', 'Whether the limits\' counter store answers (memory: always 1; redis: the connection is ready).', ['kind']);
  const redisFailures = m.counter('gatehouse_limit_redis_failures_total', 'Redis commands of the limits that failed, timed out, or were not sent because Redis was down.');
  const fallbacks = m.counter('gatehouse_limit_redis_fallbacks_total', 'Counter operations done in this instance\'s memory because Redis could not answer (failureMode: local).');
  const cacheEvents = m.counter('gatehouse_cache_events_total', 'What the response cache did: hit, miss, coalesced (served by an identical call in flight, also a hit), store, eviction, expiration, invalidation, bypass, too_large.', ['event']);
  const cacheEntries = m.gauge('gatehouse_cache_entries', 'Results held by the response cache.');
  const cacheBytes = m.gauge('gatehouse_cache_bytes', 'Bytes held by the response cache.');

  return {
    name: 'traffic',
    collect() {
      m.reset();
      const stats = gw.limits.stats();
      for (const [name, s] of Object.entries(stats.limits)) {
        const l = { limit: name };
        total(admitted, s.admitted, l);
        for (const reason of REASONS) total(refusals, s.refused[reason], { limit: name, reason });
        total(waited, s.waited, l);
        total(cancelled, s.cancelled, l);
        inFlight.set(l, s.inFlight);
        queued.set(l, s.queued);
      }
      const c = stats.counters;
      countersUp.set({ kind: c.kind }, c.status === 'ready' ? 1 : 0);
      total(redisFailures, c.redisFailures);
      total(fallbacks, c.fallbacks);
      const cache = gw.cache.stats();
      for (const [event, key] of CACHE_EVENTS) total(cacheEvents, cache[key], { event });
      cacheEntries.set(cache.entries);
      cacheBytes.set(cache.bytes);
    },
  };
}
