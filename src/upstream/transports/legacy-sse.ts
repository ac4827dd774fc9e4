// The 2024-11-05 HTTP+SSE transport (deprecated, still common): a GET opens an event stream whose first
// `endpoint` event names where to POST messages; every answer comes back on that one stream, so the
// session lives exactly as long as the stream.
import type { Dispatcher } from 'undici';
import type { SseUpstreamConfig } from '../../config/schema/upstream.ts';
import type { JsonRpcMessage, JsonRpcRequest, JsonRpcResponse } from '../../protocol/jsonrpc.ts';
import type { TraceHeaders } from '../../protocol/trace-context.ts';
import type { CallOptions } from '../session.ts';
import type { SupervisedProcess } from '../supervisor.ts';
import type { PendingCall } from './calls.ts';
import { errorBodyOf, HttpEndpoint, mediaType, withTraceHeaders } from './http-endpoint.ts';
import { describeMessage, postMessage } from './post-message.ts';
import { SessionCore, type SessionCoreOptions } from './session-core.ts';
import { SseStreamReader } from './sse-stream.ts';
import type { SseEvent } from './sse-parser.ts';

const STOP_GRACE_MS = 5_000;

export class LegacySseSession extends SessionCore {
  readonly endpoint: HttpEndpoint;
  private readonly proc: SupervisedProcess | undefined;
  private readonly stream = new AbortController();
  private postPath: string | undefined = undefined;
  /** The trace context of the request being sent: set around SessionCore.request, which calls transmit() synchronously. */
  private attemptTrace: TraceHeaders | undefined = undefined;

  constructor(opts: SessionCoreOptions, cfg: SseUpstreamConfig, proc: SupervisedProcess | undefined) {
    super(opts);
    this.endpoint = new HttpEndpoint(cfg.name, cfg.url, cfg.headers, cfg.connectTimeoutMs);
    this.proc = proc;
    if (proc !== undefined) {
      void proc.exited.then((exit) => this.die(this.fault('upstream_failed', `the launched process ${proc.describeExit(exit)}`, { exitCode: exit.code, signal: exit.signal })));
    }
  }

  /** Opens the stream and waits for its `endpoint` event. */
  async open(signal: AbortSignal): Promise<void> {
    let res: Dispatcher.ResponseData;
    try {
      res = await this.endpoint.send('GET', this.endpoint.path, withHeader(this.endpoint.headers(), 'accept', 'text/event-stream'), undefined, AbortSignal.any([signal, this.stream.signal]));
    } catch (err) {
      throw signal.aborted ? signal.reason : this.endpoint.transportFault('opening the SSE stream', err);
    }
    if (res.statusCode !== 200 || mediaType(res) !== 'text/event-stream') {
      const body = await errorBodyOf(res);
      throw this.endpoint.statusFault('the SSE stream request', res.statusCode, body?.error);
    }
    const { promise, resolve, reject } = Promise.withResolvers<void>();
    const reader = new SseStreamReader(this, undefined);
    reader.onOtherEvent = (e) => {
      if (e.event !== 'endpoint') return;
      const error = this.adoptEndpoint(e);
      if (error === undefined) resolve();
      else {
        reject(error);
        this.stream.abort();
      }
    };
    const onAbort = (): void => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    void reader.read(res).then((outcome) => {
      const fault = this.fault('upstream_failed', outcome === 'too-large' ? 'an SSE event exceeds the size limit' : `the SSE stream ${outcome === 'end' ? 'was closed by the server' : 'lost its connection'}`);
      reject(fault);
      this.die(fault);
    });
    try {
      await promise;
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
  }

  private adoptEndpoint(e: SseEvent): Error | undefined {
    let target: URL;
    try {
      target = new URL(e.data.trim(), this.endpoint.url);
    } catch {
      return this.endpoint.protocolFault(`the endpoint event names no URL (${JSON.stringify(e.data.slice(0, 100))})`);
    }
    // Posting elsewhere would hand the configured credentials to another origin.
    const path = this.endpoint.sameOriginPath(target);
    if (path === undefined) return this.endpoint.protocolFault(`the endpoint event names another origin (${target.origin})`);
    this.postPath = path;
    return undefined;
  }

  deliver(msg: JsonRpcMessage, call: PendingCall | undefined): void {
    this.dispatch(msg, call);
  }

  override request(method: string, params: Record<string, unknown> | undefined, opts?: CallOptions): Promise<JsonRpcResponse> {
    this.attemptTrace = opts?.trace;
    try {
      return super.request(method, params, opts);
    } finally {
      this.attemptTrace = undefined;
    }
  }

  protected transmit(call: PendingCall, msg: JsonRpcRequest): void {
    this.post(msg, this.attemptTrace).catch((err: unknown) => call.fail(err));
  }

  protected send(msg: JsonRpcMessage): Promise<void> {
    return this.post(msg);
  }

  private async post(msg: JsonRpcMessage, trace?: TraceHeaders): Promise<void> {
    if (this.postPath === undefined) throw this.endpoint.protocolFault(`cannot send ${describeMessage(msg)}: no endpoint event yet`);
    const headers = withTraceHeaders(withHeader(this.endpoint.headers(), 'content-type', 'application/json'), trace);
    await postMessage(this.endpoint, this.postPath, headers, msg, this.stream.signal);
  }

  cancelUpstream(call: PendingCall, reason: 'abort' | 'timeout'): void {
    if (this.closed || call.method === 'initialize') return;
    const msg = { jsonrpc: '2.0' as const, method: 'notifications/cancelled', params: { requestId: call.id, reason: reason === 'timeout' ? 'timed out at the gateway' : 'cancelled by the client' } };
    this.post(msg).catch((err: unknown) => this.logger.debug({ err }, 'could not deliver notifications/cancelled'));
  }

  protected async shutdown(): Promise<void> {
    this.stream.abort();
    await this.endpoint.close();
    await this.proc?.stop(STOP_GRACE_MS);
  }
}

function withHeader(headers: Record<string, string>, name: string, value: string): Record<string, string> {
  headers[name] = value;
  return headers;
}
