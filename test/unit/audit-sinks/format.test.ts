import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sealEntry } from '../../../src/audit/chain.ts';
import { GENESIS } from '../../../src/audit/entry.ts';
import { toOcsf } from '../../../src/audit/ocsf.ts';
import { parseRetryAfter } from '../../../src/audit/sinks/http-post.ts';
import { exportRequest } from '../../../src/audit/sinks/otlp.ts';
import { formatArray, formatRecord, type SinkRecord } from '../../../src/audit/sinks/sink.ts';
import { backoffDelay } from '../../../src/audit/sinks/backoff.ts';
import { exchangeBody } from './support.ts';

function record(extra: Parameters<typeof exchangeBody>[1] = {}, seq = 7): SinkRecord {
  const { entry, row } = sealEntry(exchangeBody('2026-03-01T10:00:00.123Z', extra), 'gw1', seq, GENESIS);
  return { entry, hash: row.hash, text: row.text };
}

test('native format is the stored entry with its hash added', () => {
  const r = record();
  const line = formatRecord(r, 'native', '1.2.3');
  assert.deepEqual(JSON.parse(line), { ...r.entry, hash: r.hash });
  assert.ok(line.startsWith(r.text.slice(0, -1)), 'the hashed bytes are kept as they are');
  const arr = JSON.parse(formatArray([r, record({}, 8)], 'native', '1.2.3')) as { seq: number; hash: string }[];
  assert.deepEqual(arr.map((x) => x.seq), [7, 8]);
  assert.equal(formatArray([], 'native', '1'), '[]');
});

test('a stored text that is not a JSON object is refused, not mangled', () => {
  const r = record();
  assert.throws(() => formatRecord({ ...r, text: '[1]' }, 'native', '1'), /not stored as a JSON object/);
});

test('Retry-After: seconds, HTTP date, garbage, cap', () => {
  const now = Date.parse('2026-03-01T10:00:00Z');
  assert.equal(parseRetryAfter(undefined, now), undefined);
  assert.equal(parseRetryAfter('3', now), 3000);
  assert.equal(parseRetryAfter(' 0 ', now), 0);
  assert.equal(parseRetryAfter('Sun, 01 Mar 2026 10:00:30 GMT', now), 30_000);
  assert.equal(parseRetryAfter('Sun, 01 Mar 2026 09:00:00 GMT', now), 0);
  assert.equal(parseRetryAfter('soon', now), undefined);
  assert.equal(parseRetryAfter('-5', now), undefined);
  assert.equal(parseRetryAfter('86400', now), 600_000);
});

test('backoff: full jitter between the initial delay and an exponentially growing cap', () => {
  const retry = { initialDelayMs: 100, maxDelayMs: 1000 };
  assert.equal(backoffDelay(1, retry, () => 0), 100);
  assert.equal(backoffDelay(1, retry, () => 0.999999), 200);
  assert.equal(backoffDelay(2, retry, () => 0.999999), 400);
  assert.equal(backoffDelay(3, retry, () => 0.999999), 800);
  assert.equal(backoffDelay(4, retry, () => 0.999999), 1000);
  assert.equal(backoffDelay(500, retry, () => 0.999999), 1000);
  assert.equal(backoffDelay(500, retry, () => 0), 100);
  // A misconfigured initial delay above the cap still waits no longer than the cap.
  assert.equal(backoffDelay(1, { initialDelayMs: 5000, maxDelayMs: 1000 }, () => 0.5), 1000);
  for (let a = 1; a < 40; a++) {
    const d = backoffDelay(a, retry);
    assert.ok(d >= 100 && d <= 1000, `attempt ${a}: ${d}`);
  }
});

interface LogRecordJson {
  timeUnixNano: string;
  observedTimeUnixNano: string;
  severityNumber: number;
  severityText: string;
  body: { stringValue: string };
  attributes: { key: string; value: Record<string, unknown> }[];
  traceId?: string;
}

