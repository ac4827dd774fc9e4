import type { IncomingMessage, ServerResponse } from 'node:http';
import { GatewayFault, type GatewayError } from '../errors/codes.ts';
import type { JsonRpcMessage } from '../protocol/jsonrpc.ts';
import type { Edge } from './edge.ts';
import { parseMessage } from './parse-message.ts';
import { checkJsonContentType, readBody } from './read-body.ts';
import { refuse } from './refuse.ts';

/**
 * The one JSON-RPC message a POST carries (Streamable HTTP and legacy HTTP+SSE alike), or undefined
 * after refusing the POST with the precise error: media type, size, JSON, batch, shape.
 */
export async function readPostedMessage(
  edge: Edge,
  req: IncomingMessage,
  res: ServerResponse,
  /** A header check of the transport's own, made after the media type and before the body is read. */
  headerCheck?: () => GatewayError | undefined,
): Promise<{ msg: JsonRpcMessage; bytesIn: number } | undefined> {
  const early = checkJsonContentType(req.headers['content-type']) ?? headerCheck?.();
  if (early !== undefined) {
    refuse(edge, req, res, early);
    return undefined;
  }
  let body: Buffer;
  try {
    body = await readBody(req, edge.gw.snapshot.config.gateway.limits.maxBodyBytes);
  } catch (err) {
    if (!(err instanceof GatewayFault)) throw err;
    refuse(edge, req, res, err.error, { connection: 'close' });
    return undefined;
  }
  const p = parseMessage(body.toString('utf8'));
  if ('error' in p) {
    refuse(edge, req, res, p.error, undefined, body.length, p.id);
    return undefined;
  }
  return { msg: p.msg, bytesIn: body.length };
}
