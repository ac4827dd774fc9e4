import { runExchange } from '../core/run-exchange.ts';
import { errorResponse, gatewayError, GatewayFault, httpStatusOf } from '../errors/codes.ts';
import { requestTrace } from '../protocol/trace-context.ts';
import type { Gateway } from '../core/gateway.ts';
import { Exchange, type Origin } from '../pipeline/exchange.ts';
import type { JsonRpcNotification, JsonRpcRequest, JsonRpcResponse } from '../protocol/jsonrpc.ts';
import type { RequestWriter } from '../relay/agent-requests.ts';
import { META_LOG_LEVEL } from '../protocol/mcp.ts';
import { sessionAsk, sessionLogLevel } from './agent-origin.ts';
import type { AgentSession } from './agent-session.ts';
import type { AuthPass } from './authenticate.ts';

/** The way back to the agent for one request, whatever the transport (a POST, an SSE session, stdout). */
export interface ReplyChannel {
  readonly controller: AbortController;
  /** Request-scoped notifications (progress, logs). */
  readonly notify: (n: JsonRpcNotification) => void;
  /** A server->client request scoped to this request; undefined when the transport has no such path. */
  readonly request: RequestWriter | undefined;
  /** The agent went away before the answer: the exchange counts as cancelled. */
  readonly clientGone: boolean;
  /** Writes the final answer, serialized. `status` and `headers` matter only to a plain HTTP answer. */
  finish(text: string, status: number, headers?: Record<string, string>): void;
}

export interface ServeRequest {
  readonly msg: JsonRpcRequest;
  readonly bytesIn: number;
  /** Who sent it (authenticated by the edge before the message was read). */
  readonly auth: AuthPass;
  readonly era: 'modern' | 'legacy';
  readonly protocolVersion: string;
  readonly session: AgentSession | undefined;
  readonly clientCapabilities: Record<string, unknown>;
  readonly clientAddress: string | undefined;
  /** The `traceparent` header (HTTP). */
  readonly traceparent?: string | string[] | undefined;
  /** The `tracestate` header (HTTP): vendor trace data carried along with `traceparent`. */
  readonly tracestate?: string | string[] | undefined;
  /** The answer's HTTP status from the finished exchange (2026-07-28 HTTP); 200 otherwise. */
  readonly status?: (x: Exchange) => number;
}

/**
 * Runs one agent request through the gateway and writes its answer on `channel`: the one place every
 * edge (Streamable HTTP, legacy HTTP+SSE, stdio) turns a request into an exchange and a record.
 * Resolves with the response written (the caller may look at whether it failed).
 */
export async function serveExchange(gw: Gateway, channel: ReplyChannel, r: ServeRequest): Promise<JsonRpcResponse> {
  const { msg, session } = r;
  const traceparent = requestTrace(r.traceparent, msg.params, r.tracestate);
  const origin: Origin = {
    era: r.era,
    protocolVersion: r.protocolVersion,
    session,
    clientAddress: r.clientAddress,
    clientCapabilities: r.clientCapabilities,
    notify: channel.notify,
    ask: session === undefined ? undefined : sessionAsk(session, channel.request),
    logLevel: session === undefined ? modernLogLevel(msg) : sessionLogLevel(session),
    traceId: traceparent?.traceId,
    traceparent,
  };
  const x = new Exchange(gw.snapshot, origin, msg.method, msg.id, msg.params, channel.controller.signal, r.bytesIn);
  x.principal = r.auth.principal;
  x.recordDecision(r.auth.decision);
  gw.begin();
  if (session !== undefined) (session.inflight ??= new Map()).set(msg.id, channel.controller);
  try {
    return await answer(gw, channel, r, x);
  } finally {
    session?.inflight?.delete(msg.id);
    gw.end();
  }
}

/** Runs the exchange, records it durably, then writes the answer. */
async function answer(gw: Gateway, channel: ReplyChannel, r: ServeRequest, x: Exchange): Promise<JsonRpcResponse> {
  let response = await runExchange(gw, x);
  if (channel.clientGone) x.outcome = 'cancelled';
  let text = JSON.stringify(response);
  x.bytesOut = channel.clientGone ? 0 : Buffer.byteLength(text);
  let status = r.status?.(x) ?? 200;
  try {
    // The answer is released only once its record is durable: a crash loses no record of anything
    // an agent saw.
    await gw.complete(x, response);
  } catch (err) {
    // The trail could not keep the record (failing closed): the answer is withheld, the agent told why.
    const e = err instanceof GatewayFault ? err.error : gatewayError('audit_unavailable', 'the audit trail cannot record this call; retry later');
    response = errorResponse(r.msg.id, e);
    text = JSON.stringify(response);
    status = httpStatusOf(e);
  }
  channel.finish(text, status, status >= 400 ? retryAfter(x) : undefined);
  return response;
}

/** Retry-After for a refusal that says when retrying may succeed: whole seconds, rounded up, at least 1. */
function retryAfter(x: Exchange): Record<string, string> | undefined {
  const ms = x.error?.retryAfterMs;
  return ms === undefined ? undefined : { 'retry-after': String(Math.max(1, Math.ceil(ms / 1000))) };
}

function modernLogLevel(msg: JsonRpcRequest): string | undefined {
  const v = (msg.params?._meta as Record<string, unknown> | undefined)?.[META_LOG_LEVEL];
  return typeof v === 'string' ? v : undefined;
}
