// Traffic limits end to end, in memory: a burst holds exactly under concurrent load, agents are
// counted apart, a quota refuses at its limit and refused calls spend none of it, concurrency queues
// and refuses beyond its queue, every slot comes back (success, error, timeout, cancel), HTTP answers
// carry 429 and Retry-After, and the audit entry names the limit.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { SdkHttpError } from '@modelcontextprotocol/client';
import type { AuditEntry } from '../../../src/audit/entry.ts';
import { MODERN_FIXTURE } from '../../harness/gateway.ts';
import { waitFor } from '../../harness/pids.ts';
import { bearer, keyedConfig, keyedGateway, legacyClient, legacySession, modernClient, modernRaw, refusal, type KeyedGateway, type RawReply } from '../policy/helpers.ts';

const fixture = (name: string, extra: Record<string, unknown> = {}) => ({ name, transport: 'stdio', command: process.execPath, args: [MODERN_FIXTURE, 'stdio'], ...extra });

const LIMITS = [
  // Ten calls per agent, then one an hour: nothing refills during the test.
  { name: 'burst', match: { agents: ['a', 'b', 'v1'], tools: ['fx__echo'] }, key: ['agent'], rate: { tokens: 1, per: '1h', burst: 10 } },
  { name: 'daily', match: { agents: ['q'] }, key: ['agent'], quota: { limit: 3, per: 'day' } },
  { name: 'q-echo', match: { agents: ['q'], tools: ['fx__echo'] }, key: ['agent'], rate: { tokens: 1, per: '1h', burst: 1 } },
  { name: 'two-at-a-time', match: { agents: ['c'] }, key: ['agent'], concurrency: 2, queue: { size: 1, maxWaitMs: 120_000 } },
  { name: 'one-at-a-time', match: { agents: ['t'] }, key: ['agent'], concurrency: 1 },
];

const CONFIG = { upstreams: [fixture('fx', { timeoutMs: 120_000 }), fixture('tight', { timeoutMs: 300 })], traffic: { limits: LIMITS } };

