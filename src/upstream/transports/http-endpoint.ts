// One upstream HTTP origin: an undici Pool with keep-alive, the configured headers (credentials: never
// logged, never in error messages), bounded body reading, and the mapping of HTTP and socket failures
// to gateway errors that name the upstream and what happened.
import { Pool, type Dispatcher } from 'undici';
import { GatewayFault, gatewayError } from '../../errors/codes.ts';
import { checkMessage, type JsonRpcErrorObject, type JsonRpcMessage } from '../../protocol/jsonrpc.ts';
import type { TraceHeaders } from '../../protocol/trace-context.ts';
import { NotSentFault } from '../session.ts';

/** Largest JSON body (or single SSE event) accepted from an upstream. */
export const MAX_HTTP_BODY = 64 * 1024 * 1024;
/** Error bodies are only read for their JSON-RPC error; they need not be large. */
const MAX_ERROR_BODY = 1024 * 1024;
const MAX_CONNECTIONS = 256;
/** Socket errors that happen before a connection exists: no request can have been sent on it. */
const CONNECT_FAILURES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'UND_ERR_CONNECT_TIMEOUT']);

export type HttpMethod = 'GET' | 'POST' | 'DELETE';

export class HttpEndpoint {
  readonly url: URL;
  readonly path: string;
  /** The URL without credentials or query, for messages. */
  readonly display: string;
  private readonly upstream: string;
  private readonly pool: Pool;
  private readonly base: Record<string, string>;

