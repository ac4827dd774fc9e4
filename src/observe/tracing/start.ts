// The one door to the tracing runtime. The OpenTelemetry SDK and exporter are imported dynamically,
// here and only when tracing is enabled: a gateway that does not trace never loads them.
import type { Logger } from 'pino';
import type { TelemetryConfig } from '../../config/schema/telemetry.ts';
import type { Tracing } from './tracing.ts';

export type TracingConfig = TelemetryConfig['tracing'];

/** The tracing runtime for `cfg`, or undefined when tracing is off. */
export async function startTracing(cfg: TracingConfig, log: Logger): Promise<Tracing | undefined> {
  if (!cfg.enabled) return undefined;
  const { OtelTracing } = await import('./otel-tracing.ts');
  const tracing = new OtelTracing(cfg, log.child({ component: 'tracing' }));
  log.info({ endpoint: displayUrl(cfg.endpoint), sampleRatio: cfg.sampleRatio, propagate: cfg.propagate }, 'tracing on: exporting spans over OTLP/HTTP');
  return tracing;
}

/**
 * The tracing runtime is built once, at start: a reload that changes `telemetry.tracing` cannot apply
 * it (the exporter, sampler and the interceptors of running chains would all change). Says so, or
 * undefined when nothing changed.
 */
export function tracingReloadNote(running: TracingConfig, next: TracingConfig): string | undefined {
  if (JSON.stringify(running) === JSON.stringify(next)) return undefined;
  return 'telemetry.tracing changed: the new settings take effect when the gateway restarts';
}

/** The endpoint without credentials or query, for logs. */
function displayUrl(url: string): string {
  const u = new URL(url);
  return `${u.origin}${u.pathname}`;
}
