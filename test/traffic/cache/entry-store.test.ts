// The cache's bounded store: least recently used entries go first, by count and by bytes; entries
// past their time are never served; one oversized result is refused instead of flushing the rest.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EntryStore, entryBytes, type StoredEntry } from '../../../src/traffic/cache/entry-store.ts';

function entry(key: string, text: string, at = 0, ttl = 1_000, o: Partial<StoredEntry> = {}): StoredEntry {
  return { text, bytes: entryBytes(key, text), storedAt: at, expiresAt: at + ttl, upstream: 'u', method: 'tools/call', name: 'lookup', ...o };
}

const LOTS = { maxEntries: 1_000, maxBytes: 1 << 30, maxEntryBytes: 1 << 20 };

describe('EntryStore', () => {
  it('evicts the least recently used entry past maxEntries; a hit makes an entry recent', () => {
    const s = new EntryStore({ ...LOTS, maxEntries: 3 });
    for (const k of ['a', 'b', 'c']) assert.ok(s.set(k, entry(k, `"${k}"`), 0));
    assert.ok(s.get('a', 1), 'a is now the most recently used');
    s.set('d', entry('d', '"d"'), 1);
    assert.equal(s.size, 3);
    assert.equal(s.get('b', 1), undefined, 'b was least recently used');
    for (const k of ['a', 'c', 'd']) assert.ok(s.get(k, 1), k);
    assert.equal(s.evictions, 1);
  });

  it('evicts by bytes, counting the text in UTF-8, the key and a fixed overhead', () => {
    const one = entryBytes('k1', 'x'.repeat(1000));
    assert.ok(one > 1000 + 2, 'the overhead counts');
    assert.equal(entryBytes('k', 'é'), entryBytes('k', 'ab'), 'é is two bytes in UTF-8');
    const s = new EntryStore({ ...LOTS, maxBytes: one * 2 + 10 });
    s.set('k1', entry('k1', 'x'.repeat(1000)), 0);
    s.set('k2', entry('k2', 'y'.repeat(1000)), 0);
    assert.equal(s.size, 2);
    assert.equal(s.bytes, one * 2);
    s.set('k3', entry('k3', 'z'.repeat(1000)), 0);
    assert.equal(s.size, 2);
    assert.equal(s.get('k1', 0), undefined);
    assert.ok(s.bytes <= one * 2 + 10);
  });

  it('refuses an entry above maxEntryBytes (or above maxBytes) and keeps what it had', () => {
    const s = new EntryStore({ ...LOTS, maxEntryBytes: 500 });
    s.set('small', entry('small', '"s"'), 0);
    assert.equal(s.set('big', entry('big', 'x'.repeat(600)), 0), false);
    assert.equal(s.size, 1);
    const t = new EntryStore({ ...LOTS, maxBytes: 300 });
    assert.equal(t.set('big', entry('big', 'x'.repeat(400)), 0), false);
  });

  it('never serves an entry at or past its expiry, and frees its bytes', () => {
    const s = new EntryStore(LOTS);
    s.set('a', entry('a', '"a"', 100, 50), 100);
    assert.ok(s.get('a', 149));
    assert.equal(s.get('a', 150), undefined);
    assert.equal(s.size, 0);
    assert.equal(s.bytes, 0);
    assert.equal(s.expirations, 1);
  });

  it('sweeps expired entries in bulk on a later store, so they stop holding bytes', () => {
    const s = new EntryStore(LOTS);
    s.set('a', entry('a', '"a"', 0, 10), 0);
    s.set('b', entry('b', '"b"', 0, 10), 1);
    s.set('c', entry('c', '"c"', 10_000, 10), 10_000);
    assert.equal(s.size, 1);
    assert.equal(s.expirations, 2);
  });

  it('replacing a key does not count it twice', () => {
    const s = new EntryStore(LOTS);
    s.set('a', entry('a', '"one"'), 0);
    s.set('a', entry('a', '"two"'), 0);
    assert.equal(s.size, 1);
    assert.equal(s.bytes, entryBytes('a', '"two"'));
    assert.equal(s.get('a', 0)?.text, '"two"');
  });

  it('deleteWhere drops what it picks', () => {
    const s = new EntryStore(LOTS);
    s.set('a', entry('a', '1', 0, 1_000, { upstream: 'x' }), 0);
    s.set('b', entry('b', '2', 0, 1_000, { upstream: 'y' }), 0);
    assert.equal(s.deleteWhere((e) => e.upstream === 'x'), 1);
    assert.equal(s.size, 1);
    assert.equal(s.bytes, entryBytes('b', '2'));
  });
});
