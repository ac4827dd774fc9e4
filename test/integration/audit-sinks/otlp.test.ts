import assert from 'node:assert/strict';
import { test } from 'node:test';
import { OtlpSink } from '../../../src/audit/sinks/otlp.ts';
import { SinkRunner } from '../../../src/audit/sinks/sink-runner.ts';
import type { AuditStore } from '../../../src/store/audit-store.ts';
import { MemoryStore } from '../../../src/store/memory.ts';
import { addEntries, captureLogger, fastRetry, until } from '../../unit/audit-sinks/support.ts';
import { Receiver, type Received } from './receiver.ts';

interface KV {
  key: string;
  value: { stringValue?: string; intValue?: string };
}
interface ExportRequest {
  resourceLogs: {
    resource: { attributes: KV[] };
    scopeLogs: { scope: { name: string; version?: string }; logRecords: { timeUnixNano: string; observedTimeUnixNano: string; severityNumber: number; severityText: string; body: { stringValue: string }; attributes: KV[]; traceId?: string }[] }[];
  }[];
}

function seqsOf(reqs: Received[]): number[] {
  return reqs.flatMap((r) =>
    (JSON.parse(r.body) as ExportRequest).resourceLogs[0]!.scopeLogs[0]!.logRecords.map((l) => Number(l.attributes.find((a) => a.key === 'gatehouse.audit.seq')!.value.intValue)),
  );
}

function otlpRunner(store: AuditStore, endpoint: string, log = captureLogger()): SinkRunner {
  const sink = new OtlpSink({ name: 'otel', endpoint, headers: { authorization: 'Bearer collector-secret-77' }, timeoutMs: 5000, format: 'native', version: '9.9.9', logger: log.logger });
  return new SinkRunner({ sink, store, chain: 'gw1', batch: 4, maxLag: 1000, overflow: 'spill', retry: fastRetry, logger: log.logger, pollIntervalMs: 20 });
}

test('a collector gets OTLP/HTTP JSON logs, once each and in order, after it recovers', async (t) => {
  const rx = new Receiver();
  await rx.start();
  t.after(() => rx.stop());
  rx.answer = (n) => (n < 2 ? { status: 503, headers: { 'retry-after': '0' } } : { status: 200, body: '{"partialSuccess":{}}' });
  const store = new MemoryStore();
  const rows = await addEntries(store, 'gw1', 6, Date.parse('2026-02-01T12:00:00.000Z'), 1000, { traceId: '0af7651916cd43dd8448eb211c80319c' });
  const log = captureLogger('trace');
  const runner = otlpRunner(store, rx.url('/v1/logs'), log);
  t.after(() => runner.stop());
  runner.start();
  await until(() => runner.status().cursor === 6, 'delivered');
  assert.equal(runner.status().failures, 2);
  assert.deepEqual(seqsOf(rx.accepted), [1, 2, 3, 4, 5, 6]);

  const req = rx.accepted[0]!;
  assert.equal(req.method, 'POST');
  assert.equal(req.url, '/v1/logs');
  assert.equal(req.headers['content-type'], 'application/json');
  assert.equal(req.headers.authorization, 'Bearer collector-secret-77');
  const body = JSON.parse(req.body) as ExportRequest;
  assert.equal(body.resourceLogs.length, 1);
  const rl = body.resourceLogs[0]!;
  assert.deepEqual(rl.resource.attributes, [
    { key: 'service.name', value: { stringValue: 'gatehouse' } },
    { key: 'service.version', value: { stringValue: '9.9.9' } },
  ]);
  assert.deepEqual(rl.scopeLogs[0]!.scope, { name: 'gatehouse.audit', version: '9.9.9' });
  const lr = rl.scopeLogs[0]!.logRecords[0]!;
  assert.equal(lr.timeUnixNano, '1769947200000000000');
  assert.match(lr.observedTimeUnixNano, /^\d{19}$/);
  assert.equal(lr.severityNumber, 9);
  assert.equal(lr.severityText, 'INFO');
  assert.equal(lr.traceId, '0af7651916cd43dd8448eb211c80319c');
  const record = JSON.parse(lr.body.stringValue) as Record<string, unknown>;
  assert.equal(record.seq, 1);
  assert.equal(record.hash, rows[0]!.hash);
  const attrs = new Map(lr.attributes.map((a) => [a.key, a.value]));
  assert.deepEqual(attrs.get('gatehouse.audit.hash'), { stringValue: rows[0]!.hash });
  assert.deepEqual(attrs.get('gatehouse.audit.id'), { stringValue: rows[0]!.id });
  assert.deepEqual(attrs.get('gatehouse.audit.chain'), { stringValue: 'gw1' });
  assert.deepEqual(attrs.get('mcp.method.name'), { stringValue: 'tools/call' });
  assert.deepEqual(attrs.get('gen_ai.tool.name'), { stringValue: 'files__read' });
  assert.ok(!log.text().includes('collector-secret-77'));
});

test('a partial success is logged with the rejected count and not sent again', async (t) => {
  const rx = new Receiver();
  await rx.start();
  t.after(() => rx.stop());
  rx.answer = () => ({ status: 200, body: '{"partialSuccess":{"rejectedLogRecords":"2","errorMessage":"log record too large"}}' });
  const store = new MemoryStore();
  await addEntries(store, 'gw1', 3);
  const log = captureLogger();
  const runner = otlpRunner(store, rx.url('/v1/logs'), log);
  t.after(() => runner.stop());
  runner.start();
  await until(() => runner.status().cursor === 3, 'delivered');
  assert.equal(rx.requests.length, 1);
  const line = log.lines.find((l) => l.msg === 'OTLP collector rejected audit log records');
  assert.ok(line !== undefined);
  assert.equal(line.rejectedLogRecords, 2);
  assert.equal(line.collectorMessage, 'log record too large');
  assert.equal(line.level, 50);
});