function logRecords(records: SinkRecord[]): LogRecordJson[] {
  const req = JSON.parse(JSON.stringify(exportRequest(records, 'native', '1.2.3', Date.parse('2026-03-01T10:00:01Z')))) as {
    resourceLogs: { resource: { attributes: unknown[] }; scopeLogs: { scope: { name: string }; logRecords: LogRecordJson[] }[] }[];
  };
  assert.equal(req.resourceLogs.length, 1);
  const rl = req.resourceLogs[0]!;
  assert.deepEqual(rl.resource.attributes, [
    { key: 'service.name', value: { stringValue: 'gatehouse' } },
    { key: 'service.version', value: { stringValue: '1.2.3' } },
  ]);
  assert.equal(rl.scopeLogs[0]!.scope.name, 'gatehouse.audit');
  return rl.scopeLogs[0]!.logRecords;
}

test('OTLP JSON: nanosecond times as strings, severities, body, attributes, hex trace id', () => {
  const ok = record({ traceId: '4BF92F3577B34DA6A3CE929D0E0E4736', session: 's-1', policy: { effect: 'allow', reason: 'rule', rule: 'r1', enforced: true } });
  const denied = record({ outcome: 'denied' }, 8);
  const failed = record({ outcome: 'upstream_error' }, 9);
  const [a, b, c] = logRecords([ok, denied, failed]);
  assert.equal(a!.timeUnixNano, '1772359200123000000');
  assert.equal(a!.observedTimeUnixNano, '1772359201000000000');
  assert.deepEqual([a!.severityNumber, a!.severityText], [9, 'INFO']);
  assert.deepEqual([b!.severityNumber, b!.severityText], [13, 'WARN']);
  assert.deepEqual([c!.severityNumber, c!.severityText], [17, 'ERROR']);
  assert.deepEqual(JSON.parse(a!.body.stringValue), { ...ok.entry, hash: ok.hash });
  assert.equal(a!.traceId, '4bf92f3577b34da6a3ce929d0e0e4736');
  assert.equal(b!.traceId, undefined);
  const attrs = Object.fromEntries(a!.attributes.map((x) => [x.key, x.value]));
  assert.deepEqual(attrs, {
    'gatehouse.audit.id': { stringValue: ok.entry.id },
    'gatehouse.audit.type': { stringValue: 'exchange' },
    'gatehouse.audit.chain': { stringValue: 'gw1' },
    'gatehouse.audit.seq': { intValue: '7' },
    'gatehouse.audit.hash': { stringValue: ok.hash },
    'mcp.method.name': { stringValue: 'tools/call' },
    'mcp.session.id': { stringValue: 's-1' },
    'gatehouse.agent': { stringValue: 'ci-bot' },
    'gatehouse.upstream': { stringValue: 'files' },
    'gen_ai.tool.name': { stringValue: 'files__read' },
    'gatehouse.target': { stringValue: 'files__read' },
    'gatehouse.outcome': { stringValue: 'ok' },
    'gatehouse.decision': { stringValue: 'allow' },
  });
});

test('OTLP severities of gap and admin entries', () => {
  const gap = record({ type: 'gap', outcome: undefined, gap: { reason: 'buffer_full', lost: 3, from: '2026-03-01T10:00:00.000Z', to: '2026-03-01T10:00:01.000Z' } });
  const behind = record({ type: 'gap', outcome: undefined, gap: { reason: 'sink_behind', lost: 0, sink: 's', from: '2026-03-01T10:00:00.000Z', to: '2026-03-01T10:00:01.000Z' } }, 8);
  const admin = record({ type: 'admin', outcome: undefined, admin: { action: 'POST /v1/keys', status: 403 } }, 9);
  assert.deepEqual(logRecords([gap, behind, admin]).map((r) => r.severityText), ['ERROR', 'WARN', 'WARN']);
});

test('ocsf format is the OCSF event of the entry, as JSON', () => {
  const r = record();
  const event = toOcsf(r.entry, r.hash, '1.2.3');
  assert.deepEqual(JSON.parse(formatRecord(r, 'ocsf', '1.2.3')), JSON.parse(JSON.stringify(event)));
  assert.equal(event.class_uid, 6003);
  const [lr] = JSON.parse(JSON.stringify(exportRequest([r], 'ocsf', '1.2.3', 0))).resourceLogs[0].scopeLogs[0].logRecords as LogRecordJson[];
  assert.deepEqual(JSON.parse(lr!.body.stringValue), JSON.parse(JSON.stringify(event)));
});
