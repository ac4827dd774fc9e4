/** Why a limit refused a call. */
export type RefusalReason = 'rate' | 'quota' | 'concurrency' | 'unavailable';

/** What one limit has done since the gateway started (counts survive reloads that keep the limit's name). */
export interface LimitStats {
  /** Calls let through with this limit applying (every limit that applied to them let them through). */
  admitted: number;
  refused: Record<RefusalReason, number>;
  /** Calls that left while waiting (their exchange was cancelled). */
  cancelled: number;
  /** Calls that waited (for a token or a slot) before going on. */
  waited: number;
  /** Calls holding a concurrency slot of this limit right now (this instance). */
  inFlight: number;
  /** Calls waiting for a token or a slot of this limit right now (this instance). */
  queued: number;
}

export interface CountersStats {
  readonly kind: 'memory' | 'redis';
  /** The Redis client's connection state (`ready` when usable); `memory` has none. */
  readonly status: string;
  readonly failureMode: 'fail_closed' | 'local' | undefined;
  /** Redis commands that failed or timed out, or were not sent because Redis was down. */
  readonly redisFailures: number;
  /** Counter operations done in this instance's memory because Redis could not answer (`failureMode: local`). */
  readonly fallbacks: number;
}

/** `LimitsRuntime.stats()`: what the admin API and metrics publish. */
export interface LimitsStats {
  readonly limits: Readonly<Record<string, Readonly<LimitStats>>>;
  readonly counters: CountersStats;
}

export function emptyLimitStats(): LimitStats {
  return { admitted: 0, refused: { rate: 0, quota: 0, concurrency: 0, unavailable: 0 }, cancelled: 0, waited: 0, inFlight: 0, queued: 0 };
}
