// What every transport shares: the call table, progress routing, dispatch of what the server sends,
// answers to server->client requests, and dying exactly once. Transports supply the wire.
import type { Logger } from 'pino';
import type { JsonRpcId, JsonRpcMessage, JsonRpcNotification, JsonRpcRequest, JsonRpcResponse } from '../../protocol/jsonrpc.ts';
import { LATEST_LEGACY_VERSION, META_CLIENT_CAPABILITIES, META_LOG_LEVEL, META_RELATED_TASK, META_SUBSCRIPTION_ID, type Era } from '../../protocol/mcp.ts';
import { GatewayFault, gatewayError } from '../../errors/codes.ts';
import { ProgressTokens } from '../progress-tokens.ts';
import { NotSentFault, type CallOptions, type SessionEvents, type UpstreamSession } from '../session.ts';
import { CallTable, type CancelHook, type PendingCall } from './calls.ts';
import { modernHopMeta, outgoingParams, type HopMeta } from './hop-meta.ts';

export interface SessionCoreOptions {
  name: string;
  logger: Logger;
  events: SessionEvents;
  clientInfo: { name: string; version: string };
  /** What the gateway declares to the upstream (`initialize` and modern `_meta`). */
  clientCapabilities: Record<string, unknown>;
  /** Default per-call timeout (the upstream's `timeoutMs`). */
  timeoutMs: number;
}

/** The session's hop `_meta` with this call's capabilities and log level (modern upstreams). */
function callHop(base: HopMeta, opts: CallOptions): HopMeta {
  const hop: Record<string, unknown> = { ...base };
  if (opts.clientCapabilities !== undefined) hop[META_CLIENT_CAPABILITIES] = opts.clientCapabilities;
  if (opts.logLevel !== undefined) hop[META_LOG_LEVEL] = opts.logLevel;
  return hop;
}

export abstract class SessionCore implements UpstreamSession, CancelHook {
  era: Era = 'legacy';
  protocolVersion = LATEST_LEGACY_VERSION;
  serverInfo: { name: string; version: string } | undefined = undefined;
  capabilities: Record<string, unknown> = {};
  instructions: string | undefined = undefined;

  readonly name: string;
  readonly logger: Logger;
  protected readonly events: SessionEvents;
  protected readonly calls: CallTable;
  readonly hop: HopMeta;
  readonly clientInfo: { name: string; version: string };
  readonly clientCapabilities: Record<string, unknown>;
  protected readonly defaultTimeoutMs: number;
  /** Set once the session was handed to the caller: only then does its death reach `onClose`. */
  connected = false;
  closed = false;
  private closeReason: Error | undefined = undefined;

  constructor(opts: SessionCoreOptions) {
    this.name = opts.name;
    this.logger = opts.logger;
    this.events = opts.events;
    this.defaultTimeoutMs = opts.timeoutMs;
    this.clientInfo = opts.clientInfo;
    this.clientCapabilities = opts.clientCapabilities;
    this.hop = modernHopMeta(opts.clientInfo, opts.clientCapabilities);
    this.calls = new CallTable(opts.name, this, new ProgressTokens());
  }

  /** Puts one request on the wire; failures are reported through `call.fail`. */
  protected abstract transmit(call: PendingCall, msg: JsonRpcRequest): void;
  /** Sends a notification or a response to a server request. */
  protected abstract send(msg: JsonRpcMessage): Promise<void>;
  abstract cancelUpstream(call: PendingCall, reason: 'abort' | 'timeout'): void;
  /** Releases the wire (process, sockets). Called once, by close() or by the session's death. */
  protected abstract shutdown(graceful: boolean): Promise<void>;

  /** Handshake hooks; HTTP overrides them to manage its session id and GET stream. */
  beginLegacy(): void {}
  afterLegacyInit(): void {}

