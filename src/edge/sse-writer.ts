import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';

/**
 * One Server-Sent Events response stream (both protocol eras use the same framing).
 *
 * Backpressure: `send()` is synchronous and never throws; when the socket is behind (`needsDrain`)
 * a producer that can wait should `await drain()` before sending more. Whatever is queued counts
 * against `maxQueuedBytes`; a send that would go past it closes the stream (the client is not reading)
 * and returns the reason, so one stalled agent cannot make the gateway buffer without bound.
 */
export interface SseWriterOptions {
  /** Send a `:` comment when nothing was written for this long, so idle intermediaries keep the stream. 0 = off. */
  readonly keepAliveMs?: number;
  /** Most bytes allowed to wait in the response buffer before the stream is given up. */
  readonly maxQueuedBytes?: number;
}

export type SseSendResult = { readonly ok: true } | { readonly ok: false; readonly reason: string };

/** Why the stream ended: the client went away, the gateway closed it, or it was given up. */
export type SseCloseReason = 'client' | 'server' | 'backpressure' | 'error';

const SENT: SseSendResult = Object.freeze({ ok: true });
const CLOSED: SseSendResult = Object.freeze({ ok: false, reason: 'stream closed' });
const KEEP_ALIVE_FRAME = ':\n\n';
const DEFAULT_MAX_QUEUED = 8 * 1024 * 1024;
const STREAM_HEADERS: OutgoingHttpHeaders = {
  'content-type': 'text/event-stream',
  'cache-control': 'no-cache, no-transform',
  'x-accel-buffering': 'no',
  connection: 'keep-alive',
};

