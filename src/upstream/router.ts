import type { CompiledUpstream, Snapshot } from '../config/snapshot.ts';
import { gatewayError, GatewayFault } from '../errors/codes.ts';
import type { JsonRpcResponse } from '../protocol/jsonrpc.ts';
import { chain, type InterceptorFactory, type UpstreamCall } from './interceptors/interceptor.ts';
import { timeoutInterceptor } from './interceptors/timeout.ts';
import type { UpstreamRegistry } from './registry.ts';
import type { CallOptions } from './session.ts';

// Outermost first. Retry and breaker (traffic work) slot in after timeout.
const FACTORIES: readonly InterceptorFactory[] = [timeoutInterceptor];

const terminal: UpstreamCall = (req) => req.upstream.request(req.method, req.params, req.opts);

/**
 * Sends a call to a named upstream through its interceptor chain. Chains are built once per
 * snapshot and upstream, never per request.
 */
export class Router {
  readonly #registry: UpstreamRegistry;
  readonly #chains = new WeakMap<CompiledUpstream, UpstreamCall>();

  constructor(registry: UpstreamRegistry) {
    this.#registry = registry;
  }

  call(snapshot: Snapshot, upstream: string, method: string, params: Record<string, unknown> | undefined, opts: CallOptions): Promise<JsonRpcResponse> {
    const spec = snapshot.upstreamByName.get(upstream);
    const handle = this.#registry.get(upstream);
    if (spec === undefined || handle === undefined) {
      return Promise.reject(new GatewayFault(gatewayError('upstream_unavailable', `upstream "${upstream}" is not configured`, { upstream })));
    }
    let call = this.#chains.get(spec);
    if (call === undefined) {
      const interceptors = [];
      for (const f of FACTORIES) {
        const i = f(spec, snapshot);
        if (i !== undefined) interceptors.push(i);
      }
      call = chain(interceptors, terminal);
      this.#chains.set(spec, call);
    }
    return call({ upstream: handle, method, params, opts });
  }
}
