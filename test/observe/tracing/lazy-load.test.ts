// Tracing off loads no tracing code: a module resolution hook, registered before anything of the
// gateway is imported, records every module under node_modules/@opentelemetry that gets resolved, and
// who asked. A gateway with tracing off serves a call without loading the SDK, the exporter or the
// gateway's tracing runtime; a gateway with tracing on (the control) loads them. (prom-client, used by
// the metrics, loads the bare @opentelemetry/api for its exemplars: that one is allowed, when it is not
// the gateway's own code asking.)
import assert from 'node:assert/strict';
import { registerHooks } from 'node:module';
import { describe, it } from 'node:test';

const SRC = new URL('../../../src/', import.meta.url).href;
const RUNTIME = new URL('../../../src/observe/tracing/otel-tracing.ts', import.meta.url).href;
const resolved: { url: string; parent: string }[] = [];
registerHooks({
  resolve(specifier, context, nextResolve) {
    const r = nextResolve(specifier, context);
    if (r.url.includes('/node_modules/@opentelemetry/') || r.url === RUNTIME) resolved.push({ url: r.url, parent: context.parentURL ?? '' });
    return r;
  },
});

/** What tracing itself would load: the runtime, any package but the bare API, or anything the gateway's own code imports from @opentelemetry. */
const tracingCode = () => resolved.filter((r) => r.url === RUNTIME || !r.url.includes('/@opentelemetry/api/') || r.parent.startsWith(SRC)).map((r) => r.url);

// Imported only now, so that every module of the gateway passes the hook.
const { startGateway } = await import('../../harness/gateway.ts');
const { modernRequest } = await import('../../harness/rpc.ts');
const { startOtlpReceiver } = await import('./otlp-receiver.ts');

describe('the tracing runtime is loaded only when enabled', () => {
  it('off: a gateway starts, serves and stops without loading the tracing runtime or the OpenTelemetry SDK', async () => {
    const gw = await startGateway({ upstreams: [] });
    try {
      assert.equal(gw.running.gateway.tracing, undefined);
      const r = await modernRequest(gw.url, 'tools/list');
      assert.ok(r.response?.result !== undefined);
    } finally {
      await gw.stop();
    }
    assert.deepEqual(tracingCode(), []);
  });

  it('on: the control: the same hook sees the SDK being loaded', async () => {
    await using receiver = await startOtlpReceiver();
    const gw = await startGateway({ telemetry: { tracing: { enabled: true, endpoint: receiver.url } }, upstreams: [] });
    try {
      assert.notEqual(gw.running.gateway.tracing, undefined);
      await modernRequest(gw.url, 'tools/list');
    } finally {
      await gw.stop();
    }
    const loaded = tracingCode();
    assert.ok(loaded.includes(RUNTIME));
    assert.ok(loaded.some((u) => u.includes('/@opentelemetry/sdk-trace-base/')));
    assert.ok(loaded.some((u) => u.includes('/@opentelemetry/exporter-trace-otlp-http/')));
  });
});