describe('traffic limits (memory counters)', () => {
  let k: KeyedGateway;
  const stats = () => k.gw.running.gateway.limits.stats().limits;
  const call = (agent: string, name: string, args: Record<string, unknown> = {}, signal?: AbortSignal): Promise<RawReply> =>
    raw(k.gw.url, k.keys[agent]!, name, args, signal);

  before(async () => {
    k = await keyedGateway(CONFIG, { a: {}, b: {}, v1: {}, q: {}, c: {}, t: {} });
  });
  after(() => k?.gw.stop());

  it('holds a burst exactly under concurrent load: 10 of 40 go through, the rest get 429 with the limit and the retry time', async () => {
    const replies = await Promise.all(Array.from({ length: 40 }, () => call('a', 'fx__echo', { message: 'hi' })));
    const ok = replies.filter((r) => r.message?.result !== undefined);
    const refused = replies.filter((r) => r.message?.error !== undefined);
    assert.equal(ok.length, 10);
    assert.equal(refused.length, 30);
    for (const r of refused) {
      assert.equal(r.status, 429);
      const retry = Number(r.headers['retry-after']);
      assert.ok(Number.isInteger(retry) && retry >= 1, `Retry-After in whole seconds, got ${r.headers['retry-after']}`);
      const e = r.message!.error!;
      assert.equal(e.code, -31429);
      assert.match(e.message, /^rate limit "burst" exceeded; retry in /);
      assert.equal(e.data?.limit, 'burst');
      assert.ok(typeof e.data?.retryAfterMs === 'number' && e.data.retryAfterMs > 0 && e.data.retryAfterMs <= 3_600_000);
      assert.equal(retry, Math.ceil((e.data.retryAfterMs as number) / 1000));
      assert.deepEqual(e.data?.gatehouse, { error: 'rate_limited', retryable: true });
    }
    const s = stats()['burst']!;
    assert.equal(s.admitted, 10);
    assert.equal(s.refused.rate, 30);
  });

  it('counts each agent apart', async () => {
    const replies = await Promise.all(Array.from({ length: 12 }, () => call('b', 'fx__echo', { message: 'hi' })));
    assert.equal(replies.filter((r) => r.message?.result !== undefined).length, 10);
    // Other tools of the same agent are not under this limit.
    assert.ok((await call('a', 'fx__add', { a: 1, b: 2 })).message?.result);
  });

  it('keeps the counts across a reload that changes a figure', async () => {
    k.gw.rewrite(keyedConfig({ ...CONFIG, traffic: { limits: LIMITS.map((l) => (l.name === 'burst' ? { ...l, rate: { tokens: 1, per: '1h', burst: 11 } } : l)) } }));
    assert.deepEqual(await k.gw.running.reload(), { ok: true });
    assert.ok((await call('b', 'fx__echo', { message: 'hi' })).message?.result, 'the burst grew by one');
    assert.equal((await call('b', 'fx__echo', { message: 'hi' })).status, 429, 'and agent b had spent the ten before the reload');
    k.gw.rewrite(keyedConfig(CONFIG));
    assert.deepEqual(await k.gw.running.reload(), { ok: true });
  });

  it('2025-era sessions get the refusal as a JSON-RPC error on a 200, which SDK 1.x turns into an McpError', async () => {
    const session = await legacySession(k.gw.url, bearer(k.keys['a']!));
    try {
      const r = await session.call('tools/call', { name: 'fx__echo', arguments: { message: 'hi' } });
      assert.equal(r.status, 200);
      assert.equal(r.message?.error?.code, -31429);
      assert.equal(r.message?.error?.data?.limit, 'burst');
    } finally {
      await session.close();
    }
    const v1 = await legacyClient(k.gw.url, k.keys['v1']!);
    try {
      for (let i = 0; i < 10; i++) await v1.callTool({ name: 'fx__echo', arguments: { message: 'hi' } });
      const e = await refusal(v1.callTool({ name: 'fx__echo', arguments: { message: 'hi' } }));
      assert.equal(e.code, -31429);
      assert.equal((e.data as { limit: string }).limit, 'burst');
      assert.ok((e.data as { retryAfterMs: number }).retryAfterMs > 0);
      // The session goes on.
      assert.ok(await v1.callTool({ name: 'fx__add', arguments: { a: 1, b: 1 } }));
    } finally {
      await v1.close();
    }
  });

  it('an SDK 2.x client (2026-07-28) sees a 429 HTTP error carrying the JSON-RPC refusal', async () => {
    const client = await modernClient(k.gw.url, k.keys['a']!);
    try {
      await assert.rejects(client.callTool({ name: 'fx__echo', arguments: { message: 'hi' } }), (err: unknown) => {
        assert.ok(err instanceof SdkHttpError, `an SdkHttpError, got ${String(err)}`);
        assert.equal(err.status, 429);
        assert.match(err.message, /rate limit \\?"burst\\?" exceeded/);
        return true;
      });
      assert.ok(await client.callTool({ name: 'fx__add', arguments: { a: 2, b: 2 } }), 'the client goes on');
    } finally {
      await client.close();
    }
  });

  it('refuses over the quota, and calls refused by a later limit spend none of it', async () => {
    assert.ok((await call('q', 'fx__echo', { message: 'hi' })).message?.result, 'quota 1 of 3, and the only echo token');
    for (let i = 0; i < 3; i++) {
      const r = await call('q', 'fx__echo', { message: 'hi' });
      assert.equal(r.message?.error?.data?.limit, 'q-echo');
    }
    assert.ok((await call('q', 'fx__add', { a: 1, b: 2 })).message?.result, 'quota 2 of 3');
    assert.ok((await call('q', 'fx__add', { a: 1, b: 2 })).message?.result, 'quota 3 of 3');
    const over = await call('q', 'fx__add', { a: 1, b: 2 });
    assert.equal(over.status, 429);
    const e = over.message!.error!;
    assert.equal(e.code, -31430);
    assert.match(e.message, /^quota "daily" of 3 calls per day is used up; retry in .* \(it resets at \d{4}-\d\d-\d\dT00:00:00\.000Z\)$/);
    const midnight = new Date();
    midnight.setUTCHours(24, 0, 0, 0);
    assert.ok((e.data?.retryAfterMs as number) <= midnight.getTime() - Date.now() + 1000, 'retry when the day ends');
    assert.equal((e.data?.quota as { resetsAt: string }).resetsAt, midnight.toISOString());
  });

  it('queues calls over the concurrency limit, refuses beyond the queue, and a cancelled call leaves it', async () => {
    const s = () => stats()['two-at-a-time'];
    const holders = [new AbortController(), new AbortController()];
    const held = holders.map((ac) => call('c', 'fx__never', {}, ac.signal).catch(() => undefined));
    await waitFor(() => s()?.inFlight === 2, 'two calls to hold both slots');

    // A queued call that is cancelled leaves the queue and takes no slot.
    const gone = new AbortController();
    const cancelled = call('c', 'fx__echo', { message: 'never mind' }, gone.signal).catch(() => undefined);
    await waitFor(() => s()?.queued === 1, 'the call to queue');
    gone.abort();
    await cancelled;
    await waitFor(() => s()?.queued === 0 && s()?.cancelled === 1, 'the cancelled call to leave the queue');

    const queued = call('c', 'fx__echo', { message: 'after you' });
    await waitFor(() => s()?.queued === 1, 'the next call to queue');
    const beyond = await call('c', 'fx__echo', { message: 'no room' });
    assert.equal(beyond.status, 429);
    assert.equal(beyond.message?.error?.code, -31432);
    assert.match(beyond.message!.error!.message, /^concurrency limit "two-at-a-time" reached \(2 calls in flight and no room to wait\); retry in 1\.0 s$/);

    holders[0]!.abort();
    const served = await queued;
    assert.deepEqual(served.message?.result?.content, [{ type: 'text', text: 'Echo: after you' }], 'the queued call runs once a slot frees up');
    holders[1]!.abort();
    await Promise.all(held);
    await waitFor(() => s()?.inFlight === 0, 'every slot back');
    assert.equal(s()?.waited, 1);
    assert.equal(s()?.refused.concurrency, 1);
  });

  it('gives the slot back after a success, an error, an upstream timeout and a cancellation', async () => {
    const inFlight = () => stats()['one-at-a-time']?.inFlight ?? 0;
    const free = async (what: string) => {
      await waitFor(() => inFlight() === 0, `the slot back after ${what}`);
      const next = await call('t', 'fx__echo', { message: what });
      assert.deepEqual(next.message?.result?.content, [{ type: 'text', text: `Echo: ${what}` }], `a call goes through after ${what}`);
    };
    await free('a success');
    const bad = await call('t', 'fx__add', { a: 'one', b: 2 });
    assert.ok(bad.message?.error !== undefined || bad.message?.result?.isError === true, 'the upstream refuses bad arguments');
    await free('an error');
    const timedOut = await call('t', 'tight__never');
    assert.equal(timedOut.message?.error?.code, -31002, 'upstream_timeout');
    await free('an upstream timeout');
    const ac = new AbortController();
    const cancelled = call('t', 'fx__never', {}, ac.signal).catch(() => undefined);
    await waitFor(() => inFlight() === 1, 'the call to hold the slot');
    const busy = await call('t', 'fx__echo', { message: 'busy' });
    assert.equal(busy.message?.error?.code, -31432, 'the slot is held meanwhile');
    ac.abort();
    await cancelled;
    await free('a cancellation');
  });

  it('names the limit and the retry time in the audit entry and the exchange record', async () => {
    const r = await call('a', 'fx__echo', { message: 'hi' });
    assert.equal(r.status, 429);
    const page = await k.gw.running.gateway.store.searchAudit({ limit: 1 });
    const entry = JSON.parse(page.rows[0]!.text) as AuditEntry;
    assert.equal(entry.outcome, 'denied');
    assert.equal(entry.target?.name, 'fx__echo');
    assert.equal(entry.error?.name, 'rate_limited');
    assert.equal(entry.error?.limit, 'burst');
    assert.ok((entry.error?.retryAfterMs ?? 0) > 0);
    assert.match(entry.error?.message ?? '', /rate limit "burst"/);
    const rec = k.records.findLast((x) => x.target?.name === 'fx__echo');
    assert.equal(rec?.error?.limit, 'burst');
    assert.ok(rec?.decisions.some((d) => d.filter === 'limits' && d.phase === 'admit' && d.kind === 'deny'));
  });
});

