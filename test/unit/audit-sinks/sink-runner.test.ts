import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SinkDeliveryError } from '../../../src/audit/sinks/sink.ts';
import { SinkRunner, type SinkRunnerOptions, type SinkStatus } from '../../../src/audit/sinks/sink-runner.ts';
import { StoreError } from '../../../src/store/store.ts';
import { FlakyStore, ScriptedSink, addEntries, captureLogger, fastRetry, until } from './support.ts';

function runner(store: FlakyStore, sink: ScriptedSink, over: Partial<SinkRunnerOptions> = {}): SinkRunner {
  return new SinkRunner({
    sink,
    store,
    chain: 'gw1',
    batch: 4,
    maxLag: 1000,
    overflow: 'spill',
    retry: fastRetry,
    logger: captureLogger().logger,
    pollIntervalMs: 20,
    ...over,
  });
}

test('delivers the chain in order, in batches, and persists the cursor', async (t) => {
  const store = new FlakyStore();
  const rows = await addEntries(store, 'gw1', 10);
  const sink = new ScriptedSink('s1');
  const r = runner(store, sink);
  t.after(() => r.stop());
  r.start();
  await until(() => r.status().cursor === 10, 'cursor 10');
  assert.deepEqual(sink.got.map((e) => e.seq), rows.map((x) => x.seq));
  assert.equal(sink.batches, 3);
  assert.equal(await store.getAuditCursor('s1', 'gw1'), 10);
  const s = r.status();
  assert.equal(s.sink, 's1');
  assert.equal(s.chain, 'gw1');
  assert.equal(s.head, 10);
  assert.equal(s.lag, 0);
  assert.equal(s.delivered, 10);
  assert.equal(s.failures, 0);
  assert.equal(s.behind, false);
  assert.ok(s.lastDeliveredAt !== undefined);
  // New rows: wake() sends them without waiting for the poll.
  await addEntries(store, 'gw1', 3);
  r.wake(13);
  await until(() => r.status().cursor === 13, 'cursor 13');
  assert.deepEqual(sink.got.map((e) => e.seq), [...Array(13).keys()].map((i) => i + 1));
  await r.stop();
  assert.equal(sink.closed, true, 'the runner owns its sink');
});

test('rows written by another process are found by polling', async (t) => {
  const store = new FlakyStore();
  const sink = new ScriptedSink();
  const r = runner(store, sink);
  t.after(() => r.stop());
  r.start();
  await until(() => store.reads > 0, 'found nothing yet');
  await addEntries(store, 'gw1', 2); // no wake(): as if another process wrote them
  await until(() => r.status().cursor === 2, 'polled');
});

test('failures are retried from the cursor: nothing skipped, nothing twice, status says why', async (t) => {
  const store = new FlakyStore();
  await addEntries(store, 'gw1', 6);
  const sink = new ScriptedSink();
  sink.failNext = 3;
  sink.failWith = new SinkDeliveryError('sink "test": http://x/ is unavailable (HTTP 503)', { status: 503 });
  const log = captureLogger();
  const r = runner(store, sink, { logger: log.logger });
  t.after(() => r.stop());
  r.start();
  await until(() => r.status().cursor === 6, 'delivered');
  assert.deepEqual(sink.got.map((e) => e.seq), [1, 2, 3, 4, 5, 6]);
  const s = r.status();
  assert.equal(s.failures, 3);
  assert.equal(s.consecutiveFailures, 0);
  assert.equal(s.lastError, 'sink "test": http://x/ is unavailable (HTTP 503)');
  assert.ok(s.lastErrorAt !== undefined);
  assert.equal(log.lines.filter((l) => l.msg === 'audit sink delivery failed; retrying with backoff').length, 3);
  assert.ok(log.lines.some((l) => l.msg === 'audit sink delivering again'));
});

test('a refusal (4xx) is retried too, and logged as an error', async (t) => {
  const store = new FlakyStore();
  await addEntries(store, 'gw1', 2);
  const sink = new ScriptedSink();
  sink.failNext = 2;
  sink.failWith = new SinkDeliveryError('sink "test": http://x/ refused the batch with HTTP 400', { status: 400, refused: true, answer: 'bad field' });
  const log = captureLogger();
  const r = runner(store, sink, { logger: log.logger });
  t.after(() => r.stop());
  r.start();
  await until(() => r.status().cursor === 2, 'delivered');
  const refused = log.lines.filter((l) => l.msg === 'audit sink receiver refused a batch; retrying with backoff (nothing is skipped)');
  assert.equal(refused.length, 2);
  assert.equal(refused[0]!.level, 50);
  const answer = log.lines.filter((l) => l.msg === 'audit sink receiver answer');
  assert.ok(answer.every((l) => l.level === 20), 'the receiver answer (may echo records) only at debug');
});

test('a store that is down is retried like a receiver that is down', async (t) => {
  const store = new FlakyStore();
  await addEntries(store, 'gw1', 3);
  store.failReads = new StoreError('io', 'database is locked');
  const sink = new ScriptedSink();
  const r = runner(store, sink);
  t.after(() => r.stop());
  r.start();
  await until(() => r.status().failures >= 2, 'failing');
  assert.equal(r.status().lastError, 'database is locked');
  store.failReads = undefined;
  await until(() => r.status().cursor === 3, 'delivered');
  assert.deepEqual(sink.got.map((e) => e.seq), [1, 2, 3]);
});

