import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { crc32 } from 'node:zlib';
import { checkApiKeyText, parseApiKey } from '../../src/identity/api-key-format.ts';
import { createKey, revokeKey } from '../../src/identity/key-service.ts';
import type { CreateKeyInput } from '../../src/identity/key-service.ts';
import type { AuthEnv, AuthResult, Credentials } from '../../src/identity/method.ts';
import { ADMIN_ROLE, createApiKeyMethod } from '../../src/identity/methods/api-key.ts';
import { createMemoryStore } from '../../src/store/memory.ts';
import type { Store } from '../../src/store/store.ts';

const T0 = Date.parse('2026-11-02T10:00:00.000Z');

function creds(c: Partial<Credentials>): Credentials {
  return { bearer: undefined, apiKey: undefined, peerCertificate: undefined, peerAuthorized: false, peerError: undefined, userAssertion: undefined, clientAddress: '127.0.0.1', ...c };
}

interface Harness {
  store: Store;
  env: AuthEnv & { clock: number };
  touches: Array<[string, string]>;
}

/** The store with its touchApiKey replaced (a Proxy: the stores keep state in private fields). */
function withTouch(store: Store, touchApiKey: Store['touchApiKey']): Store {
  return new Proxy(store, {
    get(target, prop) {
      if (prop === 'touchApiKey') return touchApiKey;
      const v: unknown = Reflect.get(target, prop);
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
}

function harness(store: Store = createMemoryStore()): Harness {
  const touches: Array<[string, string]> = [];
  const counting = withTouch(store, (id, at) => {
    touches.push([id, at]);
    return store.touchApiKey(id, at);
  });
  const env = {
    clock: T0,
    store: counting,
    tokens: { verify: async () => ({ kind: 'skip' as const }) },
    audiences: () => [],
    now(): number {
      return env.clock;
    },
  };
  return { store, env, touches };
}

async function newKey(store: Store, input: Partial<CreateKeyInput> = {}): Promise<{ key: string; id: string }> {
  const { key, record } = await createKey(store, { agent: 'ci-bot', ...input }, T0);
  return { key, id: record.id };
}

function failure(r: AuthResult): { reason: string; message: string } {
  assert.equal(r.kind, 'fail', JSON.stringify(r));
  return (r as Extract<AuthResult, { kind: 'fail' }>).failure;
}

function principal(r: AuthResult) {
  assert.equal(r.kind, 'ok', JSON.stringify(r));
  return (r as Extract<AuthResult, { kind: 'ok' }>).principal;
}

const agentMethod = createApiKeyMethod({ name: 'keys', type: 'api_key', kind: 'agent' });
const adminMethod = createApiKeyMethod({ name: 'admin-keys', type: 'api_key', kind: 'admin' });

describe('api_key method', () => {
  it('describes itself as a bearer method of type api_key', () => {
    assert.equal(agentMethod.name, 'keys');
    assert.equal(agentMethod.type, 'api_key');
    assert.equal(agentMethod.bearer, true);
  });

  it('skips requests that present no Gatehouse key', async () => {
    const { env } = harness();
    for (const c of [creds({}), creds({ bearer: 'eyJhbGciOiJFZERTQSJ9.e30.sig' }), creds({ apiKey: 'sk-other-vendor' }), creds({ bearer: 'GHK_abc' })]) {
      const r = await agentMethod.authenticate(c, env);
      assert.equal(r.kind, 'skip');
      assert.ok((r as { why?: string }).why);
    }
  });

  it('accepts a key from Authorization: Bearer or X-API-Key and builds the principal', async () => {
    const h = harness();
    const { key, id } = await newKey(h.store, { user: 'alice', tenant: 'acme', roles: ['deployer'], scopes: ['tools:call'], expiresInSeconds: 3600, name: 'ci prod' });
    for (const c of [creds({ bearer: key }), creds({ apiKey: key }), creds({ bearer: key, apiKey: key }), creds({ bearer: 'a-jwt', apiKey: key })]) {
      const p = principal(await agentMethod.authenticate(c, h.env));
      assert.deepEqual({ ...p }, {
        id: 'keys:acme:ci-bot:alice',
        authMethod: 'api_key',
        authSource: 'keys',
        agent: 'ci-bot',
        user: 'alice',
        userSource: 'credential',
        tenant: 'acme',
        roles: ['deployer'],
        groups: [],
        scopes: ['tools:call'],
        credentialId: id,
        expiresAt: T0 + 3600_000,
      });
      assert.ok(Object.isFrozen(p));
    }
  });

  it('leaves user, tenant and expiry out when the key has none', async () => {
    const h = harness();
    const { key } = await newKey(h.store);
    const p = principal(await agentMethod.authenticate(creds({ bearer: key }), h.env));
    assert.equal(p.id, 'keys::ci-bot:');
    assert.equal('user' in p, false);
    assert.equal('userSource' in p, false);
    assert.equal('tenant' in p, false);
    assert.equal('expiresAt' in p, false);
  });

  it('gives admin keys the admin role once, and keeps each kind on its own listener', async () => {
    const h = harness();
    const admin = await newKey(h.store, { kind: 'admin', agent: 'alice', roles: ['ops'] });
    const adminWithRole = await newKey(h.store, { kind: 'admin', agent: 'bob', roles: [ADMIN_ROLE] });
    const agent = await newKey(h.store);
    assert.deepEqual(principal(await adminMethod.authenticate(creds({ bearer: admin.key }), h.env)).roles, ['ops', ADMIN_ROLE]);
    assert.deepEqual(principal(await adminMethod.authenticate(creds({ bearer: adminWithRole.key }), h.env)).roles, [ADMIN_ROLE]);
    const f1 = failure(await agentMethod.authenticate(creds({ bearer: admin.key }), h.env));
    assert.equal(f1.reason, 'invalid_token');
    assert.match(f1.message, new RegExp(`API key ghk_${admin.id} is an admin key; it works on the admin API only`));
    const f2 = failure(await adminMethod.authenticate(creds({ apiKey: agent.key }), h.env));
    assert.match(f2.message, /is an agent key; the admin API accepts admin keys only/);
  });

  it('refuses malformed keys without a store lookup, and never echoes the secret', async () => {
    const h = harness();
    const { key } = await newKey(h.store);
    const secret = parseApiKey(key)!.secret;
    // A closed store would answer `unavailable`: these never reach it.
    await h.store.close();
    const typo = `${key.slice(0, 30)}${key[30] === 'a' ? 'b' : 'a'}${key.slice(31)}`;
    for (const [text, pattern] of [
      [typo, /checksum/],
      [key.slice(0, -3), /66 characters/],
      [`${key}==`, /66 characters/],
    ] as const) {
      const f = failure(await agentMethod.authenticate(creds({ bearer: text }), h.env));
      assert.equal(f.reason, 'invalid_token');
      assert.match(f.message, /^malformed API key: /);
      assert.match(f.message, pattern);
      assert.ok(!f.message.includes(secret.slice(0, 8)));
    }
  });

  it('says the same for an unknown id and a wrong secret', async () => {
    const h = harness();
    const { key } = await newKey(h.store);
    const other = createMemoryStore();
    const stranger = await newKey(other);
    // Same id, another secret: re-checksummed so it passes the format check.
    const { id } = parseApiKey(key)!;
    const wrongSecret = `ghk_${id}_${parseApiKey(stranger.key)!.secret}`;
    const reforged = forge(wrongSecret);
    assert.equal(checkApiKeyText(reforged).ok, true);
    const unknown = failure(await agentMethod.authenticate(creds({ bearer: stranger.key }), h.env));
    const wrong = failure(await agentMethod.authenticate(creds({ bearer: reforged }), h.env));
    assert.deepEqual(unknown, { reason: 'invalid_token', message: 'unknown API key' });
    assert.deepEqual(wrong, unknown);
    await other.close();
  });

  it('refuses revoked keys at once (no cache) and expired keys, naming the key', async () => {
    const h = harness();
    const { key, id } = await newKey(h.store, { expiresInSeconds: 60 });
    principal(await agentMethod.authenticate(creds({ bearer: key }), h.env));
    h.env.clock = T0 + 60_000;
    const expired = failure(await agentMethod.authenticate(creds({ bearer: key }), h.env));
    assert.equal(expired.message, `API key ghk_${id} has expired (2026-11-02T10:01:00.000Z)`);

    const second = await newKey(h.store);
    principal(await agentMethod.authenticate(creds({ apiKey: second.key }), h.env));
    await revokeKey(h.store, second.id, h.env.clock);
    const revoked = failure(await agentMethod.authenticate(creds({ apiKey: second.key }), h.env));
    assert.deepEqual(revoked, { reason: 'invalid_token', message: `API key ghk_${second.id} has been revoked` });
  });

  it('refuses two different keys in one request', async () => {
    const h = harness();
    const a = await newKey(h.store);
    const b = await newKey(h.store);
    const f = failure(await agentMethod.authenticate(creds({ bearer: a.key, apiKey: b.key }), h.env));
    assert.match(f.message, /two different API keys/);
  });

  it('fails closed with unavailable when the store cannot be read', async () => {
    const h = harness();
    const { key } = await newKey(h.store);
    await h.store.close();
    const f = failure(await agentMethod.authenticate(creds({ bearer: key }), h.env));
    assert.equal(f.reason, 'unavailable');
    assert.match(f.message, /cannot be checked right now/);
  });

  it('records last use at most once a minute per key', async () => {
    const h = harness();
    const method = createApiKeyMethod({ name: 'keys', type: 'api_key', kind: 'agent' });
    const a = await newKey(h.store);
    const b = await newKey(h.store);
    const call = async (key: string) => principal(await method.authenticate(creds({ bearer: key }), h.env));
    await call(a.key);
    await call(a.key);
    h.env.clock = T0 + 59_999;
    await call(a.key);
    await call(b.key);
    h.env.clock = T0 + 60_000;
    await call(a.key);
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(h.touches, [
      [a.id, '2026-11-02T10:00:00.000Z'],
      [b.id, '2026-11-02T10:00:59.999Z'],
      [a.id, '2026-11-02T10:01:00.000Z'],
    ]);
    assert.equal((await h.store.getApiKey(a.id))?.lastUsedAt, '2026-11-02T10:01:00.000Z');
    // Failed attempts are not uses.
    await h.store.revokeApiKey(b.id, '2026-11-02T10:01:00.000Z');
    h.env.clock = T0 + 600_000;
    failure(await method.authenticate(creds({ bearer: b.key }), h.env));
    await new Promise((r) => setImmediate(r));
    assert.equal(h.touches.length, 3);
  });

  it('never fails a request, nor leaves a rejection unhandled, when recording use fails', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (err: unknown) => unhandled.push(err);
    process.on('unhandledRejection', onUnhandled);
    try {
      const store = createMemoryStore();
      const { key } = await newKey(store);
      for (const touchApiKey of [async () => Promise.reject(new Error('disk full')), () => { throw new Error('sync failure'); }]) {
        const failing = withTouch(store, touchApiKey);
        const method = createApiKeyMethod({ name: 'keys', type: 'api_key', kind: 'agent' });
        const env: AuthEnv = { store: failing, tokens: { verify: async () => ({ kind: 'skip' }) }, audiences: () => [], now: () => T0 };
        principal(await method.authenticate(creds({ bearer: key }), env));
      }
      await new Promise((r) => setTimeout(r, 10));
      assert.deepEqual(unhandled, []);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });
});

/** Recomputes the checksum of a body so a wrong secret passes the format check (as an attacker could). */
function forge(body: string): string {
  const alphabet = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
  let n = crc32(body);
  let check = '';
  while (n > 0) {
    check = alphabet[n % 62] + check;
    n = Math.floor(n / 62);
  }
  return body + check.padStart(6, '0');
}
