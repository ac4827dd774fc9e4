// The contract between the gateway and one connected MCP server, whatever its transport or era.
import { GatewayFault } from '../errors/codes.ts';
import type { JsonRpcNotification, JsonRpcRequest, JsonRpcResponse } from '../protocol/jsonrpc.ts';
import type { Era } from '../protocol/mcp.ts';
import type { TraceHeaders } from '../protocol/trace-context.ts';

/**
 * A failure that certainly happened before the request reached the upstream (no live session or
 * replica, the process not running or not reading, connection refused, DNS): repeating the call cannot
 * run it twice, so the retry interceptor may repeat any method. Agents see an ordinary GatewayFault;
 * the marker is the class, never a field of the error's detail. Throw it only when sure: a fault
 * after the first byte may have been written is a plain GatewayFault.
 */
export class NotSentFault extends GatewayFault {}

/**
 * The caller's signal aborted and its reason was not an Error, so the call rejects with this
 * `upstream_failed` fault: the breaker must not count the caller's own cancellation against the upstream.
 */
export class CancelledFault extends GatewayFault {}

/** The same error as a NotSentFault (for a fault made where the sending was not yet known). */
export function notSent(err: GatewayFault): NotSentFault {
  return err instanceof NotSentFault ? err : new NotSentFault(err.error, { cause: err.cause ?? err });
}

export interface CallOptions {
  /**
   * Aborting cancels the upstream work (`notifications/cancelled` on stdio and legacy HTTP, closing the
   * response stream on modern HTTP) and rejects the call with `signal.reason` when it is an Error,
   * otherwise with a GatewayFault `upstream_failed`.
   */
  signal?: AbortSignal;
  /**
   * Longest the call may take. Exceeded: the upstream work is cancelled as for an abort and the call
   * rejects with GatewayFault `upstream_timeout`. Undefined: the upstream's configured `timeoutMs`.
   * 0: no timeout (long-lived requests such as `subscriptions/listen`).
   */
  timeoutMs?: number;
  /**
   * Each progress notification the upstream sends for this call restarts its `timeoutMs` deadline, up to
   * `hardTimeoutMs` after the attempt started. The session asks the upstream for progress (a token of
   * its own, whose notifications go nowhere else) when the caller did not.
   */
  resetOnProgress?: boolean;
  /** With `resetOnProgress`: the attempt's hard maximum, however often progress restarts the deadline. */
  hardTimeoutMs?: number;
  /** Where `timeoutMs` came from (`timeoutMs`, `toolTimeoutsMs "slow*"`), for the timeout error. */
  timeoutSource?: string;
  /**
   * tools/call: the catalog definition of the tool (trusted annotations seed its class). Read only when
   * a failed attempt is considered for a retry, so passing it costs nothing per call.
   */
  toolDef?: Readonly<Record<string, unknown>>;
  /**
   * Set by a pooled target to the replica it sent this attempt to (any stable id). The retry
   * interceptor adds it to `avoid` before the next attempt.
   */
  replica?: string;
  /**
   * Replicas earlier attempts of this call failed on: a pooled target picks another ready replica when
   * it has one (a hint: with every ready replica avoided, it still picks one).
   */
  avoid?: readonly string[];
  /**
   * Notifications scoped to this request: `notifications/progress` for its progress token (with the
   * caller's original token restored) and, on HTTP, whatever the server sends on the request's stream.
   */
  onNotification?: (n: JsonRpcNotification) => void;
  /**
   * Server->client requests this call caused (sampling, elicitation, roots). HTTP knows the call from
   * the stream that carried the request; stdio and GET streams do not, so a request there goes to the
   * one live call that has a handler, or to all calls' shared `relayKey` owner (see SessionCore).
   */
  onServerRequest?: (req: JsonRpcRequest) => Promise<JsonRpcResponse>;
  /** Who the call is for (the agent session or principal): calls with the same key may share requests. */
  relayKey?: string;
  /**
   * Modern upstreams only: the client capabilities and log level to declare in this request's `_meta`
   * (the agent's, so the upstream asks only for what the agent can answer). Default: the gateway's own.
   */
  clientCapabilities?: Record<string, unknown>;
  logLevel?: string;
  /**
   * Set per attempt by the tracing interceptor (tracing and `propagate` on): HTTP transports send it as
   * the `traceparent`/`tracestate` headers; the request's `_meta` already carries the same values.
   */
  trace?: TraceHeaders;
}

export interface SessionEvents {
  /** Notifications not tied to a request: list_changed, resources/updated, message on stdio... */
  onNotification(n: JsonRpcNotification): void;
  /**
   * Server->client requests (ping, sampling, elicitation, roots). The caller decides the answer; its
   * `id` is replaced by the request's. A throw or rejection answers the upstream with an internal error.
   */
  onServerRequest(req: JsonRpcRequest): Promise<JsonRpcResponse>;
  /**
   * Fires once per connected session: with the cause when it died (process exit, connection lost,
   * session expired and re-initialization failed), with `undefined` after a deliberate `close()`.
   */
  onClose(reason: Error | undefined): void;
}

export interface UpstreamSession {
  readonly era: Era;
  readonly protocolVersion: string;
  readonly serverInfo: { name: string; version: string } | undefined;
  readonly capabilities: Record<string, unknown>;
  readonly instructions: string | undefined;
  /**
   * Resolves with the upstream's response message (result OR JSON-RPC error). Its `id` is the session's
   * own upstream id: callers put their agent's id back. Rejects with a GatewayFault only for
   * transport-level failures and timeouts, or with the abort reason.
   */
  request(method: string, params: Record<string, unknown> | undefined, opts?: CallOptions): Promise<JsonRpcResponse>;
  /** Resolves once the notification is written (stdio) or accepted (HTTP). */
  notify(method: string, params?: Record<string, unknown>): Promise<void>;
  /**
   * Graceful: pending calls reject, legacy HTTP sessions are DELETEd, stdio and launched processes get
   * stdin closed, SIGTERM to the process group, SIGKILL after a grace period.
   */
  close(): Promise<void>;
}
