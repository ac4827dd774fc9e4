import type { IncomingMessage, ServerResponse } from 'node:http';
import { ERRORS, errorResponse, httpStatusOf, type GatewayError } from '../errors/codes.ts';
import { Exchange } from '../pipeline/exchange.ts';
import type { JsonRpcId } from '../protocol/jsonrpc.ts';
import type { Principal } from '../pipeline/principal.ts';
import type { DecisionRecord, Outcome } from '../pipeline/record.ts';
import { clientAddress, type Edge } from './edge.ts';
import { sendJsonText } from './respond.ts';

const NEVER = new AbortController().signal;

/** Errors that say "not you" rather than "not well-formed": recorded as denials. */
const DENIALS = new Set(['forbidden_origin', 'forbidden_host', 'unauthenticated', 'insufficient_scope', 'forbidden']);

/** How a refusal is recorded, on every transport: a denial, an outage, or a malformed request. */
export function refusalOutcome(e: GatewayError, ctx: RefusalContext | undefined): Outcome {
  if (ctx?.denied === true || DENIALS.has(e.name)) return 'denied';
  return e.name === 'auth_unavailable' ? 'error' : 'malformed';
}

/** Who the refused request was (as far as known) and the decision that refused it. */
export interface RefusalContext {
  readonly principal?: Principal | undefined;
  readonly decision?: DecisionRecord;
  /** Overrides the outcome the error implies (a session bound to someone else is a denial). */
  readonly denied?: boolean;
}

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
  ctx?: RefusalContext,
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
  if (ctx?.principal !== undefined) x.principal = ctx.principal;
  if (ctx?.decision !== undefined) x.recordDecision(ctx.decision);
  x.fail(refusalOutcome(e, ctx), e, ERRORS[e.name].code);
  const body = errorResponse(id, e);
  const text = JSON.stringify(body);
  x.bytesOut = Buffer.byteLength(text);
  // Sent once the record is durable. A refusal the trail could not keep still goes out as a refusal
  // (it released nothing; the trail counts the loss).
  const send = (): void => {
    sendJsonText(res, httpStatusOf(e), text, headers);
    gw.end();
  };
  void gw.complete(x, body).then(send, send);
}
