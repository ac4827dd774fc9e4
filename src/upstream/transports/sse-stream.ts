// Reads one SSE response body into JSON-RPC messages for a session. Used for the response stream of a
// POST (request-scoped: `call` is that request) and for streams not tied to a request.
import type { Dispatcher } from 'undici';
import type { Logger } from 'pino';
import type { JsonRpcMessage } from '../../protocol/jsonrpc.ts';
import type { PendingCall } from './calls.ts';
import { MAX_HTTP_BODY, parseMessage } from './http-endpoint.ts';
import { SseParser, SseTooLarge, type SseEvent } from './sse-parser.ts';

/** Once the answer is in, the rest of the stream gets this long to end before the socket is dropped. */
const LINGER_MS = 5_000;

export interface StreamHost {
  readonly name: string;
  readonly logger: Logger;
  deliver(msg: JsonRpcMessage, call: PendingCall | undefined): void;
}

export type StreamOutcome = 'end' | 'error' | 'too-large';

export class SseStreamReader {
  lastEventId: string | undefined = undefined;
  retryMs: number | undefined = undefined;
  private readonly host: StreamHost;
  private readonly call: PendingCall | undefined;
  /** Called with each non-empty `event` of another type than `message` (the legacy SSE `endpoint`). */
  onOtherEvent: ((e: SseEvent) => void) | undefined = undefined;

  constructor(host: StreamHost, call: PendingCall | undefined) {
    this.host = host;
    this.call = call;
  }

  async read(res: Dispatcher.ResponseData): Promise<StreamOutcome> {
    const parser = new SseParser(MAX_HTTP_BODY, this);
    let linger: NodeJS.Timeout | undefined;
    try {
      for await (const chunk of res.body as AsyncIterable<Buffer>) {
        parser.push(chunk);
        if (linger === undefined && this.call?.settled === true) linger = setTimeout(destroyBody, LINGER_MS, res).unref();
      }
      return 'end';
    } catch (err) {
      if (err instanceof SseTooLarge) {
        res.body.destroy();
        return 'too-large';
      }
      return 'error';
    } finally {
      if (linger !== undefined) clearTimeout(linger);
      parser.end();
      this.lastEventId = parser.lastEventId;
      this.retryMs = parser.retryMs;
    }
  }

  /** SseSink */
  event(e: SseEvent): void {
    if (e.event !== 'message') {
      if (this.onOtherEvent !== undefined) this.onOtherEvent(e);
      else this.host.logger.debug({ event: e.event }, 'ignored an SSE event of unknown type');
      return;
    }
    if (e.data.length === 0) return; // a priming event: carries only an id
    const msg = parseMessage(e.data);
    if (typeof msg === 'string') {
      this.host.logger.warn({ reason: msg, data: e.data.slice(0, 200) }, 'skipped an SSE event that is not a JSON-RPC message');
      return;
    }
    this.host.deliver(msg, this.call);
  }
}

function destroyBody(res: Dispatcher.ResponseData): void {
  res.body.destroy();
}
