import assert from 'node:assert/strict';
import { test } from 'node:test';
import { applyRetention, planRetention } from '../../../src/audit/retention.ts';
import { MemoryStore } from '../../../src/store/memory.ts';
import { addEntries } from './support.ts';

const DAY = 86_400_000;
const T0 = Date.parse('2026-01-01T00:00:00.000Z');
const none = { maxAgeDays: undefined, maxBytes: undefined };

test('nothing configured, nothing to do', async () => {
  const store = new MemoryStore();
  await addEntries(store, 'gw1', 3, T0, DAY);
  assert.deepEqual(await planRetention(store, none, new Date(T0 + 100 * DAY)), []);
  assert.deepEqual(await applyRetention(store, [], ['s']), { pruned: 0, undelivered: [], failed: [] });
});

test('by age: through the entry before the first one at or after the cutoff', async () => {
  const store = new MemoryStore();
  // Entries on days 0..9.
  const rows = await addEntries(store, 'gw1', 10, T0, DAY);
  const now = new Date(T0 + 12 * DAY);
  // Cutoff: day 7 at 00:00 → entries of days 0..6 (seq 1..7) are older.
  const marks = await planRetention(store, { maxAgeDays: 5, maxBytes: undefined }, now);
  assert.deepEqual(marks, [{ chain: 'gw1', throughSeq: 7, hash: rows[6]!.hash, time: now.toISOString(), reason: 'max_age' }]);
  const r = await applyRetention(store, marks, []);
  assert.equal(r.pruned, 7);
  assert.deepEqual((await store.readAudit('gw1', 0, 100)).map((x) => x.seq), [8, 9, 10]);
  assert.deepEqual(await store.auditPruneMarks('gw1'), marks);
  // Run again: nothing new is old enough.
  assert.deepEqual(await planRetention(store, { maxAgeDays: 5, maxBytes: undefined }, now), []);
});

test('by age: the head of a chain stays even when everything is old', async () => {
  const store = new MemoryStore();
  const rows = await addEntries(store, 'gw1', 4, T0, 1000);
  await addEntries(store, 'one', 1, T0, 1000);
  const marks = await planRetention(store, { maxAgeDays: 1, maxBytes: undefined }, new Date(T0 + 30 * DAY));
  assert.deepEqual(marks.map((m) => [m.chain, m.throughSeq, m.hash]), [['gw1', 3, rows[2]!.hash]]);
});

test('by size: oldest first across chains until the trail fits', async () => {
  const store = new MemoryStore();
  // Interleaved in time: a at 0,2,4,..., b at 1,3,5,... seconds.
  await addEntries(store, 'a', 6, T0, 2000);
  await addEntries(store, 'b', 6, T0 + 1000, 2000);
  const chains = await store.auditChains();
  const total = chains.reduce((n, c) => n + c.bytes, 0);
  const all = [...(await store.readAudit('a', 0, 100)), ...(await store.readAudit('b', 0, 100))].sort((x, y) => (x.columns.time < y.columns.time ? -1 : 1));
  const size = (i: number): number => Buffer.byteLength(all[i]!.text, 'utf8');
  // A limit that needs the five oldest entries gone (a1 b1 a2 b2 a3) but not four.
  const maxBytes = total - (size(0) + size(1) + size(2) + size(3)) - 1;
  const now = new Date(T0 + DAY);
  const marks = await planRetention(store, { maxAgeDays: undefined, maxBytes }, now);
  assert.deepEqual(
    marks.map((m) => [m.chain, m.throughSeq, m.reason]),
    [['a', 3, 'max_bytes'], ['b', 2, 'max_bytes']],
  );
  const r = await applyRetention(store, marks, []);
  assert.equal(r.pruned, 5);
  const after = (await store.auditChains()).reduce((n, c) => n + c.bytes, 0);
  assert.ok(after <= maxBytes, `${after} <= ${maxBytes}`);
});

