// The optional GET stream of a legacy Streamable HTTP session: server-initiated notifications and
// requests. 405 (or 404) means the server offers none. The server may close it at any time; it is
// reopened (with Last-Event-ID, after the server's `retry`) until the session ends, with backoff.
import type { Dispatcher } from 'undici';
import type { Logger } from 'pino';
import { drain, mediaType, type HttpEndpoint } from './http-endpoint.ts';
import { SseStreamReader, type StreamHost } from './sse-stream.ts';

const MAX_BACKOFF_MS = 30_000;

export interface GetStreamHost extends StreamHost {
  readonly closed: boolean;
  legacyHeaders(into: Record<string, string>): Record<string, string>;
}

export class LegacyGetStream {
  private readonly host: GetStreamHost;
  private readonly endpoint: HttpEndpoint;
  private readonly logger: Logger;
  private readonly controller = new AbortController();
  private lastEventId: string | undefined = undefined;

  constructor(host: GetStreamHost, endpoint: HttpEndpoint, logger: Logger) {
    this.host = host;
    this.endpoint = endpoint;
    this.logger = logger;
  }

  start(): void {
    this.run().catch((err: unknown) => this.logger.warn({ err }, 'the GET stream stopped'));
  }

  stop(): void {
    this.controller.abort();
  }

  private get stopped(): boolean {
    return this.controller.signal.aborted || this.host.closed;
  }

  private async run(): Promise<void> {
    let failures = 0;
    let warned = false;
    while (!this.stopped) {
      const headers = this.host.legacyHeaders(this.endpoint.headers());
      headers.accept = 'text/event-stream';
      if (this.lastEventId !== undefined) headers['last-event-id'] = this.lastEventId;
      let res: Dispatcher.ResponseData;
      try {
        res = await this.endpoint.send('GET', this.endpoint.path, headers, undefined, this.controller.signal);
      } catch (err) {
        if (this.stopped) return;
        if (!warned) this.logger.warn({ err }, 'could not open the GET stream; retrying');
        warned = true;
        await this.pause(backoff(++failures));
        continue;
      }
      if (res.statusCode === 405 || res.statusCode === 404) {
        drain(res);
        // 405 is the spec's "no stream here". A 404 is either that from a server that only routes POST
        // or an expired session; re-initializing from here could loop on the former, and the next
        // request detects the latter (its new session opens a new stream).
        this.logger.debug({ status: res.statusCode }, 'upstream offers no GET stream');
        return;
      }
      if (res.statusCode !== 200 || mediaType(res) !== 'text/event-stream') {
        drain(res);
        if (!warned) this.logger.warn({ status: res.statusCode }, 'the GET stream was refused; retrying');
        warned = true;
        await this.pause(backoff(++failures));
        continue;
      }
      const reader = new SseStreamReader(this.host, undefined);
      const outcome = await reader.read(res);
      if (reader.lastEventId !== undefined) this.lastEventId = reader.lastEventId;
      if (this.stopped) return;
      failures = outcome === 'end' ? 0 : failures + 1;
      await this.pause(outcome === 'end' ? Math.min(reader.retryMs ?? 1_000, MAX_BACKOFF_MS) : backoff(failures));
    }
  }

  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      if (this.stopped) return resolve();
      const timer = setTimeout(done, ms);
      const signal = this.controller.signal;
      function done(): void {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        resolve();
      }
      signal.addEventListener('abort', done, { once: true });
    });
  }
}

function backoff(failures: number): number {
  const base = Math.min(MAX_BACKOFF_MS, 500 * 2 ** Math.min(failures, 10));
  return base / 2 + Math.random() * (base / 2);
}