export class SseWriter {
  #res: ServerResponse;
  #keepAliveMs: number;
  #maxQueued: number;
  #timer: NodeJS.Timeout | undefined;
  #wrote = false;
  #opened = false;
  #closed = false;
  #reason: SseCloseReason | undefined;
  #detail: string | undefined;
  #closeCallbacks: ((reason: SseCloseReason, detail: string | undefined) => void)[] = [];
  #drainWaiters: (() => void)[] = [];
  #onResClose = (): void => this.#finish(this.#res.writableFinished ? 'server' : 'client', undefined);
  #onResError = (err: Error): void => this.#finish('error', err.message);
  #onDrain = (): void => this.#releaseDrainWaiters();
  #onTick = (): void => {
    if (this.#wrote || this.#res.writableNeedDrain) {
      this.#wrote = false;
      return;
    }
    this.#res.write(KEEP_ALIVE_FRAME);
  };

  constructor(res: ServerResponse, options: SseWriterOptions = {}) {
    this.#res = res;
    this.#keepAliveMs = options.keepAliveMs ?? 0;
    this.#maxQueued = options.maxQueuedBytes ?? DEFAULT_MAX_QUEUED;
    res.on('close', this.#onResClose);
    res.on('error', this.#onResError);
    res.on('drain', this.#onDrain);
    if (res.destroyed) this.#finish('client', undefined);
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Why the stream closed, once it has (`detail` says more for `backpressure` and `error`). */
  get closeReason(): { reason: SseCloseReason; detail: string | undefined } | undefined {
    return this.#reason === undefined ? undefined : { reason: this.#reason, detail: this.#detail };
  }

  /** True while the socket is behind; `await drain()` before producing more. */
  get needsDrain(): boolean {
    return !this.#closed && this.#res.writableNeedDrain;
  }

  /** Writes status 200 and the stream headers, and flushes them so the client sees the stream open. */
  open(headers?: OutgoingHttpHeaders): void {
    if (this.#opened || this.#closed) return;
    this.#opened = true;
    // setHeader is case-insensitive, so a caller's `Content-Type` cannot produce a second header line.
    if (headers !== undefined) {
      for (const name in headers) {
        const value = headers[name];
        if (value !== undefined) this.#res.setHeader(name, value);
      }
    }
    for (const name in STREAM_HEADERS) this.#res.setHeader(name, STREAM_HEADERS[name] as string);
    this.#res.writeHead(200);
    this.#res.flushHeaders();
    if (this.#keepAliveMs > 0) {
      this.#timer = setInterval(this.#onTick, this.#keepAliveMs);
      this.#timer.unref();
    }
  }

  /** One `message` event carrying `message` as JSON on a single data line. */
  send(message: object, eventId?: string): SseSendResult {
    if (this.#closed) return CLOSED;
    let json: string;
    try {
      json = JSON.stringify(message);
    } catch (err) {
      return { ok: false, reason: `message is not serialisable: ${(err as Error).message}` };
    }
    return this.sendJson(json, eventId);
  }

  /**
   * Same as `send()` for JSON that is already serialised (pass-through bytes). JSON with line breaks
   * is split over several `data:` lines, which the client joins back with `\n` (still valid JSON).
   */
  sendJson(json: string, eventId?: string): SseSendResult {
    if (this.#closed) return CLOSED;
    if (!this.#opened) this.open();
    if (eventId !== undefined && !isValidEventId(eventId)) {
      return { ok: false, reason: 'event id must not contain CR, LF or NUL' };
    }
    const data = json.includes('\n') || json.includes('\r') ? json.split(/\r\n|\r|\n/).join('\ndata: ') : json;
    const frame = eventId === undefined ? `event: message\ndata: ${data}\n\n` : `id: ${eventId}\nevent: message\ndata: ${data}\n\n`;
    return this.#write(frame);
  }

  /** A comment line: ignored by clients, keeps intermediaries from timing the stream out. */
  comment(text?: string): SseSendResult {
    if (this.#closed) return CLOSED;
    if (!this.#opened) this.open();
    if (text !== undefined && !isValidEventId(text)) return { ok: false, reason: 'comment must not contain CR, LF or NUL' };
    return this.#write(text === undefined ? KEEP_ALIVE_FRAME : `: ${text}\n\n`);
  }

  /** Resolves once the socket has caught up, or at once when it is not behind or the stream is closed. */
  drain(): Promise<void> {
    if (!this.needsDrain) return Promise.resolve();
    return new Promise((resolve) => this.#drainWaiters.push(resolve));
  }

  /** Ends the stream after what is queued has been flushed. */
  close(): void {
    if (this.#closed) return;
    if (!this.#opened) this.open();
    this.#finish('server', undefined);
    this.#res.end();
  }

  /** Called once when the stream ends, whoever ended it; at once if it already has. */
  onClose(cb: (reason: SseCloseReason, detail: string | undefined) => void): void {
    if (this.#closed) cb(this.#reason as SseCloseReason, this.#detail);
    else this.#closeCallbacks.push(cb);
  }

  #write(frame: string): SseSendResult {
    const queued = this.#res.writableLength;
    if (queued > 0 && queued + frame.length > this.#maxQueued) {
      const detail = `client not reading: ${queued} bytes queued, limit ${this.#maxQueued}`;
      this.#finish('backpressure', detail);
      this.#res.destroy();
      return { ok: false, reason: detail };
    }
    this.#wrote = true;
    this.#res.write(frame);
    return SENT;
  }

  #finish(reason: SseCloseReason, detail: string | undefined): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#reason = reason;
    this.#detail = detail;
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    this.#res.off('drain', this.#onDrain);
    this.#releaseDrainWaiters();
    const callbacks = this.#closeCallbacks;
    this.#closeCallbacks = [];
    for (const cb of callbacks) {
      // Runs inside the response's 'close' event: a throwing callback must not take the process down.
      try {
        cb(reason, detail);
      } catch (err) {
        process.emitWarning(`SSE onClose callback failed: ${(err as Error)?.message ?? String(err)}`, 'GatehouseSseWarning');
      }
    }
  }

  #releaseDrainWaiters(): void {
    if (this.#drainWaiters.length === 0) return;
    const waiters = this.#drainWaiters;
    this.#drainWaiters = [];
    for (const resolve of waiters) resolve();
  }
}

function isValidEventId(id: string): boolean {
  return !id.includes('\n') && !id.includes('\r') && !id.includes('\0');
}
