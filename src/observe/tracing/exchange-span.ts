// The span of one exchange (SERVER kind) and its children: the edge's authentication, each filter the
// runner ran, and the method handler, under which the router's attempt spans hang. Parents are passed
// explicitly; the only ambient context is the exchange whose handler is running (AsyncLocalStorage),
// which is how a router call finds its exchange without every caller handing it over.
import { AsyncLocalStorage } from 'node:async_hooks';
import type { Logger } from 'pino';
import { createTraceState, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Attributes, type Context, type Span, type Tracer } from '@opentelemetry/api';
import type { Exchange } from '../../pipeline/exchange.ts';
import type { Filter } from '../../pipeline/filter.ts';
import type { DecisionRecord } from '../../pipeline/record.ts';
import * as A from './attributes.ts';
import type { ExchangeTrace } from './tracing.ts';

/** The exchange whose method handler is running, for the upstream attempts it makes. */
export const activeExchange = new AsyncLocalStorage<OtelExchangeTrace>();

export class OtelExchangeTrace implements ExchangeTrace {
  readonly span: Span;
  /** The context whose active span is the exchange's. */
  readonly ctx: Context;
  /** The handler's span as a parent, once the handler runs. */
  handlerCtx: Context | undefined = undefined;
  ended = false;
  /**
   * Epoch ms at `performance.now()` 0, from the exchange's own pair of clock readings. Every span of the
   * exchange is timed through it: left to the SDK, each span corrects for clock drift by its own
   * reading, and a child could seem to start before its parent.
   */
  readonly epoch: number;
  readonly #tracer: Tracer;
  readonly #log: Logger;
  /** Sampled out: the spans exist for their ids (propagated upstream), nothing more is recorded. */
  readonly #recording: boolean;
  readonly #method: string;

  constructor(tracer: Tracer, log: Logger, x: Exchange) {
    this.#tracer = tracer;
    this.#log = log;
    this.#method = x.method;
    this.epoch = x.startedWall - x.startedAt;
    const parent = remoteParent(x);
    // The edge authenticated the request before the exchange existed (before its body was read); its
    // decision says how long that took. The exchange span starts where that work began, so the
    // authentication span fits inside it; the body read that came between is not shown.
    const auth = x.decisions?.[0];
    const authMs = auth !== undefined && auth.phase === 'authenticate' ? auth.micros / 1000 : undefined;
    const start = x.startedAt - (authMs ?? 0);
    const attributes: Attributes = { [A.MCP_METHOD]: x.method, [A.EXCHANGE_ID]: x.id };
    if (x.rpcId !== undefined) attributes[A.JSONRPC_REQUEST_ID] = String(x.rpcId);
    const o = x.origin;
    if (o.session !== undefined) attributes[A.MCP_SESSION] = o.session.id;
    if (o.protocolVersion !== undefined) attributes[A.MCP_PROTOCOL_VERSION] = o.protocolVersion;
    if (o.clientAddress !== undefined) attributes[A.CLIENT_ADDRESS] = o.clientAddress;
    // Named once the target is known (end); the sampler does not read names.
    this.span = tracer.startSpan('mcp', { kind: SpanKind.SERVER, startTime: this.epoch + start, attributes }, parent);
    this.ctx = trace.setSpan(parent, this.span);
    this.#recording = this.span.isRecording();
    if (this.#recording && auth !== undefined && authMs !== undefined) {
      const s = tracer.startSpan(`authenticate ${auth.filter}`, { startTime: this.epoch + start, attributes: filterAttributes(auth.phase, auth.filter, auth.kind, auth.shadow) }, this.ctx);
      if (auth.kind === 'error') s.setStatus({ code: SpanStatusCode.ERROR });
      s.end(this.epoch + x.startedAt);
    }
  }

