/** Exponential backoff with "equal" jitter (half fixed, half random): attempt 0 waits about `initial`, never more than `max`. */
export function backoffDelay(attempt: number, initialMs: number, maxMs: number): number {
  const ceiling = Math.min(maxMs, initialMs * 2 ** Math.min(attempt, 30));
  return Math.round(ceiling / 2 + Math.random() * (ceiling / 2));
}

/**
 * Exponential backoff with full jitter (anywhere between 0 and the ceiling): retries of many callers
 * that failed together spread out instead of arriving together again.
 */
export function fullJitterDelay(attempt: number, initialMs: number, maxMs: number): number {
  const ceiling = Math.min(maxMs, initialMs * 2 ** Math.min(attempt, 30));
  return Math.round(Math.random() * ceiling);
}