  request(method: string, params: Record<string, unknown> | undefined, opts?: CallOptions): Promise<JsonRpcResponse> {
    if (this.closed) return Promise.reject(this.closedFault());
    let call: PendingCall;
    try {
      call = this.calls.open(method, opts?.onNotification, opts?.signal, opts?.timeoutMs ?? this.defaultTimeoutMs, opts);
    } catch (err) {
      return Promise.reject(err);
    }
    if (opts?.onServerRequest !== undefined) call.onServerRequest = opts.onServerRequest;
    if (opts?.relayKey !== undefined) call.relayKey = opts.relayKey;
    const hop = this.era === 'modern' && (opts?.clientCapabilities !== undefined || opts?.logLevel !== undefined) ? callHop(this.hop, opts) : this.hop;
    const wire = outgoingParams(params, this.era, hop, this.calls.progress, call, call.resetsOnProgress);
    const msg: JsonRpcRequest = wire === undefined ? { jsonrpc: '2.0', id: call.id, method } : { jsonrpc: '2.0', id: call.id, method, params: wire };
    try {
      this.transmit(call, msg);
    } catch (err) {
      // Params that cannot be serialized (a BigInt, a cycle) are the caller's mistake, not the upstream's.
      call.fail(new GatewayFault(gatewayError('invalid_params', `${method} for upstream "${this.name}" cannot be sent: ${err instanceof Error ? err.message : String(err)}`)));
    }
    return call.promise;
  }

  /** Sends params exactly as given (the handshake builds its own `_meta`). */
  handshakeRequest(method: string, params: Record<string, unknown>, timeoutMs: number, signal?: AbortSignal): Promise<JsonRpcResponse> {
    if (this.closed) return Promise.reject(this.closedFault());
    let call: PendingCall;
    try {
      call = this.calls.open(method, undefined, signal, timeoutMs);
    } catch (err) {
      return Promise.reject(err);
    }
    this.transmit(call, { jsonrpc: '2.0', id: call.id, method, params });
    return call.promise;
  }

