// The behaviour every Store implementation must show. Each implementation's test file calls
// runStoreSuite with a factory that opens a fresh, empty store.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { StoreError } from '../../src/store/store.ts';
import type { Store, StoredCatalog } from '../../src/store/store.ts';

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
}
