import type { IncomingMessage, ServerResponse } from 'node:http';
import { ERRORS, gatewayError, type ErrorName } from '../errors/codes.ts';
import type { Exchange } from '../pipeline/exchange.ts';
import type { JsonRpcMessage, JsonRpcNotification, JsonRpcRequest, JsonRpcResponse } from '../protocol/jsonrpc.ts';
import { answerAgent } from './agent-origin.ts';
import { serveExchange } from './serve-exchange.ts';
import { isModernVersion, META_CLIENT_CAPABILITIES, META_PROTOCOL_VERSION, SUPPORTED_VERSIONS, LEGACY_VERSIONS } from '../protocol/mcp.ts';
import type { AgentSession } from './agent-session.ts';
import { clientAddress, type Edge } from './edge.ts';
import { checkProtocolVersion, validateModernHeaders } from './modern-headers.ts';
import { readPostedMessage } from './read-post.ts';
import { idOf } from './parse-message.ts';
import { agentNotification } from './single-channel.ts';
import { acceptsJson, acceptsSse, sendEmpty } from './respond.ts';
import { ResponseChannel } from './response-channel.ts';
import { refuse } from './refuse.ts';
import { claimSession, isStreamableSession, type AuthPass } from './authenticate.ts';

const MODERN_SUPPORTED = SUPPORTED_VERSIONS.filter(isModernVersion);
const SESSION_HEADER = 'mcp-session-id';
const LIMIT_REFUSALS: ReadonlySet<string> = new Set(['rate_limited', 'quota_exceeded', 'concurrency_limited', 'limits_unavailable']);

/** POST to the MCP endpoint: one JSON-RPC message, either era. */
export async function handlePost(edge: Edge, req: IncomingMessage, res: ServerResponse, auth: AuthPass): Promise<void> {
  const gw = edge.gw;
  const read = await readPostedMessage(edge, req, res, () =>
    acceptsJson(req.headers.accept) ? undefined : gatewayError('not_acceptable', 'Accept must allow application/json'),
  );
  if (read === undefined) return;
  const { msg, bytesIn: bodyBytes } = read;
  if (gw.draining) return refuse(edge, req, res, gatewayError('draining', 'the gateway is shutting down; retry on another instance'), { 'retry-after': '1' }, bodyBytes, idOf(msg));

  const isRequest = 'method' in msg && 'id' in msg && msg.id !== undefined && msg.id !== null;
  const meta = 'method' in msg ? (msg.params?._meta as Record<string, unknown> | undefined) : undefined;
  const headerVersion = req.headers['mcp-protocol-version'];
  const modernShaped = meta?.[META_PROTOCOL_VERSION] !== undefined || (typeof headerVersion === 'string' && isModernVersion(headerVersion));
  // initialize carrying 2026-07-28 metadata is a modern request for a removed method (404), not a handshake.
  if (isRequest && msg.method === 'initialize' && !modernShaped) return initialize(edge, req, res, msg as JsonRpcRequest, bodyBytes, auth);

  const sid = req.headers[SESSION_HEADER];
  if (typeof sid === 'string') return legacy(edge, req, res, msg, sid, bodyBytes, auth);

  if (modernShaped) return modern(edge, req, res, msg, bodyBytes, auth);
  // Neither a handshake, nor a session, nor per-request metadata.
  const e =
    typeof headerVersion === 'string' && (LEGACY_VERSIONS as readonly string[]).includes(headerVersion)
      ? gatewayError('session_required', 'Bad Request: Mcp-Session-Id header is required (send initialize first)')
      : gatewayError('invalid_params', `Invalid params: _meta["${META_PROTOCOL_VERSION}"] is required (or send initialize for a ${LEGACY_VERSIONS[0]} session)`);
  return refuse(edge, req, res, e, undefined, bodyBytes, idOf(msg));
}

async function modern(edge: Edge, req: IncomingMessage, res: ServerResponse, msg: JsonRpcMessage, bytesIn: number, auth: AuthPass): Promise<void> {
  if (!('method' in msg)) return refuse(edge, req, res, gatewayError('invalid_request', 'the 2026-07-28 transport carries no client responses'), undefined, bytesIn);
  if (!('id' in msg) || msg.id === undefined) {
    // No client notifications are defined for 2026-07-28 HTTP; accepting them harms nothing.
    return sendEmpty(res, 202);
  }
  const r = msg as JsonRpcRequest;
  const meta = r.params?._meta as Record<string, unknown> | undefined;
  const version = meta?.[META_PROTOCOL_VERSION];
  if (typeof version !== 'string') return refuse(edge, req, res, gatewayError('invalid_params', `Invalid params: _meta["${META_PROTOCOL_VERSION}"] must be a string`), undefined, bytesIn, r.id);
  // Header/body agreement first: a version the two disagree on is a mismatch (-32020), not an unsupported one.
  const mismatch = validateModernHeaders(req.headers, r, edge.paramHeaders(r));
  if (mismatch !== undefined) return refuse(edge, req, res, mismatch, undefined, bytesIn, r.id);
  const unsupported = checkProtocolVersion(version, MODERN_SUPPORTED);
  if (unsupported !== undefined) {
    const e = gatewayError('unsupported_protocol_version', unsupported.message, { supported: [...SUPPORTED_VERSIONS], requested: version });
    return refuse(edge, req, res, e, undefined, bytesIn, r.id);
  }
  const caps = meta?.[META_CLIENT_CAPABILITIES];
  if (caps === null || typeof caps !== 'object') {
    return refuse(edge, req, res, gatewayError('invalid_params', `Invalid params: _meta["${META_CLIENT_CAPABILITIES}"] is required`), undefined, bytesIn, r.id);
  }
  await exchange(edge, req, res, r, bytesIn, auth, 'modern', version, undefined, caps as Record<string, unknown>);
}

