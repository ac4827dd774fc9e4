import type { IncomingMessage, ServerResponse } from 'node:http';
import type { GatehouseConfig } from '../config/schema/root.ts';
import { errorResponse, gatewayError } from '../errors/codes.ts';
import { type JsonRpcNotification, type JsonRpcRequest, type JsonRpcResponse } from '../protocol/jsonrpc.ts';
import { LEGACY_VERSIONS } from '../protocol/mcp.ts';
import { answerAgent } from './agent-origin.ts';
import { clientAddress, type Edge } from './edge.ts';
import { LegacySseSession, openLegacySse } from './legacy-sse-session.ts';
import { readPostedMessage } from './read-post.ts';
import { idOf } from './parse-message.ts';
import { refuse } from './refuse.ts';
import { sendEmpty } from './respond.ts';
import { serveExchange } from './serve-exchange.ts';
import { agentNotification, SharedReplyChannel } from './single-channel.ts';
import { claimSession, type AuthPass } from './authenticate.ts';
import type { AgentSession } from './agent-session.ts';

// The 2024-11-05 HTTP+SSE transport. A POST delivers one message: what is wrong with the POST itself
// (session, media type, size, JSON, a request the session cannot take now) is refused on the POST with
// its HTTP status and a JSON-RPC error body, and recorded; an accepted request gets 202 at once and
// everything about it (answer, progress, server->client requests) follows on the session's stream.

export type LegacySseRoute = 'sse' | 'messages';

/** Which legacy endpoint `path` is, when the transport is enabled. */
export function legacySseRoute(cfg: GatehouseConfig['gateway']['legacySse'], path: string): LegacySseRoute | undefined {
  if (!cfg.enabled) return undefined;
  if (path === cfg.ssePath) return 'sse';
  if (path === cfg.messagesPath) return 'messages';
  return undefined;
}

/** Host and origin are checked by the caller (`dispatch`), as for the MCP endpoint. */
export function handleLegacySse(edge: Edge, req: IncomingMessage, res: ServerResponse, route: LegacySseRoute, auth: AuthPass): Promise<void> | void {
  return route === 'sse' ? openLegacySse(edge, req, res, auth) : postMessage(edge, req, res, auth);
}

async function postMessage(edge: Edge, req: IncomingMessage, res: ServerResponse, auth: AuthPass): Promise<void> {
  const gw = edge.gw;
  const { ssePath, messagesPath } = gw.snapshot.config.gateway.legacySse;
  if (req.method !== 'POST') return refuse(edge, req, res, gatewayError('method_not_allowed', `${messagesPath} takes POST (one JSON-RPC message); GET ${ssePath} opens the event stream`), { allow: 'POST' });
  const sid = sessionIdParam(req.url);
  if (sid === undefined) {
    return refuse(edge, req, res, gatewayError('session_not_found', `Session not found: POST ${messagesPath} needs the ?sessionId= that the endpoint event of GET ${ssePath} announced`));
  }
  const notFound = gatewayError('session_not_found', `Session not found: it ended when its event stream closed, or never existed; open a new one with GET ${ssePath}`);
  const session = claimSession(edge, req, res, sid, auth, isOpenLegacySession, notFound);
  if (session === undefined) return;
  const read = await readPostedMessage(edge, req, res);
  if (read === undefined) return;
  const { msg, bytesIn } = read;
  const id = idOf(msg);
  if (gw.draining) return refuse(edge, req, res, gatewayError('draining', 'the gateway is shutting down; retry on another instance'), { 'retry-after': '1' }, bytesIn, id);
  const hv = req.headers['mcp-protocol-version'];
  if (typeof hv === 'string' && hv !== session.protocolVersion && !(LEGACY_VERSIONS as readonly string[]).includes(hv)) {
    return refuse(edge, req, res, gatewayError('invalid_request', `Bad Request: unsupported MCP-Protocol-Version ${hv}`), undefined, bytesIn, id);
  }

  if (!('method' in msg)) {
    if (!answerAgent(session, msg)) {
      return refuse(edge, req, res, gatewayError('invalid_request', `Bad Request: no request with id ${JSON.stringify(msg.id)} is awaiting an answer in this session`), undefined, bytesIn, null);
    }
    return sendEmpty(res, 202);
  }
  if (!('id' in msg) || msg.id === undefined || msg.id === null) {
    agentNotification(gw, msg as JsonRpcNotification, session, (rid) => session.inflight?.get(rid));
    return sendEmpty(res, 202);
  }
  const r = msg as JsonRpcRequest;
  if (session.inflight?.has(r.id)) {
    return refuse(edge, req, res, gatewayError('invalid_request', `Bad Request: a request with id ${JSON.stringify(r.id)} is already in flight in this session`), undefined, bytesIn, r.id);
  }
  if (r.method === 'initialize') {
    if (session.handshake !== 'none') {
      return refuse(edge, req, res, gatewayError('invalid_request', `Bad Request: this session is already ${session.handshake === 'done' ? 'initialized' : 'initializing'}; open a new one with GET ${ssePath}`), undefined, bytesIn, r.id);
    }
    return initialize(edge, req, res, session, r, bytesIn, auth);
  }
  // Ping may come before the handshake completes; nothing else may (2025-11-25 lifecycle).
  if (session.handshake !== 'done' && r.method !== 'ping') {
    const why = session.handshake === 'pending' ? 'initialize has not completed yet' : 'send initialize first';
    return refuse(edge, req, res, gatewayError('session_required', `Bad Request: ${why}; ${r.method} needs an initialized session`), undefined, bytesIn, r.id);
  }
  sendEmpty(res, 202);
  await serve(edge, req, session, r, bytesIn, auth);
}

