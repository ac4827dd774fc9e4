// The behaviour every Store implementation must show. Each implementation's test file calls
// runStoreSuite with a factory that opens a fresh, empty store.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { StoreError } from '../../src/store/store.ts';
import type { ApiKeyRecord, SigningKeyRecord, Store, StoredCatalog } from '../../src/store/store.ts';
import { runAuditStoreSuite } from './audit-suite.ts';

export type OpenFreshStore = () => Promise<Store>;

export function sampleCatalog(tag: string): StoredCatalog {
  return {
    identity: `id-${tag}`,
    fetchedAt: '2026-11-02T10:00:00.000Z',
    tools: [
      {
        name: `echo_${tag}`,
        description: 'Echoes — with ünïcödé and "quotes"\n',
        inputSchema: { type: 'object', properties: { message: { type: 'string' } }, required: ['message'] },
        outputSchema: { type: 'object', properties: { sum: { type: 'number' } } },
        annotations: { readOnlyHint: true, title: 'Echo' },
        icons: [{ src: 'data:image/png;base64,AAAA', mimeType: 'image/png', sizes: ['16x16'] }],
        _meta: { 'example.com/flag': true, nested: { deep: [1, 2, null] } },
      },
    ],
    prompts: [{ name: `greet_${tag}`, arguments: [{ name: 'who', required: true }] }],
    resources: [{ uri: `test://${tag}/static`, name: 'static', mimeType: 'text/plain' }],
    resourceTemplates: [{ uriTemplate: `test://${tag}/{id}`, name: 'by id' }],
  };
}

export function sampleApiKey(id: string, over: Partial<ApiKeyRecord> = {}): ApiKeyRecord {
  return {
    id,
    hash: 'ab'.repeat(32),
    kind: 'agent',
    name: `key ${id} — ünïcödé`,
    agent: 'ci-bot',
    user: 'alice@example.com',
    tenant: 'acme',
    roles: ['deployer', 'reader'],
    scopes: ['tools:call', 'resources:read'],
    createdAt: '2026-11-02T10:00:00.000Z',
    expiresAt: '2027-11-02T10:00:00.000Z',
    revokedAt: undefined,
    lastUsedAt: undefined,
    rotatedFrom: undefined,
    ...over,
  };
}

export function sampleSigningKey(kid: string, over: Partial<SigningKeyRecord> = {}): SigningKeyRecord {
  return {
    kid,
    alg: 'EdDSA',
    publicJwk: JSON.stringify({ kty: 'OKP', crv: 'Ed25519', x: `pub-${kid}` }),
    privateJwk: JSON.stringify({ kty: 'OKP', crv: 'Ed25519', x: `pub-${kid}`, d: `priv-${kid}` }),
    createdAt: '2026-11-02T10:00:00.000Z',
    retiredAt: undefined,
    ...over,
  };
}

function isStoreError(kind: StoreError['kind']): (err: unknown) => boolean {
  return (err) => {
    assert.ok(err instanceof StoreError, `expected a StoreError, got ${String(err)}`);
    assert.equal(err.kind, kind, err.message);
    return true;
  };
}