async function initialize(edge: Edge, req: IncomingMessage, res: ServerResponse, msg: JsonRpcRequest, bytesIn: number, auth: AuthPass): Promise<void> {
  const p = msg.params ?? {};
  const version = typeof p.protocolVersion === 'string' ? p.protocolVersion : '';
  const caps = (p.capabilities !== null && typeof p.capabilities === 'object' ? p.capabilities : {}) as Record<string, unknown>;
  const created = edge.sessions.create((id) => ({
    id,
    protocolVersion: version,
    clientCapabilities: caps,
    clientInfo: p.clientInfo as AgentSession['clientInfo'],
    // Bound to who opened it: the id alone never lets another principal in (session hijacking).
    principalId: auth.principal.id,
    initialized: false,
    logLevel: undefined,
    stream: undefined,
    inflight: undefined,
    requests: undefined,
    resources: undefined,
    cleanup: undefined,
  }));
  if (created === undefined) {
    return refuse(edge, req, res, gatewayError('too_many_sessions', 'too many open sessions; retry later'), { 'retry-after': '5' }, bytesIn, msg.id);
  }
  const ok = await exchange(edge, req, res, msg, bytesIn, auth, 'legacy', version, created.session, caps, { [SESSION_HEADER]: created.id });
  if (!ok) edge.sessions.delete(created.id);
}

async function legacy(edge: Edge, req: IncomingMessage, res: ServerResponse, msg: JsonRpcMessage, sid: string, bytesIn: number, auth: AuthPass): Promise<void> {
  const notFound = gatewayError('session_not_found', 'Session not found: start a new session with initialize');
  const session = claimSession(edge, req, res, sid, auth, isStreamableSession, notFound, bytesIn, idOf(msg));
  if (session === undefined) return;
  const hv = req.headers['mcp-protocol-version'];
  if (typeof hv === 'string' && hv !== session.protocolVersion && !(LEGACY_VERSIONS as readonly string[]).includes(hv)) {
    return refuse(edge, req, res, gatewayError('invalid_request', `Bad Request: unsupported MCP-Protocol-Version ${hv}`), undefined, bytesIn, idOf(msg));
  }
  if (!('method' in msg)) {
    if (!answerAgent(session, msg as JsonRpcResponse)) {
      return refuse(edge, req, res, gatewayError('invalid_request', `Bad Request: no request with id ${JSON.stringify(msg.id)} is awaiting an answer in this session`), undefined, bytesIn, null);
    }
    return sendEmpty(res, 202);
  }
  if (!('id' in msg) || msg.id === undefined) {
    agentNotification(edge.gw, msg as JsonRpcNotification, session, (rid) => session.inflight?.get(rid));
    return sendEmpty(res, 202);
  }
  await exchange(edge, req, res, msg as JsonRpcRequest, bytesIn, auth, 'legacy', session.protocolVersion, session, session.clientCapabilities);
}

/** Runs one request through the gateway and writes its answer. Returns false when it failed. */
async function exchange(
  edge: Edge,
  req: IncomingMessage,
  res: ServerResponse,
  msg: JsonRpcRequest,
  bytesIn: number,
  auth: AuthPass,
  era: 'modern' | 'legacy',
  protocolVersion: string,
  session: AgentSession | undefined,
  caps: Record<string, unknown>,
  headers?: Record<string, string>,
): Promise<boolean> {
  const channel = new ResponseChannel(res, acceptsSse(req.headers.accept), headers);
  const response = await serveExchange(edge.gw, channel, {
    msg,
    bytesIn,
    auth,
    era,
    protocolVersion,
    session,
    clientCapabilities: caps,
    clientAddress: clientAddress(req),
    traceparent: req.headers.traceparent,
    tracestate: req.headers.tracestate,
    status: era === 'modern' ? modernStatus : undefined,
  });
  return !('error' in response);
}

/**
 * 2026-07-28 gives some JSON-RPC errors an HTTP status of their own: an unimplemented method is 404,
 * and the protocol errors (header mismatch, missing client capability, unsupported version) are 400,
 * whether the gateway or an upstream raised them. Everything else answered with a JSON-RPC body is 200.
 *
 * Traffic-limit refusals are 429 (503 when the shared counters are unreachable), with Retry-After
 * (serve-exchange.ts): each 2026-07-28 request is its own POST, so the status is about this request
 * alone, and proxies and HTTP clients back off on it. The SDK clients surface it as an HTTP error that
 * carries the status and the JSON-RPC body. 2025-era sessions keep 200 (this function is not used for
 * them): the v1 SDK's StreamableHTTPClientTransport turns any non-2xx answer into a transport error,
 * reported through `onerror` and without the JSON-RPC code and `data`, where a 200 gives the caller an
 * McpError with `data.limit` and `data.retryAfterMs`.
 */
function modernStatus(x: Exchange): number {
  const e = x.error;
  if (e === undefined) return 200;
  if (e.source === 'gateway' && e.name === 'method_not_found') return 404;
  if (e.source === 'gateway' && e.name === 'audit_unavailable') return 503;
  if (e.source === 'gateway' && e.name !== undefined && LIMIT_REFUSALS.has(e.name)) return ERRORS[e.name as ErrorName].http;
  return e.code === -32020 || e.code === -32021 || e.code === -32022 ? 400 : 200;
}
