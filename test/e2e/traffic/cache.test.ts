// The response cache end to end: a gateway with API-key agents in front of the counting fixture (its
// answers say how many times the tool or resource ran, so a cached answer is one whose count did not
// move). Cached read-only tools, never across principals unless the upstream says `shared`, never a
// write, an error or a call with a progress token; TTLs; list_changed; 2026-07-28 resources by their
// own ttlMs and cacheScope.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { CacheStats } from '../../../src/traffic/cache/response-cache.ts';
import { REPO } from '../../harness/gateway.ts';
import { killLeftovers, upstreamPid, waitFor } from '../../harness/pids.ts';
import { MODERN, parseSse, type RpcMessage } from '../../harness/rpc.ts';
import { bearer, keyedGateway, legacySession, modernRaw, type KeyedGateway, type LegacySession, type RawReply } from '../policy/helpers.ts';

const COUNTING = join(REPO, 'test/fixtures/counting-server.ts');
const fixture = (name: string, cache: Record<string, unknown>) => ({ name, transport: 'stdio', command: process.execPath, args: [COUNTING], trusted: true, cache });

/** `{ tool, q, n }` of a tool answer, or `{ uri, n }` of a resource read. */
function counted(r: RawReply): { n: number } & Record<string, unknown> {
  const result = r.message?.result as { content?: { text: string }[]; contents?: { text: string }[] } | undefined;
  assert.ok(result, `a result: ${r.text}`);
  const text = (result.content ?? result.contents)?.[0]?.text;
  assert.ok(text, `text content: ${r.text}`);
  return JSON.parse(text) as { n: number };
}

/** A 2026-07-28 tools/call whose `_meta` carries more than the envelope (modernRaw sets only the envelope). */
async function callWithMeta(url: string, headers: Record<string, string>, name: string, args: Record<string, unknown>, meta: Record<string, unknown>): Promise<RawReply> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { ...headers, 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-protocol-version': MODERN, 'mcp-method': 'tools/call', 'mcp-name': name },
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: 9,
      method: 'tools/call',
      params: { name, arguments: args, _meta: { ...meta, 'io.modelcontextprotocol/protocolVersion': MODERN, 'io.modelcontextprotocol/clientCapabilities': {} } },
    }),
  });
  const text = await res.text();
  const messages = (res.headers.get('content-type') ?? '').startsWith('text/event-stream') ? parseSse(text) : [JSON.parse(text) as RpcMessage];
  return { status: res.status, contentType: res.headers.get('content-type') ?? '', headers: {}, text, message: messages.find((m) => m.id === 9) };
}