test('lag and behind: flips when lag passes maxLag, and back once caught up', async (t) => {
  const store = new FlakyStore();
  const sink = new ScriptedSink();
  sink.failNext = Number.MAX_SAFE_INTEGER;
  const r = runner(store, sink, { maxLag: 5, overflow: 'fail_closed' });
  t.after(() => r.stop());
  const changes: SinkStatus[] = [];
  r.onBehindChange((s) => changes.push(s));
  r.onBehindChange(() => {
    throw new Error('a broken listener');
  });
  r.start();
  await addEntries(store, 'gw1', 5);
  r.wake(5);
  assert.equal(r.status().lag, 5);
  assert.equal(r.status().behind, false, 'lag equal to maxLag is not behind');
  await addEntries(store, 'gw1', 1);
  r.wake(6);
  assert.equal(r.status().behind, true);
  assert.equal(changes.length, 1);
  assert.equal(changes[0]!.behind, true);
  assert.equal(changes[0]!.lag, 6);
  assert.equal(changes[0]!.overflow, 'fail_closed');
  sink.failNext = 0;
  await until(() => r.status().cursor === 6, 'caught up');
  assert.equal(r.status().behind, false);
  assert.equal(changes.length, 2);
  assert.equal(changes[1]!.behind, false);
  assert.deepEqual(sink.got.map((e) => e.seq), [1, 2, 3, 4, 5, 6]);
});

test('lag is noticed while failing even without wake(seq): the head is re-read', async (t) => {
  const store = new FlakyStore();
  await addEntries(store, 'gw1', 3);
  const sink = new ScriptedSink();
  sink.failNext = Number.MAX_SAFE_INTEGER;
  const r = runner(store, sink, { maxLag: 2 });
  t.after(() => r.stop());
  r.start();
  await until(() => r.status().behind, 'behind');
  assert.equal(r.status().head, 3);
  assert.equal(r.status().cursor, 0);
});

test('stop() during a long backoff ends the loop without waiting it out', async () => {
  const store = new FlakyStore();
  await addEntries(store, 'gw1', 2);
  const sink = new ScriptedSink();
  sink.failNext = 1;
  const r = runner(store, sink, { retry: { initialDelayMs: 3_600_000, maxDelayMs: 3_600_000 } });
  r.start();
  await until(() => r.status().failures === 1, 'first failure');
  await r.stop();
  assert.equal(sink.got.length, 0);
  assert.equal(await store.getAuditCursor('test', 'gw1'), 0);
  assert.equal(sink.closed, true);
  await r.stop(); // idempotent
});

test('stop() aborts an in-flight delivery; the next start sends those records again', async () => {
  const store = new FlakyStore();
  await addEntries(store, 'gw1', 3);
  const sink = new ScriptedSink();
  sink.hang = true;
  const r = runner(store, sink, { ownsSink: false });
  r.start();
  await until(() => sink.attempts === 1, 'in flight');
  await r.stop();
  assert.equal(sink.closed, false, 'ownsSink: false leaves the sink open');
  assert.equal(await store.getAuditCursor('test', 'gw1'), 0);
  sink.hang = false;
  const again = runner(store, sink);
  again.start();
  await until(() => again.status().cursor === 3, 'resumed');
  await again.stop();
  assert.deepEqual(sink.got.map((e) => e.seq), [1, 2, 3]);
});

test('a restart resumes from the persisted cursor', async () => {
  const store = new FlakyStore();
  await addEntries(store, 'gw1', 5);
  const first = new ScriptedSink();
  const r1 = runner(store, first);
  r1.start();
  await until(() => r1.status().cursor === 5, 'first run');
  await r1.stop();
  await addEntries(store, 'gw1', 2);
  const second = new ScriptedSink();
  const r2 = runner(store, second);
  r2.start();
  await until(() => r2.status().cursor === 7, 'second run');
  await r2.stop();
  assert.deepEqual(second.got.map((e) => e.seq), [6, 7]);
});

test('flush delivers what is there and cuts a pending backoff short', async () => {
  const store = new FlakyStore();
  await addEntries(store, 'gw1', 3);
  const sink = new ScriptedSink();
  sink.failNext = 1;
  const r = runner(store, sink, { retry: { initialDelayMs: 3_600_000, maxDelayMs: 3_600_000 } });
  r.start();
  await until(() => r.status().failures === 1, 'backing off');
  assert.equal(await r.flush(60_000), true);
  assert.deepEqual(sink.got.map((e) => e.seq), [1, 2, 3]);
  assert.equal(await r.flush(10), true, 'nothing to do');
  await r.stop();
  assert.equal(await r.flush(10), false, 'stopped');
});

test('flush gives up after its timeout when the receiver stays down', async () => {
  const store = new FlakyStore();
  await addEntries(store, 'gw1', 1);
  const sink = new ScriptedSink();
  sink.failNext = Number.MAX_SAFE_INTEGER;
  const r = runner(store, sink);
  r.start();
  assert.equal(await r.flush(30), false);
  await r.stop();
});

test('entries pruned before delivery are skipped over with a warning (retention reports them)', async (t) => {
  const store = new FlakyStore();
  const rows = await addEntries(store, 'gw1', 6);
  await store.setAuditCursor('test', 'gw1', 2);
  await store.pruneAudit({ chain: 'gw1', throughSeq: 4, hash: rows[3]!.hash, time: '2026-01-02T00:00:00.000Z', reason: 'max_age' });
  const sink = new ScriptedSink();
  const log = captureLogger();
  const r = runner(store, sink, { logger: log.logger });
  t.after(() => r.stop());
  r.start();
  await until(() => r.status().cursor === 6, 'delivered');
  assert.deepEqual(sink.got.map((e) => e.seq), [5, 6]);
  assert.ok(log.lines.some((l) => l.msg === 'audit entries were pruned before this sink delivered them' && l.missing === 2));
});
