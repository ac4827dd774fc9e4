// Streamable HTTP, both eras. Modern (2026-07-28): one POST per request, no session, the Mcp-* headers,
// cancellation by closing the response. Legacy (2025-03-26..2025-11-25): Mcp-Session-Id, the optional
// GET stream for server-initiated messages, re-initialization on 404, resumption of a response stream
// with Last-Event-ID, DELETE on close.
import type { Dispatcher } from 'undici';
import type { HttpUpstreamConfig } from '../../config/schema/upstream.ts';
import type { JsonRpcErrorObject, JsonRpcMessage, JsonRpcRequest, JsonRpcResponse } from '../../protocol/jsonrpc.ts';
import { GatewayFault } from '../../errors/codes.ts';
import type { TraceHeaders } from '../../protocol/trace-context.ts';
import { notSent, type CallOptions } from '../session.ts';
import type { SupervisedProcess } from '../supervisor.ts';
import type { PendingCall } from './calls.ts';
import { handshake } from './handshake.ts';
import { discardBody, drain, errorBodyOf, header, HttpEndpoint, mediaType, parseMessage, readBody, withTraceHeaders } from './http-endpoint.ts';
import { LegacyGetStream } from './legacy-get-stream.ts';
import { addModernHeaders, ParamHeaderTable } from './mcp-headers.ts';
import { postMessage } from './post-message.ts';
import { SessionCore, type SessionCoreOptions } from './session-core.ts';
import { SseStreamReader } from './sse-stream.ts';

const ACCEPT_BOTH = 'application/json, text/event-stream';
const STOP_GRACE_MS = 5_000;
const DELETE_TIMEOUT_MS = 2_000;
const MAX_RESUMES = 3;
/** A server's `retry:` is honoured up to this long before resuming a cut response stream. */
const MAX_RETRY_WAIT_MS = 10_000;
/** Methods that run while a re-initialization is under way instead of waiting for it. */
const HANDSHAKE_METHODS = new Set(['initialize', 'notifications/initialized']);

/**
 * A legacy server that no longer knows the session id must answer 404; many built from the SDK's
 * example answer 400 "No valid session ID" instead, which means the same when an id was sent.
 */
export function sessionExpired(status: number, error: JsonRpcErrorObject | undefined): boolean {
  return status === 404 || (status === 400 && error !== undefined && /session/i.test(error.message));
}

export class StreamableHttpSession extends SessionCore {
  readonly endpoint: HttpEndpoint;
  private readonly proc: SupervisedProcess | undefined;
  private readonly connectTimeoutMs: number;
  private sessionId: string | undefined = undefined;
  /** The negotiated legacy version, sent as MCP-Protocol-Version once initialization is done. */
  private legacyVersion: string | undefined = undefined;
  private getStream: LegacyGetStream | undefined = undefined;
  private reinit: Promise<void> | undefined = undefined;
  private readonly paramHeaders = new ParamHeaderTable();
  /** The trace context of the request being sent: set around SessionCore.request, which calls transmit() synchronously. */
  private attemptTrace: TraceHeaders | undefined = undefined;

  constructor(opts: SessionCoreOptions, cfg: HttpUpstreamConfig, proc: SupervisedProcess | undefined) {
    super(opts);
    this.endpoint = new HttpEndpoint(cfg.name, cfg.url, cfg.headers, cfg.connectTimeoutMs);
    this.connectTimeoutMs = cfg.connectTimeoutMs;
    this.proc = proc;
    if (proc !== undefined) {
      void proc.exited.then((exit) => this.die(this.fault('upstream_failed', `the launched process ${proc.describeExit(exit)}`, { exitCode: exit.code, signal: exit.signal })));
    }
  }

  override request(method: string, params: Record<string, unknown> | undefined, opts?: CallOptions): Promise<JsonRpcResponse> {
    this.attemptTrace = opts?.trace;
    let p: Promise<JsonRpcResponse>;
    try {
      p = super.request(method, params, opts);
    } finally {
      this.attemptTrace = undefined;
    }
    if (method !== 'tools/list' || this.era !== 'modern') return p;
    // Streamable HTTP clients must mirror x-mcp-header arguments, and drop tools that annotate badly.
    return p.then((res) => {
      if ('result' in res) this.paramHeaders.learn(res.result, this.logger);
      return res;
    });
  }

  override beginLegacy(): void {
    this.sessionId = undefined;
    this.legacyVersion = undefined;
    this.getStream?.stop();
    this.getStream = undefined;
  }

  override afterLegacyInit(): void {
    this.legacyVersion = this.protocolVersion;
    if (this.closed) return;
    this.getStream = new LegacyGetStream(this, this.endpoint, this.logger);
    this.getStream.start();
  }

