import type { ServerResponse } from 'node:http';
import type { JsonRpcNotification, JsonRpcRequest } from '../protocol/jsonrpc.ts';
import { sendJsonText } from './respond.ts';
import { SseWriter } from './sse-writer.ts';

/**
 * The way back to the agent for one request. It answers with plain JSON unless request-scoped
 * notifications (progress, logs) arrive first and the agent accepts SSE: then it switches to a
 * stream scoped to this request. Closing the connection early aborts the exchange (on 2026-07-28
 * that is how an agent cancels).
 */
export class ResponseChannel {
  readonly controller = new AbortController();
  readonly #res: ServerResponse;
  readonly #sse: boolean;
  readonly #headers: Record<string, string> | undefined;
  #stream: SseWriter | undefined;
  #done = false;
  clientGone = false;
  dropped = 0;

  constructor(res: ServerResponse, acceptsSse: boolean, headers: Record<string, string> | undefined) {
    this.#res = res;
    this.#sse = acceptsSse;
    this.#headers = headers;
    res.once('close', this.#onClose);
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  readonly notify = (n: JsonRpcNotification): void => {
    if (!this.#write(n)) this.dropped++;
  };

  /**
   * Writes a server->client request on this request's stream (2025-era Streamable HTTP relates it
   * to the request that caused it). False when the agent takes JSON only or the request is over.
   */
  readonly request = (r: JsonRpcRequest): boolean => this.#write(r);

  #write(message: object): boolean {
    // An agent that takes JSON only has no way to receive anything before the response.
    if (this.#done || this.clientGone || !this.#sse) return false;
    if (this.#stream === undefined) {
      this.#stream = new SseWriter(this.#res);
      this.#stream.open(this.#headers);
    }
    return this.#stream.send(message).ok;
  }

  /** Writes the final response (serialized by the caller, who measured it for the record). `headers` add to a plain JSON answer. */
  finish(text: string, status: number, headers?: Record<string, string>): void {
    this.#done = true;
    if (this.clientGone) return;
    if (this.#stream !== undefined) {
      this.#stream.sendJson(text);
      this.#stream.close();
      return;
    }
    sendJsonText(this.#res, status, text, headers === undefined ? this.#headers : { ...this.#headers, ...headers });
  }

  readonly #onClose = (): void => {
    if (this.#done) return;
    this.clientGone = true;
    this.controller.abort(new Error('the client closed the connection'));
  };
}
