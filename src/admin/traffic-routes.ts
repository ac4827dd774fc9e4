import type { Gateway } from '../core/gateway.ts';
import type { AdminRoute } from './routes.ts';

/**
 * What traffic control is doing right now, in one document: each limit's counts, the counter store
 * (memory or Redis, and its failures), each upstream's breaker, retries and replicas, and the
 * response cache. Counters are this instance's (Redis-shared buckets and quotas are not summed here).
 */
export function trafficStatus(gw: Gateway): Record<string, unknown> {
  const snap = gw.snapshots.current;
  const resilience = new Map(gw.router.stats(snap).map((s) => [s.upstream, s]));
  const upstreams = snap.upstreams.map((u) => {
    const pool = gw.registry.get(u.name);
    const r = resilience.get(u.name);
    return {
      name: u.name,
      state: pool?.state ?? 'stopped',
      ...(pool?.reason === undefined ? {} : { reason: pool.reason }),
      breaker: r?.breaker ?? { state: 'off' },
      retries: r?.retries ?? 0,
      timeouts: r?.timeouts ?? 0,
      failures: r?.failures ?? 0,
      shortCircuited: r?.shortCircuited ?? 0,
      replicas: pool?.status() ?? [],
    };
  });
  const limits = gw.limits.stats();
  return { generation: snap.generation, limits: limits.limits, counters: limits.counters, upstreams, cache: gw.cache.stats() };
}

export const trafficRoutes: readonly AdminRoute[] = [
  {
    method: 'GET',
    path: '/v1/traffic',
    action: 'traffic.status',
    handle: async (r) => ({ status: 200, body: trafficStatus(r.gw) }),
  },
];