describe('response cache (end to end)', () => {
  let k: KeyedGateway;
  let pids: number[] = [];
  const as = (agent: string) => bearer(k.keys[agent]!);
  const call = (agent: string, name: string, args: Record<string, unknown>) => modernRaw(k.gw.url, as(agent), 'tools/call', { name, arguments: args });
  const read = (agent: string, uri: string) => modernRaw(k.gw.url, as(agent), 'resources/read', { uri });
  const n = async (agent: string, name: string, args: Record<string, unknown>) => counted(await call(agent, name, args)).n;
  const stats = (): CacheStats => k.gw.running.gateway.cache.stats();

  before(async () => {
    k = await keyedGateway(
      {
        upstreams: [
          fixture('count', { tools: { lookup: 60_000, peek: 150, write: 60_000, flaky: 60_000 } }),
          fixture('pub', { tools: { lookup: 60_000 }, scope: 'shared' }),
        ],
      },
      { alice: { tenant: 'acme', user: 'alice' }, bob: { tenant: 'acme', user: 'bob' } },
    );
    pids = ['count', 'pub'].map((u) => upstreamPid(k.gw, u)).filter((p): p is number => p !== undefined);
    assert.equal(pids.length, 2, 'both fixtures run');
    assert.equal(k.gw.running.gateway.registry.get('count')?.session?.era, 'modern', 'the fixture speaks 2026-07-28');
  });
  after(async () => {
    await k?.gw.stop();
    assert.deepEqual(killLeftovers(pids), [], 'the fixtures went with the gateway');
  });

  it('a read-only tool is served from the cache: the upstream count does not move', async () => {
    const first = await n('alice', 'count__lookup', { q: 'a', ms: 0 });
    const hits = stats().hits;
    assert.equal(await n('alice', 'count__lookup', { ms: 0, q: 'a' }), first, 'same arguments in another order');
    assert.equal(await n('alice', 'count__lookup', { q: 'a', ms: 0 }), first);
    assert.equal(stats().hits, hits + 2);
    assert.equal(await n('alice', 'count__lookup', { q: 'b', ms: 0 }), first + 1, 'other arguments reach the upstream');
  });

  it('never crosses principals: bob\'s identical call reaches the upstream, and each is served their own', async () => {
    const a = await n('alice', 'count__lookup', { q: 'mine' });
    const b = await n('bob', 'count__lookup', { q: 'mine' });
    assert.equal(b, a + 1, 'bob was not served alice\'s entry');
    assert.equal(await n('alice', 'count__lookup', { q: 'mine' }), a);
    assert.equal(await n('bob', 'count__lookup', { q: 'mine' }), b);
  });

  it('shared scope: one entry serves every principal', async () => {
    const a = await n('alice', 'pub__lookup', { q: 'everyone' });
    assert.equal(await n('bob', 'pub__lookup', { q: 'everyone' }), a);
  });

  it('concurrent identical calls make one upstream call', async () => {
    const before = await n('alice', 'count__lookup', { q: 'warm-up' });
    const answers = await Promise.all(Array.from({ length: 4 }, () => call('alice', 'count__lookup', { q: 'burst', ms: 200 })));
    const counts = answers.map((r) => counted(r).n);
    assert.deepEqual(counts, [before + 1, before + 1, before + 1, before + 1]);
  });

  it('a tool not classed read_only is never cached, nor is a tool error', async () => {
    const w = await n('alice', 'count__write', { q: 'w' });
    assert.equal(await n('alice', 'count__write', { q: 'w' }), w + 1);
    const f = await call('alice', 'count__flaky', { q: 'f' });
    assert.equal(f.message?.result?.isError, true);
    assert.equal(await n('alice', 'count__flaky', { q: 'f' }), counted(f).n + 1);
  });

  it('a call with a progress token gets a real call (progress is not served from a cache)', async () => {
    const a = await n('alice', 'count__lookup', { q: 'progress' });
    const bypasses = stats().bypasses;
    const r = await callWithMeta(k.gw.url, as('alice'), 'count__lookup', { q: 'progress' }, { progressToken: 'p1' });
    assert.equal(counted(r).n, a + 1);
    assert.equal(stats().bypasses, bypasses + 1);
  });

  it('entries expire after their TTL', async () => {
    const p = await n('alice', 'count__peek', { q: 't' });
    // Waiting past the 150 ms TTL; nothing is asserted about how fast anything is.
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(await n('alice', 'count__peek', { q: 't' }), p + 1);
  });

  it('list_changed: a tool whose definition changed loses its entries; an unrelated change keeps them', async () => {
    const a = await n('alice', 'count__lookup', { q: 'defs' });
    const registry = k.gw.running.gateway.registry;
    await call('alice', 'count__grow', {});
    await waitFor(() => registry.catalog.toolIndex.has('count__extra_1'), 'the grown tool in the catalog');
    assert.equal(await n('alice', 'count__lookup', { q: 'defs' }), a, 'lookup did not change: still cached');
    await call('alice', 'count__redefine', { description: 'Looks things up, version 2' });
    await waitFor(() => registry.catalog.toolIndex.get('count__lookup')?.def.description === 'Looks things up, version 2', 'the new definition in the catalog');
    assert.equal(await n('alice', 'count__lookup', { q: 'defs' }), a + 1, 'the changed tool reached the upstream');
    assert.equal(await n('alice', 'count__lookup', { q: 'defs' }), a + 1);
  });

  it('2026-07-28 resources: private results keyed by principal, public ones shared, ttlMs 0 never kept', async () => {
    const a1 = await read('alice', 'counted://private');
    const a = counted(a1).n;
    assert.equal(a1.message?.result?.cacheScope, 'private');
    const again = await read('alice', 'counted://private');
    assert.equal(counted(again).n, a);
    const left = again.message?.result?.ttlMs as number;
    assert.ok(left <= 60_000 && left >= 0, `the hit says how long is left: ${left}`);
    assert.equal(counted(await read('bob', 'counted://private')).n, a + 1, 'bob reaches the upstream');

    const p = counted(await read('alice', 'counted://public')).n;
    assert.equal(counted(await read('bob', 'counted://public')).n, p);

    const f = counted(await read('alice', 'counted://fresh')).n;
    assert.equal(counted(await read('alice', 'counted://fresh')).n, f + 1);
  });

  describe('a 2025-era agent', () => {
    let s: LegacySession;
    before(async () => {
      s = await legacySession(k.gw.url, as('alice'));
    });
    after(async () => {
      await s.close();
    });

    it('has entries of its own era, served without the 2026-07-28 fields', async () => {
      const first = await s.call('resources/read', { uri: 'counted://public' });
      const again = await s.call('resources/read', { uri: 'counted://public' });
      assert.equal(counted(again).n, counted(first).n);
      assert.equal(again.message?.result?.ttlMs, undefined);
      assert.equal(again.message?.result?.cacheScope, undefined);
      const t1 = await s.call('tools/call', { name: 'count__lookup', arguments: { q: 'legacy' } });
      const t2 = await s.call('tools/call', { name: 'count__lookup', arguments: { q: 'legacy' } });
      assert.equal(counted(t2).n, counted(t1).n);
    });
  });
});
