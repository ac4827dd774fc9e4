import type { Registry } from 'prom-client';
import type { Gateway } from '../../core/gateway.ts';
import { StateMetrics, total, type Collector } from './collector.ts';

/** `gatehouse_upstream_breaker_state` values; a breaker that is off (consecutiveFailures: 0) has no series. */
export const BREAKER_STATE: Readonly<Record<string, number>> = { closed: 0, 'half-open': 1, open: 2 };

/** Replicas (health, load, restarts, stdio processes) and each upstream's breaker, retries and failures. */
export function upstreamCollector(registry: Registry, gw: Gateway): Collector {
  const m = new StateMetrics(registry);
  const replica = ['upstream', 'replica'];
  const upstream = ['upstream'];
  const up = m.gauge('gatehouse_upstream_up', 'Whether the replica has a ready session (1) or not (0: connecting, unhealthy, stopped).', replica);
  const outstanding = m.gauge('gatehouse_upstream_outstanding', 'Calls in flight on the replica\'s live session.', replica);
  const calls = m.counter('gatehouse_upstream_calls_total', 'Calls sent through the replica since it started.', replica);
  const restarts = m.counter(
    'gatehouse_upstream_restarts_total',
    'Connections the replica made after its first (for stdio, a new process each): counted when the handshake succeeds; attempts that keep failing show in gatehouse_upstream_up.',
    replica,
  );
  const stdio = m.gauge('gatehouse_stdio_processes', 'stdio upstream processes serving a live session.');
  const breaker = m.gauge('gatehouse_upstream_breaker_state', 'Circuit breaker state: 0 closed, 1 half-open, 2 open (no series when the breaker is off).', upstream);
  const opens = m.counter('gatehouse_upstream_breaker_opens_total', 'Times the circuit breaker opened.', upstream);
  const retries = m.counter('gatehouse_upstream_retries_total', 'Attempts repeated after a failure.', upstream);
  const timeouts = m.counter('gatehouse_upstream_timeouts_total', 'Attempts that ran out of time (also counted as failures).', upstream);
  const failures = m.counter('gatehouse_upstream_failures_total', 'Attempts that failed in transport or timed out.', upstream);
  const shortCircuited = m.counter('gatehouse_upstream_short_circuited_total', 'Calls refused by an open breaker without reaching the upstream.', upstream);

  return {
    name: 'upstreams',
    collect() {
      m.reset();
      let processes = 0;
      for (const pool of gw.registry.handles()) {
        for (const r of pool.status()) {
          const l = { upstream: pool.name, replica: r.name };
          up.set(l, r.state === 'ready' ? 1 : 0);
          outstanding.set(l, r.outstanding);
          total(calls, r.calls, l);
          total(restarts, Math.max(0, r.connects - 1), l);
          if (r.pid !== undefined) processes++;
        }
      }
      stdio.set(processes);
      for (const s of gw.router.stats(gw.snapshot)) {
        const l = { upstream: s.upstream };
        const state = BREAKER_STATE[s.breaker.state];
        if (state !== undefined) breaker.set(l, state);
        total(opens, s.breaker.opens, l);
        total(retries, s.retries, l);
        total(timeouts, s.timeouts, l);
        total(failures, s.failures, l);
        total(shortCircuited, s.shortCircuited, l);
      }
    },
  };
}
