// The response cache's behaviour around one call: hits are copies, identical concurrent misses make one
// upstream call (never across principals), TTLs by an injected clock, what is never kept, and how
// 2026-07-28 results' own ttlMs and cacheScope narrow or allow caching.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { MethodOutcome } from '../../../src/methods/method.ts';
import { ResponseCache, type CacheRequest } from '../../../src/traffic/cache/response-cache.ts';
import { gatewayError } from '../../../src/errors/codes.ts';

const ALICE = 'keys:acme:bot:alice';
const BOB = 'keys:acme:bot:bob';

const TOOL: CacheRequest = {
  upstream: 'db',
  context: 'id/dg',
  era: 'modern',
  method: 'tools/call',
  name: 'lookup',
  args: { q: 'x' },
  principal: ALICE,
  ttlMs: 1_000,
  scope: 'principal',
  honorResult: false,
};
const READ: CacheRequest = { ...TOOL, method: 'resources/read', name: 'db://t', args: null, ttlMs: 0, honorResult: true };

/** An upstream that counts its calls and answers `{ n }` (or what `make` says). */
function upstream(make: (n: number) => MethodOutcome = (n) => ({ result: { content: [{ type: 'text', text: `n=${n}` }], n } })) {
  const u = { calls: 0, call: async (): Promise<MethodOutcome> => make(++u.calls) };
  return u;
}

function clock() {
  const c = { t: 1_000, now: () => c.t };
  return c;
}

const resultOf = (o: MethodOutcome) => {
  assert.ok('result' in o, `a result, got ${JSON.stringify(o)}`);
  return o.result;
};

