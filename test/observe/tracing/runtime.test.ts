// The tracing runtime on its own, exporting to a receiver in this test: how an exchange span ends
// (once; ERROR only for failures and withheld answers), sampling, filter spans, attempts outside their
// exchange, shutdown, and export failures.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { telemetrySchema } from '../../../src/config/schema/telemetry.ts';
import type { Snapshot } from '../../../src/config/snapshot.ts';
import { gatewayError } from '../../../src/errors/codes.ts';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';
import { ReportingExporter } from '../../../src/observe/tracing/export.ts';
import { OtelTracing } from '../../../src/observe/tracing/otel-tracing.ts';
import { startTracing } from '../../../src/observe/tracing/start.ts';
import { Exchange } from '../../../src/pipeline/exchange.ts';
import type { Filter } from '../../../src/pipeline/filter.ts';
import { parseTraceparent } from '../../../src/protocol/trace-context.ts';
import type { UpstreamCallRequest } from '../../../src/upstream/interceptors/interceptor.ts';
import { startOtlpReceiver, type OtlpReceiver } from './otlp-receiver.ts';

const quiet = pino({ level: 'silent' });
const tracingConfig = (over: Record<string, unknown>) => telemetrySchema.parse({ tracing: { enabled: true, ...over } }).tracing;

function exchange(method: string, traceparent?: string): Exchange {
  const origin = { era: 'modern' as const, protocolVersion: '2026-07-28', session: undefined, clientAddress: '127.0.0.1', clientCapabilities: {}, notify: undefined, ask: undefined, logLevel: undefined, traceparent: parseTraceparent(traceparent) };
  return new Exchange({} as Snapshot, origin, method, 1, {}, new AbortController().signal, 0);
}

const callReq = { upstream: { name: 'up', request: () => Promise.reject(new Error('unused')) }, method: 'tools/call', params: { name: 'echo' }, opts: {} } satisfies UpstreamCallRequest;