/** One 2026-07-28 tools/call with an agent's key; rejects when `signal` aborts it. */
function raw(url: string, key: string, name: string, args: Record<string, unknown>, signal?: AbortSignal): Promise<RawReply> {
  if (signal === undefined) return modernRaw(url, bearer(key), 'tools/call', { name, arguments: args });
  return abortable(url, key, name, args, signal);
}

async function abortable(url: string, key: string, name: string, args: Record<string, unknown>, signal: AbortSignal): Promise<RawReply> {
  const meta = { 'io.modelcontextprotocol/protocolVersion': '2026-07-28', 'io.modelcontextprotocol/clientCapabilities': {} };
  const res = await fetch(url, {
    method: 'POST',
    signal,
    headers: { ...bearer(key), 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-protocol-version': '2026-07-28', 'mcp-method': 'tools/call', 'mcp-name': name },
    body: JSON.stringify({ jsonrpc: '2.0', id: 7, method: 'tools/call', params: { name, arguments: args, _meta: meta } }),
  });
  const text = await res.text();
  const message = text.length > 0 && res.headers.get('content-type')?.startsWith('application/json') ? (JSON.parse(text) as RawReply['message']) : undefined;
  return { status: res.status, contentType: res.headers.get('content-type') ?? '', headers: Object.fromEntries(res.headers), text, message };
}
