import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SnapshotStore } from '../../src/config/snapshot-store.ts';

function quietLogger() {
  const logged: { obj: object; msg: string }[] = [];
  return { logged, logger: { error: (obj: object, msg: string) => void logged.push({ obj, msg }) } };
}

describe('SnapshotStore', () => {
  it('starts at generation 1 and swaps in the next snapshot', () => {
    const store = new SnapshotStore({ v: 'a' });
    assert.equal(store.generation, 1);
    assert.deepEqual(store.current, { v: 'a' });
    assert.equal(store.lastReload.ok, true);
    const seen: [string, string][] = [];
    const off = store.subscribe((next, prev) => seen.push([prev.v, next.v]));
    store.swap({ v: 'b' });
    assert.equal(store.current.v, 'b');
    assert.equal(store.generation, 2);
    assert.deepEqual(store.lastReload, { ok: true, at: store.lastReload.at, generation: 2 });
    off();
    store.swap({ v: 'c' });
    assert.deepEqual(seen, [['a', 'b']], 'unsubscribed listeners are not called');
  });

  it('keeps what a reader captured across a swap', () => {
    const store = new SnapshotStore({ v: 1 });
    const captured = store.current;
    store.swap({ v: 2 });
    assert.equal(captured.v, 1);
    assert.equal(store.current.v, 2);
  });

  it('reloadFrom swaps on success', async () => {
    const store = new SnapshotStore('one');
    assert.deepEqual(await store.reloadFrom(async () => 'two'), { ok: true });
    assert.equal(store.current, 'two');
    assert.equal(store.lastReload.ok, true);
    assert.equal(store.lastReload.generation, 2);
  });

  it('reloadFrom keeps the old snapshot when building the next one fails, and records why', async () => {
    const store = new SnapshotStore('one');
    let called = 0;
    store.subscribe(() => called++);
    const at = new Date(0);
    const r = await store.reloadFrom(async () => {
      throw new Error('/etc/g.yaml:3:5: unknown key "bogus"');
    });
    assert.deepEqual(r, { ok: false, error: '/etc/g.yaml:3:5: unknown key "bogus"' });
    assert.equal(store.current, 'one');
    assert.equal(store.generation, 1);
    assert.equal(called, 0);
    assert.equal(store.lastReload.ok, false);
    assert.equal(store.lastReload.generation, 1);
    assert.equal(store.lastReload.error, '/etc/g.yaml:3:5: unknown key "bogus"');
    assert.ok(store.lastReload.at >= at);
    // A later good reload clears the failure.
    await store.reloadFrom(async () => 'two');
    assert.deepEqual({ ok: store.lastReload.ok, error: store.lastReload.error }, { ok: true, error: undefined });
  });

  it('runs overlapping reloads one after another, so the later one wins', async () => {
    const store = new SnapshotStore(0);
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const first = store.reloadFrom(async () => {
      await gate;
      return 1;
    });
    const second = store.reloadFrom(async () => 2);
    release();
    await Promise.all([first, second]);
    assert.equal(store.current, 2);
    assert.equal(store.generation, 3);
  });

  it('a listener that throws is logged and neither breaks the swap nor the other listeners', async () => {
    const { logged, logger } = quietLogger();
    const store = new SnapshotStore('a', { logger });
    const calls: string[] = [];
    store.subscribe(() => {
      throw new Error('listener bug');
    });
    store.subscribe(async () => {
      throw new Error('async listener bug');
    });
    store.subscribe((next) => calls.push(next));
    store.swap('b');
    assert.equal(store.current, 'b');
    assert.deepEqual(calls, ['b']);
    assert.deepEqual(await store.reloadFrom(async () => 'c'), { ok: true });
    assert.deepEqual(calls, ['b', 'c']);
    await new Promise((r) => setImmediate(r));
    assert.equal(logged.length, 4);
    assert.ok(logged.every((l) => l.msg === 'config snapshot listener failed'));
  });
});
