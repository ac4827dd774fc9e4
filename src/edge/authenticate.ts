import type { IncomingMessage, ServerResponse } from 'node:http';
import { authenticate, type ListenerAuth } from '../identity/authenticator.ts';
import { challengeFor } from '../identity/challenge.ts';
import { credentialsFromRequest } from '../identity/credentials.ts';
import { metadataUrlOf, requiredScopes } from '../identity/resource-metadata.ts';
import type { Principal } from '../pipeline/principal.ts';
import type { DecisionRecord } from '../pipeline/record.ts';
import type { Edge } from './edge.ts';
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

/**
 * A session id presented by someone other than the principal that opened it. The agent hears exactly
 * what an unknown id gets (nothing about whose it is); the record says what happened.
 */
export function refuseForeignSession(
  edge: Edge,
  req: IncomingMessage,
  res: ServerResponse,
  e: Parameters<typeof refuse>[3],
  auth: AuthPass,
  bytesIn = 0,
  id: Parameters<typeof refuse>[6] = null,
): void {
  edge.gw.log.warn({ principal: auth.principal.id, clientAddress: req.socket.remoteAddress }, 'session id presented by another principal; refused');
  const decision: DecisionRecord = { filter: 'session-binding', phase: 'authenticate', kind: 'deny', shadow: false, error: 'the session belongs to another principal', micros: 0 };
  refuse(edge, req, res, e, undefined, bytesIn, id, { principal: auth.principal, decision, denied: true });
}

/** Whether `auth` may use a session opened by `principalId`. */
export function ownsSession(principalId: string, auth: AuthPass): boolean {
  return principalId === auth.principal.id;
}
