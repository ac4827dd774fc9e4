// What the resilience interceptors remember about an upstream: counters and the circuit breaker. It
// lives outside snapshots, keyed by the upstream's identity, so a reload that does not change the
// upstream keeps an open breaker open and the counters counting.
import type { Logger } from 'pino';
import type { CompiledUpstream, Snapshot } from '../../config/snapshot.ts';
import { UpstreamBreaker, type BreakerStats } from './breaker.ts';
import { transportFailure } from './faults.ts';

/** One upstream's resilience figures, for the admin API. Counters start when the gateway does. */
export interface UpstreamResilienceStats {
  readonly upstream: string;
  readonly breaker: BreakerStats;
  /** Attempts repeated after a failure. */
  readonly retries: number;
  /** Attempts that ran out of time (also counted in `failures`). */
  readonly timeouts: number;
  /** Attempts that failed in transport or timed out (the breaker judges calls after their retries). */
  readonly failures: number;
  /** Calls refused by the open breaker without reaching the upstream. */
  readonly shortCircuited: number;
}

export class UpstreamResilience {
  readonly identity: string;
  readonly name: string;
  retries = 0;
  timeouts = 0;
  failures = 0;
  shortCircuited = 0;
  breaker: UpstreamBreaker | undefined = undefined;
  /** When counting began; the "since" of a breaker that is off. */
  readonly created = Date.now();

  constructor(spec: CompiledUpstream) {
    this.identity = spec.identity;
    this.name = spec.name;
  }

  /** Counts `err` when it is a transport failure; returns whether it was one. */
  noteFailure(err: unknown): boolean {
    const f = transportFailure(err);
    if (f === undefined) return false;
    this.failures++;
    if (f.error.name === 'upstream_timeout') this.timeouts++;
    return true;
  }

  /**
   * The breaker under `spec`'s settings: the same one while they stay the same; when they change, a new
   * one that takes over the state (an open circuit stays open); none with consecutiveFailures 0.
   */
  breakerFor(spec: CompiledUpstream, log: Logger): UpstreamBreaker | undefined {
    const { consecutiveFailures, halfOpenAfterMs } = spec.config.breaker;
    if (consecutiveFailures === 0) {
      this.breaker = undefined;
      return undefined;
    }
    const b = this.breaker;
    if (b !== undefined && b.threshold === consecutiveFailures && b.halfOpenAfterMs === halfOpenAfterMs) return b;
    this.breaker = new UpstreamBreaker(spec.name, consecutiveFailures, halfOpenAfterMs, this, log, b);
    return this.breaker;
  }

  /** Figures under `spec`'s settings (a breaker no call has gone through yet shows closed). */
  stats(spec: CompiledUpstream): UpstreamResilienceStats {
    const { consecutiveFailures, halfOpenAfterMs } = spec.config.breaker;
    const b = this.breaker;
    let breaker: BreakerStats;
    if (consecutiveFailures === 0) breaker = { state: 'off', since: new Date(this.created).toISOString(), opens: 0 };
    // Settings changed and no call has come since: the state carries over on the next call, as shown.
    else if (b !== undefined) breaker = b.stats(halfOpenAfterMs);
    else breaker = { state: 'closed', since: new Date(this.created).toISOString(), opens: 0 };
    return { upstream: this.name, breaker, retries: this.retries, timeouts: this.timeouts, failures: this.failures, shortCircuited: this.shortCircuited };
  }
}

/** All upstreams' resilience state, keyed by identity; entries of upstreams no longer configured are dropped. */
export class ResilienceStates {
  readonly #by = new Map<string, UpstreamResilience>();
  #generation = -1;

  of(spec: CompiledUpstream, snapshot: Snapshot): UpstreamResilience {
    if (snapshot.generation > this.#generation) this.#prune(snapshot);
    let s = this.#by.get(spec.identity);
    if (s === undefined) {
      s = new UpstreamResilience(spec);
      this.#by.set(spec.identity, s);
    }
    return s;
  }

  /** Figures for each upstream of `snapshot`, in config order (zeros for one no call has reached yet). */
  stats(snapshot: Snapshot): UpstreamResilienceStats[] {
    return snapshot.upstreams.map((u) => (this.#by.get(u.identity) ?? new UpstreamResilience(u)).stats(u));
  }

  #prune(snapshot: Snapshot): void {
    this.#generation = snapshot.generation;
    const live = new Set(snapshot.upstreams.map((u) => u.identity));
    for (const id of this.#by.keys()) if (!live.has(id)) this.#by.delete(id);
  }
}
