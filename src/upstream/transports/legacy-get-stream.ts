// The optional GET stream of a legacy Streamable HTTP session: server-initiated notifications and
// requests. 405 means the server offers none. The server may close it at any time; it is reopened
// (with Last-Event-ID, after the server's `retry`) until the session ends, backing off on failures.
import type { Dispatcher } from 'undici';
import type { Logger } from 'pino';
import type { JsonRpcErrorObject } from '../../protocol/jsonrpc.ts';
import { drain, errorBodyOf, mediaType, type HttpEndpoint } from './http-endpoint.ts';
import { SseStreamReader, type StreamHost } from './sse-stream.ts';

const MAX_BACKOFF_MS = 30_000;

export interface GetStreamHost extends StreamHost {
  readonly closed: boolean;
  readonly currentSessionId: string | undefined;
  legacyHeaders(into: Record<string, string>): Record<string, string>;
  reinitialize(expired: string): Promise<void>;
  sessionExpired(status: number, error: JsonRpcErrorObject | undefined): boolean;
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
    this.run().catch((err: unknown) => this.logger.warn({ upstream: this.host.name, err }, 'the GET stream stopped'));
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
      const session = this.host.currentSessionId;
      const headers = this.host.legacyHeaders({ accept: 'text/event-stream' });
      if (this.lastEventId !== undefined) headers['last-event-id'] = this.lastEventId;
      let res: Dispatcher.ResponseData;
      try {
        res = await this.endpoint.send('GET', this.endpoint.path, headers, undefined, this.controller.signal);
      } catch (err) {
        if (this.stopped) return;
        if (!warned) this.logger.warn({ upstream: this.host.name, err }, 'could not open the GET stream; retrying');
        warned = true;
        await this.pause(backoff(++failures));
        continue;
      }
      if (res.statusCode === 405) {
        drain(res);
        this.logger.debug({ upstream: this.host.name }, 'upstream offers no GET stream (405)');
        return;
      }
      if (res.statusCode !== 200 || mediaType(res) !== 'text/event-stream') {
        const body = await errorBodyOf(res);
        if (session !== undefined && this.host.sessionExpired(res.statusCode, body?.error)) {
          await this.host.reinitialize(session).catch(() => undefined);
          return; // the new session opens its own stream
        }
        if (!warned) this.logger.warn({ upstream: this.host.name, status: res.statusCode }, 'the GET stream was refused; retrying');
        warned = true;
        await this.pause(backoff(++failures));
        continue;
      }
      const reader = new SseStreamReader(this.host, undefined);
      const outcome = await reader.read(res);
      if (reader.lastEventId !== undefined) this.lastEventId = reader.lastEventId;
      if (this.stopped) return;
      failures = outcome === 'end' ? 0 : failures + 1;
      await this.pause(outcome === 'end' ? (reader.retryMs ?? 1_000) : backoff(failures));
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
