import type { ServerResponse } from 'node:http';
import { errorResponse, httpStatusOf, type GatewayError } from '../errors/codes.ts';
import type { JsonRpcId, JsonRpcMessage } from '../protocol/jsonrpc.ts';

/** Writes one JSON body. Returns its byte length for the exchange record. */
export function sendJson(res: ServerResponse, status: number, body: JsonRpcMessage | Record<string, unknown>, headers?: Record<string, string>): number {
  return sendJsonText(res, status, JSON.stringify(body), headers);
}

/** Writes a body already serialized (the exchange measured it for its record before release). */
export function sendJsonText(res: ServerResponse, status: number, text: string, headers?: Record<string, string>): number {
  const bytes = Buffer.byteLength(text);
  if (res.headersSent) return 0;
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': bytes, ...headers });
  res.end(text);
  return bytes;
}

/** An edge-level refusal: the HTTP status comes from the error table. */
export function sendError(res: ServerResponse, e: GatewayError, id: JsonRpcId | null = null, headers?: Record<string, string>): number {
  return sendJson(res, httpStatusOf(e), errorResponse(id, e), headers);
}

export function sendEmpty(res: ServerResponse, status: number, headers?: Record<string, string>): void {
  if (res.headersSent) return;
  res.writeHead(status, headers);
  res.end();
}

/** Accept must allow JSON (or anything); SSE is used only when the agent also accepts it. */
export function acceptsJson(accept: string | undefined): boolean {
  return accept === undefined || accept.includes('application/json') || accept.includes('*/*') || accept.includes('application/*');
}

export function acceptsSse(accept: string | undefined): boolean {
  return accept !== undefined && accept.includes('text/event-stream');
}
