import type { IncomingMessage, ServerResponse } from 'node:http';
import { authenticate, type ListenerAuth } from '../identity/authenticator.ts';
import { challengeFor } from '../identity/challenge.ts';
import { credentialsFromRequest } from '../identity/credentials.ts';
import { metadataUrlOf, requiredScopes } from '../identity/resource-metadata.ts';
import type { Principal } from '../pipeline/principal.ts';
import type { DecisionRecord } from '../pipeline/record.ts';
import type { Edge } from './edge.ts';
import type { AgentSession } from './agent-session.ts';
import type { GatewayError } from '../errors/codes.ts';
import type { JsonRpcId } from '../protocol/jsonrpc.ts';
import { refuse } from './refuse.ts';

/** An authenticated request: who, and the decision record of how (it goes on every exchange it carries). */
export interface AuthPass {
  readonly principal: Principal;
  readonly decision: DecisionRecord;
}

/**
 * Authenticates one data-plane HTTP request before its body is read, so an unauthenticated client
 * cannot make the gateway parse anything. A refusal is answered with its status (401, 403, 503) and
 * the Bearer challenge, and recorded as a denied exchange with the deciding method.
 */
export async function authenticateHttp(edge: Edge, req: IncomingMessage, res: ServerResponse): Promise<AuthPass | undefined> {
  const gw = edge.gw;
  const snap = gw.snapshot;
  const l: ListenerAuth = snap.auth.data;
  const r = await authenticate(l, credentialsFromRequest(req, l.userAssertion?.header), gw.identity);
  if (r.kind === 'ok') return r;
  const resource = gw.identity.canonical().resource;
  const challenge = challengeFor(l, r.failure, { metadataUrl: metadataUrlOf(resource), scopes: requiredScopes(snap) });
  const headers: Record<string, string> = {};
  if (challenge !== undefined) headers['www-authenticate'] = challenge;
  if (r.failure.reason === 'unavailable') headers['retry-after'] = '5';
  refuse(edge, req, res, r.error, headers, 0, null, { principal: r.principal, decision: r.decision });
  return undefined;
}

/** The decision recorded when a session id is presented by someone other than the principal that opened it. */
export const FOREIGN_SESSION: DecisionRecord = Object.freeze({ filter: 'session-binding', phase: 'authenticate', kind: 'deny', shadow: false, error: 'the session belongs to another principal', micros: 0 });

/**
 * The session `sid` names, when it exists, `fits` this transport and was opened by `auth`'s principal;
 * it is then marked used. Otherwise the request is refused with `notFound` and undefined returned.
 * A session of another principal gets exactly what an unknown id gets (nothing about whose it is);
 * the record says what happened.
 */
export function claimSession<S extends AgentSession>(
  edge: Edge,
  req: IncomingMessage,
  res: ServerResponse,
  sid: string,
  auth: AuthPass,
  fits: (s: AgentSession) => s is S,
  notFound: GatewayError,
  bytesIn = 0,
  id: JsonRpcId | null = null,
): S | undefined {
  const s = edge.sessions.peek(sid);
  if (s === undefined || !fits(s)) return void refuse(edge, req, res, notFound, undefined, bytesIn, id);
  if (s.principalId !== auth.principal.id) {
    edge.gw.log.warn({ principal: auth.principal.id, clientAddress: req.socket.remoteAddress }, 'session id presented by another principal; refused');
    return void refuse(edge, req, res, notFound, undefined, bytesIn, id, { principal: auth.principal, decision: FOREIGN_SESSION, denied: true });
  }
  edge.sessions.get(sid);
  return s;
}

/** Streamable HTTP sessions (a legacy HTTP+SSE session id is not one: its messages go to /messages). */
export function isStreamableSession(s: AgentSession): s is AgentSession {
  return s.singleChannel !== true;
}