  notify(method: string, params?: Record<string, unknown>): Promise<void> {
    if (this.closed) return Promise.reject(this.closedFault());
    const wire = outgoingParams(params, this.era, this.hop, undefined, undefined);
    try {
      return this.send(wire === undefined ? { jsonrpc: '2.0', method } : { jsonrpc: '2.0', method, params: wire });
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /** Routes one message from the server. `call` is the request whose HTTP stream carried it, if any. */
  protected dispatch(msg: JsonRpcMessage, call: PendingCall | undefined): void {
    if ('method' in msg) {
      if ('id' in msg && msg.id !== undefined && msg.id !== null) void this.answer(msg as JsonRpcRequest, call);
      else this.deliverNotification(msg, call);
      return;
    }
    const target = this.calls.get(msg.id);
    if (target !== undefined) target.succeed(msg);
    else this.logger.debug({ id: msg.id }, 'upstream answered a request that is no longer pending');
  }

  private deliverNotification(n: JsonRpcNotification, call: PendingCall | undefined): void {
    if (n.method === 'notifications/progress') {
      if (!this.calls.progress.route(n)) this.logger.debug('progress for a token with no pending call');
      return;
    }
    if (call !== undefined && call.onNotification !== undefined && !call.settled) {
      call.onNotification(n);
      return;
    }
    if (call === undefined) {
      // On stdio, a subscriptions/listen stream's messages name their subscription: the listen call's id.
      const sid = (n.params?._meta as Record<string, unknown> | undefined)?.[META_SUBSCRIPTION_ID];
      const owner = sid === undefined ? undefined : this.calls.get(sid as JsonRpcId);
      if (owner !== undefined && owner.onNotification !== undefined && !owner.settled) {
        owner.onNotification(n);
        return;
      }
    }
    if (call === undefined && n.method === 'notifications/message') {
      // stdio and GET streams don't say which request a log line is about; attribute it only when
      // that is unambiguous, as for server->client requests.
      // Only agents' calls (they carry a relayKey) are candidates; the gateway's own long-lived calls are not.
      const owner = this.calls.soleOwner((c) => c.onNotification !== undefined && c.relayKey !== undefined);
      if (owner !== undefined) {
        owner.onNotification!(n);
        return;
      }
    }
    this.safely('onNotification', this.events.onNotification, n);
  }

  private safely(what: string, fn: (n: JsonRpcNotification) => void, n: JsonRpcNotification): void {
    try {
      fn.call(this.events, n);
    } catch (err) {
      this.logger.error({ err, method: n.method }, `session ${what} handler threw`);
    }
  }

  /**
   * The call a server->client request belongs to. HTTP streams say so; otherwise the one live call
   * that relays such requests, or several whose owner is the same agent. Anything else is ambiguous:
   * guessing could show one agent's prompt to another, so the session-level handler answers instead.
   */
  private relayFor(req: JsonRpcRequest, call: PendingCall | undefined): PendingCall | undefined {
    if (req.method === 'ping') return undefined;
    if (call !== undefined) return call.onServerRequest !== undefined && !call.settled ? call : undefined;
    // A request about a task belongs to the task's owner, whoever happens to be calling now.
    if ((req.params?._meta as Record<string, unknown> | undefined)?.[META_RELATED_TASK] !== undefined) return undefined;
    return this.calls.soleOwner((c) => c.onServerRequest !== undefined);
  }

  private async answer(req: JsonRpcRequest, carrier: PendingCall | undefined): Promise<void> {
    let res: JsonRpcResponse;
    try {
      const owner = this.relayFor(req, carrier);
      res = owner !== undefined ? await owner.onServerRequest!(req) : await this.events.onServerRequest(req);
      res = { ...res, id: req.id };
    } catch (err) {
      this.logger.warn({ err, method: req.method }, 'answering a server request failed; replying with an internal error');
      res = { jsonrpc: '2.0', id: req.id, error: { code: -32603, message: 'the gateway could not answer this request' } };
    }
    if (this.closed) return;
    try {
      await this.send(res);
    } catch (err) {
      this.logger.warn({ err, method: req.method }, 'could not deliver the answer to a server request');
    }
  }

  /** The session is unusable: pending calls reject, the wire is released, `onClose` fires once. */
  protected die(reason: Error): void {
    if (this.closed) return;
    this.closed = true;
    this.closeReason = reason;
    this.calls.failAll(reason);
    this.shutdown(false).catch((err: unknown) => this.logger.warn({ err }, 'releasing a dead session failed'));
    if (this.connected) {
      try {
        this.events.onClose(reason);
      } catch (err) {
        this.logger.error({ err }, 'session onClose handler threw');
      }
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.calls.failAll(new GatewayFault(gatewayError('upstream_failed', `upstream "${this.name}" session was closed`)));
    try {
      await this.shutdown(true);
    } finally {
      if (this.connected) {
        try {
          this.events.onClose(undefined);
        } catch (err) {
          this.logger.error({ err }, 'session onClose handler threw');
        }
      }
    }
  }

  /** Nothing is sent on a closed session, so a retry (on another replica or session) is always safe. */
  closedFault(): NotSentFault {
    const cause = this.closeReason;
    return new NotSentFault(
      gatewayError('upstream_unavailable', cause === undefined ? `upstream "${this.name}" session is closed` : `upstream "${this.name}" session is closed: ${cause.message}`),
      cause === undefined ? undefined : { cause },
    );
  }

  /** A fault raised before the request left the gateway: see NotSentFault. */
  protected notSentFault(name: 'upstream_failed' | 'upstream_unavailable', message: string, detail?: Record<string, unknown>): NotSentFault {
    return new NotSentFault(gatewayError(name, `upstream "${this.name}": ${message}`, { upstream: this.name, ...detail }));
  }

  protected fault(name: 'upstream_failed' | 'upstream_protocol_error' | 'upstream_unavailable' | 'upstream_timeout', message: string, detail?: Record<string, unknown>): GatewayFault {
    return new GatewayFault(gatewayError(name, `upstream "${this.name}": ${message}`, { upstream: this.name, ...detail }));
  }
}
