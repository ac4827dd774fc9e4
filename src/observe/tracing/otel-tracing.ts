// The tracing runtime on the OpenTelemetry SDK: its own tracer provider (never registered globally, so
// nothing else in the process starts tracing through it), a batch processor exporting over OTLP/HTTP,
// and parent-based sampling: an agent's sampled trace is always followed, new traces are sampled at
// `sampleRatio`. Loaded only through start.ts, only when tracing is enabled.
import type { Logger } from 'pino';
import type { Tracer } from '@opentelemetry/api';
import { defaultResource, resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor, ParentBasedSampler, TraceIdRatioBasedSampler } from '@opentelemetry/sdk-trace-base';
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from '@opentelemetry/semantic-conventions';
import { VERSION } from '../../core/version.ts';
import type { Exchange } from '../../pipeline/exchange.ts';
import type { AttemptTracer } from '../../upstream/interceptors/tracing.ts';
import { OtelAttemptTracer } from './attempt-span.ts';
import { OtelExchangeTrace } from './exchange-span.ts';
import { otlpExporter } from './export.ts';
import type { TracingConfig } from './start.ts';
import type { Tracing } from './tracing.ts';

/** Longest a shutdown waits for the last batch to reach the collector before giving it up. */
const CLOSE_TIMEOUT_MS = 5_000;
/** Attribute values an agent can choose (an unknown method's name) are cut here. */
const MAX_ATTRIBUTE_LENGTH = 256;

export class OtelTracing implements Tracing {
  readonly attempts: AttemptTracer;
  readonly #provider: BasicTracerProvider;
  readonly #tracer: Tracer;
  readonly #log: Logger;
  #closed: Promise<void> | undefined = undefined;

  constructor(cfg: TracingConfig, log: Logger) {
    this.#log = log;
    this.#provider = new BasicTracerProvider({
      resource: defaultResource().merge(resourceFromAttributes({ [ATTR_SERVICE_NAME]: cfg.serviceName, [ATTR_SERVICE_VERSION]: VERSION })),
      sampler: new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(cfg.sampleRatio) }),
      spanLimits: { attributeValueLengthLimit: MAX_ATTRIBUTE_LENGTH },
      spanProcessors: [new BatchSpanProcessor(otlpExporter(cfg.endpoint, cfg.headers, log))],
    });
    this.#tracer = this.#provider.getTracer('gatehouse', VERSION);
    this.attempts = new OtelAttemptTracer(this.#tracer, cfg.propagate);
  }

  begin(x: Exchange): void {
    try {
      x.trace = new OtelExchangeTrace(this.#tracer, this.#log, x);
    } catch (err) {
      // Tracing is an observer: an exchange it cannot trace is still served.
      this.#log.warn({ err, exchange: x.id }, 'starting an exchange span failed; the exchange is not traced');
    }
  }

  flush(): Promise<void> {
    return this.#provider.forceFlush();
  }

  close(): Promise<void> {
    this.#closed ??= this.#shutdown();
    return this.#closed;
  }

  async #shutdown(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), CLOSE_TIMEOUT_MS)));
    try {
      const r = await Promise.race([this.#provider.shutdown().then(() => 'done' as const), late]);
      if (r === 'late') this.#log.warn({ timeoutMs: CLOSE_TIMEOUT_MS }, 'the last spans could not be exported before shutdown; they are dropped');
    } catch (err) {
      this.#log.warn({ err }, 'shutting down tracing failed; the last spans may be lost');
    } finally {
      clearTimeout(timer);
    }
  }
}
