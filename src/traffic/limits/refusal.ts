import { gatewayError, type GatewayError } from '../../errors/codes.ts';
import type { Period } from './periods.ts';
import type { CompiledQuota } from './types.ts';

/**
 * A concurrency slot frees up whenever any call of the key ends, which nobody can foretell: refusals
 * suggest this much, as a hint (HTTP Retry-After needs a figure).
 */
export const CONCURRENCY_RETRY_MS = 1_000;
/** Redis reconnects at least every 2 s; a retry sooner than 1 s would most likely meet the same outage. */
export const UNAVAILABLE_RETRY_MS = 1_000;

/** `0.4 s`, `12 s`, `7 min`, `3 h 5 min`: always rounded up, so retrying then is never too early. */
export function formatWait(ms: number): string {
  if (ms < 10_000) return `${(Math.max(1, Math.ceil(ms / 100)) / 10).toFixed(1)} s`;
  if (ms < 60_000) return `${Math.ceil(ms / 1_000)} s`;
  const min = Math.ceil(ms / 60_000);
  if (min < 60) return `${min} min`;
  const h = Math.floor(min / 60);
  return min % 60 === 0 ? `${h} h` : `${h} h ${min % 60} min`;
}

export function rateRefusal(limit: string, retryMs: number): GatewayError {
  const retryAfterMs = Math.ceil(retryMs);
  return gatewayError('rate_limited', `rate limit "${limit}" exceeded; retry in ${formatWait(retryAfterMs)}`, { limit, retryAfterMs });
}

export function quotaRefusal(limit: string, q: CompiledQuota, period: Period, now: number): GatewayError {
  const retryAfterMs = Math.max(1, period.endsAt - now);
  const resetsAt = new Date(period.endsAt).toISOString();
  return gatewayError('quota_exceeded', `quota "${limit}" of ${q.limit} calls per ${q.per} is used up; retry in ${formatWait(retryAfterMs)} (it resets at ${resetsAt})`, {
    limit,
    retryAfterMs,
    quota: { limit: q.limit, per: q.per, period: period.id, resetsAt },
  });
}

export function concurrencyRefusal(limit: string, max: number, why: 'full' | 'timeout', waitedMs: number): GatewayError {
  const state = why === 'full' ? `${max} calls in flight and no room to wait` : `no slot of ${max} freed up within ${Math.round(waitedMs)} ms`;
  return gatewayError('concurrency_limited', `concurrency limit "${limit}" reached (${state}); retry in ${formatWait(CONCURRENCY_RETRY_MS)}`, {
    limit,
    retryAfterMs: CONCURRENCY_RETRY_MS,
    concurrency: max,
  });
}

export function unavailableRefusal(limit: string): GatewayError {
  return gatewayError('limits_unavailable', `traffic limit "${limit}" cannot be checked: its shared counters (Redis) are unreachable; retry in ${formatWait(UNAVAILABLE_RETRY_MS)}`, {
    limit,
    retryAfterMs: UNAVAILABLE_RETRY_MS,
  });
}

/** The agent is gone (or cancelled the call) while it waited: nobody reads this, but the record does. */
export function cancelledWhileWaiting(limit: string, reason: 'rate' | 'concurrency'): GatewayError {
  return gatewayError(reason === 'rate' ? 'rate_limited' : 'concurrency_limited', `the call was cancelled while it waited for limit "${limit}"`, { limit });
}
