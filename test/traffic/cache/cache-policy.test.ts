// What each upstream's `cache` settings compile to, which `cache.tools` entries can never take effect
// (refused at compile), and how a reload that changes an upstream's cache settings drops its entries.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { stringify } from 'yaml';
import { compileConfig } from '../../../src/config/compile.ts';
import { parseConfigText } from '../../../src/config/load.ts';
import type { Snapshot } from '../../../src/config/snapshot.ts';
import { upstreamSchema, type UpstreamConfig } from '../../../src/config/schema/upstream.ts';
import { storeDecision } from '../../../src/traffic/cache/cache-policy.ts';
import { cacheConfigIssues } from '../../../src/traffic/cache/config-issues.ts';
import { ResponseCache } from '../../../src/traffic/cache/response-cache.ts';

function snapshot(upstreams: Record<string, unknown>[]): Snapshot {
  const text = stringify({ version: 1, auth: { methods: [{ name: 'anon', type: 'anonymous', agent: 'a' }] }, gateway: { listen: { auth: ['anon'] } }, upstreams });
  return compileConfig(parseConfigText(text, '/cfg/gatehouse.yaml', {}));
}

// Every tool of this upstream is read-only, so any `cache.tools` entry can take effect (compile refuses those that never could).
const up = (o: Record<string, unknown> = {}) => ({ name: 'db', transport: 'stdio', command: 'db-server', toolClasses: { '*': 'read_only' }, ...o });
const cfg = (o: Record<string, unknown>): UpstreamConfig => upstreamSchema.parse({ name: 'db', transport: 'stdio', command: 'db-server', ...o });

describe('upstream cache settings', () => {
  it('nothing cacheable (no tools, honorTtl off) compiles to nothing', () => {
    const c = new ResponseCache();
    assert.equal(c.policyFor(snapshot([up({ cache: { honorTtl: false } })]), 'db'), undefined);
    assert.equal(c.policyFor(snapshot([up()]), 'nope'), undefined);
  });

  it('tools: the first matching entry in written order gives the TTL; others are not cached', () => {
    const c = new ResponseCache();
    const p = c.policyFor(snapshot([up({ cache: { tools: { get_user: 5_000, 'get_*': 1_000, '*_list': 9_000 } } })]), 'db');
    assert.ok(p);
    assert.equal(p.toolTtl('get_user'), 5_000);
    assert.equal(p.toolTtl('get_users'), 1_000);
    assert.equal(p.toolTtl('get_list'), 1_000);
    assert.equal(p.toolTtl('user_list'), 9_000);
    assert.equal(p.toolTtl('delete_user'), 0);
    assert.equal(p.scope, 'principal', 'principal is the default scope');
    assert.equal(p.honorTtl, true);
  });

  it('the key context carries the connection identity and the settings digest', () => {
    const c = new ResponseCache();
    const a = c.policyFor(snapshot([up({ cache: { tools: { x: 1 } } })]), 'db')!;
    const b = c.policyFor(snapshot([up({ command: 'other', cache: { tools: { x: 1 } } })]), 'db')!;
    const d = c.policyFor(snapshot([up({ cache: { tools: { x: 2 } } })]), 'db')!;
    assert.notEqual(a.context, b.context, 'another connection');
    assert.equal(a.digest, b.digest);
    assert.notEqual(a.digest, d.digest, 'other settings');
  });

  it('a reload that changes an upstream\'s cache settings drops its entries; one that keeps them does not', async () => {
    const c = new ResponseCache();
    c.policyFor(snapshot([up({ cache: { tools: { x: 1_000 } } })]), 'db');
    const req = { upstream: 'db', context: 'c', era: 'modern', method: 'tools/call', name: 'x', args: null, principal: 'p', ttlMs: 1_000, scope: 'principal' as const, honorResult: false };
    await c.run(req, async () => ({ result: { n: 1 } }));
    c.policyFor(snapshot([up({ cache: { tools: { x: 1_000 } }, timeoutMs: 5 })]), 'db');
    assert.equal(c.stats().entries, 1);
    c.policyFor(snapshot([up({ cache: { tools: { x: 2_000 } } })]), 'db');
    assert.equal(c.stats().entries, 0);
  });
});

