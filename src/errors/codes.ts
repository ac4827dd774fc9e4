import type { JsonRpcErrorObject, JsonRpcFailure, JsonRpcId } from '../protocol/jsonrpc.ts';

/**
 * The one error table. Every error the gateway itself makes has a row: its JSON-RPC code, the HTTP
 * status the edge uses when the transport lets it choose, and whether retrying may help.
 * Gateway-specific codes live outside the JSON-RPC reserved range (-32768..-32000), as the MCP
 * specification asks; protocol errors use the codes the specification defines.
 * Errors passed through from an upstream are never rewritten into these rows.
 */
export const ERRORS = {
  parse_error: { code: -32700, http: 400, retryable: false },
  invalid_request: { code: -32600, http: 400, retryable: false },
  method_not_found: { code: -32601, http: 404, retryable: false },
  invalid_params: { code: -32602, http: 400, retryable: false },
  internal_error: { code: -32603, http: 500, retryable: false },
  unknown_tool: { code: -32602, http: 200, retryable: false },
  unknown_prompt: { code: -32602, http: 200, retryable: false },
  unknown_resource: { code: -32002, http: 200, retryable: false },
  // 2026-07-28 (SEP-2164) moved "resource not found" to Invalid params, with the URI in data.
  resource_not_found: { code: -32602, http: 200, retryable: false },
  invalid_cursor: { code: -32602, http: 200, retryable: false },
  header_mismatch: { code: -32020, http: 400, retryable: false },
  missing_client_capability: { code: -32021, http: 400, retryable: false },
  unsupported_protocol_version: { code: -32022, http: 400, retryable: false },
  batch_not_supported: { code: -32600, http: 400, retryable: false },
  body_too_large: { code: -31413, http: 413, retryable: false },
  headers_too_large: { code: -31431, http: 431, retryable: false },
  forbidden_origin: { code: -31403, http: 403, retryable: false },
  forbidden_host: { code: -31421, http: 403, retryable: false },
  unsupported_media_type: { code: -31415, http: 415, retryable: false },
  not_acceptable: { code: -31406, http: 406, retryable: false },
  method_not_allowed: { code: -31405, http: 405, retryable: false },
  session_required: { code: -31400, http: 400, retryable: false },
  session_not_found: { code: -31404, http: 404, retryable: false },
  too_many_sessions: { code: -31503, http: 503, retryable: true },
  draining: { code: -31504, http: 503, retryable: true },
  upstream_unavailable: { code: -31001, http: 200, retryable: true },
  upstream_timeout: { code: -31002, http: 200, retryable: true },
  upstream_failed: { code: -31003, http: 200, retryable: true },
  upstream_protocol_error: { code: -31004, http: 200, retryable: false },
  // The upstream's circuit breaker is open after consecutive failures: fail fast until it half-opens.
  upstream_circuit_open: { code: -31005, http: 200, retryable: true },
  denied: { code: -31100, http: 200, retryable: false },
  // Policy wants a human to approve the call; until approvals exist it is refused, and says why.
  approval_required: { code: -31101, http: 200, retryable: false },
  // Authentication happens per HTTP request, so these carry real statuses (401/403 with a Bearer
  // challenge, 503 when an identity provider cannot be reached and the method fails closed).
  unauthenticated: { code: -31401, http: 401, retryable: false },
  insufficient_scope: { code: -31402, http: 403, retryable: false },
  forbidden: { code: -31409, http: 403, retryable: false },
  auth_unavailable: { code: -31502, http: 503, retryable: true },
  // The audit trail cannot keep up (store down, buffer full, a fail-closed sink behind): calls are refused rather than left unrecorded.
  audit_unavailable: { code: -31505, http: 503, retryable: true },
  // Traffic limits. `detail` carries the limit's name and `retryAfterMs`; HTTP answers add Retry-After.
  rate_limited: { code: -31429, http: 429, retryable: true },
  quota_exceeded: { code: -31430, http: 429, retryable: true },
  concurrency_limited: { code: -31432, http: 429, retryable: true },
  // The shared counters (Redis) cannot be reached and the limits fail closed.
  limits_unavailable: { code: -31506, http: 503, retryable: true },
} as const satisfies Record<string, { code: number; http: number; retryable: boolean }>;

export type ErrorName = keyof typeof ERRORS;

/** An error the gateway decided on. A value, not an exception: filters return it inside a Decision. */
export interface GatewayError {
  readonly name: ErrorName;
  readonly message: string;
  readonly detail?: Record<string, unknown>;
}

export function gatewayError(name: ErrorName, message: string, detail?: Record<string, unknown>): GatewayError {
  return detail === undefined ? { name, message } : { name, message, detail };
}

export function httpStatusOf(e: GatewayError): number {
  return ERRORS[e.name].http;
}

/** The JSON-RPC error object an agent sees. `data.gatehouse` marks it as made by the gateway. */
export function toJsonRpcError(e: GatewayError): JsonRpcErrorObject {
  const row = ERRORS[e.name];
  return {
    code: row.code,
    message: e.message,
    data: { ...e.detail, gatehouse: { error: e.name, retryable: row.retryable } },
  };
}

export function errorResponse(id: JsonRpcId | null, e: GatewayError): JsonRpcFailure {
  return { jsonrpc: '2.0', id, error: toJsonRpcError(e) };
}

/** Thrown only across layers that cannot return values (transport internals); caught at the boundary. */
export class GatewayFault extends Error {
  readonly error: GatewayError;
  constructor(error: GatewayError, options?: { cause?: unknown }) {
    super(error.message, options);
    this.error = error;
  }
}
