import type { Gateway } from '../core/gateway.ts';
import { ERRORS, errorResponse, type GatewayError } from '../errors/codes.ts';
import { Exchange } from '../pipeline/exchange.ts';
import type { JsonRpcFailure, JsonRpcId, JsonRpcNotification } from '../protocol/jsonrpc.ts';
import type { RequestWriter } from '../relay/agent-requests.ts';
import { refusalOutcome, type RefusalContext } from './refuse.ts';
import type { AgentSession } from './agent-session.ts';
import type { ReplyChannel } from './serve-exchange.ts';

// What the transports with one channel for everything (legacy HTTP+SSE, stdio) share: the reply
// channel that writes on it, the handling of agent notifications, and refusals that are recorded.

/** The one channel back to the agent: an SSE stream, stdout. */
export interface MessageOut {
  sendJson(json: string): { readonly ok: boolean };
  readonly closed: boolean;
}

/**
 * The way back for one request on a shared channel: its progress, logs, server->client requests and
 * answer all go there, correlated by id. Once the request is cancelled (notifications/cancelled, or its
 * session ended) nothing more is written for it: the spec forbids any further message for that id.
 */
export class SharedReplyChannel implements ReplyChannel {
  readonly controller = new AbortController();
  readonly request: RequestWriter | undefined;
  readonly #out: MessageOut;
  #done = false;
  dropped = 0;

  /** `serverRequests`: whether this request may carry server->client requests (2025 era only). */
  constructor(out: MessageOut, serverRequests: boolean) {
    this.#out = out;
    this.request = serverRequests ? (r) => this.#write(JSON.stringify(r)) : undefined;
  }

  get clientGone(): boolean {
    return this.#out.closed || this.controller.signal.aborted;
  }

  readonly notify = (n: JsonRpcNotification): void => {
    if (!this.#write(JSON.stringify(n))) this.dropped++;
  };

  finish(text: string, _status: number): void {
    const gone = this.#done || this.clientGone;
    this.#done = true;
    if (!gone) this.#out.sendJson(text);
  }

  #write(json: string): boolean {
    if (this.#done || this.clientGone) return false;
    return this.#out.sendJson(json).ok;
  }
}

/**
 * A notification from the agent: `initialized` completes the handshake, `cancelled` aborts the request
 * it names (found through `inflight`), anything else is logged: nothing is silently dropped.
 */
export function agentNotification(gw: Gateway, n: JsonRpcNotification, session: AgentSession | undefined, inflight: (id: JsonRpcId) => AbortController | undefined): void {
  if (n.method === 'notifications/initialized') {
    if (session !== undefined) session.initialized = true;
    return;
  }
  if (n.method === 'notifications/cancelled') {
    const rid = n.params?.requestId;
    const c = typeof rid === 'string' || typeof rid === 'number' ? inflight(rid) : undefined;
    if (c === undefined) gw.log.debug({ requestId: rid, session: session?.id }, 'cancellation for a request not in flight');
    c?.abort(new Error(typeof n.params?.reason === 'string' ? n.params.reason : 'cancelled by the client'));
    return;
  }
  gw.log.debug({ method: n.method, session: session?.id }, 'client notification');
}

const NEVER = new AbortController().signal;

/**
 * Refuses one message and records it, like `refuse()` does for HTTP requests: the error is written by
 * `write` (on the POST, or on stdout) and the exchange record carries it. Returns the response written.
 */
export function refuseMessage(
  gw: Gateway,
  write: (json: string) => void,
  method: string,
  e: GatewayError,
  opts: { bytesIn: number; id: JsonRpcId | null; clientAddress: string | undefined; session?: AgentSession | undefined; ctx?: RefusalContext },
): JsonRpcFailure {
  const x = new Exchange(
    gw.snapshot,
    { era: undefined, protocolVersion: undefined, session: opts.session, clientAddress: opts.clientAddress, clientCapabilities: {}, notify: undefined, ask: undefined, logLevel: undefined },
    method,
    opts.id ?? undefined,
    undefined,
    NEVER,
    opts.bytesIn,
  );
  gw.begin();
  const ctx = opts.ctx;
  if (ctx?.principal !== undefined) x.principal = ctx.principal;
  if (ctx?.decision !== undefined) x.recordDecision(ctx.decision);
  x.fail(refusalOutcome(e, ctx), e, ERRORS[e.name].code);
  const res = errorResponse(opts.id, e);
  const text = JSON.stringify(res);
  x.bytesOut = Buffer.byteLength(text);
  // Written once the record is durable, like every answer; a refusal the trail could not keep is
  // still a refusal, so it goes out either way (the trail counts the loss).
  const send = (): void => {
    write(text);
    gw.end();
  };
  void gw.complete(x, res).then(send, send);
  return res;
}
