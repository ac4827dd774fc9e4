// Audit records to an HTTP receiver: each batch is one POST of a JSON array, delivered when the
// receiver answers 2xx. Anything else is a failure the runner retries from its cursor — including a
// 4xx "refusal", because skipping records a receiver did not take would be a silent loss.
import { HttpPoster } from './http-post.ts';
import { formatArray, type AuditSink, type SinkFormat, type SinkRecord } from './sink.ts';

export interface WebhookSinkOptions {
  name: string;
  url: string;
  /** Secret values. */
  headers: Record<string, string>;
  timeoutMs: number;
  format: SinkFormat;
  /** Gatehouse version, for `ocsf`. */
  version: string;
}

export class WebhookSink implements AuditSink {
  readonly name: string;
  readonly kind = 'webhook' as const;
  readonly #poster: HttpPoster;
  readonly #format: SinkFormat;
  readonly #version: string;

  constructor(opts: WebhookSinkOptions) {
    this.name = opts.name;
    this.#format = opts.format;
    this.#version = opts.version;
    this.#poster = new HttpPoster({ sink: opts.name, url: opts.url, headers: opts.headers, timeoutMs: opts.timeoutMs });
  }

  /** Receiver URL without credentials or query. */
  get display(): string {
    return this.#poster.display;
  }

  async write(records: readonly SinkRecord[], signal?: AbortSignal): Promise<void> {
    if (records.length === 0) return;
    await this.#poster.post(formatArray(records, this.#format, this.#version), signal);
  }

  async close(): Promise<void> {
    await this.#poster.close();
  }
}
