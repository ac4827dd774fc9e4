import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildCatalog, routeResource, type UpstreamListing } from '../../src/catalog/catalog.ts';
import { basePublicName } from '../../src/catalog/naming.ts';
import { encodeCursor, page } from '../../src/catalog/paginate.ts';

const rules = { separator: '__', maxLength: 64 };

function listing(upstream: string, tools: string[], extra: Partial<UpstreamListing> = {}): UpstreamListing {
  return { upstream, prefix: upstream, healthy: true, tools: tools.map((name) => ({ name, inputSchema: { type: 'object' } })), prompts: [], resources: [], resourceTemplates: [], ...extra };
}

describe('public names', () => {
  it('prefixes, and keeps names within the length and character set', () => {
    assert.equal(basePublicName('files', 'read', rules), 'files__read');
    const long = basePublicName('a-rather-long-upstream-prefix', 'x'.repeat(80), rules);
    assert.ok(long.length <= 64);
    assert.match(long, /^[A-Za-z0-9_.-]+$/);
    assert.equal(long, basePublicName('a-rather-long-upstream-prefix', 'x'.repeat(80), rules), 'stable');
    assert.notEqual(long, basePublicName('a-rather-long-upstream-prefix', `${'x'.repeat(79)}y`, rules), 'distinct originals stay distinct');
  });

  it('replaces characters outside the spec set, with a suffix so "a b" and "a_b" cannot collide', () => {
    const spaced = basePublicName(undefined, 'a b', rules);
    assert.match(spaced, /^a_b-[a-z2-7]{6}$/);
    assert.notEqual(spaced, basePublicName(undefined, 'a_b', rules));
  });
});

describe('catalog', () => {
  it('resolves collisions by config order, deterministically, and reports them', () => {
    const a = { ...listing('a', ['echo', 'only-a']), prefix: undefined };
    const b = { ...listing('b', ['echo']), prefix: undefined };
    const c1 = buildCatalog([a, b], rules);
    const c2 = buildCatalog([a, b], rules);
    assert.equal(c1.toolIndex.get('echo')?.upstream, 'a');
    const renamed = [...c1.toolIndex.values()].find((e) => e.upstream === 'b')!;
    assert.match(renamed.publicName, /^echo-[a-z2-7]{6}$/);
    assert.equal([...c2.toolIndex.values()].find((e) => e.upstream === 'b')!.publicName, renamed.publicName);
    assert.deepEqual(c1.collisions.map((c) => [c.kind, c.name, c.kept, c.renamed]), [['tool', 'echo', 'a', 'b']]);
  });

  it('appending an upstream renames nothing that existed', () => {
    const before = buildCatalog([listing('a', ['x', 'y']), listing('b', ['x'])], rules);
    const after = buildCatalog([listing('a', ['x', 'y']), listing('b', ['x']), { ...listing('c', ['x', 'a__x']), prefix: undefined }], rules);
    for (const [name, e] of before.toolIndex) assert.equal(after.toolIndex.get(name)?.upstream, e.upstream);
  });

  it('an unhealthy upstream is left out but keeps its names reserved', () => {
    const down = { ...listing('a', ['echo']), prefix: undefined, healthy: false };
    const up = { ...listing('b', ['echo']), prefix: undefined };
    const c = buildCatalog([down, up], rules);
    assert.equal(c.toolIndex.get('echo'), undefined, 'b does not take a\'s name while a is down');
    assert.equal(c.unavailable.get('echo')?.upstream, 'a');
    assert.equal(c.tools.length, 1);
  });

  it('passes definitions through unchanged but for the name', () => {
    const def = { name: 't', inputSchema: { type: 'object' }, outputSchema: { type: 'object' }, annotations: { readOnlyHint: true }, icons: [{ src: 'data:,' }], _meta: { k: 1 } };
    const c = buildCatalog([{ ...listing('s', []), tools: [def] }], rules);
    assert.deepEqual(c.tools[0], { ...def, name: 's__t' });
  });

  it('routes resources by exact URI, then by template', () => {
    const c = buildCatalog(
      [
        { ...listing('a', []), resources: [{ uri: 'file:///x', name: 'x' }] },
        { ...listing('b', []), resourceTemplates: [{ uriTemplate: 'test://items/{id}', name: 'item' }] },
      ],
      rules,
    );
    assert.equal(routeResource(c, 'file:///x'), 'a');
    assert.equal(routeResource(c, 'test://items/42'), 'b');
    assert.equal(routeResource(c, 'test://other/42'), undefined);
  });
});

describe('pagination', () => {
  const items = Array.from({ length: 25 }, (_, i) => i);
  it('walks the whole list with opaque cursors', () => {
    const seen: number[] = [];
    let cursor: string | undefined;
    do {
      const p = page(items, 'tools', cursor, 10);
      assert.ok(!('name' in p));
      seen.push(...p.items);
      cursor = p.nextCursor;
    } while (cursor !== undefined);
    assert.deepEqual(seen, items);
  });
  it('refuses a cursor from another list, or garbage', () => {
    const r = page(items, 'tools', encodeCursor('prompts', 10), 10);
    assert.ok('name' in r && r.name === 'invalid_cursor');
    const g = page(items, 'tools', '%%%', 10);
    assert.ok('name' in g && g.name === 'invalid_cursor');
  });
});