describe('ResponseCache.run', () => {
  it('a miss calls the upstream and keeps the result; the same call is then a hit', async () => {
    const c = new ResponseCache();
    const u = upstream();
    const a = await c.run(TOOL, u.call);
    assert.equal(a.status, 'miss');
    const b = await c.run({ ...TOOL, args: { q: 'x' } }, u.call);
    assert.equal(b.status, 'hit');
    assert.equal(u.calls, 1);
    assert.deepEqual(resultOf(b.outcome), resultOf(a.outcome));
    const s = c.stats();
    assert.deepEqual([s.hits, s.misses, s.stores, s.entries], [1, 1, 1, 1]);
    assert.ok(s.bytes > 0);
  });

  it('every hit is a fresh copy: what one caller changes, no other caller sees', async () => {
    const c = new ResponseCache();
    const u = upstream();
    const first = resultOf((await c.run(TOOL, u.call)).outcome);
    first.n = 'changed by the first caller';
    const hit = resultOf((await c.run(TOOL, u.call)).outcome);
    assert.equal(hit.n, 1);
    (hit.content as { text: string }[])[0]!.text = 'changed by a hit';
    delete hit.n;
    const again = resultOf((await c.run(TOOL, u.call)).outcome);
    assert.deepEqual(again, { content: [{ type: 'text', text: 'n=1' }], n: 1 });
    assert.notEqual(again, hit);
  });

  it('principal scope: another principal\'s identical call reaches the upstream', async () => {
    const c = new ResponseCache();
    const u = upstream();
    await c.run(TOOL, u.call);
    const bob = await c.run({ ...TOOL, principal: BOB }, u.call);
    assert.equal(bob.status, 'miss');
    assert.equal(resultOf(bob.outcome).n, 2);
    assert.equal((await c.run(TOOL, u.call)).status, 'hit');
    assert.equal(resultOf((await c.run({ ...TOOL, principal: BOB }, u.call)).outcome).n, 2);
    assert.equal(u.calls, 2);
  });

  it('shared scope: every principal is served the one entry', async () => {
    const c = new ResponseCache();
    const u = upstream();
    await c.run({ ...TOOL, scope: 'shared' }, u.call);
    const bob = await c.run({ ...TOOL, scope: 'shared', principal: BOB }, u.call);
    assert.equal(bob.status, 'hit');
    assert.equal(u.calls, 1);
  });

  it('expires entries after their TTL (injected clock)', async () => {
    const t = clock();
    const c = new ResponseCache({ now: t.now });
    const u = upstream();
    await c.run(TOOL, u.call);
    t.t += 999;
    assert.equal((await c.run(TOOL, u.call)).status, 'hit');
    t.t += 1;
    const late = await c.run(TOOL, u.call);
    assert.equal(late.status, 'miss');
    assert.equal(u.calls, 2);
    assert.equal(c.stats().expirations, 1);
  });

  it('single flight: N identical concurrent misses make one upstream call, and each caller gets its own copy', async () => {
    const c = new ResponseCache();
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const u = upstream();
    const slow = async () => {
      await gate;
      return u.call();
    };
    const all = Array.from({ length: 5 }, () => c.run(TOOL, slow));
    release();
    const answers = await Promise.all(all);
    assert.equal(u.calls, 1);
    assert.deepEqual(answers.map((a) => a.status), ['miss', 'hit', 'hit', 'hit', 'hit']);
    const results = answers.map((a) => resultOf(a.outcome));
    for (const r of results) assert.equal(r.n, 1);
    assert.equal(new Set(results).size, 5, 'five distinct objects');
    assert.equal(c.stats().coalesced, 4);
  });

  it('a flight is never shared across principals, even for a shared-scope tool', async () => {
    const c = new ResponseCache();
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const u = upstream();
    const slow = async () => {
      await gate;
      return u.call();
    };
    const req = { ...TOOL, scope: 'shared' as const };
    const both = [c.run(req, slow), c.run({ ...req, principal: BOB }, slow)];
    release();
    const [a, b] = await Promise.all(both);
    assert.equal(u.calls, 2);
    assert.equal(a!.status, 'miss');
    assert.equal(b!.status, 'miss');
  });

  it('callers waiting on a call that gives nothing to keep make their own call', async () => {
    const c = new ResponseCache();
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let calls = 0;
    const call = async (): Promise<MethodOutcome> => {
      const n = ++calls;
      if (n === 1) {
        await gate;
        return { error: gatewayError('upstream_failed', 'the call was cancelled', { upstream: 'db' }) };
      }
      return { result: { n } };
    };
    const leader = c.run(TOOL, call);
    const follower = c.run(TOOL, call);
    release();
    assert.ok('error' in (await leader).outcome);
    assert.equal(resultOf((await follower).outcome).n, 2);
    assert.equal((await c.run(TOOL, call)).status, 'hit', 'the follower\'s own result was kept');
  });

  it('a waiting caller that goes away stops waiting and is told it was cancelled', async () => {
    const c = new ResponseCache();
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const u = upstream();
    const leader = c.run(TOOL, async () => {
      await gate;
      return u.call();
    });
    const ac = new AbortController();
    const follower = c.run(TOOL, u.call, ac.signal);
    ac.abort();
    const f = await follower;
    assert.ok('error' in f.outcome && f.outcome.error.name === 'upstream_failed');
    release();
    await leader;
    assert.equal(u.calls, 1);
  });

  it('never keeps errors, tool errors, unfinished results or tasks', async () => {
    const outcomes: MethodOutcome[] = [
      { error: gatewayError('upstream_timeout', 'late', { upstream: 'db' }) },
      { upstreamError: { code: -32602, message: 'bad' } },
      { result: { content: [], isError: true } },
      { result: { resultType: 'input_required', inputRequests: {}, requestState: 's' } },
      { result: { resultType: 'task', taskId: 't', status: 'working', ttlMs: 60_000 } },
      { result: { task: { taskId: 't', status: 'working' } } },
    ];
    for (const o of outcomes) {
      const c = new ResponseCache();
      let calls = 0;
      const call = async () => (calls++, o);
      await c.run(TOOL, call);
      await c.run(TOOL, call);
      assert.equal(calls, 2, JSON.stringify(o));
      assert.equal(c.stats().entries, 0);
    }
  });

  it('a result\'s own ttlMs and cacheScope (2026-07-28, honorTtl): public shared, private or absent per principal, 0 never', async () => {
    const cases: [Record<string, unknown>, 'shared' | 'principal' | 'none'][] = [
      [{ ttlMs: 5_000, cacheScope: 'public' }, 'shared'],
      [{ ttlMs: 5_000, cacheScope: 'private' }, 'principal'],
      [{ ttlMs: 5_000 }, 'principal'],
      [{ ttlMs: 0, cacheScope: 'public' }, 'none'],
      [{ cacheScope: 'public' }, 'none'],
    ];
    for (const [fields, want] of cases) {
      const c = new ResponseCache();
      const u = upstream((n) => ({ result: { contents: [{ uri: 'db://t', text: String(n) }], ...fields } }));
      await c.run(READ, u.call);
      const bob = await c.run({ ...READ, principal: BOB }, u.call);
      const alice = await c.run(READ, u.call);
      const got = bob.status === 'hit' ? 'shared' : alice.status === 'hit' ? 'principal' : 'none';
      assert.equal(got, want, JSON.stringify(fields));
    }
  });

  it('a result\'s own ttlMs shortens a configured TTL, and cacheScope private narrows a shared tool', async () => {
    const t = clock();
    const c = new ResponseCache({ now: t.now });
    const u = upstream((n) => ({ result: { n, ttlMs: 100, cacheScope: 'private' } }));
    const req = { ...TOOL, scope: 'shared' as const, honorResult: true };
    await c.run(req, u.call);
    assert.equal((await c.run({ ...req, principal: BOB }, u.call)).status, 'miss', 'private: not shared');
    t.t += 100;
    assert.equal((await c.run(req, u.call)).status, 'miss', 'expired after the result\'s 100 ms, not the configured 1000');
  });

  it('a hit says how much of the result\'s own ttlMs is left', async () => {
    const t = clock();
    const c = new ResponseCache({ now: t.now });
    const u = upstream(() => ({ result: { contents: [], ttlMs: 5_000, cacheScope: 'public' } }));
    assert.equal(resultOf((await c.run(READ, u.call)).outcome).ttlMs, 5_000);
    t.t += 1_250;
    assert.equal(resultOf((await c.run(READ, u.call)).outcome).ttlMs, 3_750);
  });

  it('without honorTtl a result\'s own fields change nothing', async () => {
    const c = new ResponseCache();
    const u = upstream((n) => ({ result: { n, ttlMs: 0, cacheScope: 'private' } }));
    const req = { ...TOOL, scope: 'shared' as const };
    await c.run(req, u.call);
    assert.equal((await c.run({ ...req, principal: BOB }, u.call)).status, 'hit');
  });

  it('arguments without a canonical form are not cached (and still called)', async () => {
    const c = new ResponseCache();
    const u = upstream();
    await c.run({ ...TOOL, args: { q: '\ud800' } }, u.call);
    await c.run({ ...TOOL, args: { q: '\ud800' } }, u.call);
    assert.equal(u.calls, 2);
    assert.equal(c.stats().bypasses, 2);
  });

  it('a result too large to keep is not kept', async () => {
    const c = new ResponseCache({ limits: { maxEntryBytes: 1_000 } });
    const u = upstream((n) => ({ result: { n, text: 'x'.repeat(2_000) } }));
    await c.run(TOOL, u.call);
    await c.run(TOOL, u.call);
    assert.equal(u.calls, 2);
    assert.equal(c.stats().tooLarge, 2);
  });

  it('invalidate drops an upstream\'s entries (all, or some names); a call in flight across it is not kept', async () => {
    const c = new ResponseCache();
    const u = upstream();
    await c.run(TOOL, u.call);
    await c.run({ ...TOOL, name: 'peek' }, u.call);
    await c.run({ ...TOOL, upstream: 'other' }, u.call);
    c.invalidate('db', 'tools/call', new Set(['lookup']));
    assert.equal(c.stats().entries, 2);
    assert.equal((await c.run({ ...TOOL, name: 'peek' }, u.call)).status, 'hit');
    c.invalidate('db');
    assert.equal(c.stats().entries, 1);
    assert.equal(c.stats().invalidations, 2);

    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const inFlight = c.run(TOOL, async () => {
      await gate;
      return u.call();
    });
    c.invalidate('db', 'tools/call', new Set(['lookup']));
    release();
    await inFlight;
    assert.equal((await c.run(TOOL, u.call)).status, 'miss', 'the answer that raced the change was not kept');
  });
});
