import { pino, type Logger } from 'pino';
import type { CompiledUpstream, Snapshot } from '../config/snapshot.ts';
import { gatewayError, GatewayFault } from '../errors/codes.ts';
import type { JsonRpcResponse } from '../protocol/jsonrpc.ts';
import { breakerInterceptor } from './interceptors/breaker.ts';
import { chain, type InterceptorFactory, type UpstreamCall, type UpstreamTarget } from './interceptors/interceptor.ts';
import { ResilienceStates, type UpstreamResilienceStats } from './interceptors/resilience-state.ts';
import { retryInterceptor } from './interceptors/retry.ts';
import { timeoutInterceptor } from './interceptors/timeout.ts';
import { tracingInterceptor, type AttemptTracer } from './interceptors/tracing.ts';
import type { CallOptions } from './session.ts';

/** Where the router finds an upstream by name (the registry; a test may pass a map). */
export interface TargetLookup {
  get(name: string): UpstreamTarget | undefined;
}

const terminal: UpstreamCall = (req) => req.upstream.request(req.method, req.params, req.opts);

/**
 * Sends a call to a named upstream through its interceptor chain. Chains are built once per
 * snapshot and upstream, never per request; what must outlive a reload (breaker, counters) is kept
 * by upstream identity in `ResilienceStates`.
 */
export class Router {
  readonly #registry: TargetLookup;
  readonly #chains = new WeakMap<CompiledUpstream, UpstreamCall>();
  readonly #states = new ResilienceStates();
  readonly #factories: readonly InterceptorFactory[];

  /** `attempts`: the tracing runtime's, when tracing is on (otherwise no tracing interceptor exists at all). */
  constructor(registry: TargetLookup, log: Logger = pino({ level: 'silent' }), attempts?: AttemptTracer) {
    this.#registry = registry;
    const rlog = log.child({ component: 'router' });
    // Outermost first.
    this.#factories = [
      // breaker outermost: it judges whole calls, retries included, so a replica that dies with calls in
      // flight that a survivor then answers is no reason to shed the upstream; open, it refuses before any attempt.
      breakerInterceptor(this.#states, rlog),
      // retry inside the breaker: it repeats one attempt when safe, and each attempt gets its own deadline.
      retryInterceptor(this.#states, rlog),
      // tracing inside retry so that each attempt is a span of its own, carrying its own trace context upstream.
      ...(attempts === undefined ? [] : [tracingInterceptor(attempts)]),
      // timeout innermost: the deadline belongs to one attempt; the session enforces it and cancels upstream.
      timeoutInterceptor,
    ];
  }

  call(snapshot: Snapshot, upstream: string, method: string, params: Record<string, unknown> | undefined, opts: CallOptions): Promise<JsonRpcResponse> {
    const spec = snapshot.upstreamByName.get(upstream);
    const target = this.#registry.get(upstream);
    if (spec === undefined || target === undefined) {
      return Promise.reject(new GatewayFault(gatewayError('upstream_unavailable', `upstream "${upstream}" is not configured`, { upstream })));
    }
    let call = this.#chains.get(spec);
    if (call === undefined) {
      const interceptors = [];
      for (const f of this.#factories) {
        const i = f(spec, snapshot);
        if (i !== undefined) interceptors.push(i);
      }
      call = chain(interceptors, terminal);
      this.#chains.set(spec, call);
    }
    return call({ upstream: target, method, params, opts });
  }

  /**
   * Per upstream of `snapshot`: breaker state and since when, retries, timeouts, failures, calls
   * refused by an open breaker. Counted since the gateway started (or the upstream last changed).
   */
  stats(snapshot: Snapshot): UpstreamResilienceStats[] {
    return this.#states.stats(snapshot);
  }
}
