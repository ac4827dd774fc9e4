import { gatewayError, type GatewayError } from '../errors/codes.ts';
import { checkMessage, type JsonRpcId, type JsonRpcMessage } from '../protocol/jsonrpc.ts';

export type ParsedMessage =
  | { readonly msg: JsonRpcMessage }
  | { readonly error: GatewayError; readonly id: JsonRpcId | null; readonly method: string | undefined };

/**
 * One agent message from its bytes, whatever the transport (a POST body, a stdin line): a parse error,
 * a batch (removed in 2025-06-18) and anything that is not one JSON-RPC message become the precise
 * error to answer with, with whatever id and method could be recovered for the answer and the record.
 */
export function parseMessage(text: string): ParsedMessage {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    return { error: gatewayError('parse_error', `Parse error: ${(err as Error).message}`), id: null, method: undefined };
  }
  const msg = checkMessage(parsed);
  if (typeof msg !== 'string') return { msg };
  const e = Array.isArray(parsed) ? gatewayError('batch_not_supported', 'JSON-RPC batches are not supported (removed in 2025-06-18)') : gatewayError('invalid_request', `Invalid Request: ${msg}`);
  return { error: e, id: idOf(parsed), method: methodOf(parsed) };
}

/** The id of something that looked like a message, for error answers; null when there is none. */
export function idOf(v: unknown): JsonRpcId | null {
  if (v !== null && typeof v === 'object' && 'id' in v) {
    const id = (v as { id: unknown }).id;
    if (typeof id === 'string' || (typeof id === 'number' && Number.isInteger(id))) return id;
  }
  return null;
}

function methodOf(v: unknown): string | undefined {
  const m = v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as { method?: unknown }).method : undefined;
  return typeof m === 'string' && m.length > 0 ? m.slice(0, 128) : undefined;
}