describe('storeDecision', () => {
  const rule = { ttlMs: 1_000, scope: 'shared' as const, honorResult: true };
  it('keeps complete results only', () => {
    assert.deepEqual(storeDecision(rule, { content: [] }), { ttlMs: 1_000, shared: true });
    assert.deepEqual(storeDecision(rule, { content: [], resultType: 'complete' }), { ttlMs: 1_000, shared: true });
    assert.equal(storeDecision(rule, { content: [], isError: true }), undefined);
    assert.equal(storeDecision(rule, { resultType: 'input_required' }), undefined);
    assert.equal(storeDecision(rule, { resultType: 'task', ttlMs: 9 }), undefined);
  });
  it('a result\'s ttlMs can only shorten, its cacheScope only narrow', () => {
    assert.deepEqual(storeDecision(rule, { ttlMs: 5_000, cacheScope: 'public' }), { ttlMs: 1_000, shared: true });
    assert.deepEqual(storeDecision({ ...rule, scope: 'principal' }, { ttlMs: 5_000, cacheScope: 'public' }), { ttlMs: 1_000, shared: false });
    assert.deepEqual(storeDecision(rule, { ttlMs: 10, cacheScope: 'private' }), { ttlMs: 10, shared: false });
    assert.equal(storeDecision(rule, { ttlMs: 0 }), undefined);
    assert.equal(storeDecision(rule, { ttlMs: -5 }), undefined);
  });
});

describe('cacheConfigIssues', () => {
  const issues = (o: Record<string, unknown>, dflt: 'read_only' | 'high_risk_write' = 'high_risk_write') => cacheConfigIssues([cfg(o)], dflt).map((i) => `${i.path.join('.')}: ${i.message}`);

  it('accepts entries that toolClasses makes read_only (exactly, or by a covering glob)', () => {
    assert.deepEqual(issues({ toolClasses: { get_user: 'read_only' }, cache: { tools: { get_user: 1 } } }), []);
    assert.deepEqual(issues({ toolClasses: { 'get_*': 'read_only' }, cache: { tools: { get_user: 1, 'get_u*': 1 } } }), []);
    assert.deepEqual(issues({ toolClasses: { '*': 'read_only' }, cache: { tools: { '*': 1 } } }), []);
  });

  it('refuses an entry whose deciding toolClasses entry is a write', () => {
    assert.deepEqual(issues({ toolClasses: { 'del*': 'high_risk_write' }, cache: { tools: { delete_user: 1 } } }), [
      'upstreams.0.cache.tools.delete_user: "delete_user" is classed high_risk_write by toolClasses "del*"; only read_only tools are cached',
    ]);
    assert.equal(issues({ toolClasses: { '*': 'low_risk_write' }, cache: { tools: { 'get_*': 1 } } }).length, 1);
    assert.equal(issues({ toolClasses: { 'get_*': 'low_risk_write', get_user: 'read_only' }, cache: { tools: { get_user: 1 } } }).length, 1, 'first match wins');
  });

  it('an earlier entry that may take some of the names leaves it open (allowed; checked per call)', () => {
    assert.deepEqual(issues({ toolClasses: { '*_user': 'read_only', 'get_*': 'high_risk_write' }, cache: { tools: { 'get_*': 1 } } }), []);
  });

  it('refuses an entry nothing can class read_only; trusted annotations or a read_only default can', () => {
    assert.deepEqual(issues({ cache: { tools: { lookup: 1 } } }), [
      'upstreams.0.cache.tools.lookup: "lookup" can never be classed read_only, so it would never be cached: class it read_only in toolClasses (or mark the upstream trusted so that readOnlyHint counts)',
    ]);
    assert.equal(issues({ toolClasses: { 'other*': 'read_only' }, cache: { tools: { lookup: 1 } } }).length, 1);
    assert.deepEqual(issues({ trusted: true, cache: { tools: { lookup: 1 } } }), []);
    assert.deepEqual(issues({ cache: { tools: { lookup: 1 } } }, 'read_only'), []);
    assert.deepEqual(issues({ toolClasses: { 'look*': 'read_only' }, cache: { tools: { 'lo*': 1 } } }), [], 'some of its tools can be read_only');
  });
});