  /** Headers of the GET stream and of every legacy message after initialization. */
  legacyHeaders(into: Record<string, string>): Record<string, string> {
    if (this.sessionId !== undefined) into['mcp-session-id'] = this.sessionId;
    if (this.legacyVersion !== undefined) into['mcp-protocol-version'] = this.legacyVersion;
    return into;
  }

  get currentSessionId(): string | undefined {
    return this.sessionId;
  }

  private headersFor(msg: JsonRpcMessage, trace?: TraceHeaders): Record<string, string> {
    const h = withTraceHeaders(this.endpoint.headers(), trace);
    h['content-type'] = 'application/json';
    h.accept = ACCEPT_BOTH;
    return this.era === 'legacy' ? this.legacyHeaders(h) : addModernHeaders(msg, this.paramHeaders, h);
  }

  protected transmit(call: PendingCall, msg: JsonRpcRequest): void {
    void this.post(call, msg, true, this.attemptTrace);
  }

  private async post(call: PendingCall, msg: JsonRpcRequest, mayReinit: boolean, trace: TraceHeaders | undefined): Promise<void> {
    if (this.reinit !== undefined && !HANDSHAKE_METHODS.has(msg.method)) {
      try {
        await this.reinit;
      } catch (err) {
        // The request waited for a new session that never came: it was not sent.
        call.fail(err instanceof GatewayFault ? notSent(err) : err);
        return;
      }
    }
    if (call.settled) return;
    const controller = new AbortController();
    call.controller = controller;
    const sentSession = this.sessionId;
    let res: Dispatcher.ResponseData;
    try {
      res = await this.endpoint.send('POST', this.endpoint.path, this.headersFor(msg, trace), JSON.stringify(msg), controller.signal);
    } catch (err) {
      if (!call.settled) call.fail(this.endpoint.transportFault(msg.method, err, true));
      return;
    }
    if (call.settled) {
      discardBody(res.body);
      return;
    }
    try {
      await this.onPostResponse(call, msg, res, sentSession, mayReinit, trace);
    } catch (err) {
      if (!call.settled) call.fail(this.endpoint.transportFault(msg.method, err));
    }
  }

  private async onPostResponse(
    call: PendingCall,
    msg: JsonRpcRequest,
    res: Dispatcher.ResponseData,
    sentSession: string | undefined,
    mayReinit: boolean,
    trace: TraceHeaders | undefined,
  ): Promise<void> {
    const status = res.statusCode;
    if (status < 200 || status >= 300) {
      const body = await errorBodyOf(res);
      if (mayReinit && this.era === 'legacy' && sentSession !== undefined && sessionExpired(status, body?.error)) {
        // The server forgot the session, so it did not process the request: start a new one, then retry.
        try {
          await this.reinitialize(sentSession);
        } catch (err) {
          call.fail(err instanceof GatewayFault ? notSent(err) : err);
          return;
        }
        if (!call.settled) await this.post(call, msg, false, trace);
        return;
      }
      if (mayReinit && this.era === 'modern' && msg.method === 'tools/call' && status === 400 && body?.error.code === -32020) {
        // Mcp-Param-* headers missing or stale: learn the tool's schema afresh, then retry once.
        await this.paramHeaders.refresh((params) => this.request('tools/list', params));
        if (!call.settled) await this.post(call, msg, false, trace);
        return;
      }
      if (body !== undefined && (body.id === call.id || body.id === String(call.id))) call.succeed({ jsonrpc: '2.0', id: call.id, error: body.error });
      else call.fail(this.endpoint.statusFault(msg.method, status, body?.error));
      return;
    }
    if (msg.method === 'initialize') {
      const sid = header(res, 'mcp-session-id');
      if (sid !== undefined && /^[\x21-\x7e]+$/.test(sid)) this.sessionId = sid;
    }
    const type = mediaType(res);
    if (type === 'text/event-stream') {
      await this.readResponseStream(call, msg, res, 0);
      return;
    }
    if (type !== 'application/json') {
      drain(res);
      call.fail(this.endpoint.protocolFault(`answered ${msg.method} with HTTP ${status} and content-type ${JSON.stringify(type || '(none)')} instead of JSON or an event stream`, { httpStatus: status }));
      return;
    }
    const bytes = await readBody(res);
    if (bytes === undefined) {
      call.fail(this.endpoint.protocolFault(`the answer to ${msg.method} exceeds the body limit`));
      return;
    }
    const parsed = parseMessage(bytes);
    if (typeof parsed === 'string' || 'method' in parsed) {
      call.fail(this.endpoint.protocolFault(`the answer to ${msg.method} is not a JSON-RPC response (${typeof parsed === 'string' ? parsed : `a ${parsed.method} message`})`));
      return;
    }
    call.succeed(parsed.id === call.id ? parsed : { ...parsed, id: call.id });
  }

