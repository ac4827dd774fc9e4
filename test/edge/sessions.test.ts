import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SessionTable } from '../../src/edge/sessions.ts';

function table<S>(opts: { max?: number; idle?: number; onExpire?: (id: string, s: S) => void; now?: () => number } = {}) {
  const t = new SessionTable<S>({ maxSessions: opts.max ?? 100, sessionIdleSeconds: opts.idle ?? 60, onExpire: opts.onExpire, now: opts.now });
  return t;
}

test('create() mints 128-bit ids of visible ASCII and hands the id to init', () => {
  const t = table<{ id: string }>({ max: 1000 });
  const ids = new Set<string>();
  for (let i = 0; i < 1000; i++) {
    const made = t.create((id) => ({ id }));
    assert.ok(made);
    assert.equal(made.session.id, made.id);
    assert.match(made.id, /^[A-Za-z0-9_-]{22}$/);
    assert.equal(Buffer.from(made.id, 'base64url').length, 16);
    ids.add(made.id);
  }
  assert.equal(ids.size, 1000);
  assert.equal(t.size, 1000);
  t.closeAll();
});

test('get() and delete() find sessions; unknown ids give undefined', () => {
  const t = table<string>();
  const a = t.create(() => 'A')!;
  const b = t.create(() => 'B')!;
  assert.equal(t.get(a.id), 'A');
  assert.equal(t.peek(b.id), 'B');
  assert.equal(t.get('AAAAAAAAAAAAAAAAAAAAAA'), undefined);
  assert.equal(t.delete(a.id), 'A');
  assert.equal(t.get(a.id), undefined);
  assert.equal(t.delete(a.id), undefined);
  assert.deepEqual([...t.values()], ['B']);
  assert.equal(t.size, 1);
  t.closeAll();
});

test('create() returns undefined once maxSessions is reached, and works again after a delete', () => {
  const t = table<number>({ max: 3 });
  const made = [t.create(() => 1), t.create(() => 2), t.create(() => 3)];
  assert.ok(made.every((m) => m !== undefined));
  assert.equal(t.create(() => 4), undefined);
  t.delete(made[0]!.id);
  assert.ok(t.create(() => 5));
  assert.equal(t.size, 3);
  t.closeAll();
});

test('idle sessions expire on sweep; use keeps a session alive (driven clock)', () => {
  let now = 1_000_000;
  const expired: [string, string][] = [];
  const t = table<string>({ idle: 10, now: () => now, onExpire: (id, s) => expired.push([id, s]) });
  const a = t.create(() => 'A')!;
  const b = t.create(() => 'B')!;
  now += 6_000;
  assert.equal(t.get(b.id), 'B');
  now += 4_000; // A idle 10 s, B idle 4 s
  assert.equal(t.sweep(), 1);
  assert.deepEqual(expired, [[a.id, 'A']]);
  assert.equal(t.get(a.id), undefined);
  now += 5_999; // B idle 9.999 s
  assert.equal(t.sweep(), 0);
  now += 1;
  assert.equal(t.sweep(), 1);
  assert.equal(t.size, 0);
  t.closeAll();
});

test('peek() does not count as use', () => {
  let now = 0;
  const t = table<string>({ idle: 1, now: () => now });
  const a = t.create(() => 'A')!;
  now = 900;
  t.peek(a.id);
  now = 1000;
  assert.equal(t.sweep(), 1);
  t.closeAll();
});

test('the sweep timer expires idle sessions by itself (short idle time)', async () => {
  let resolveExpired: (v: [string, string]) => void = () => undefined;
  const expired = new Promise<[string, string]>((r) => (resolveExpired = r));
  const t = table<string>({ idle: 0.02, onExpire: (id, s) => resolveExpired([id, s]) });
  const a = t.create(() => 'A')!;
  assert.deepEqual(await expired, [a.id, 'A']);
  assert.equal(t.size, 0);
  t.closeAll();
});

test('an onExpire that throws does not stop the sweep; it becomes a process warning', async () => {
  let now = 0;
  const seen: string[] = [];
  const t = table<string>({ idle: 1, now: () => now, onExpire: (_id, s) => {
    seen.push(s);
    throw new Error(`boom ${s}`);
  } });
  t.create(() => 'A');
  t.create(() => 'B');
  const warnings: string[] = [];
  const onWarning = (w: Error) => warnings.push(w.message);
  process.on('warning', onWarning);
  now = 5000;
  assert.equal(t.sweep(), 2);
  await new Promise((r) => setImmediate(r));
  process.off('warning', onWarning);
  assert.deepEqual(seen, ['A', 'B']);
  assert.equal(warnings.filter((w) => w.includes('boom')).length, 2);
  t.closeAll();
});

test('closeAll() empties the table and refuses new sessions', () => {
  const t = table<string>();
  t.create(() => 'A');
  t.closeAll();
  assert.equal(t.size, 0);
  assert.equal(t.create(() => 'B'), undefined);
});

test('options are checked', () => {
  assert.throws(() => new SessionTable({ maxSessions: 0, sessionIdleSeconds: 1 }), RangeError);
  assert.throws(() => new SessionTable({ maxSessions: 1, sessionIdleSeconds: 0 }), RangeError);
  assert.throws(() => new SessionTable({ maxSessions: Number.NaN, sessionIdleSeconds: 1 }), RangeError);
});
