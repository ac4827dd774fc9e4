// A CLIENT span per upstream attempt, a child of the handler of the exchange that makes the call. Its
// context is what the attempt carries upstream, so the tool server's own span hangs under it.
import { SpanKind, SpanStatusCode, type Attributes, type Span, type Tracer } from '@opentelemetry/api';
import { GatewayFault } from '../../errors/codes.ts';
import type { JsonRpcResponse } from '../../protocol/jsonrpc.ts';
import { formatTraceparent, type TraceHeaders } from '../../protocol/trace-context.ts';
import type { UpstreamCallRequest } from '../../upstream/interceptors/interceptor.ts';
import type { AttemptSpan, AttemptTracer } from '../../upstream/interceptors/tracing.ts';
import { CancelledFault } from '../../upstream/session.ts';
import * as A from './attributes.ts';
import { activeExchange, type OtelExchangeTrace } from './exchange-span.ts';

export class OtelAttemptTracer implements AttemptTracer {
  readonly #tracer: Tracer;
  readonly #propagate: boolean;

  constructor(tracer: Tracer, propagate: boolean) {
    this.#tracer = tracer;
    this.#propagate = propagate;
  }

  start(upstream: string, req: UpstreamCallRequest, attempt: number): AttemptSpan | undefined {
    const x = activeExchange.getStore();
    // Calls outside an exchange (the gateway's own) are not traced; nor are calls that outlive theirs.
    if (x === undefined || x.ended) return undefined;
    const attributes: Attributes = { [A.UPSTREAM]: upstream, [A.MCP_METHOD]: req.method, [A.ATTEMPT]: attempt };
    // The upstream's own tool name: from the catalog, since the call was resolved against it.
    const tool = req.method === 'tools/call' ? req.params?.name : undefined;
    if (typeof tool === 'string') attributes[A.TOOL_NAME] = tool;
    const span = this.#tracer.startSpan(`upstream ${upstream} ${req.method}`, { kind: SpanKind.CLIENT, startTime: x.now(), attributes }, x.handlerCtx ?? x.ctx);
    return new OtelAttemptSpan(span, this.#propagate ? carrierOf(span) : undefined, req.opts.signal, x);
  }
}

class OtelAttemptSpan implements AttemptSpan {
  readonly carrier: TraceHeaders | undefined;
  readonly #span: Span;
  readonly #signal: AbortSignal | undefined;
  readonly #exchange: OtelExchangeTrace;

  constructor(span: Span, carrier: TraceHeaders | undefined, signal: AbortSignal | undefined, exchange: OtelExchangeTrace) {
    this.#span = span;
    this.carrier = carrier;
    this.#signal = signal;
    this.#exchange = exchange;
  }

  end(res: JsonRpcResponse | undefined, err: unknown, replica: string | undefined): void {
    const span = this.#span;
    if (span.isRecording()) {
      if (replica !== undefined) span.setAttribute(A.REPLICA, replica);
      if (res !== undefined) {
        if ('error' in res) {
          // The upstream answered with an error: a failed call from the client side's point of view.
          span.setAttribute(A.OUTCOME, 'rpc_error');
          span.setAttribute(A.RPC_STATUS_CODE, String(res.error.code));
          span.setAttribute(A.ERROR_TYPE, String(res.error.code));
          span.setStatus({ code: SpanStatusCode.ERROR });
        } else span.setAttribute(A.OUTCOME, 'ok');
      } else if (err instanceof CancelledFault || this.#signal?.aborted === true) {
        // The caller gave up (the agent cancelled or went away): no verdict on the upstream.
        span.setAttribute(A.OUTCOME, 'cancelled');
      }
      else {
        const name = err instanceof GatewayFault ? err.error.name : 'error';
        span.setAttribute(A.OUTCOME, name);
        span.setAttribute(A.ERROR_TYPE, name);
        span.setStatus({ code: SpanStatusCode.ERROR, message: name });
      }
    }
    span.end(this.#exchange.now());
  }
}

/** This span's context in W3C form: version 00, its trace, its id, its sampled flag, the trace's vendor state. */
function carrierOf(span: Span): TraceHeaders {
  const c = span.spanContext();
  const state = c.traceState?.serialize();
  return { traceparent: formatTraceparent(c.traceId, c.spanId, c.traceFlags), tracestate: state === undefined || state === '' ? undefined : state };
}
