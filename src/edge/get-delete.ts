import type { IncomingMessage, ServerResponse } from 'node:http';
import { gatewayError } from '../errors/codes.ts';
import { closeSession, type Edge } from './edge.ts';
import { refuse } from './refuse.ts';
import { acceptsSse, sendEmpty } from './respond.ts';
import { SseWriter } from './sse-writer.ts';
import { claimSession, isStreamableSession, type AuthPass } from './authenticate.ts';

const SESSION_HEADER = 'mcp-session-id';
const KEEP_ALIVE_MS = 25_000;

/**
 * GET opens a 2025-era session's stream for server-initiated messages (list changes).
 * 2026-07-28 has no GET stream: without a session the answer is 405, as that revision asks.
 */
export function handleGet(edge: Edge, req: IncomingMessage, res: ServerResponse, auth: AuthPass): void {
  const sid = req.headers[SESSION_HEADER];
  if (typeof sid !== 'string') return refuse(edge, req, res, gatewayError('method_not_allowed', 'GET needs an Mcp-Session-Id (2025-era sessions only)'), { allow: 'POST, GET, DELETE' });
  if (!acceptsSse(req.headers.accept)) return refuse(edge, req, res, gatewayError('not_acceptable', 'GET needs Accept: text/event-stream'));
  const session = claimSession(edge, req, res, sid, auth, isStreamableSession, gatewayError('session_not_found', 'Session not found: start a new session with initialize'));
  if (session === undefined) return;
  // One stream per session: a new GET replaces the old one (the agent reconnected).
  session.stream?.close();
  const stream = new SseWriter(res, { keepAliveMs: KEEP_ALIVE_MS });
  stream.open({ [SESSION_HEADER]: session.id });
  session.stream = stream;
  stream.onClose(() => {
    if (session.stream === stream) session.stream = undefined;
  });
}

export function handleDelete(edge: Edge, req: IncomingMessage, res: ServerResponse, auth: AuthPass): void {
  const sid = req.headers[SESSION_HEADER];
  if (typeof sid !== 'string') return refuse(edge, req, res, gatewayError('method_not_allowed', 'DELETE needs an Mcp-Session-Id (2025-era sessions only)'), { allow: 'POST, GET, DELETE' });
  // Legacy HTTP+SSE sessions end when their event stream closes, not by DELETE on this endpoint.
  if (claimSession(edge, req, res, sid, auth, isStreamableSession, gatewayError('session_not_found', 'Session not found')) === undefined) return;
  const session = edge.sessions.delete(sid);
  if (session !== undefined) closeSession(session);
  sendEmpty(res, 204);
}
