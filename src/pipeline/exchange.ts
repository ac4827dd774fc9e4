import type { Snapshot } from '../config/snapshot.ts';
import type { GatewayError } from '../errors/codes.ts';
import type { JsonRpcId, JsonRpcNotification, JsonRpcResponse } from '../protocol/jsonrpc.ts';
import type { Era } from '../protocol/mcp.ts';
import type { AgentSession } from '../edge/agent-session.ts';
import { uuidv7 } from './ids.ts';
import { ANONYMOUS, type Principal } from './principal.ts';
import type { DecisionRecord, Outcome, PolicyRecord } from './record.ts';
import type { Target } from './target.ts';
import type { Admission } from '../traffic/limits/hold.ts';
import type { LimitsRuntime } from '../traffic/limits/runtime.ts';
import type { TraceParent } from '../protocol/trace-context.ts';
import type { ExchangeTrace } from '../observe/tracing/tracing.ts';

/** Where the exchange came from; set by the edge. */
export interface Origin {
  readonly era: Era | undefined;
  readonly protocolVersion: string | undefined;
  readonly session: AgentSession | undefined;
  readonly clientAddress: string | undefined;
  /** Client capabilities this request may rely on (per request on 2026-07-28, per session before). */
  readonly clientCapabilities: Record<string, unknown>;
  /** Request-scoped messages (progress, logs) back to the agent on this request's stream, when it has one. */
  readonly notify: ((n: JsonRpcNotification) => void) | undefined;
  /**
   * Sends a server->client request (sampling, elicitation, roots) to the agent in the context of this
   * request and resolves with its answer. Undefined for 2026-07-28 agents: they get `input_required`.
   */
  readonly ask: ((method: string, params: Record<string, unknown> | undefined, signal: AbortSignal) => Promise<JsonRpcResponse>) | undefined;
  /** The lowest log level the agent wants relayed (session `logging/setLevel`, or per-request `_meta`); undefined: none. */
  readonly logLevel: string | undefined;
  /** W3C trace id the agent propagated, if any. */
  readonly traceId?: string | undefined;
  /** The agent's whole trace context (its span is the parent of the gateway's exchange span), if it sent one. */
  readonly traceparent?: TraceParent | undefined;
}

/**
 * One request (or notification) as it moves through the pipeline. A plain mutable class: filters
 * read it and record decisions on it; the snapshot it captured on arrival serves it to the end,
 * whatever reloads happen meanwhile.
 */
export class Exchange {
  readonly id: string;
  readonly startedAt: number;
  readonly startedWall: number;
  readonly snapshot: Snapshot;
  readonly origin: Origin;
  readonly method: string;
  readonly rpcId: JsonRpcId | undefined;
  params: Record<string, unknown> | undefined;
  readonly signal: AbortSignal;
  readonly bytesIn: number;
  principal: Principal = ANONYMOUS;
  target: Target | undefined = undefined;
  decisions: DecisionRecord[] | undefined = undefined;
  policy: PolicyRecord | undefined = undefined;
  outcome: Outcome = 'ok';
  /** `limit` and `retryAfterMs` are set for traffic-limit refusals (from the error's detail), for the record and Retry-After. */
  error: { code: number; message: string; source: 'gateway' | 'upstream'; name?: string; limit?: string; retryAfterMs?: number } | undefined = undefined;
  upstreamMs: number | undefined = undefined;
  /** Response cache: served from it (`hit`), asked and missed (`miss`), or cacheable but not this call (`bypass`); undefined where no cache applies. */
  cache: 'hit' | 'miss' | 'bypass' | undefined = undefined;
  bytesOut = 0;
  /**
   * Traffic limits' counters, which live outside the snapshot (in the Gateway): runExchange puts them
   * here so that the admit filter, compiled without state, can reach them.
   */
  limits: LimitsRuntime | undefined = undefined;
  /** Concurrency slots the admit phase holds for this exchange; runExchange releases them when it ends. */
  admission: Admission | undefined = undefined;
  /** The exchange's span, when tracing is on (set by runExchange, ended by Gateway.complete). */
  trace: ExchangeTrace | undefined = undefined;

  constructor(
    snapshot: Snapshot,
    origin: Origin,
    method: string,
    rpcId: JsonRpcId | undefined,
    params: Record<string, unknown> | undefined,
    signal: AbortSignal,
    bytesIn: number,
  ) {
    this.startedAt = performance.now();
    this.startedWall = Date.now();
    this.id = uuidv7(this.startedWall);
    this.snapshot = snapshot;
    this.origin = origin;
    this.method = method;
    this.rpcId = rpcId;
    this.params = params;
    this.signal = signal;
    this.bytesIn = bytesIn;
  }

  recordDecision(d: DecisionRecord): void {
    (this.decisions ??= []).push(d);
  }

  fail(outcome: Outcome, e: GatewayError, code: number): void {
    this.outcome = outcome;
    this.error = { code, message: e.message, source: 'gateway', name: e.name };
    const d = e.detail;
    if (d !== undefined) {
      if (typeof d.limit === 'string') this.error.limit = d.limit;
      if (typeof d.retryAfterMs === 'number') this.error.retryAfterMs = d.retryAfterMs;
    }
  }
}
