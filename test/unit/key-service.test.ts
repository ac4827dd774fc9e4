import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { hashSecret, parseApiKey } from '../../src/identity/api-key-format.ts';
import { KeyInputError, createKey, getKey, listKeys, normalizeKeyId, revokeKey, rotateKey } from '../../src/identity/key-service.ts';
import type { CreateKeyInput } from '../../src/identity/key-service.ts';
import { createMemoryStore } from '../../src/store/memory.ts';

const T0 = Date.parse('2026-11-02T10:00:00.000Z');
const HOUR = 3_600_000;

function inputError(code: KeyInputError['code'], pattern: RegExp): (err: unknown) => boolean {
  return (err) => {
    assert.ok(err instanceof KeyInputError, `expected a KeyInputError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    assert.match(err.message, pattern);
    return true;
  };
}

describe('key service: create', () => {
  it('stores the hash of the secret and returns the key once, with a view that has no hash', async () => {
    const store = createMemoryStore();
    const { key, record } = await createKey(store, { agent: 'ci-bot', name: 'ci prod', user: 'alice', tenant: 'acme', roles: ['deployer'], scopes: ['tools:call', 'resources:read'], expiresInSeconds: 86_400 }, T0);
    const parsed = parseApiKey(key);
    assert.ok(parsed);
    assert.equal(parsed.id, record.id);
    assert.equal('hash' in record, false);
    assert.deepEqual(record, {
      id: parsed.id,
      kind: 'agent',
      name: 'ci prod',
      agent: 'ci-bot',
      user: 'alice',
      tenant: 'acme',
      roles: ['deployer'],
      scopes: ['tools:call', 'resources:read'],
      createdAt: '2026-11-02T10:00:00.000Z',
      expiresAt: '2026-11-03T10:00:00.000Z',
      revokedAt: undefined,
      lastUsedAt: undefined,
      rotatedFrom: undefined,
      state: 'active',
    });
    const stored = await store.getApiKey(record.id);
    assert.equal(stored?.hash, hashSecret(parsed.secret));
    assert.ok(!JSON.stringify(stored).includes(parsed.secret));
  });

  it('makes agent keys by default, admin keys on request, and takes expiry as an ISO date or time', async () => {
    const store = createMemoryStore();
    assert.equal((await createKey(store, { agent: 'a' }, T0)).record.kind, 'agent');
    assert.equal((await createKey(store, { agent: 'a' }, T0)).record.expiresAt, undefined);
    assert.equal((await createKey(store, { agent: 'a', kind: 'admin' }, T0)).record.kind, 'admin');
    assert.equal((await createKey(store, { agent: 'a', expiresAt: '2027-01-31' }, T0)).record.expiresAt, '2027-01-31T00:00:00.000Z');
    assert.equal((await createKey(store, { agent: 'a', expiresAt: '2027-01-31T12:00:00+02:00' }, T0)).record.expiresAt, '2027-01-31T10:00:00.000Z');
  });

  it('refuses bad input with a precise message and stores nothing', async () => {
    const store = createMemoryStore();
    const cases: Array<[Partial<CreateKeyInput> | null, RegExp]> = [
      [null, /must be an object/],
      [{}, /agent is required/],
      [{ agent: '' }, /agent is required/],
      [{ agent: 'ci bot' }, /agent "ci bot" contains whitespace/],
      [{ agent: 'ci\u202ebot' }, /contains whitespace or control characters/],
      [{ agent: 'a'.repeat(129) }, /agent is longer than 128/],
      [{ agent: 'a', kind: 'root' as never }, /kind must be 'agent' or 'admin', got "root"/],
      [{ agent: 'a', user: '' }, /user is required and must be a non-empty string/],
      [{ agent: 'a', tenant: 'x\ty' }, /tenant "x\\ty" contains whitespace/],
      [{ agent: 'a', roles: 'admin' as never }, /roles must be a list/],
      [{ agent: 'a', roles: ['ok', ''] }, /role is required/],
      [{ agent: 'a', roles: ['x', 'x'] }, /role "x" is given twice/],
      [{ agent: 'a', scopes: ['tools:call read'] }, /scope "tools:call read" contains whitespace/],
      [{ agent: 'a', scopes: Array.from({ length: 65 }, (_, i) => `s${i}`) }, /at most 64 scopes/],
      [{ agent: 'a', name: '  ' }, /name must be a non-empty string/],
      [{ agent: 'a', name: ' padded' }, /must not start or end with whitespace/],
      [{ agent: 'a', name: 'line\nbreak' }, /name contains control characters/],
      [{ agent: 'a', name: 'n'.repeat(101) }, /name is longer than 100/],
      [{ agent: 'a', expiresInSeconds: 0 }, /expiresInSeconds must be a whole number of seconds from 1/],
      [{ agent: 'a', expiresInSeconds: 1.5 }, /expiresInSeconds must be a whole number/],
      [{ agent: 'a', expiresInSeconds: 200 * 365 * 86_400 }, /100 years/],
      [{ agent: 'a', expiresInSeconds: 60, expiresAt: '2030-01-01' }, /not both/],
      [{ agent: 'a', expiresAt: 'tomorrow' }, /expiresAt must be an ISO 8601 date/],
      [{ agent: 'a', expiresAt: '2027-01-31T12:00:00' }, /a time with a zone/],
      [{ agent: 'a', expiresAt: '2027-02-30' }, /expiresAt must be an ISO 8601/],
      [{ agent: 'a', expiresAt: '2026-11-02T10:00:00Z' }, /is not in the future/],
      [{ agent: 'a', expiresAt: '2020-01-01' }, /is not in the future/],
      [{ agent: 'a', expiresAt: '2200-01-01' }, /more than 100 years away/],
    ];
    for (const [input, pattern] of cases) {
      await assert.rejects(createKey(store, input as CreateKeyInput, T0), inputError('invalid', pattern), JSON.stringify(input));
    }
    assert.deepEqual(await listKeys(store, { includeRevoked: true }, T0), []);
  });
});

describe('key service: list, revoke, rotate', () => {
  it('lists views newest first with their state; revoked ones only on request', async () => {
    const store = createMemoryStore();
    const a = await createKey(store, { agent: 'a', expiresInSeconds: 60 }, T0);
    const b = await createKey(store, { agent: 'b', kind: 'admin' }, T0 + 1000);
    const c = await createKey(store, { agent: 'c' }, T0 + 2000);
    await revokeKey(store, c.record.id, T0 + 3000);
    const now = T0 + HOUR;
    const views = await listKeys(store, {}, now);
    assert.deepEqual(views.map((v) => [v.agent, v.state]), [['b', 'active'], ['a', 'expired']]);
    assert.ok(views.every((v) => !('hash' in v)));
    assert.deepEqual((await listKeys(store, { includeRevoked: true }, now)).map((v) => [v.agent, v.state]), [['c', 'revoked'], ['b', 'active'], ['a', 'expired']]);
    assert.deepEqual((await listKeys(store, { kind: 'admin' }, now)).map((v) => v.id), [b.record.id]);
    await assert.rejects(listKeys(store, { kind: 'root' as never }, now), inputError('invalid', /kind/));
    assert.equal((await getKey(store, `ghk_${a.record.id}`, now)).state, 'expired');
  });

  it('accepts key ids with or without the prefix and refuses anything else', async () => {
    assert.equal(normalizeKeyId('ghk_AbCdEfGhIjKl'), 'AbCdEfGhIjKl');
    assert.equal(normalizeKeyId('AbCdEfGhIjKl'), 'AbCdEfGhIjKl');
    assert.throws(() => normalizeKeyId('AbCdEfGhIjK'), inputError('invalid', /is not an API key id/));
    assert.throws(() => normalizeKeyId('ghk_AbCdEfGhIjKl_secretsecret'), (err: unknown) => {
      inputError('invalid', /not the whole key/)(err);
      assert.ok(!(err as Error).message.includes('secretsecret'));
      return true;
    });
    const store = createMemoryStore();
    await assert.rejects(revokeKey(store, 'ghk_AbCdEfGhIjKl', T0), inputError('not_found', /no API key ghk_AbCdEfGhIjKl/));
  });

  it('revokes once', async () => {
    const store = createMemoryStore();
    const { record } = await createKey(store, { agent: 'a' }, T0);
    const view = await revokeKey(store, `ghk_${record.id}`, T0 + 5000);
    assert.equal(view.state, 'revoked');
    assert.equal(view.revokedAt, '2026-11-02T10:00:05.000Z');
    await assert.rejects(revokeKey(store, record.id, T0 + 6000), inputError('conflict', /already revoked \(2026-11-02T10:00:05.000Z\)/));
  });

  it('rotates: same attributes and lifetime, rotatedFrom set, old key lives for the grace period', async () => {
    const store = createMemoryStore();
    const old = await createKey(store, { agent: 'ci', name: 'ci prod', user: 'u', tenant: 't', roles: ['r'], scopes: ['s'], kind: 'admin', expiresInSeconds: 30 * 86_400 }, T0);
    const now = T0 + 10 * 86_400_000;
    const r = await rotateKey(store, old.record.id, { graceSeconds: 3600 }, now);
    assert.notEqual(r.record.id, old.record.id);
    assert.equal(parseApiKey(r.key)?.id, r.record.id);
    const { id: _a, createdAt: _b, expiresAt: _c, rotatedFrom, ...same } = r.record;
    const { id: _d, createdAt: _e, expiresAt: _f, rotatedFrom: _g, ...before } = old.record;
    assert.deepEqual(same, before);
    assert.equal(rotatedFrom, old.record.id);
    assert.equal(r.record.createdAt, new Date(now).toISOString());
    assert.equal(r.record.expiresAt, new Date(now + 30 * 86_400_000).toISOString());
    assert.equal(r.previous.expiresAt, new Date(now + HOUR).toISOString());
    assert.equal(r.previous.state, 'active');
    assert.equal((await getKey(store, old.record.id, now + HOUR)).state, 'expired');
    await assert.rejects(rotateKey(store, old.record.id, { graceSeconds: 60 }, now), inputError('conflict', /already rotated to ghk_/));
  });

  it('rotates with grace 0 by revoking, and never lengthens the old key', async () => {
    const store = createMemoryStore();
    const a = await createKey(store, { agent: 'a' }, T0);
    const ra = await rotateKey(store, a.record.id, { graceSeconds: 0 }, T0 + 1000);
    assert.equal(ra.previous.state, 'revoked');
    assert.equal(ra.record.expiresAt, undefined);

    const b = await createKey(store, { agent: 'b', expiresInSeconds: 600 }, T0);
    const rb = await rotateKey(store, b.record.id, { graceSeconds: 86_400 }, T0 + 1000);
    assert.equal(rb.previous.expiresAt, '2026-11-02T10:10:00.000Z');
  });

  it('refuses to rotate revoked, expired or unknown keys, and bad grace', async () => {
    const store = createMemoryStore();
    const a = await createKey(store, { agent: 'a', expiresInSeconds: 60 }, T0);
    await assert.rejects(rotateKey(store, a.record.id, { graceSeconds: 0 }, T0 + HOUR), inputError('conflict', /is expired: only an active key can be rotated/));
    const b = await createKey(store, { agent: 'b' }, T0);
    await revokeKey(store, b.record.id, T0);
    await assert.rejects(rotateKey(store, b.record.id, { graceSeconds: 0 }, T0), inputError('conflict', /is revoked/));
    await assert.rejects(rotateKey(store, 'ZZZZZZZZZZZZ', { graceSeconds: 0 }, T0), inputError('not_found', /no API key/));
    for (const graceSeconds of [-1, 1.5, Number.NaN, 91 * 86_400]) {
      await assert.rejects(rotateKey(store, a.record.id, { graceSeconds }, T0), inputError('invalid', /grace must be a whole number of seconds/));
    }
    assert.equal((await listKeys(store, { includeRevoked: true }, T0)).length, 2);
  });
});