  /** Reads a response stream; a legacy stream cut before its answer is resumed with Last-Event-ID. */
  private async readResponseStream(call: PendingCall, msg: JsonRpcRequest, res: Dispatcher.ResponseData, resumes: number): Promise<void> {
    const reader = new SseStreamReader(this, call);
    const outcome = await reader.read(res);
    if (call.settled) return;
    if (outcome === 'too-large') {
      call.fail(this.endpoint.protocolFault(`an event on the stream answering ${msg.method} exceeds the size limit`));
      return;
    }
    const lastId = reader.lastEventId;
    if (this.era !== 'legacy' || lastId === undefined || resumes >= MAX_RESUMES) {
      call.fail(this.fault('upstream_failed', `the stream answering ${msg.method} ended before the answer${outcome === 'error' ? ' (connection lost)' : ''}`));
      return;
    }
    await new Promise((r) => setTimeout(r, Math.min(reader.retryMs ?? 500, MAX_RETRY_WAIT_MS)));
    if (call.settled) return;
    const controller = new AbortController();
    call.controller = controller;
    let again: Dispatcher.ResponseData;
    try {
      const headers = this.legacyHeaders(this.endpoint.headers());
      headers.accept = 'text/event-stream';
      headers['last-event-id'] = lastId;
      again = await this.endpoint.send('GET', this.endpoint.path, headers, undefined, controller.signal);
    } catch (err) {
      if (!call.settled) call.fail(this.endpoint.transportFault(`resuming ${msg.method}`, err));
      return;
    }
    if (again.statusCode !== 200 || mediaType(again) !== 'text/event-stream') {
      drain(again);
      call.fail(this.endpoint.statusFault(`resuming the stream of ${msg.method}`, again.statusCode, undefined));
      return;
    }
    await this.readResponseStream(call, msg, again, resumes + 1);
  }

  /** Called by the stream readers for each message. */
  deliver(msg: JsonRpcMessage, call: PendingCall | undefined): void {
    this.dispatch(msg, call);
  }

  private reinitialize(expired: string): Promise<void> {
    if (this.sessionId !== expired && this.reinit === undefined) return Promise.resolve();
    this.reinit ??= this.runReinit().finally(() => {
      this.reinit = undefined;
    });
    return this.reinit;
  }

  private async runReinit(): Promise<void> {
    this.logger.warn('upstream session expired; initializing a new one');
    const timeout = AbortSignal.timeout(this.connectTimeoutMs);
    try {
      await handshake(this, { mode: 'legacy', knownEra: 'legacy', probeTimeoutMs: this.connectTimeoutMs, deadline: Date.now() + this.connectTimeoutMs, signal: timeout });
    } catch (err) {
      const why = err instanceof Error ? err.message : String(err);
      const fault = this.fault('upstream_failed', `session expired and re-initialization failed: ${why}`);
      this.die(fault);
      throw fault;
    }
  }

  protected async send(msg: JsonRpcMessage): Promise<void> {
    if (this.reinit !== undefined && !('method' in msg && HANDSHAKE_METHODS.has(msg.method))) await this.reinit;
    await postMessage(this.endpoint, this.endpoint.path, this.headersFor(msg), msg, undefined);
  }

  cancelUpstream(call: PendingCall, reason: 'abort' | 'timeout'): void {
    call.controller?.abort();
    call.controller = undefined;
    // A legacy server must not read a dropped stream as a cancellation; it needs to be told.
    if (this.era === 'legacy' && !this.closed && !HANDSHAKE_METHODS.has(call.method)) {
      const msg = { jsonrpc: '2.0' as const, method: 'notifications/cancelled', params: { requestId: call.id, reason: reason === 'timeout' ? 'timed out at the gateway' : 'cancelled by the client' } };
      this.send(msg).catch((err: unknown) => this.logger.debug({ err }, 'could not deliver notifications/cancelled'));
    }
  }

  protected async shutdown(graceful: boolean): Promise<void> {
    this.getStream?.stop();
    this.getStream = undefined;
    if (graceful && this.era === 'legacy' && this.sessionId !== undefined) {
      try {
        const res = await this.endpoint.send('DELETE', this.endpoint.path, this.legacyHeaders(this.endpoint.headers()), undefined, AbortSignal.timeout(DELETE_TIMEOUT_MS));
        drain(res);
      } catch (err) {
        this.logger.debug({ err }, 'DELETE of the upstream session failed');
      }
    }
    await this.endpoint.close();
    await this.proc?.stop(STOP_GRACE_MS);
  }
}