describe('tracing runtime', () => {
  let receiver: OtlpReceiver;
  before(async () => {
    receiver = await startOtlpReceiver();
  });
  after(async () => {
    await receiver.close();
  });

  it('startTracing: nothing when disabled, a runtime when enabled', async () => {
    assert.equal(await startTracing(telemetrySchema.parse({}).tracing, quiet), undefined);
    const t = await startTracing(tracingConfig({ endpoint: receiver.url }), quiet);
    assert.ok(t instanceof OtelTracing);
    await t.close();
  });

  it('an exchange span ends once; a withheld answer is an ERROR, a denial is not; unknown methods stay unnamed', async () => {
    const t = new OtelTracing(tracingConfig({ endpoint: receiver.url }), quiet);
    const trace = 'ab'.repeat(16);
    const withheld = exchange('tools/call', `00-${trace}-${'01'.repeat(8)}-01`);
    t.begin(withheld);
    withheld.trace!.end(withheld, new Error('audit down'));
    withheld.trace!.end(withheld);
    const denied = exchange('tools/call', `00-${trace}-${'02'.repeat(8)}-01`);
    t.begin(denied);
    denied.fail('denied', gatewayError('forbidden', 'no'), -32003);
    denied.trace!.end(denied);
    const unknown = exchange('no/such/method', `00-${trace}-${'03'.repeat(8)}-01`);
    t.begin(unknown);
    unknown.fail('error', gatewayError('method_not_found', 'Method not found'), -32601);
    unknown.trace!.end(unknown);
    await t.flush();
    const spans = receiver.spans.filter((s) => s.traceId === trace);
    assert.equal(spans.length, 3);
    const by = (parent: string) => spans.find((s) => s.parentSpanId === parent)!;
    assert.equal(by('01'.repeat(8)).status.code, 2);
    assert.equal(by('01'.repeat(8)).attributes['error.type'], 'audit_unavailable');
    assert.equal(by('02'.repeat(8)).status.code, 0);
    assert.equal(by('02'.repeat(8)).attributes['gatehouse.outcome'], 'denied');
    assert.equal(by('02'.repeat(8)).attributes['error.type'], 'forbidden');
    assert.equal(by('03'.repeat(8)).name, 'mcp unknown method');
    assert.equal(by('03'.repeat(8)).status.code, 2, 'a gateway error');
    await t.close();
  });

  it('filter spans carry phase, instance and decision; a filter that threw is an ERROR', async () => {
    const t = new OtelTracing(tracingConfig({ endpoint: receiver.url }), quiet);
    const x = exchange('tools/call');
    t.begin(x);
    const f: Filter = { name: 'policy', phase: 'authorize', shadow: false };
    x.trace!.filter(f, performance.now(), 'error', 'request');
    x.trace!.filter({ ...f, name: 'redact', phase: 'guard' }, performance.now(), 'continue', 'response');
    x.trace!.end(x);
    await t.flush();
    const root = receiver.spans.find((s) => s.attributes['gatehouse.exchange.id'] === x.id)!;
    const kids = receiver.spans.filter((s) => s.parentSpanId === root.spanId);
    assert.deepEqual(kids.map((s) => s.name).sort(), ['authorize policy', 'guard response redact']);
    const authz = kids.find((s) => s.name === 'authorize policy')!;
    assert.equal(authz.status.code, 2);
    assert.equal(authz.attributes['gatehouse.decision'], 'error');
    await t.close();
  });

  it('sampled out: nothing is exported, yet attempts still carry a context (unsampled) in the same trace', async () => {
    const t = new OtelTracing(tracingConfig({ endpoint: receiver.url, sampleRatio: 0 }), quiet);
    const x = exchange('tools/call');
    t.begin(x);
    let carried: string | undefined;
    await x.trace!.handle(async () => {
      const a = t.attempts.start('up', callReq, 1)!;
      carried = a.carrier?.traceparent;
      a.end({ jsonrpc: '2.0', id: 1, result: {} }, undefined, undefined);
    });
    x.trace!.end(x);
    await t.flush();
    assert.match(carried ?? '', /^00-[0-9a-f]{32}-[0-9a-f]{16}-00$/);
    assert.equal(receiver.spans.filter((s) => s.traceId === carried!.split('-')[1]).length, 0);
    await t.close();
  });

  it('attempts outside an exchange, or after theirs ended, are not traced', async () => {
    const t = new OtelTracing(tracingConfig({ endpoint: receiver.url }), quiet);
    assert.equal(t.attempts.start('up', callReq, 1), undefined);
    const x = exchange('tools/call');
    t.begin(x);
    let late: Promise<unknown> | undefined;
    await x.trace!.handle(async () => {
      // Work the handler left running (a long-lived call it started) outlives the exchange.
      late = new Promise((r) => setTimeout(r, 20)).then(() => t.attempts.start('up', callReq, 1));
    });
    x.trace!.end(x);
    assert.equal(await late, undefined);
    await t.close();
  });

  it('close() flushes, is idempotent, and spans ended after it are dropped without a word', async () => {
    const t = new OtelTracing(tracingConfig({ endpoint: receiver.url }), quiet);
    const x = exchange('ping');
    t.begin(x);
    x.trace!.end(x);
    await t.close();
    await t.close();
    assert.ok(receiver.spans.some((s) => s.attributes['gatehouse.exchange.id'] === x.id));
    const y = exchange('ping');
    t.begin(y);
    y.trace!.end(y);
  });

  it('failed exports are reported in the log, at most once per interval, with the spans lost meanwhile', async () => {
    const lines: Array<Record<string, unknown>> = [];
    const log = pino({ level: 'warn' }, { write: (l: string) => void lines.push(JSON.parse(l) as Record<string, unknown>) });
    const results: ExportResult[] = [{ code: ExportResultCode.FAILED, error: new Error('connect ECONNREFUSED') }, { code: ExportResultCode.FAILED }, { code: ExportResultCode.SUCCESS }];
    const inner: SpanExporter = {
      export: (_spans, done) => done(results.shift()!),
      shutdown: () => Promise.resolve(),
    };
    const exporter = new ReportingExporter(inner, log);
    const seen: number[] = [];
    for (let i = 0; i < 3; i++) exporter.export([{} as ReadableSpan, {} as ReadableSpan], (r) => seen.push(r.code));
    assert.deepEqual(seen, [ExportResultCode.FAILED, ExportResultCode.FAILED, ExportResultCode.SUCCESS], 'results pass through');
    const warnings = lines.filter((l) => l.msg === 'exporting spans failed; spans were dropped');
    assert.equal(warnings.length, 1, 'one warning per interval');
    assert.equal(warnings[0]!.spansLost, 2);
    assert.equal(warnings[0]!.err, 'connect ECONNREFUSED');
  });
});
