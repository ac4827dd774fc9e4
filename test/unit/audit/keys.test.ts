import assert from 'node:assert/strict';
import { createHash, createHmac, hkdfSync } from 'node:crypto';
import { describe, it } from 'node:test';
import { argsDigester, checkpointPayload, generateAuditKey, jwkThumbprint, signCheckpoint, verifyCheckpoint } from '../../../src/audit/keys.ts';

const key = generateAuditKey(new Date('2026-01-02T03:04:05.000Z'));
const keys = new Map([[key.kid, key.publicJwk]]);
const point = { chain: 'gw-1', seq: 42, hash: 'a'.repeat(64), time: '2026-01-02T03:05:00.000Z' };

describe('generateAuditKey', () => {
  it('makes an Ed25519 key whose kid is the RFC 7638 thumbprint of the public half', () => {
    const pub = JSON.parse(key.publicJwk) as Record<string, string>;
    const priv = JSON.parse(key.privateJwk) as Record<string, string>;
    assert.equal(pub.kty, 'OKP');
    assert.equal(pub.crv, 'Ed25519');
    assert.equal(pub.d, undefined, 'the public JWK has no private part');
    assert.equal(typeof priv.d, 'string');
    const expected = createHash('sha256').update(`{"crv":"Ed25519","kty":"OKP","x":"${pub.x}"}`).digest('base64url');
    assert.equal(key.kid, expected);
    assert.equal(jwkThumbprint({ kty: 'OKP', crv: 'Ed25519', x: pub.x! }), expected);
    assert.equal(key.createdAt, '2026-01-02T03:04:05.000Z');
    assert.notEqual(generateAuditKey().kid, key.kid);
  });
});

describe('checkpoints', () => {
  it('signs the canonical {chain, seq, hash, time, kid} and verifies', () => {
    const c = signCheckpoint(key, point);
    assert.deepEqual({ ...c, signature: undefined }, { ...point, kid: key.kid, signature: undefined });
    assert.match(c.signature, /^[A-Za-z0-9_-]{86}$/);
    assert.equal(checkpointPayload(c).toString(), `{"chain":"gw-1","hash":"${'a'.repeat(64)}","kid":"${key.kid}","seq":42,"time":"2026-01-02T03:05:00.000Z"}`);
    assert.equal(verifyCheckpoint(c, keys), 'ok');
  });

  it('refuses a tampered field or signature', () => {
    const c = signCheckpoint(key, point);
    assert.equal(verifyCheckpoint({ ...c, seq: 43 }, keys), 'bad_signature');
    assert.equal(verifyCheckpoint({ ...c, hash: 'b'.repeat(64) }, keys), 'bad_signature');
    assert.equal(verifyCheckpoint({ ...c, time: '2026-01-02T03:05:00.001Z' }, keys), 'bad_signature');
    const sig = Buffer.from(c.signature, 'base64url');
    sig[0]! ^= 1;
    assert.equal(verifyCheckpoint({ ...c, signature: sig.toString('base64url') }, keys), 'bad_signature');
    assert.equal(verifyCheckpoint({ ...c, signature: 'short' }, keys), 'bad_signature');
    assert.equal(verifyCheckpoint({ ...c, signature: 'not base64url!' }, keys), 'bad_signature');
  });

  it('names an unknown kid, or a key that is not a usable Ed25519 JWK', () => {
    const c = signCheckpoint(key, point);
    assert.equal(verifyCheckpoint(c, new Map()), 'unknown_key');
    assert.equal(verifyCheckpoint(c, new Map([[key.kid, '{"kty":"RSA"}']])), 'unknown_key');
    assert.equal(verifyCheckpoint(c, new Map([[key.kid, 'not json']])), 'unknown_key');
    const other = generateAuditKey();
    assert.equal(verifyCheckpoint(c, new Map([[key.kid, other.publicJwk]])), 'bad_signature', 'another key under the same kid');
  });
});

describe('argsDigester', () => {
  it('is an HMAC-SHA256 over canonical JSON keyed by HKDF of the private key', () => {
    const digest = argsDigester(key);
    const d = digest({ b: [1, 2], a: 'pin-1234' });
    const priv = JSON.parse(key.privateJwk) as { d: string };
    const k = Buffer.from(hkdfSync('sha256', Buffer.from(priv.d, 'base64url'), Buffer.alloc(0), 'gatehouse audit args digest', 32));
    const hex = createHmac('sha256', k).update('{"a":"pin-1234","b":[1,2]}').digest('hex');
    assert.equal(d, `hmac-sha256:${key.kid}:${hex}`);
  });

  it('is stable per key, independent of member order, and differs between keys', () => {
    const a = argsDigester(key);
    assert.equal(a({ x: 1, y: 'secret' }), a({ y: 'secret', x: 1 }));
    assert.equal(a({ x: 1 }), argsDigester(key)({ x: 1 }));
    assert.notEqual(a({ x: 1 }), a({ x: 2 }));
    const other = generateAuditKey();
    const b = argsDigester(other);
    assert.notEqual(a({ x: 1 }).split(':')[2], b({ x: 1 }).split(':')[2]);
    assert.ok(b({ x: 1 }).startsWith(`hmac-sha256:${other.kid}:`));
    // Unkeyed SHA-256 of the same text is not what is recorded: guesses cannot be checked without the key.
    assert.notEqual(a({ pin: '1234' }).split(':')[2], createHash('sha256').update('{"pin":"1234"}').digest('hex'));
  });

  it('refuses a key record without a private part when built', () => {
    assert.throws(() => argsDigester({ ...key, privateJwk: key.publicJwk }), /no private part/);
    assert.throws(() => argsDigester({ ...key, privateJwk: 'nope' }), /not JSON/);
  });
});
