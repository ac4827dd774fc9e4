// The circuit breaker of one upstream (cockatiel's, with a ConsecutiveBreaker): after
// `consecutiveFailures` transport failures or timeouts in a row, calls fail fast with
// `upstream_circuit_open` for `halfOpenAfterMs`; then one trial call may pass (half-open) and its
// outcome closes or re-opens the circuit. It judges calls after their retries: JSON-RPC errors are
// answers, so they count as successes; the caller's own cancellation counts as nothing (except for
// the trial call, see below).
import type { Logger } from 'pino';
import { circuitBreaker, CircuitState, ConsecutiveBreaker, handleWhen, type CircuitBreakerPolicy } from 'cockatiel';
import type { CompiledUpstream, Snapshot } from '../../config/snapshot.ts';
import { gatewayError, GatewayFault } from '../../errors/codes.ts';
import type { JsonRpcResponse } from '../../protocol/jsonrpc.ts';
import { CancelledFault } from '../session.ts';
import type { InterceptorFactory, UpstreamCall, UpstreamCallRequest } from './interceptor.ts';
import { transportFailure } from './faults.ts';
import type { ResilienceStates, UpstreamResilience } from './resilience-state.ts';

export interface BreakerStats {
  readonly state: 'closed' | 'open' | 'half-open' | 'off';
  /** ISO time of the last state change (or of the start of counting). */
  readonly since: string;
  /** How often the circuit opened. */
  readonly opens: number;
  /** While open: how long until a trial call may pass. */
  readonly retryAfterMs?: number;
}

/** While a trial call runs, others are told to come back after this long (or halfOpenAfterMs if shorter). */
const HALF_OPEN_RETRY_MS = 1_000;

/** Not a judgment on the upstream: the caller gave up, or the gateway failed before any transport did. */
function isCallerAbort(err: unknown): boolean {
  return !(err instanceof GatewayFault) || err instanceof CancelledFault;
}

export class UpstreamBreaker {
  readonly threshold: number;
  readonly halfOpenAfterMs: number;
  /** Without retries, each call is one attempt and the stats' failures are counted here. */
  countsAttempts = true;
  readonly #upstream: string;
  readonly #log: Logger;
  readonly #counters: UpstreamResilience;
  readonly #policy: CircuitBreakerPolicy;
  #state = CircuitState.Closed;
  #since = Date.now();
  #openedAt = 0;
  #opens = 0;
  #reopenedByTrial = false;

