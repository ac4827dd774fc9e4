// The OTLP/HTTP exporter (JSON), wrapped so that a collector that is down or refuses spans is visible
// in the gateway's log. OpenTelemetry reports export failures only to its own diagnostic logger, which
// is silent unless configured globally; a gateway must not lose telemetry without a word.
import type { Logger } from 'pino';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';

/** One warning per interval at most, however many batches fail meanwhile. */
const REPORT_EVERY_MS = 60_000;
/** One export may take this long before it counts as failed. */
const EXPORT_TIMEOUT_MS = 10_000;

export class ReportingExporter implements SpanExporter {
  readonly #inner: SpanExporter;
  readonly #log: Logger;
  #lost = 0;
  #lastReport = 0;

  constructor(inner: SpanExporter, log: Logger) {
    this.#inner = inner;
    this.#log = log;
  }

  export(spans: ReadableSpan[], done: (result: ExportResult) => void): void {
    this.#inner.export(spans, (result) => {
      if (result.code !== ExportResultCode.SUCCESS) this.#failed(spans.length, result.error);
      done(result);
    });
  }

  #failed(count: number, error: Error | undefined): void {
    this.#lost += count;
    const now = Date.now();
    if (now - this.#lastReport < REPORT_EVERY_MS) return;
    this.#lastReport = now;
    this.#log.warn({ spansLost: this.#lost, err: error?.message }, 'exporting spans failed; spans were dropped');
    this.#lost = 0;
  }

  shutdown(): Promise<void> {
    return this.#inner.shutdown();
  }

  forceFlush(): Promise<void> {
    return this.#inner.forceFlush?.() ?? Promise.resolve();
  }
}

/** The exporter for `endpoint`, sending `headers` (credentials of the collector) with every batch. */
export function otlpExporter(endpoint: string, headers: Record<string, string>, log: Logger): SpanExporter {
  return new ReportingExporter(new OTLPTraceExporter({ url: endpoint, headers: { ...headers }, timeoutMillis: EXPORT_TIMEOUT_MS }), log);
}