async function initialize(edge: Edge, req: IncomingMessage, res: ServerResponse, session: LegacySseSession, r: JsonRpcRequest, bytesIn: number, auth: AuthPass): Promise<void> {
  const p = r.params ?? {};
  session.handshake = 'pending';
  session.protocolVersion = typeof p.protocolVersion === 'string' ? p.protocolVersion : '';
  session.clientCapabilities = (p.capabilities !== null && typeof p.capabilities === 'object' ? p.capabilities : {}) as Record<string, unknown>;
  session.clientInfo = p.clientInfo as LegacySseSession['clientInfo'];
  sendEmpty(res, 202);
  const response = await serve(edge, req, session, r, bytesIn, auth);
  if (response !== undefined && 'result' in response) {
    // The session speaks the version the gateway answered with, which may be older than the one asked.
    const negotiated = response.result.protocolVersion;
    if (typeof negotiated === 'string') session.protocolVersion = negotiated;
    session.handshake = 'done';
  } else session.handshake = 'none';
}

/** Runs an accepted request; its answer goes on the session's stream. */
async function serve(edge: Edge, req: IncomingMessage, session: LegacySseSession, r: JsonRpcRequest, bytesIn: number, auth: AuthPass): Promise<JsonRpcResponse | undefined> {
  const channel = new SharedReplyChannel(session.sse, true);
  try {
    return await serveExchange(edge.gw, channel, {
      msg: r,
      bytesIn,
      auth,
      era: 'legacy',
      protocolVersion: session.protocolVersion,
      session,
      clientCapabilities: session.clientCapabilities,
      clientAddress: clientAddress(req),
      traceparent: req.headers.traceparent,
      tracestate: req.headers.tracestate,
    });
  } catch (err) {
    // The POST was answered 202 already: the agent still gets an answer for the id, on the stream.
    edge.gw.log.error({ err, session: session.id, method: r.method }, 'legacy SSE exchange failed');
    session.sse.send(errorResponse(r.id, gatewayError('internal_error', 'internal error')));
    return undefined;
  }
}

function isOpenLegacySession(s: AgentSession): s is LegacySseSession {
  return s instanceof LegacySseSession && !s.sse.closed;
}

function sessionIdParam(url: string | undefined): string | undefined {
  const q = url?.indexOf('?') ?? -1;
  if (url === undefined || q < 0) return undefined;
  const v = new URLSearchParams(url.slice(q + 1)).get('sessionId');
  return v === null || v.length === 0 ? undefined : v;
}
