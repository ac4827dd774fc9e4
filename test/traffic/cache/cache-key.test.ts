// Cache keys: the same call in any key order is one key; anything that tells two calls or two
// authorization contexts apart makes two keys; keys are bounded hashes.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CanonicalJsonError } from '../../../src/audit/canonical.ts';
import { principalKey, requestBase, sharedKey, type KeyParts } from '../../../src/traffic/cache/cache-key.ts';

const CALL: KeyParts = { upstream: 'db', context: 'id1/dg1', era: 'modern', method: 'tools/call', name: 'lookup', args: { q: 'x', opts: { a: 1, b: [1, 2] } } };
const key = (p: Partial<KeyParts> = {}, who = 'keys:acme:bot:alice') => principalKey(requestBase({ ...CALL, ...p }), who);

describe('cache keys', () => {
  it('argument order does not matter (RFC 8785 canonical JSON)', () => {
    assert.equal(key({ args: { opts: { b: [1, 2], a: 1 }, q: 'x' } }), key());
    assert.equal(key({ args: { q: 1.0 } }), key({ args: { q: 1 } }));
  });

  it('every part of the call tells keys apart', () => {
    const base = key();
    for (const p of [
      { upstream: 'db2' },
      { context: 'id2/dg1' },
      { context: 'id1/dg2' },
      { era: 'legacy' },
      { method: 'resources/read' },
      { name: 'lookup2' },
      { args: { q: 'y', opts: { a: 1, b: [1, 2] } } },
      { args: { q: 'x', opts: { a: 1, b: [2, 1] } } },
      { args: null },
    ]) {
      assert.notEqual(key(p), base, JSON.stringify(p));
    }
    assert.equal(key({ args: undefined }), key({ args: null }), 'no arguments is one thing');
  });

  it('the principal is part of a private key; a shared key has none and differs from every private one', () => {
    const b = requestBase(CALL);
    assert.notEqual(principalKey(b, 'keys:acme:bot:alice'), principalKey(b, 'keys:acme:bot:bob'));
    assert.notEqual(sharedKey(b), principalKey(b, ''));
    assert.equal(sharedKey(b), sharedKey(requestBase({ ...CALL })));
  });

  it('parts cannot run into each other', () => {
    assert.notEqual(key({ upstream: 'a","b', name: 'c' }), key({ upstream: 'a', name: 'b","c' }));
    assert.notEqual(key({ name: 'x\n{}' , args: null }), key({ name: 'x', args: {} }));
  });

  it('keys are fixed-size hashes, whatever the arguments', () => {
    assert.match(key({ args: { big: 'x'.repeat(100_000) } }), /^[A-Za-z0-9_-]{43}$/);
  });

  it('arguments without a canonical form are refused (not made equal to others)', () => {
    assert.throws(() => requestBase({ ...CALL, args: { q: '\ud800' } }), CanonicalJsonError);
  });
});
