import type { Registry } from 'prom-client';
import { HotCounter, HotHistogram } from './hot-metrics.ts';

/**
 * Whole exchanges: from sub-millisecond answers the gateway gives itself (lists, denials, cache hits)
 * to tool calls that run for a minute.
 */
export const EXCHANGE_BUCKETS: readonly number[] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

/** The gateway's own share of a call: the target is a quarter of a millisecond, so it starts at 50 µs. */
export const OVERHEAD_BUCKETS: readonly number[] = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5];

/** What every exchange record updates (see record-observer.ts for how each label is bounded). */
export interface ExchangeMetrics {
  readonly requests: HotCounter;
  readonly duration: HotHistogram;
  readonly upstreamDuration: HotHistogram;
  readonly overhead: HotHistogram;
  readonly policyDenials: HotCounter;
  readonly shadowDenials: HotCounter;
  readonly errors: HotCounter;
  readonly agentCalls: HotCounter;
  readonly bytes: HotCounter;
}

export function exchangeMetrics(registry: Registry): ExchangeMetrics {
  return {
    requests: new HotCounter(registry, {
      name: 'gatehouse_requests_total',
      help: 'Exchanges finished, by method, upstream, tool (tools/call only; names outside the catalog are _other), enforced policy decision (none: no policy judged it) and outcome.',
      labelNames: ['method', 'upstream', 'tool', 'decision', 'outcome'],
    }),
    duration: new HotHistogram(registry, {
      name: 'gatehouse_request_duration_seconds',
      help: 'Time from the request arriving to its answer being ready, by method and outcome.',
      labelNames: ['method', 'outcome'],
      buckets: EXCHANGE_BUCKETS,
    }),
    upstreamDuration: new HotHistogram(registry, {
      name: 'gatehouse_upstream_duration_seconds',
      help: 'Time spent waiting for the upstream (all attempts, retries included), for exchanges that reached one.',
      labelNames: ['upstream', 'method'],
      buckets: EXCHANGE_BUCKETS,
    }),
    overhead: new HotHistogram(registry, {
      name: 'gatehouse_gateway_overhead_seconds',
      help: "The gateway's own time in exchanges that reached an upstream: the whole exchange minus the upstream's part (a wait in a limit's queue counts here).",
      labelNames: ['method'],
      buckets: OVERHEAD_BUCKETS,
    }),
    policyDenials: new HotCounter(registry, {
      name: 'gatehouse_policy_denials_total',
      help: 'Calls refused by the policy in force, by the rule that decided ((default): the default), effect (deny, require_approval) and reason (rule, default, constraint, error).',
      labelNames: ['rule', 'effect', 'reason'],
    }),
    shadowDenials: new HotCounter(registry, {
      name: 'gatehouse_policy_shadow_denials_total',
      help: 'Calls a shadow policy or shadow rules would have refused (they went through), by rule and effect.',
      labelNames: ['rule', 'effect'],
    }),
    errors: new HotCounter(registry, {
      name: 'gatehouse_gateway_errors_total',
      help: "Exchanges answered with one of the gateway's own errors, by error name (upstream errors passed through are outcome=\"upstream_error\" in gatehouse_requests_total).",
      labelNames: ['error'],
    }),
    agentCalls: new HotCounter(registry, {
      name: 'gatehouse_agent_calls_total',
      help: 'Exchanges per agent (telemetry.metrics.maxAgents agents get their own label; later ones count under _other).',
      labelNames: ['agent'],
    }),
    bytes: new HotCounter(registry, {
      name: 'gatehouse_exchange_bytes_total',
      help: 'Bytes of requests received (in) and answers written (out).',
      labelNames: ['direction'],
    }),
  };
}