  /** `previous`: the breaker under the settings before a reload; its state carries over (open stays open). */
  constructor(upstream: string, threshold: number, halfOpenAfterMs: number, counters: UpstreamResilience, log: Logger, previous?: UpstreamBreaker) {
    this.threshold = threshold;
    this.halfOpenAfterMs = halfOpenAfterMs;
    this.#upstream = upstream;
    this.#log = log;
    this.#counters = counters;
    // A trial call the caller abandons proves nothing: it re-opens the circuit (cockatiel would
    // otherwise close it) so that another trial follows instead of the whole traffic.
    const failed = (err: Error): boolean => (this.countsAttempts ? counters.noteFailure(err) : transportFailure(err) !== undefined) || (this.#policy.state === CircuitState.HalfOpen && isCallerAbort(err));
    const breaker = new ConsecutiveBreaker(threshold);
    if (previous === undefined) {
      this.#policy = circuitBreaker(handleWhen(failed), { halfOpenAfter: halfOpenAfterMs, breaker });
    } else {
      // cockatiel records a half-open circuit as open since 0: the next call is the trial.
      const initialState = previous.#policy.toJSON();
      this.#policy = circuitBreaker(handleWhen(failed), { halfOpenAfter: halfOpenAfterMs, breaker, initialState });
      this.#state = previous.#state === CircuitState.HalfOpen ? CircuitState.Open : previous.#state;
      this.#openedAt = previous.#state === CircuitState.HalfOpen ? 0 : previous.#openedAt;
      this.#since = previous.#since;
      this.#opens = previous.#opens;
      this.#reopenedByTrial = previous.#reopenedByTrial;
    }
    this.#policy.onStateChange((s) => this.#changed(s));
  }

  /** One attempt through the breaker. Open, or half-open with its trial under way: fails fast. */
  run(next: UpstreamCall, req: UpstreamCallRequest): Promise<JsonRpcResponse> {
    const s = this.#policy.state;
    if (s !== CircuitState.Closed) {
      if (s === CircuitState.HalfOpen) return this.#refuse(Math.min(HALF_OPEN_RETRY_MS, this.halfOpenAfterMs), 'circuit half-open, a trial call is under way');
      const left = this.#openedAt + this.halfOpenAfterMs - Date.now();
      // Our #openedAt is taken after cockatiel's, so when we let the call through, cockatiel makes it the trial.
      if (left > 0) return this.#refuse(left, this.#reopenedByTrial ? 'circuit open again, the trial call did not succeed' : `circuit open after ${this.threshold} consecutive failures`);
    }
    // cockatiel hands its callback only a context: the one closure per call, paid only with a breaker.
    return this.#policy.execute(() => next(req));
  }

  /** `halfOpenAfterMs`: the setting to report under (a reload may have changed it; the next call adopts it). */
  stats(halfOpenAfterMs = this.halfOpenAfterMs): BreakerStats {
    const since = new Date(this.#since).toISOString();
    const s = this.#state;
    if (s === CircuitState.Open) return { state: 'open', since, opens: this.#opens, retryAfterMs: Math.max(0, this.#openedAt + halfOpenAfterMs - Date.now()) };
    return { state: s === CircuitState.HalfOpen ? 'half-open' : 'closed', since, opens: this.#opens };
  }

  #refuse(retryAfterMs: number, why: string): Promise<never> {
    this.#counters.shortCircuited++;
    const message = `upstream "${this.#upstream}" is failing: ${why}; retry in ${Math.max(1, Math.ceil(retryAfterMs / 1000))} s`;
    return Promise.reject(new GatewayFault(gatewayError('upstream_circuit_open', message, { upstream: this.#upstream, retryAfterMs })));
  }

  #changed(s: CircuitState): void {
    const prev = this.#state;
    this.#state = s;
    this.#since = Date.now();
    if (s === CircuitState.Open) {
      this.#openedAt = this.#since;
      this.#opens++;
      this.#reopenedByTrial = prev === CircuitState.HalfOpen;
      const last = this.#policy.lastFailure;
      const cause = last !== undefined && 'error' in last ? last.error.message : undefined;
      const why = this.#reopenedByTrial ? 'the trial call did not succeed' : `${this.threshold} consecutive failures`;
      this.#log.warn({ upstream: this.#upstream, cause, halfOpenAfterMs: this.halfOpenAfterMs }, `circuit breaker opened after ${why}: calls fail fast for ${this.halfOpenAfterMs} ms`);
    } else if (s === CircuitState.HalfOpen) {
      this.#log.info({ upstream: this.#upstream }, 'circuit breaker half-open: one trial call may pass');
    } else if (s === CircuitState.Closed) {
      this.#log.info({ upstream: this.#upstream }, 'circuit breaker closed: the trial call went through');
    }
  }
}

/**
 * The breaker interceptor. Its state is the upstream's (ResilienceStates, keyed by identity), not the
 * snapshot's, so it survives reloads that keep the upstream, even ones that change the breaker's own
 * settings. consecutiveFailures 0: no interceptor.
 */
export function breakerInterceptor(states: ResilienceStates, log: Logger): InterceptorFactory {
  return (spec: CompiledUpstream, snapshot: Snapshot) => {
    const breaker = states.of(spec, snapshot).breakerFor(spec, log);
    if (breaker === undefined) return undefined;
    breaker.countsAttempts = spec.config.retry.attempts === 0;
    // Long-lived requests (listen streams, a blocking tasks/result: no deadline) pass by the breaker:
    // one as the half-open trial would hold the circuit half-open for as long as it stays open.
    return (next) => (req) => (req.opts.timeoutMs === 0 ? next(req) : breaker.run(next, req));
  };
}
