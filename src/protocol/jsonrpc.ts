// JSON-RPC 2.0 message shapes as the gateway sees them: parsed once, passed through as plain objects.
export type JsonRpcId = string | number;

export interface JsonRpcRequest {
  jsonrpc: '2.0';
  id: JsonRpcId;
  method: string;
  params?: Record<string, unknown>;
}

export interface JsonRpcNotification {
  jsonrpc: '2.0';
  method: string;
  params?: Record<string, unknown>;
}

export interface JsonRpcErrorObject {
  code: number;
  message: string;
  data?: unknown;
}

export interface JsonRpcSuccess {
  jsonrpc: '2.0';
  id: JsonRpcId;
  result: Record<string, unknown>;
}

export interface JsonRpcFailure {
  jsonrpc: '2.0';
  id: JsonRpcId | null;
  error: JsonRpcErrorObject;
}

export type JsonRpcResponse = JsonRpcSuccess | JsonRpcFailure;
export type JsonRpcMessage = JsonRpcRequest | JsonRpcNotification | JsonRpcResponse;

export function isRequest(m: JsonRpcMessage): m is JsonRpcRequest {
  return 'method' in m && 'id' in m && m.id !== undefined && m.id !== null;
}

export function isNotification(m: JsonRpcMessage): m is JsonRpcNotification {
  return 'method' in m && !('id' in m && m.id !== undefined && m.id !== null);
}

export function isResponse(m: JsonRpcMessage): m is JsonRpcResponse {
  return !('method' in m) && ('result' in m || 'error' in m);
}

export function isFailure(m: JsonRpcResponse): m is JsonRpcFailure {
  return 'error' in m;
}

/**
 * Classifies one already-parsed JSON value. Returns a reason string when it is not a single
 * JSON-RPC 2.0 message (batches are classified separately: they were removed in 2025-06-18).
 */
export function checkMessage(value: unknown): JsonRpcMessage | string {
  if (Array.isArray(value)) return 'JSON-RPC batches are not supported';
  if (value === null || typeof value !== 'object') return 'a JSON-RPC message must be an object';
  const m = value as Record<string, unknown>;
  if (m.jsonrpc !== '2.0') return 'jsonrpc must be "2.0"';
  if ('method' in m) {
    if (typeof m.method !== 'string' || m.method.length === 0) return 'method must be a non-empty string';
    if ('params' in m && m.params !== undefined && (m.params === null || typeof m.params !== 'object' || Array.isArray(m.params))) {
      return 'params must be an object';
    }
    if ('id' in m && m.id !== undefined && typeof m.id !== 'string' && (typeof m.id !== 'number' || !Number.isInteger(m.id))) {
      return 'id must be a string or an integer';
    }
    return m as unknown as JsonRpcMessage;
  }
  if ('result' in m || 'error' in m) {
    if (typeof m.id !== 'string' && typeof m.id !== 'number' && m.id !== null) return 'a response needs an id';
    return m as unknown as JsonRpcMessage;
  }
  return 'not a request, notification or response';
}
