// POSTing a batch to an HTTP receiver (webhook, OTLP collector): one undici Pool per sink, a deadline
// per request, configured headers that are never logged, and the receiver's answer turned into
// "delivered" or a SinkDeliveryError that says whether and when to try again.
import { Pool, type Dispatcher } from 'undici';
import { SinkDeliveryError } from './sink.ts';

/** A receiver's answer body is read only for its status detail (OTLP partial success): it need not be large. */
const MAX_ANSWER_BODY = 1024 * 1024;
/** Retry-After is honoured up to this; a receiver asking for longer gets asked again after it. */
const RETRY_AFTER_CAP_MS = 10 * 60_000;

export interface HttpPostOptions {
  /** Sink name, for messages. */
  sink: string;
  url: string;
  /** Secret values: sent, never logged or put in messages. */
  headers: Record<string, string>;
  timeoutMs: number;
}

export interface HttpAnswer {
  status: number;
  contentType: string;
  body: Buffer;
}

export class HttpPoster {
  /** URL without credentials or query (either may carry a secret), for messages. */
  readonly display: string;
  readonly #path: string;
  readonly #pool: Pool;
  readonly #headers: Record<string, string>;
  readonly #sink: string;
  readonly #timeoutMs: number;

  constructor(opts: HttpPostOptions) {
    const url = new URL(opts.url);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new Error(`sink "${opts.sink}": ${url.protocol} URLs are not supported (use http: or https:)`);
    }
    this.display = `${url.origin}${url.pathname}`;
    this.#path = `${url.pathname}${url.search}`;
    this.#sink = opts.sink;
    this.#timeoutMs = opts.timeoutMs;
    this.#pool = new Pool(url.origin, {
      connections: 4,
      connectTimeout: Math.min(opts.timeoutMs, 10_000),
      keepAliveTimeout: 10_000,
    });
    const headers: Record<string, string> = {};
    if (url.username !== '') {
      const user = decodeURIComponent(url.username);
      const pass = decodeURIComponent(url.password);
      headers.authorization = `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;
    }
    for (const [k, v] of Object.entries(opts.headers)) headers[k.toLowerCase()] = v;
    headers['content-type'] = 'application/json';
    this.#headers = headers;
  }

  /** POSTs `body`; resolves with a 2xx answer, rejects with a SinkDeliveryError otherwise. */
  async post(body: string, signal: AbortSignal | undefined): Promise<HttpAnswer> {
    const deadline = AbortSignal.timeout(this.#timeoutMs);
    const combined = signal === undefined ? deadline : AbortSignal.any([signal, deadline]);
    let res: Dispatcher.ResponseData;
    try {
      res = await this.#pool.request({ method: 'POST', path: this.#path, headers: this.#headers, body, signal: combined });
    } catch (err) {
      throw this.#transportError(err, deadline, signal);
    }
    let answer: Buffer;
    try {
      answer = await readBounded(res, MAX_ANSWER_BODY);
    } catch (err) {
      throw this.#transportError(err, deadline, signal);
    }
    const contentType = (headerOf(res, 'content-type') ?? '').split(';')[0]!.trim().toLowerCase();
    const status = res.statusCode;
    if (status >= 200 && status < 300) return { status, contentType, body: answer };
    const retryable = status === 408 || status === 429 || status >= 500;
    const retryAfterMs = status === 429 || status === 503 ? parseRetryAfter(headerOf(res, 'retry-after'), Date.now()) : undefined;
    // The answer text stays out of the message (it may echo records back); the runner logs it at debug.
    const answerText = describeAnswer(answer, contentType);
    if (retryable) {
      throw new SinkDeliveryError(`sink "${this.#sink}": ${this.display} is unavailable (HTTP ${status})`, { status, retryAfterMs, answer: answerText });
    }
    const hint = status >= 300 && status < 400 ? ' (redirects are not followed: configure the final URL)' : status === 401 || status === 403 ? ' (check the credentials in its headers)' : '';
    throw new SinkDeliveryError(`sink "${this.#sink}": ${this.display} refused the batch with HTTP ${status}${hint}`, { status, refused: true, answer: answerText });
  }

  async close(): Promise<void> {
    await this.#pool.destroy().catch(() => undefined);
  }

  #transportError(err: unknown, deadline: AbortSignal, signal: AbortSignal | undefined): SinkDeliveryError {
    if (signal?.aborted === true) return new SinkDeliveryError(`sink "${this.#sink}": delivery to ${this.display} aborted (stopping)`, { cause: err });
    if (deadline.aborted) return new SinkDeliveryError(`sink "${this.#sink}": ${this.display} gave no answer within ${this.#timeoutMs} ms`, { cause: err });
    const code = errorCode(err);
    const msg = err instanceof Error ? err.message : String(err);
    if (code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'EAI_AGAIN' || code === 'EHOSTUNREACH' || code === 'ENETUNREACH' || code === 'UND_ERR_CONNECT_TIMEOUT') {
      return new SinkDeliveryError(`sink "${this.#sink}": cannot connect to ${this.display} (${code})`, { cause: err });
    }
    return new SinkDeliveryError(`sink "${this.#sink}": delivery to ${this.display} failed: ${code ?? ''}${code === undefined ? '' : ' '}${msg}`, { cause: err });
  }
}

/**
 * Retry-After as milliseconds from `now`: delta-seconds or an HTTP-date (RFC 9110 §10.2.3); undefined
 * when absent or unreadable. Capped, so a receiver cannot park a sink for days.
 */
export function parseRetryAfter(value: string | undefined, now: number): number | undefined {
  if (value === undefined) return undefined;
  const v = value.trim();
  let ms: number;
  if (/^\d+$/.test(v)) ms = Number(v) * 1000;
  else {
    // All three HTTP-date forms start with a day name; anything else (`-5`, `soon`) is unreadable.
    if (!/^[A-Za-z]{3}/.test(v)) return undefined;
    const at = Date.parse(v);
    if (Number.isNaN(at)) return undefined;
    ms = Math.max(0, at - now);
  }
  return Math.min(ms, RETRY_AFTER_CAP_MS);
}

/** The most specific error code along the cause chain (undici wraps socket errors). */
function errorCode(err: unknown): string | undefined {
  let found: string | undefined;
  for (let e: unknown = err, depth = 0; e !== null && typeof e === 'object' && depth < 4; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') found = code;
  }
  return found;
}

function headerOf(res: Dispatcher.ResponseData, name: string): string | undefined {
  const v = res.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** A short, single-line excerpt of an error answer: receivers often say why they refused. */
function describeAnswer(body: Buffer, contentType: string): string | undefined {
  if (body.length === 0 || !(contentType.startsWith('text/') || contentType.endsWith('json'))) return undefined;
  const text = body.subarray(0, 300).toString('utf8').replace(/[\u0000-\u001f\u007f]+/g, ' ').trim();
  return text === '' ? undefined : `${text}${body.length > 300 ? '…' : ''}`;
}

function readBounded(res: Dispatcher.ResponseData, max: number): Promise<Buffer> {
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let truncated = false;
    res.body.on('data', (chunk: Buffer) => {
      if (truncated) return;
      size += chunk.length;
      if (size > max) {
        // Enough to judge the answer; the rest is discarded so the connection can be reused or closed.
        truncated = true;
        res.body.destroy();
        resolve(Buffer.concat(chunks));
        return;
      }
      chunks.push(chunk);
    });
    res.body.once('end', () => resolve(Buffer.concat(chunks, size)));
    res.body.once('error', (err) => (truncated ? undefined : reject(err)));
  });
}
