import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RequestStateSealer, requestDigest, type SealedState } from '../../src/relay/request-state.ts';

const now = Date.now();
const state: SealedState = { k: 'wrapped', u: 'up', s: 'upstream-secret-state', p: 'alice', r: 'tools/call t', d: requestDigest({ name: 't', arguments: { a: 1 } }), e: now + 60_000 };
const expect = { principal: 'alice', request: 'tools/call t', digest: state.d, now };

describe('sealed requestState', () => {
  it('round-trips and hides the upstream state', () => {
    const s = new RequestStateSealer('x'.repeat(32));
    const token = s.seal(state);
    assert.match(token, /^gh1\.[A-Za-z0-9_-]+$/);
    assert.ok(!Buffer.from(token.slice(4), 'base64url').toString('latin1').includes('upstream-secret-state'), 'encrypted, not just signed');
    const o = s.open(token, expect);
    assert.ok(o.ok);
    assert.deepEqual(o.state, state);
  });

  it('refuses tampering, other keys, other principals, other requests and expired states', () => {
    const s = new RequestStateSealer('x'.repeat(32));
    const token = s.seal(state);
    const raw = Buffer.from(token.slice(4), 'base64url');
    for (const i of [0, 13, raw.length - 1]) {
      const t = Buffer.from(raw);
      t[i]! ^= 1;
      const o = s.open('gh1.' + t.toString('base64url'), expect);
      assert.ok(!o.ok && /integrity/.test(o.reason), `byte ${i}`);
    }
    assert.ok(!new RequestStateSealer('y'.repeat(32)).open(token, expect).ok);
    assert.ok(!new RequestStateSealer().open(token, expect).ok, 'a random per-process key opens nothing of another');
    const other = s.open(token, { ...expect, principal: 'mallory' });
    assert.ok(!other.ok && /another principal/.test(other.reason));
    const req = s.open(token, { ...expect, digest: requestDigest({ name: 't', arguments: { a: 2 } }) });
    assert.ok(!req.ok && /different request/.test(req.reason));
    const late = s.open(token, { ...expect, now: now + 61_000 });
    assert.ok(!late.ok && /expired/.test(late.reason));
    for (const junk of [undefined, 42, '', 'gh1.', 'gh1.AAAA', 'eyJhbGciOiJub25lIn0.e30.', 'gh2.' + token.slice(4)]) {
      assert.equal(s.open(junk, expect).ok, false, String(junk));
    }
  });

  it('digests ignore key order, retry fields and _meta, but not argument values', () => {
    const a = requestDigest({ name: 't', arguments: { x: 1, y: [1, { b: 2, a: 1 }] } });
    const b = requestDigest({ arguments: { y: [1, { a: 1, b: 2 }], x: 1 }, name: 't', requestState: 'z', inputResponses: {}, _meta: { k: 1 } });
    assert.equal(a, b);
    assert.notEqual(a, requestDigest({ name: 't', arguments: { x: 2, y: [1, { b: 2, a: 1 }] } }));
    assert.notEqual(requestDigest({ name: 't' }), requestDigest({ name: 'u' }));
  });
});