export function runStoreSuite(label: string, openFresh: OpenFreshStore): void {
  const withStore = (fn: (s: Store) => Promise<void>) => async () => {
    const store = await openFresh();
    try {
      await fn(store);
    } finally {
      await store.close();
    }
  };

  describe(`Store contract: ${label}`, () => {
    it('returns undefined for keys it has never seen', withStore(async (s) => {
      assert.equal(await s.getUpstreamEra('nope'), undefined);
      assert.equal(await s.getUpstreamCatalog('nope'), undefined);
    }));

    it('round-trips and overwrites upstream eras', withStore(async (s) => {
      await s.setUpstreamEra('a', 'modern');
      await s.setUpstreamEra('b', 'legacy');
      assert.equal(await s.getUpstreamEra('a'), 'modern');
      assert.equal(await s.getUpstreamEra('b'), 'legacy');
      await s.setUpstreamEra('a', 'legacy');
      assert.equal(await s.getUpstreamEra('a'), 'legacy');
      assert.equal(await s.getUpstreamEra('b'), 'legacy');
    }));

    it('refuses an era that is not modern or legacy, and empty keys', withStore(async (s) => {
      await assert.rejects(s.setUpstreamEra('a', 'auto' as never), isStoreError('invalid_input'));
      await assert.rejects(s.setUpstreamEra('', 'modern'), isStoreError('invalid_input'));
      await assert.rejects(s.getUpstreamEra(undefined as never), isStoreError('invalid_input'));
      assert.equal(await s.getUpstreamEra('a'), undefined);
    }));

    it('round-trips a catalog exactly, including _meta, icons, annotations and schemas', withStore(async (s) => {
      const c = sampleCatalog('x');
      await s.putUpstreamCatalog('up1', c);
      assert.deepEqual(await s.getUpstreamCatalog('up1'), c);
      assert.equal(await s.getUpstreamCatalog('up2'), undefined);
    }));

    it('keeps empty lists as empty lists', withStore(async (s) => {
      const c: StoredCatalog = { identity: 'i', fetchedAt: 't', tools: [], prompts: [], resources: [], resourceTemplates: [] };
      await s.putUpstreamCatalog('empty', c);
      assert.deepEqual(await s.getUpstreamCatalog('empty'), c);
    }));

    it('replaces a catalog as a whole on put', withStore(async (s) => {
      await s.putUpstreamCatalog('up', sampleCatalog('old'));
      const next = { ...sampleCatalog('new'), prompts: [] };
      await s.putUpstreamCatalog('up', next);
      assert.deepEqual(await s.getUpstreamCatalog('up'), next);
    }));

    it('is not affected by callers mutating what they put or got', withStore(async (s) => {
      const c = sampleCatalog('m');
      await s.putUpstreamCatalog('up', c);
      (c.tools[0] as { name: string }).name = 'changed-after-put';
      c.prompts.push({ name: 'sneaky' });
      const got = await s.getUpstreamCatalog('up');
      assert.ok(got);
      (got.tools[0] as { name: string }).name = 'changed-after-get';
      assert.deepEqual(await s.getUpstreamCatalog('up'), sampleCatalog('m'));
    }));

    it('refuses malformed catalogs with a precise error and keeps the previous one', withStore(async (s) => {
      await s.putUpstreamCatalog('up', sampleCatalog('ok'));
      const bad: Array<[string, unknown]> = [
        ['tools', { ...sampleCatalog('b'), tools: 'nope' }],
        ['resourceTemplates', { ...sampleCatalog('b'), resourceTemplates: undefined }],
        ['identity', { ...sampleCatalog('b'), identity: '' }],
        ['fetchedAt', { ...sampleCatalog('b'), fetchedAt: 42 }],
        ['JSON-serialisable', { ...sampleCatalog('b'), tools: [{ big: 1n }] }],
        ['object', null],
      ];
      for (const [mentions, catalog] of bad) {
        await assert.rejects(s.putUpstreamCatalog('up', catalog as StoredCatalog), (err: unknown) => {
          isStoreError('invalid_input')(err);
          assert.match((err as Error).message, new RegExp(mentions));
          assert.match((err as Error).message, /'up'/);
          return true;
        });
      }
      await assert.rejects(s.putUpstreamCatalog('', sampleCatalog('b')), isStoreError('invalid_input'));
      assert.deepEqual(await s.getUpstreamCatalog('up'), sampleCatalog('ok'));
    }));

    it('keeps every catalog whole under many concurrent writes', withStore(async (s) => {
      const writes: Promise<void>[] = [];
      for (let round = 0; round < 20; round++) {
        for (let u = 0; u < 10; u++) {
          writes.push(s.putUpstreamCatalog(`u${u}`, sampleCatalog(`${u}-${round}`)));
          writes.push(s.setUpstreamEra(`u${u}`, round % 2 === 0 ? 'modern' : 'legacy'));
        }
      }
      await Promise.all(writes);
      for (let u = 0; u < 10; u++) {
        const got = await s.getUpstreamCatalog(`u${u}`);
        assert.ok(got);
        // Whichever write won, all four lists come from that same write.
        const tag = got.identity.slice('id-'.length);
        assert.deepEqual(got, sampleCatalog(tag));
        assert.match(tag, new RegExp(`^${u}-\\d+$`));
        assert.ok(['modern', 'legacy'].includes((await s.getUpstreamEra(`u${u}`)) ?? 'missing'));
      }
    }));

    it('closes idempotently and rejects every call afterwards', async () => {
      const s = await openFresh();
      await s.setUpstreamEra('a', 'modern');
      await s.close();
      await s.close();
      await assert.rejects(s.getUpstreamEra('a'), isStoreError('closed'));
      await assert.rejects(s.setUpstreamEra('a', 'modern'), isStoreError('closed'));
      await assert.rejects(s.getUpstreamCatalog('a'), isStoreError('closed'));
      await assert.rejects(s.putUpstreamCatalog('a', sampleCatalog('z')), isStoreError('closed'));
      const t = '2026-11-02T10:00:00.000Z';
      const calls: Array<[string, () => Promise<unknown>]> = [
        ['putApiKey', () => s.putApiKey(sampleApiKey('k1'))],
        ['getApiKey', () => s.getApiKey('k1')],
        ['listApiKeys', () => s.listApiKeys()],
        ['revokeApiKey', () => s.revokeApiKey('k1', t)],
        ['expireApiKey', () => s.expireApiKey('k1', t)],
        ['touchApiKey', () => s.touchApiKey('k1', t)],
        ['putSigningKey', () => s.putSigningKey(sampleSigningKey('s1'))],
        ['listSigningKeys', () => s.listSigningKeys()],
        ['retireSigningKey', () => s.retireSigningKey('s1', t)],
        ['pruneSigningKeys', () => s.pruneSigningKeys(t)],
      ];
      for (const [name, call] of calls) await assert.rejects(call(), isStoreError('closed'), name);
    });

    it('round-trips an API key exactly, with absent fields as undefined', withStore(async (s) => {
      const full = sampleApiKey('AbCdEfGhIjKl', { lastUsedAt: '2026-11-03T00:00:00.000Z', rotatedFrom: 'older', revokedAt: '2026-11-04T00:00:00.000Z' });
      await s.putApiKey(full);
      assert.deepEqual(await s.getApiKey('AbCdEfGhIjKl'), full);
      const bare: ApiKeyRecord = { ...sampleApiKey('bare'), name: undefined, user: undefined, tenant: undefined, roles: [], scopes: [], expiresAt: undefined };
      await s.putApiKey(bare);
      const got = await s.getApiKey('bare');
      assert.deepEqual(got, bare);
      assert.ok(got && 'name' in got && got.name === undefined);
      assert.equal(await s.getApiKey('missing'), undefined);
      // Ids are case-sensitive: base62 keys differ by case.
      assert.equal(await s.getApiKey('abcdefghijkl'), undefined);
    }));

    it('refuses an API key id that exists, keeping the first', withStore(async (s) => {
      await s.putApiKey(sampleApiKey('dup'));
      await assert.rejects(s.putApiKey(sampleApiKey('dup', { agent: 'other', hash: 'cd'.repeat(32) })), (err: unknown) => {
        isStoreError('invalid_input')(err);
        assert.match((err as Error).message, /'dup' already exists/);
        return true;
      });
      assert.deepEqual(await s.getApiKey('dup'), sampleApiKey('dup'));
    }));

    it('is not affected by callers mutating API keys they put or got', withStore(async (s) => {
      const k = sampleApiKey('m');
      await s.putApiKey(k);
      k.roles.push('sneaky');
      k.agent = 'changed';
      const got = await s.getApiKey('m');
      assert.ok(got);
      got.scopes.push('sneaky');
      assert.deepEqual(await s.getApiKey('m'), sampleApiKey('m'));
    }));

    it('lists API keys newest first, filtered by revocation and kind', withStore(async (s) => {
      await s.putApiKey(sampleApiKey('old', { createdAt: '2026-01-01T00:00:00.000Z' }));
      await s.putApiKey(sampleApiKey('new', { createdAt: '2026-03-01T00:00:00.000Z', kind: 'admin' }));
      await s.putApiKey(sampleApiKey('mid', { createdAt: '2026-02-01T00:00:00.000Z' }));
      // Same millisecond: the later insert counts as newer.
      await s.putApiKey(sampleApiKey('mid2', { createdAt: '2026-02-01T00:00:00.000Z' }));
      await s.putApiKey(sampleApiKey('gone', { createdAt: '2026-04-01T00:00:00.000Z', revokedAt: '2026-04-02T00:00:00.000Z' }));
      const ids = async (f?: Parameters<Store['listApiKeys']>[0]) => (await s.listApiKeys(f)).map((k) => k.id);
      assert.deepEqual(await ids(), ['new', 'mid2', 'mid', 'old']);
      assert.deepEqual(await ids({}), ['new', 'mid2', 'mid', 'old']);
      assert.deepEqual(await ids({ includeRevoked: true }), ['gone', 'new', 'mid2', 'mid', 'old']);
      assert.deepEqual(await ids({ kind: 'admin' }), ['new']);
      assert.deepEqual(await ids({ kind: 'agent', includeRevoked: true }), ['gone', 'mid2', 'mid', 'old']);
      assert.deepEqual((await s.listApiKeys({ kind: 'admin' }))[0], sampleApiKey('new', { createdAt: '2026-03-01T00:00:00.000Z', kind: 'admin' }));
    }));

    it('revokes an API key once', withStore(async (s) => {
      await s.putApiKey(sampleApiKey('r'));
      assert.equal(await s.revokeApiKey('r', '2026-12-01T00:00:00.000Z'), true);
      assert.equal(await s.revokeApiKey('r', '2026-12-02T00:00:00.000Z'), false);
      assert.equal((await s.getApiKey('r'))?.revokedAt, '2026-12-01T00:00:00.000Z');
      assert.equal(await s.revokeApiKey('unknown', '2026-12-01T00:00:00.000Z'), false);
      assert.deepEqual(await s.listApiKeys(), []);
    }));

    it('sets the expiry of a live API key, not of a revoked or unknown one', withStore(async (s) => {
      await s.putApiKey(sampleApiKey('e', { expiresAt: undefined }));
      assert.equal(await s.expireApiKey('e', '2026-12-01T01:00:00.000Z'), true);
      assert.equal((await s.getApiKey('e'))?.expiresAt, '2026-12-01T01:00:00.000Z');
      assert.equal(await s.expireApiKey('e', '2026-12-01T00:30:00.000Z'), true);
      assert.equal((await s.getApiKey('e'))?.expiresAt, '2026-12-01T00:30:00.000Z');
      await s.revokeApiKey('e', '2026-12-01T00:00:00.000Z');
      assert.equal(await s.expireApiKey('e', '2026-12-02T00:00:00.000Z'), false);
      assert.equal((await s.getApiKey('e'))?.expiresAt, '2026-12-01T00:30:00.000Z');
      assert.equal(await s.expireApiKey('unknown', '2026-12-01T00:00:00.000Z'), false);
    }));

    it('records the last use of an API key, never moving it back', withStore(async (s) => {
      await s.putApiKey(sampleApiKey('t'));
      await s.touchApiKey('t', '2026-12-01T00:00:05.000Z');
      assert.equal((await s.getApiKey('t'))?.lastUsedAt, '2026-12-01T00:00:05.000Z');
      await s.touchApiKey('t', '2026-12-01T00:00:01.000Z');
      assert.equal((await s.getApiKey('t'))?.lastUsedAt, '2026-12-01T00:00:05.000Z');
      await s.touchApiKey('t', '2026-12-01T00:01:00.000Z');
      assert.equal((await s.getApiKey('t'))?.lastUsedAt, '2026-12-01T00:01:00.000Z');
      await s.touchApiKey('unknown', '2026-12-01T00:00:00.000Z');
      assert.equal(await s.getApiKey('unknown'), undefined);
    }));

    it('refuses malformed API keys and arguments with a precise error, storing nothing', withStore(async (s) => {
      const bad: Array<[RegExp, unknown]> = [
        [/API key must be an object/, null],
        [/API key id/, sampleApiKey('')],
        [/hash of API key 'x' must be 64 lowercase hex/, sampleApiKey('x', { hash: 'secret-by-mistake' })],
        [/hash/, sampleApiKey('x', { hash: 'AB'.repeat(32) })],
        [/kind must be 'agent' or 'admin'/, sampleApiKey('x', { kind: 'root' as never })],
        [/agent of API key 'x'/, sampleApiKey('x', { agent: '' })],
        [/user of API key 'x' contains a control character/, sampleApiKey('x', { user: 'a\nb' })],
        [/tenant of API key 'x'/, sampleApiKey('x', { tenant: 42 as never })],
        [/roles of API key 'x' must be an array/, sampleApiKey('x', { roles: 'admin' as never })],
        [/scopes of API key 'x'\[1\]/, sampleApiKey('x', { scopes: ['ok', ''] })],
        [/name of API key 'x' is longer than/, sampleApiKey('x', { name: 'n'.repeat(2000) })],
        [/createdAt of API key 'x' must be an ISO 8601 UTC time/, sampleApiKey('x', { createdAt: '2026-11-02' })],
        [/expiresAt of API key 'x'/, sampleApiKey('x', { expiresAt: '2026-11-02T10:00:00+01:00' })],
        [/revokedAt of API key 'x'/, sampleApiKey('x', { revokedAt: '2026-02-30T10:00:00.000Z' })],
      ];
      for (const [pattern, key] of bad) {
        await assert.rejects(s.putApiKey(key as ApiKeyRecord), (err: unknown) => {
          isStoreError('invalid_input')(err);
          assert.match((err as Error).message, pattern);
          assert.doesNotMatch((err as Error).message, /secret-by-mistake/);
          return true;
        });
      }
      assert.deepEqual(await s.listApiKeys({ includeRevoked: true }), []);
      await assert.rejects(s.getApiKey(''), isStoreError('invalid_input'));
      await assert.rejects(s.listApiKeys({ kind: 'root' as never }), isStoreError('invalid_input'));
      await assert.rejects(s.listApiKeys({ includeRevoked: 'yes' as never }), isStoreError('invalid_input'));
      await assert.rejects(s.revokeApiKey('x', 'yesterday'), isStoreError('invalid_input'));
      await assert.rejects(s.expireApiKey('x', ''), isStoreError('invalid_input'));
      await assert.rejects(s.touchApiKey('', '2026-12-01T00:00:00.000Z'), isStoreError('invalid_input'));
    }));

    it('keeps signing keys: put, list oldest first, retire once, prune retired ones', withStore(async (s) => {
      await s.putSigningKey(sampleSigningKey('b', { createdAt: '2026-02-01T00:00:00.000Z', alg: 'ES256' }));
      await s.putSigningKey(sampleSigningKey('a', { createdAt: '2026-01-01T00:00:00.000Z' }));
      await s.putSigningKey(sampleSigningKey('c', { createdAt: '2026-03-01T00:00:00.000Z' }));
      assert.deepEqual(await s.listSigningKeys(), [
        sampleSigningKey('a', { createdAt: '2026-01-01T00:00:00.000Z' }),
        sampleSigningKey('b', { createdAt: '2026-02-01T00:00:00.000Z', alg: 'ES256' }),
        sampleSigningKey('c', { createdAt: '2026-03-01T00:00:00.000Z' }),
      ]);
      await assert.rejects(s.putSigningKey(sampleSigningKey('a')), (err: unknown) => isStoreError('invalid_input')(err) && /'a' already exists/.test((err as Error).message));

      assert.equal(await s.retireSigningKey('a', '2026-04-01T00:00:00.000Z'), true);
      assert.equal(await s.retireSigningKey('a', '2026-04-02T00:00:00.000Z'), false);
      assert.equal(await s.retireSigningKey('unknown', '2026-04-02T00:00:00.000Z'), false);
      assert.equal(await s.retireSigningKey('b', '2026-05-01T00:00:00.000Z'), true);
      assert.equal((await s.listSigningKeys())[0]?.retiredAt, '2026-04-01T00:00:00.000Z');

      // Strictly before: a key retired exactly at the cut-off stays.
      assert.equal(await s.pruneSigningKeys('2026-04-01T00:00:00.000Z'), 0);
      assert.equal(await s.pruneSigningKeys('2026-04-15T00:00:00.000Z'), 1);
      assert.deepEqual((await s.listSigningKeys()).map((k) => k.kid), ['b', 'c']);
      assert.equal(await s.pruneSigningKeys('2030-01-01T00:00:00.000Z'), 1);
      assert.deepEqual((await s.listSigningKeys()).map((k) => k.kid), ['c']);
      const listed = await s.listSigningKeys();
      listed[0]!.privateJwk = 'mutated';
      assert.deepEqual(await s.listSigningKeys(), [sampleSigningKey('c', { createdAt: '2026-03-01T00:00:00.000Z' })]);
    }));

    it('refuses malformed signing keys without quoting key material', withStore(async (s) => {
      const bad: Array<[RegExp, unknown]> = [
        [/signing key must be an object/, undefined],
        [/kid/, sampleSigningKey('')],
        [/alg of signing key 'x' must be 'EdDSA' or 'ES256'/, sampleSigningKey('x', { alg: 'HS256' as never })],
        [/publicJwk of signing key 'x'/, sampleSigningKey('x', { publicJwk: '[1]' })],
        [/privateJwk of signing key 'x' must be the JSON text of a JWK/, sampleSigningKey('x', { privateJwk: '{"d":"TOPSECRET"' })],
        [/createdAt of signing key 'x'/, sampleSigningKey('x', { createdAt: 'now' })],
        [/retiredAt of signing key 'x'/, sampleSigningKey('x', { retiredAt: '' })],
      ];
      for (const [pattern, key] of bad) {
        await assert.rejects(s.putSigningKey(key as SigningKeyRecord), (err: unknown) => {
          isStoreError('invalid_input')(err);
          assert.match((err as Error).message, pattern);
          assert.doesNotMatch((err as Error).message, /TOPSECRET/);
          return true;
        });
      }
      assert.deepEqual(await s.listSigningKeys(), []);
      await assert.rejects(s.retireSigningKey('', '2026-04-01T00:00:00.000Z'), isStoreError('invalid_input'));
      await assert.rejects(s.pruneSigningKeys('soon'), isStoreError('invalid_input'));
    }));

    it('answers ping while open, repeatedly and concurrently, and rejects it with closed after close', async () => {
      const s = await openFresh();
      await s.ping();
      await Promise.all([s.ping(), s.ping(), s.ping()]);
      await s.setUpstreamEra('a', 'modern');
      await s.ping();
      assert.equal(await s.getUpstreamEra('a'), 'modern', 'a ping changes nothing');
      await s.close();
      await assert.rejects(s.ping(), isStoreError('closed'));
    });

    it('supports await using', async () => {
      let kept: Store;
      {
        await using s = await openFresh();
        kept = s;
        await s.setUpstreamEra('a', 'modern');
      }
      await assert.rejects(kept.getUpstreamEra('a'), isStoreError('closed'));
    });
  });

  runAuditStoreSuite(label, openFresh);
}
