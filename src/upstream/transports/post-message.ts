// One JSON-RPC message POSTed where the answer, if any, does not come back in the POST's own body: a
// notification or a response on Streamable HTTP, and every message on the legacy HTTP+SSE transport.
import type { Dispatcher } from 'undici';
import type { JsonRpcMessage } from '../../protocol/jsonrpc.ts';
import { drain, errorBodyOf, type HttpEndpoint } from './http-endpoint.ts';

/** What a message is called in error messages: its method, or "a response". */
export function describeMessage(msg: JsonRpcMessage): string {
  return 'method' in msg ? msg.method : 'a response';
}

/**
 * POSTs `msg` and resolves once the server accepted it (any 2xx; the body is discarded so the
 * connection returns to the pool). Rejects with a gateway fault naming the message otherwise.
 */
export async function postMessage(endpoint: HttpEndpoint, path: string, headers: Record<string, string>, msg: JsonRpcMessage, signal: AbortSignal | undefined): Promise<void> {
  let res: Dispatcher.ResponseData;
  try {
    res = await endpoint.send('POST', path, headers, JSON.stringify(msg), signal);
  } catch (err) {
    throw endpoint.transportFault(describeMessage(msg), err, true);
  }
  if (res.statusCode >= 200 && res.statusCode < 300) {
    drain(res);
    return;
  }
  const body = await errorBodyOf(res);
  throw endpoint.statusFault(describeMessage(msg), res.statusCode, body?.error);
}
