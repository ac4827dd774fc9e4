// Invalidation from upstream changes, as the registry reports them after each catalog rebuild: a new
// identity or a vanished upstream drops everything of it; a tool whose definition changed loses its
// entries; a refetch that changed nothing drops nothing.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Item } from '../../../src/catalog/catalog.ts';
import { UpstreamWatch, type WatchedUpstream } from '../../../src/traffic/cache/upstream-watch.ts';

type Drop = [string, string | undefined, string[] | undefined];

function watch() {
  const drops: Drop[] = [];
  const w = new UpstreamWatch((u, m, names) => drops.push([u, m, names === undefined ? undefined : [...names].sort()]));
  return { w, drops };
}

const tools = (...defs: Item[]) => defs;
const h = (name: string, identity: string, t: readonly Item[], resources: readonly Item[] = []): WatchedUpstream => ({ name, identity, lists: { tools: t, resources, resourceTemplates: [] } });

describe('UpstreamWatch', () => {
  it('first sight of an upstream drops nothing', () => {
    const { w, drops } = watch();
    w.sync([h('db', 'i1', tools({ name: 'lookup' }))]);
    assert.deepEqual(drops, []);
  });

  it('a tool whose definition changed, or that went away, loses its entries; an added tool is named too', () => {
    const { w, drops } = watch();
    w.sync([h('db', 'i1', tools({ name: 'lookup', description: 'a' }, { name: 'peek' }, { name: 'gone' }))]);
    w.sync([h('db', 'i1', tools({ name: 'lookup', description: 'b' }, { name: 'peek' }, { name: 'new' }))]);
    assert.deepEqual(drops, [['db', 'tools/call', ['gone', 'lookup', 'new']]]);
  });

  it('the same list fetched again (a spurious list_changed, a reconnect) drops nothing', () => {
    const { w, drops } = watch();
    w.sync([h('db', 'i1', tools({ name: 'lookup', description: 'a' }))]);
    w.sync([h('db', 'i1', tools({ name: 'lookup', description: 'a' }))]);
    assert.deepEqual(drops, []);
  });

  it('a new identity (other connection or credentials) drops everything of the upstream', () => {
    const { w, drops } = watch();
    const t = tools({ name: 'lookup' });
    w.sync([h('db', 'i1', t)]);
    w.sync([h('db', 'i2', t)]);
    assert.deepEqual(drops, [['db', undefined, undefined]]);
  });

  it('an upstream that is gone drops everything of it', () => {
    const { w, drops } = watch();
    w.sync([h('db', 'i1', []), h('web', 'i9', [])]);
    w.sync([h('web', 'i9', [])]);
    assert.deepEqual(drops, [['db', undefined, undefined]]);
  });

  it('a changed resource list drops the upstream\'s resource reads', () => {
    const { w, drops } = watch();
    w.sync([h('db', 'i1', [], [{ uri: 'db://a' }])]);
    w.sync([h('db', 'i1', [], [{ uri: 'db://a' }])]);
    w.sync([h('db', 'i1', [], [{ uri: 'db://a' }, { uri: 'db://b' }])]);
    assert.deepEqual(drops, [['db', 'resources/read', undefined]]);
  });

  it('attach syncs now and on every catalog change', () => {
    const { w, drops } = watch();
    let listener: (() => void) | undefined;
    let current = [h('db', 'i1', [])];
    w.attach({ onCatalogChange: (fn) => (listener = fn), handles: () => current });
    current = [h('db', 'i2', [])];
    listener!();
    assert.deepEqual(drops, [['db', undefined, undefined]]);
  });
});
