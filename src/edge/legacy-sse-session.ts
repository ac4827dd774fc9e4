import type { IncomingMessage, ServerResponse } from 'node:http';
import { gatewayError } from '../errors/codes.ts';
import type { JsonRpcId } from '../protocol/jsonrpc.ts';
import type { AgentRequests } from '../relay/agent-requests.ts';
import type { ResourceListener } from '../relay/subscriptions.ts';
import type { AgentSession, SessionStream } from './agent-session.ts';
import { closeSession, type Edge } from './edge.ts';
import { refuse } from './refuse.ts';
import { SseWriter } from './sse-writer.ts';
import type { AuthPass } from './authenticate.ts';

// Sessions of the 2024-11-05 HTTP+SSE transport: GET <ssePath> opens one, and its event stream carries
// everything the gateway sends the agent (answers, progress, server->client requests, list changes).
// They live in the edge's session table beside the Streamable HTTP ones, so limits and list_changed
// broadcasts cover both.

const KEEP_ALIVE_MS = 25_000;

/**
 * A session of the legacy transport. The handshake happens after the stream opens, so what it declares
 * (version, capabilities, client) is filled in by `initialize` rather than fixed at creation.
 */
export class LegacySseSession implements AgentSession {
  readonly id: string;
  protocolVersion = '';
  clientCapabilities: Record<string, unknown> = {};
  clientInfo: AgentSession['clientInfo'] = undefined;
  readonly principalId: string;
  initialized = false;
  logLevel: string | undefined = undefined;
  stream: SessionStream | undefined;
  inflight: Map<JsonRpcId, AbortController> | undefined = undefined;
  requests: AgentRequests | undefined = undefined;
  resources: ResourceListener | undefined = undefined;
  cleanup: (() => void)[] | undefined = undefined;
  readonly singleChannel = true;
  /** `none` until initialize is accepted, `pending` while it runs, `done` once it succeeded. */
  handshake: 'none' | 'pending' | 'done' = 'none';
  readonly sse: SseWriter;

  constructor(id: string, sse: SseWriter, principalId: string) {
    this.id = id;
    this.principalId = principalId;
    this.sse = sse;
    this.stream = sse;
  }
}

/** GET <ssePath>: a new session, its stream, and the `endpoint` event. */
export function openLegacySse(edge: Edge, req: IncomingMessage, res: ServerResponse, auth: AuthPass): void {
  const cfg = edge.gw.snapshot.config.gateway;
  const { ssePath, messagesPath } = cfg.legacySse;
  if (req.method !== 'GET') {
    return refuse(edge, req, res, gatewayError('method_not_allowed', `${ssePath} takes GET (it opens the event stream of the HTTP+SSE transport); messages go to ${messagesPath}`), { allow: 'GET' });
  }
  const accept = req.headers.accept;
  if (accept !== undefined && !accept.includes('text/event-stream') && !accept.includes('*/*')) {
    return refuse(edge, req, res, gatewayError('not_acceptable', `GET ${ssePath} needs Accept: text/event-stream`));
  }
  if (edge.gw.draining) return refuse(edge, req, res, gatewayError('draining', 'the gateway is shutting down; retry on another instance'), { 'retry-after': '1' });
  const created = edge.sessions.create((id) => new LegacySseSession(id, new SseWriter(res, { keepAliveMs: KEEP_ALIVE_MS }), auth.principal.id));
  if (created === undefined) return refuse(edge, req, res, gatewayError('too_many_sessions', 'too many open sessions; retry later'), { 'retry-after': '5' });
  const { id } = created;
  const session = created.session as LegacySseSession;
  const sse = session.sse;
  sse.open();
  // The one event that is not a JSON-RPC message: where to POST, relative to this server (2024-11-05).
  res.write(`event: endpoint\ndata: ${messagesPath}?sessionId=${id}\n\n`);
  // An open stream is a live session: keep it from idling out while the agent stays connected.
  const idleMs = cfg.limits.sessionIdleSeconds * 1000;
  const touch = setInterval(() => edge.sessions.get(id), Math.max(Math.min(KEEP_ALIVE_MS, idleMs / 2), 10));
  touch.unref();
  edge.gw.log.debug({ session: id }, 'legacy SSE session opened');
  sse.onClose((reason) => {
    clearInterval(touch);
    if (edge.sessions.peek(id) === session) edge.sessions.delete(id);
    closeSession(session);
    edge.gw.log.debug({ session: id, reason }, 'legacy SSE session closed');
  });
}
