import type { IncomingMessage, ServerResponse } from 'node:http';
import { ERRORS, type GatewayError } from '../errors/codes.ts';
import { Exchange } from '../pipeline/exchange.ts';
import type { JsonRpcId } from '../protocol/jsonrpc.ts';
import { clientAddress, type Edge } from './edge.ts';
import { sendError } from './respond.ts';

const NEVER = new AbortController().signal;

/**
 * Refuses a request at the edge and still records it: malformed bodies, bad headers and
 * forbidden origins each leave exactly one exchange record, like any other request.
 */
export function refuse(
  edge: Edge,
  req: IncomingMessage,
  res: ServerResponse,
  e: GatewayError,
  headers?: Record<string, string>,
  bytesIn = 0,
  id: JsonRpcId | null = null,
): void {
  const gw = edge.gw;
  const x = new Exchange(
    gw.snapshot,
    { era: undefined, protocolVersion: undefined, session: undefined, clientAddress: clientAddress(req), clientCapabilities: {}, notify: undefined, ask: undefined, logLevel: undefined },
    `${req.method ?? '?'} ${req.url ?? ''}`,
    id ?? undefined,
    undefined,
    NEVER,
    bytesIn,
  );
  gw.begin();
  const forbidden = e.name === 'forbidden_origin' || e.name === 'forbidden_host';
  x.fail(forbidden ? 'denied' : 'malformed', e, ERRORS[e.name].code);
  x.bytesOut = sendError(res, e, id, headers);
  gw.complete(x);
}