  constructor(upstream: string, url: string, headers: Record<string, string>, connectTimeoutMs: number) {
    this.upstream = upstream;
    this.url = new URL(url);
    this.path = `${this.url.pathname}${this.url.search}`;
    this.display = `${this.url.origin}${this.url.pathname}`;
    this.pool = new Pool(this.url.origin, {
      connections: MAX_CONNECTIONS,
      connectTimeout: connectTimeoutMs,
      // Call deadlines are the session's business: a tool may think for minutes before its headers.
      headersTimeout: 0,
      bodyTimeout: 0,
      keepAliveTimeout: 10_000,
    });
    const base: Record<string, string> = {};
    if (this.url.username !== '') {
      const user = decodeURIComponent(this.url.username);
      const pass = decodeURIComponent(this.url.password);
      base.authorization = `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;
    }
    for (const [k, v] of Object.entries(headers)) base[k.toLowerCase()] = v;
    this.base = base;
  }

  /** The path of `target` when it is on this endpoint's origin (the legacy SSE POST endpoint). */
  sameOriginPath(target: URL): string | undefined {
    return target.origin === this.url.origin ? `${target.pathname}${target.search}` : undefined;
  }

  /**
   * A fresh header object holding the configured headers (lower-cased), for the caller to add the
   * protocol's own to: those win over configured ones of the same name.
   */
  headers(): Record<string, string> {
    return { ...this.base };
  }

  /** `headers` come from `headers()`: sent as they are. */
  send(method: HttpMethod, path: string, headers: Record<string, string>, body: string | undefined, signal: AbortSignal | undefined): Promise<Dispatcher.ResponseData> {
    return this.pool.request({ method, path, headers, body: body ?? null, signal: signal ?? null });
  }

  async close(): Promise<void> {
    await this.pool.destroy().catch(() => undefined);
  }

  /**
   * A socket-level failure as a gateway error. With `requestUnsent` (the failed exchange is the one
   * that would have carried the request), a connection that could not be made means the request
   * never left: a NotSentFault. Anything later (reset, closed mid-body) may have reached the server.
   */
  transportFault(what: string, err: unknown, requestUnsent = false): GatewayFault {
    const code = (err as { code?: unknown } | null)?.code;
    const msg = err instanceof Error ? err.message : String(err);
    const detail = { upstream: this.upstream, url: this.display, code };
    if (typeof code === 'string' && CONNECT_FAILURES.has(code)) {
      const e = gatewayError('upstream_unavailable', `upstream "${this.upstream}": cannot connect to ${this.display} (${code}) for ${what}`, detail);
      return requestUnsent ? new NotSentFault(e, { cause: err }) : new GatewayFault(e, { cause: err });
    }
    return new GatewayFault(gatewayError('upstream_failed', `upstream "${this.upstream}": ${what} failed: ${msg}`, detail), { cause: err });
  }

  /** A non-2xx answer as a gateway error; `rpc` is the JSON-RPC error the body carried, if any. */
  statusFault(what: string, status: number, rpc: JsonRpcErrorObject | undefined): GatewayFault {
    const name = status === 401 || status === 403 || status === 407 || status === 502 || status === 503 || status === 504 || status === 429 ? 'upstream_unavailable' : 'upstream_failed';
    const hint = status === 401 || status === 403 ? ' (check the credentials configured in its headers)' : '';
    const said = rpc === undefined ? '' : `: ${rpc.code} ${rpc.message}`;
    const detail: Record<string, unknown> = { upstream: this.upstream, url: this.display, httpStatus: status };
    if (rpc !== undefined) detail.jsonrpcError = rpc;
    return new GatewayFault(gatewayError(name, `upstream "${this.upstream}" answered ${what} with HTTP ${status}${said}${hint}`, detail));
  }

  protocolFault(message: string, detail?: Record<string, unknown>): GatewayFault {
    return new GatewayFault(gatewayError('upstream_protocol_error', `upstream "${this.upstream}": ${message}`, { upstream: this.upstream, url: this.display, ...detail }));
  }
}

/**
 * Adds one attempt's trace context (CallOptions.trace: tracing with propagation on) to its request's
 * headers. It wins over a configured header of the same name: it names this attempt's span.
 */
export function withTraceHeaders(headers: Record<string, string>, trace: TraceHeaders | undefined): Record<string, string> {
  if (trace !== undefined) {
    headers.traceparent = trace.traceparent;
    if (trace.tracestate !== undefined) headers.tracestate = trace.tracestate;
    else delete headers.tracestate;
  }
  return headers;
}

export function header(res: Dispatcher.ResponseData, name: string): string | undefined {
  const v = res.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/**
 * Drops a response body nobody will read. A body whose request was aborted meanwhile errors when
 * destroyed; with no listener that error would be an uncaught exception, so one is attached first.
 */
export function discardBody(body: Dispatcher.ResponseData['body']): void {
  body.on('error', ignore);
  body.destroy();
}

function ignore(): void {}

/**
 * Reads a whole body, refusing more than `max` bytes. Event callbacks rather than `for await`:
 * the async iterator costs a promise and an end-of-stream watcher per chunk, on every call.
 */
export function readBody(res: Dispatcher.ResponseData, max = MAX_HTTP_BODY): Promise<Buffer | undefined> {
  const declared = Number(header(res, 'content-length'));
  const body = res.body;
  if (declared > max) {
    discardBody(body);
    return Promise.resolve(undefined);
  }
  return new Promise<Buffer | undefined>((resolve, reject) => {
    let first: Buffer | undefined;
    let chunks: Buffer[] | undefined;
    let size = 0;
    body.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > max) {
        body.destroy();
        resolve(undefined);
        return;
      }
      if (first === undefined) first = chunk;
      else (chunks ??= [first]).push(chunk);
    });
    body.once('end', () => resolve(chunks !== undefined ? Buffer.concat(chunks, size) : (first ?? Buffer.alloc(0))));
    body.once('error', reject);
  });
}

/** Discards a body so the connection returns to the pool. */
export function drain(res: Dispatcher.ResponseData): void {
  res.body.dump().catch(() => undefined);
}

/** Parses one JSON-RPC message; a string says why it is not one. */
export function parseMessage(bytes: Buffer | string): JsonRpcMessage | string {
  let value: unknown;
  try {
    value = JSON.parse(typeof bytes === 'string' ? bytes : bytes.toString('utf8'));
  } catch {
    return 'the body is not JSON';
  }
  return checkMessage(value);
}

/** The JSON-RPC error an error response carries, if its body is one. */
export async function errorBodyOf(res: Dispatcher.ResponseData): Promise<{ id: unknown; error: JsonRpcErrorObject } | undefined> {
  const bytes = await readBody(res, MAX_ERROR_BODY).catch(() => undefined);
  if (bytes === undefined || bytes.length === 0) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(bytes.toString('utf8'));
  } catch {
    return undefined;
  }
  // Lenient on purpose: HTTP error bodies often carry no id (the spec allows that) or id: null.
  if (value === null || typeof value !== 'object') return undefined;
  const e = (value as { error?: unknown }).error;
  if (e === null || typeof e !== 'object') return undefined;
  const { code, message, data } = e as Record<string, unknown>;
  if (typeof code !== 'number') return undefined;
  const error: JsonRpcErrorObject = { code, message: typeof message === 'string' ? message : '' };
  if (data !== undefined) error.data = data;
  return { id: (value as { id?: unknown }).id ?? null, error };
}

export function mediaType(res: Dispatcher.ResponseData): string {
  const ct = header(res, 'content-type') ?? '';
  const semi = ct.indexOf(';');
  return (semi === -1 ? ct : ct.slice(0, semi)).trim().toLowerCase();
}
