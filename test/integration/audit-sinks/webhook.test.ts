import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SinkRunner } from '../../../src/audit/sinks/sink-runner.ts';
import { WebhookSink } from '../../../src/audit/sinks/webhook.ts';
import type { AuditStore } from '../../../src/store/audit-store.ts';
import { MemoryStore } from '../../../src/store/memory.ts';
import { addEntries, captureLogger, fastRetry, until } from '../../unit/audit-sinks/support.ts';
import { Receiver, freePort, type Received } from './receiver.ts';

const SECRET = 'sk-live-4f1d9a7c2b';

function seqsOf(reqs: Received[]): number[] {
  return reqs.flatMap((r) => (JSON.parse(r.body) as { seq: number }[]).map((x) => x.seq));
}

function webhookRunner(store: AuditStore, url: string, log = captureLogger('trace'), timeoutMs = 5000): { runner: SinkRunner; log: typeof log } {
  const sink = new WebhookSink({ name: 'hook', url, headers: { 'X-Api-Key': SECRET }, timeoutMs, format: 'native', version: '9.9.9' });
  const runner = new SinkRunner({ sink, store, chain: 'gw1', batch: 3, maxLag: 1000, overflow: 'spill', retry: fastRetry, logger: log.logger, pollIntervalMs: 20 });
  return { runner, log };
}

test('503s then recovery: every record arrives once, in order; the failed batch is the one retried', async (t) => {
  const rx = new Receiver();
  await rx.start();
  t.after(() => rx.stop());
  rx.answer = (n) => (n < 3 ? { status: 503, body: '{"error":"overloaded"}' } : { status: 204 });
  const store = new MemoryStore();
  const rows = await addEntries(store, 'gw1', 8);
  const { runner, log } = webhookRunner(store, rx.url('/audit?tenant=t1'));
  t.after(() => runner.stop());
  runner.start();
  await until(() => runner.status().cursor === 8, 'delivered');
  assert.deepEqual(seqsOf(rx.accepted), rows.map((r) => r.seq));
  assert.deepEqual(seqsOf(rx.requests.slice(0, 4)), [1, 2, 3, 1, 2, 3, 1, 2, 3, 1, 2, 3]);
  assert.equal(runner.status().failures, 3);
  assert.match(runner.status().lastError ?? '', /^sink "hook": http:\/\/127\.0\.0\.1:\d+\/audit is unavailable \(HTTP 503\)$/);
  for (const r of rx.requests) {
    assert.equal(r.method, 'POST');
    assert.equal(r.url, '/audit?tenant=t1');
    assert.equal(r.headers['content-type'], 'application/json');
    assert.equal(r.headers['x-api-key'], SECRET);
  }
  const first = (JSON.parse(rx.accepted[0]!.body) as Record<string, unknown>[])[0]!;
  assert.equal(first.hash, rows[0]!.hash);
  assert.equal(first.chain, 'gw1');
  assert.ok(!log.text().includes(SECRET), 'header values never reach the log');
  assert.ok(!log.text().includes('tenant=t1'), 'nor the query string');
});

test('a receiver that is down (connection refused) and then starts gets everything', async (t) => {
  const port = await freePort();
  const store = new MemoryStore();
  await addEntries(store, 'gw1', 5);
  const { runner } = webhookRunner(store, `http://127.0.0.1:${port}/hook`);
  t.after(() => runner.stop());
  runner.start();
  await until(() => runner.status().failures >= 2, 'failing');
  assert.match(runner.status().lastError ?? '', /cannot connect to http:\/\/127\.0\.0\.1:\d+\/hook \(ECONNREFUSED\)/);
  const rx = new Receiver();
  await rx.start(port);
  t.after(() => rx.stop());
  await until(() => runner.status().cursor === 5, 'delivered');
  assert.deepEqual(seqsOf(rx.accepted), [1, 2, 3, 4, 5]);
});

test('a refusal (400) is logged as the receiver refusing and retried; credentials in the URL stay out of messages', async (t) => {
  const rx = new Receiver();
  await rx.start();
  t.after(() => rx.stop());
  rx.answer = (n) => (n < 2 ? { status: 400, body: '{"error":"schema mismatch"}' } : { status: 200 });
  const store = new MemoryStore();
  await addEntries(store, 'gw1', 2);
  const { runner, log } = webhookRunner(store, rx.url('/hook').replace('http://', 'http://ops:hunter2pass@'));
  t.after(() => runner.stop());
  runner.start();
  await until(() => runner.status().cursor === 2, 'delivered');
  assert.equal(rx.requests[0]!.headers.authorization, `Basic ${Buffer.from('ops:hunter2pass').toString('base64')}`);
  const refused = log.lines.filter((l) => l.msg === 'audit sink receiver refused a batch; retrying with backoff (nothing is skipped)');
  assert.equal(refused.length, 2);
  assert.match(String(refused[0]!.error), /refused the batch with HTTP 400$/);
  assert.ok(log.lines.some((l) => l.msg === 'audit sink receiver answer' && l.level === 20 && l.answer === '{"error":"schema mismatch"}'));
  assert.ok(!log.text().includes('hunter2pass'));
  assert.deepEqual(seqsOf(rx.accepted), [1, 2]);
});

test('429 with Retry-After is a retryable failure', async (t) => {
  const rx = new Receiver();
  await rx.start();
  t.after(() => rx.stop());
  rx.answer = (n) => (n === 0 ? { status: 429, headers: { 'retry-after': '0' } } : { status: 200 });
  const store = new MemoryStore();
  await addEntries(store, 'gw1', 1);
  const { runner } = webhookRunner(store, rx.url('/hook'));
  t.after(() => runner.stop());
  runner.start();
  await until(() => runner.status().cursor === 1, 'delivered');
  assert.equal(runner.status().failures, 1);
  assert.match(runner.status().lastError ?? '', /unavailable \(HTTP 429\)/);
});

test('a receiver that never answers times out, and the batch is sent again', async (t) => {
  const rx = new Receiver();
  await rx.start();
  t.after(() => rx.stop());
  rx.answer = (n) => (n === 0 ? { status: 0, silent: true } : { status: 200 });
  const store = new MemoryStore();
  await addEntries(store, 'gw1', 2);
  const { runner } = webhookRunner(store, rx.url('/hook'), captureLogger(), 150);
  t.after(() => runner.stop());
  runner.start();
  await until(() => runner.status().cursor === 2, 'delivered');
  assert.match(runner.status().lastError ?? '', /gave no answer within 150 ms/);
  assert.deepEqual(seqsOf(rx.accepted), [1, 2]);
});

test('stop() aborts a request in flight; the cursor stays where it was', async (t) => {
  const rx = new Receiver();
  await rx.start();
  t.after(() => rx.stop());
  rx.answer = () => ({ status: 0, silent: true });
  const store = new MemoryStore();
  await addEntries(store, 'gw1', 2);
  const { runner } = webhookRunner(store, rx.url('/hook'), captureLogger(), 3_600_000);
  runner.start();
  await until(() => rx.requests.length === 1, 'in flight');
  await runner.stop();
  assert.equal(await store.getAuditCursor('hook', 'gw1'), 0);
  assert.equal(runner.status().failures, 0, 'an abort at shutdown is not a delivery failure');
});