test('age and size together: the further of the two wins per chain', async () => {
  const store = new MemoryStore();
  const rows = await addEntries(store, 'gw1', 10, T0, DAY);
  const total = (await store.auditChains())[0]!.bytes;
  const now = new Date(T0 + 12 * DAY);
  const ageOnly = await planRetention(store, { maxAgeDays: 5, maxBytes: undefined }, now);
  assert.equal(ageOnly[0]!.throughSeq, 7);
  const sizeWins = await planRetention(store, { maxAgeDays: 5, maxBytes: Math.floor(total / 10) }, now);
  assert.deepEqual(sizeWins.map((m) => [m.throughSeq, m.reason, m.hash]), [[9, 'max_bytes', rows[8]!.hash]]);
  const ageWins = await planRetention(store, { maxAgeDays: 5, maxBytes: total - 10 }, now);
  assert.deepEqual(ageWins.map((m) => [m.throughSeq, m.reason]), [[7, 'max_age']]);
});

test('entries a sink never got are reported undelivered, and its cursor moves past them', async () => {
  const store = new MemoryStore();
  const rows = await addEntries(store, 'gw1', 10, T0, DAY);
  await store.setAuditCursor('siem', 'gw1', 3); // got 1..3
  await store.setAuditCursor('file', 'gw1', 9); // got 1..9
  // 'new' never delivered anything.
  const marks = await planRetention(store, { maxAgeDays: 5, maxBytes: undefined }, new Date(T0 + 12 * DAY));
  const r = await applyRetention(store, marks, ['siem', 'file', 'new']);
  assert.equal(r.pruned, 7);
  assert.deepEqual(r.failed, []);
  assert.deepEqual(r.undelivered, [
    { sink: 'siem', chain: 'gw1', lost: 4, from: rows[3]!.columns.time, to: rows[6]!.columns.time },
    { sink: 'new', chain: 'gw1', lost: 7, from: rows[0]!.columns.time, to: rows[6]!.columns.time },
  ]);
  assert.equal(await store.getAuditCursor('siem', 'gw1'), 7);
  assert.equal(await store.getAuditCursor('file', 'gw1'), 9, 'a cursor past the mark is left alone');
  assert.equal(await store.getAuditCursor('new', 'gw1'), 7);

  // A second prune (cutoff day 8.5: seq 8, 9 go) only reports what was still there: 8..9 for 'siem'.
  await addEntries(store, 'gw1', 1, T0 + 10 * DAY, DAY);
  const again = await planRetention(store, { maxAgeDays: 5, maxBytes: undefined }, new Date(T0 + 13.5 * DAY));
  assert.deepEqual(again.map((m) => m.throughSeq), [9]);
  const r2 = await applyRetention(store, again, ['siem', 'file']);
  assert.deepEqual(r2.undelivered.map((u) => [u.sink, u.lost]), [['siem', 2]]);
});

test('a chain that fails to prune does not stop the others', async () => {
  const store = new MemoryStore();
  const a = await addEntries(store, 'a', 3, T0, DAY);
  const b = await addEntries(store, 'b', 3, T0, DAY);
  const time = new Date(T0 + 30 * DAY).toISOString();
  const r = await applyRetention(
    store,
    [
      { chain: 'a', throughSeq: 2, hash: b[1]!.hash, time, reason: 'max_age' }, // wrong hash: refused
      { chain: 'b', throughSeq: 2, hash: b[1]!.hash, time, reason: 'max_age' },
    ],
    ['s'],
  );
  assert.equal(r.pruned, 2);
  assert.equal(r.failed.length, 1);
  assert.equal(r.failed[0]!.chain, 'a');
  assert.deepEqual(r.undelivered.map((u) => [u.chain, u.lost]), [['b', 2]]);
  assert.equal(await store.getAuditCursor('s', 'a'), 0, 'no cursor moved for the chain that was not pruned');
  assert.equal((await store.readAudit('a', 0, 10)).length, a.length);
});
