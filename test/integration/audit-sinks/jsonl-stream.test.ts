import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { auditSchema } from '../../../src/config/schema/audit.ts';
import { JsonlFileSink } from '../../../src/audit/sinks/jsonl-file.ts';
import { makeSink } from '../../../src/audit/sinks/make-sink.ts';
import { OtlpSink } from '../../../src/audit/sinks/otlp.ts';
import { SinkRunner } from '../../../src/audit/sinks/sink-runner.ts';
import { WebhookSink } from '../../../src/audit/sinks/webhook.ts';
import { MemoryStore } from '../../../src/store/memory.ts';
import { addEntries, captureLogger, fastRetry, until } from '../../unit/audit-sinks/support.ts';

test('makeSink builds each kind from config; relative file paths resolve against the config folder', async () => {
  const cfg = auditSchema.parse({
    sinks: [
      { kind: 'jsonl', name: 'file', path: 'logs/audit.jsonl', rotate: { maxBytes: 4096, keep: 2 } },
      { kind: 'webhook', name: 'hook', url: 'https://siem.example/ingest', headers: { authorization: 'Bearer x' }, format: 'ocsf' },
      { kind: 'otlp', name: 'otel', endpoint: 'http://127.0.0.1:4318/v1/logs' },
    ],
  });
  const deps = { dir: '/etc/gatehouse', version: '1.0.0', logger: captureLogger().logger };
  const [file, hook, otel] = cfg.sinks.map((s) => makeSink(s, deps));
  assert.ok(file instanceof JsonlFileSink);
  assert.equal(file.path, '/etc/gatehouse/logs/audit.jsonl');
  assert.ok(hook instanceof WebhookSink);
  assert.equal(hook.display, 'https://siem.example/ingest');
  assert.ok(otel instanceof OtlpSink);
  assert.deepEqual([file.name, hook.name, otel.name], ['file', 'hook', 'otel']);
  await Promise.all([file.close(), hook.close(), otel.close()]);
  // The config schema refuses other schemes before a sink is built; makeSink checks again.
  assert.throws(() => auditSchema.parse({ sinks: [{ kind: 'webhook', name: 'ftp', url: 'ftp://files.example/x' }] }), /Invalid URL/);
  const forced = { ...auditSchema.parse({ sinks: [{ kind: 'webhook', name: 'ftp', url: 'http://files.example/x' }] }).sinks[0]!, url: 'ftp://files.example/x' };
  assert.throws(() => makeSink(forced, deps), /sink "ftp": ftp: URLs are not supported/);
});

test('store → runner → rotating file: every entry once, in order, across a restart', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'gh-stream-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const cfg = auditSchema.parse({ sinks: [{ kind: 'jsonl', name: 'file', path: 'audit.jsonl', batch: 5, rotate: { maxBytes: 4096, keep: 100 } }] }).sinks[0]!;
  const store = new MemoryStore();
  const start = (): SinkRunner => {
    const r = new SinkRunner({ sink: makeSink(cfg, { dir, version: '1', logger: captureLogger().logger }), store, chain: 'gw1', batch: cfg.batch, maxLag: cfg.maxLag, overflow: cfg.overflow, retry: fastRetry, logger: captureLogger().logger, pollIntervalMs: 20 });
    r.start();
    return r;
  };
  const rows = await addEntries(store, 'gw1', 20);
  const r1 = start();
  await until(() => r1.status().cursor === 20, 'first run');
  await r1.stop();
  rows.push(...(await addEntries(store, 'gw1', 12, Date.parse('2026-01-02T00:00:00.000Z'))));
  const r2 = start();
  r2.wake(32);
  assert.equal(await r2.flush(60_000), true);
  await r2.stop();

  const files = (await readdir(dir)).filter((f) => f.startsWith('audit.jsonl'));
  assert.ok(files.length > 1, 'rotated');
  // Oldest first: audit.jsonl.N … audit.jsonl.1, audit.jsonl.
  const ordered = files.sort((a, b) => (Number(b.split('.')[2] ?? 0) || 0) - (Number(a.split('.')[2] ?? 0) || 0));
  const lines: { seq: number; hash: string }[] = [];
  for (const f of ordered) {
    const text = await readFile(join(dir, f), 'utf8');
    assert.ok(Buffer.byteLength(text) <= 4096, `${f} within maxBytes`);
    for (const l of text.trimEnd().split('\n')) lines.push(JSON.parse(l) as { seq: number; hash: string });
  }
  assert.deepEqual(lines.map((l) => l.seq), rows.map((r) => r.seq));
  assert.deepEqual(lines.map((l) => l.hash), rows.map((r) => r.hash));
});
