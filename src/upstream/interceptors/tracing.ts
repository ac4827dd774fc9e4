// A CLIENT span per upstream attempt, and the trace context the attempt carries upstream. It sits inside
// retry (each attempt is its own span, numbered) and outside timeout. The spans themselves are made by
// the tracing runtime, which is loaded only when tracing is on: this file holds no OpenTelemetry code,
// and the router adds this interceptor only when there is a runtime, so tracing off costs nothing here.
import type { JsonRpcResponse } from '../../protocol/jsonrpc.ts';
import type { TraceHeaders } from '../../protocol/trace-context.ts';
import type { CallOptions } from '../session.ts';
import type { InterceptorFactory, UpstreamCallRequest } from './interceptor.ts';

/** One attempt's span. */
export interface AttemptSpan {
  /** What this attempt sends upstream (header and `_meta`); undefined when propagation is off. */
  readonly carrier: TraceHeaders | undefined;
  /** The attempt ended: answered (`res`, a result or a JSON-RPC error) or failed (`err`); `replica` is where it went. */
  end(res: JsonRpcResponse | undefined, err: unknown, replica: string | undefined): void;
}

/** Implemented by the tracing runtime. */
export interface AttemptTracer {
  /**
   * Starts the span of attempt `attempt` (1-based) of a call to `upstream`, as a child of the exchange
   * that makes the call; undefined for calls made outside any traced exchange (the gateway's own).
   */
  start(upstream: string, req: UpstreamCallRequest, attempt: number): AttemptSpan | undefined;
}

export function tracingInterceptor(tracer: AttemptTracer): InterceptorFactory {
  return (spec) => {
    const upstream = spec.name;
    // Attempts of one call share its CallOptions (retry passes the same request again).
    const attempts = new WeakMap<CallOptions, number>();
    return (next) => (req) => {
      const n = (attempts.get(req.opts) ?? 0) + 1;
      const span = tracer.start(upstream, req, n);
      if (span === undefined) return next(req);
      attempts.set(req.opts, n);
      let sent = req;
      const carrier = span.carrier;
      if (carrier !== undefined) {
        req.opts.trace = carrier;
        sent = { upstream: req.upstream, method: req.method, params: withTraceMeta(req.params, carrier), opts: req.opts };
      }
      return next(sent).then(
        (res) => {
          span.end(res, undefined, req.opts.replica);
          return res;
        },
        (err: unknown) => {
          span.end(undefined, err, req.opts.replica);
          throw err;
        },
      );
    };
  };
}

/**
 * The params with `_meta.traceparent` (and `tracestate`) of this attempt: the agent's own values, which
 * name the agent's span, are replaced, so the upstream's span hangs under the gateway's attempt. The
 * agent's object is never modified (a retry starts from it again). A `_meta` that is not an object is
 * not the gateway's to repair: it goes on as it came, and only the HTTP header carries the context.
 */
export function withTraceMeta(params: Record<string, unknown> | undefined, carrier: TraceHeaders): Record<string, unknown> | undefined {
  const raw = params?._meta;
  if (raw !== undefined && (raw === null || typeof raw !== 'object' || Array.isArray(raw))) return params;
  const meta: Record<string, unknown> = { ...(raw as Record<string, unknown> | undefined), traceparent: carrier.traceparent };
  if (carrier.tracestate !== undefined) meta.tracestate = carrier.tracestate;
  else delete meta.tracestate;
  return { ...params, _meta: meta };
}
