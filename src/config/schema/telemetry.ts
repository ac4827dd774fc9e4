import { z } from 'zod';
import { secretMap } from './common.ts';

const metricsSchema = z
  .strictObject({
    enabled: z.boolean().default(true).describe('Serve Prometheus metrics on the admin listener (needs the `admin` section).'),
    path: z.string().regex(/^\/[A-Za-z0-9/_.-]*$/).default('/metrics').describe('Path of the metrics endpoint on the admin listener.'),
    public: z
      .boolean()
      .default(false)
      .describe('Serve metrics without admin authentication (for scrapers that cannot send a credential). Off by default: metrics name agents, tools and rules.'),
    maxAgents: z
      .number()
      .int()
      .min(0)
      .max(10_000)
      .default(200)
      .describe('Distinct agents given their own label on the per-agent call counter; later ones are counted under `_other` (bounds the series a scraper stores).'),
  })
  .describe('Prometheus metrics (prom-client).');

const tracingSchema = z
  .strictObject({
    enabled: z.boolean().default(false).describe('Export OpenTelemetry traces. Off by default; the tracing code is loaded only when on.'),
    endpoint: z.url({ protocol: /^https?$/ }).default('http://127.0.0.1:4318/v1/traces').describe('OTLP/HTTP traces endpoint.'),
    headers: secretMap.default({}).describe('Headers sent to the endpoint (values are secrets).'),
    serviceName: z.string().min(1).default('gatehouse').describe('`service.name` of the spans.'),
    sampleRatio: z.number().min(0).max(1).default(1).describe('Share of traces started here that are sampled; a sampled `traceparent` from the agent is always followed.'),
    propagate: z.boolean().default(true).describe('Pass the trace context to upstreams (`traceparent` header on HTTP, `_meta.traceparent` in the request) so one trace runs agent → gateway → tool server.'),
  })
  .describe('OpenTelemetry tracing: a span per exchange, child spans per pipeline phase and per upstream attempt, exported over OTLP/HTTP.');

export const telemetrySchema = z
  .strictObject({
    metrics: metricsSchema.prefault({}),
    tracing: tracingSchema.prefault({}),
  })
  .describe('What the gateway tells about itself: metrics and traces. Health endpoints (`/healthz`, `/readyz`) are always served.');

export type TelemetryConfig = z.infer<typeof telemetrySchema>;