  filter(f: Filter, startedAt: number, kind: DecisionRecord['kind'], side: 'request' | 'response'): void {
    if (!this.#recording || this.ended) return;
    try {
      const name = side === 'request' ? `${f.phase} ${f.name}` : `${f.phase} response ${f.name}`;
      const s = this.#tracer.startSpan(name, { startTime: this.epoch + startedAt, attributes: filterAttributes(f.phase, f.name, kind, f.shadow) }, this.ctx);
      if (kind === 'error') s.setStatus({ code: SpanStatusCode.ERROR, message: 'the filter threw' });
      s.end(this.now());
    } catch (err) {
      this.#log.warn({ err }, 'recording a filter span failed');
    }
  }

  async handle<T>(run: () => T | Promise<T>): Promise<T> {
    if (!this.#recording) {
      this.handlerCtx = this.ctx;
      return await activeExchange.run(this, run);
    }
    // Only methods the gateway serves get here: the name stays one of a few.
    const s = this.#tracer.startSpan(`handle ${this.#method}`, { startTime: this.now() }, this.ctx);
    this.handlerCtx = trace.setSpan(this.ctx, s);
    try {
      return await activeExchange.run(this, run);
    } catch (err) {
      s.setStatus({ code: SpanStatusCode.ERROR, message: 'the handler threw' });
      throw err;
    } finally {
      s.end(this.now());
    }
  }

  /** Now, as epoch ms on this exchange's clock. */
  now(): number {
    return this.epoch + performance.now();
  }

  end(x: Exchange, withheld?: unknown): void {
    if (this.ended) return;
    this.ended = true;
    try {
      const span = this.span;
      if (this.#recording) {
        span.updateName(A.exchangeSpanName(x));
        span.setAttributes(outcomeAttributes(x));
        if (withheld !== undefined) {
          span.setAttribute(A.ERROR_TYPE, 'audit_unavailable');
          span.setStatus({ code: SpanStatusCode.ERROR, message: 'audit_unavailable' });
        } else if (A.isFailure(x.outcome)) span.setStatus({ code: SpanStatusCode.ERROR, message: x.error?.name ?? x.outcome });
      }
      span.end(this.now());
    } catch (err) {
      this.#log.warn({ err }, 'ending an exchange span failed');
    }
  }
}

/** The agent's span as the parent, when it sent a `traceparent`; otherwise a new trace starts here. */
function remoteParent(x: Exchange): Context {
  const tp = x.origin.traceparent;
  if (tp === undefined) return ROOT_CONTEXT;
  return trace.setSpanContext(ROOT_CONTEXT, {
    traceId: tp.traceId,
    spanId: tp.parentId,
    traceFlags: tp.flags & 1,
    isRemote: true,
    ...(tp.tracestate === undefined ? {} : { traceState: createTraceState(tp.tracestate) }),
  });
}

function filterAttributes(phase: string, name: string, kind: DecisionRecord['kind'], shadow: boolean): Attributes {
  return { [A.PHASE]: phase, [A.FILTER]: name, [A.DECISION]: kind, [A.SHADOW]: shadow };
}

/** What the exchange came to: set once it is over, when the target, decisions and outcome are known. */
function outcomeAttributes(x: Exchange): Attributes {
  const out: Attributes = { [A.OUTCOME]: x.outcome, [A.AGENT]: x.principal.agent };
  const d = A.pipelineDecision(x);
  out[A.DECISION] = d.decision;
  if (d.filter !== undefined) out[A.DECIDED_BY] = d.filter;
  const t = x.target;
  if (t !== undefined) {
    out[A.TARGET_KIND] = t.kind;
    if (t.upstream !== undefined) out[A.UPSTREAM] = t.upstream;
    if (t.kind === 'tool' && t.name !== undefined) {
      out[A.TOOL_NAME] = t.name;
      out[A.OPERATION] = 'execute_tool';
    }
  }
  const p = x.policy;
  if (p !== undefined) {
    out[A.POLICY_EFFECT] = p.effect;
    if (p.rule !== undefined) out[A.POLICY_RULE] = p.rule;
  }
  if (x.cache !== undefined) out[A.CACHE] = x.cache;
  const e = x.error;
  if (e !== undefined) {
    out[A.ERROR_TYPE] = e.source === 'gateway' ? (e.name ?? String(e.code)) : 'upstream_error';
    out[A.RPC_STATUS_CODE] = String(e.code);
  }
  return out;
}
