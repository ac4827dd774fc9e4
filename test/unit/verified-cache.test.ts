import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { VerifiedTokenCache } from '../../src/identity/jwt/verified-cache.ts';
import { makePrincipal } from '../../src/pipeline/principal.ts';

const p = makePrincipal({ authMethod: 'jwt', authSource: 'idp', agent: 'a' });

describe('verified token cache', () => {
  it('gives a verified token back until it stops being valid, never longer than five minutes', () => {
    const c = new VerifiedTokenCache();
    c.put('t1', p, 10_000, 0);
    assert.equal(c.get('t1', 9_999), p);
    assert.equal(c.get('t1', 10_000), undefined, 'expired: verify again (and be refused)');
    assert.equal(c.get('t1', 5), undefined, 'an expired entry is gone for good');
    c.put('t2', p, 10 * 3_600_000, 0);
    assert.equal(c.get('t2', 299_999), p);
    assert.equal(c.get('t2', 300_000), undefined, 'reuse is capped at five minutes');
  });

  it('is keyed by the exact token and bounded in size', () => {
    const c = new VerifiedTokenCache();
    c.put('abc', p, 1e12, 0);
    assert.equal(c.get('abd', 1), undefined);
    for (let i = 0; i < 5000; i++) c.put(`k${i}`, p, 1e12, 0);
    assert.equal(c.get('abc', 1), undefined, 'the oldest entries leave first');
    assert.equal(c.get('k4999', 1), p);
  });
});
