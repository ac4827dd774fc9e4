// Two gateways sharing one real Redis hold one limit exactly between them; when Redis dies (SIGKILL)
// the fail_closed gateway refuses limited calls with limits_unavailable (503) and the `local` one goes
// on with counters of its own; when Redis is back, the counters are shared again.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { MODERN_FIXTURE } from '../../harness/gateway.ts';
import { waitFor } from '../../harness/pids.ts';
import { redisSkipReason, startRedis, type TestRedis } from '../../support/redis.ts';
import { bearer, keyedGateway, modernRaw, type KeyedGateway, type RawReply } from '../policy/helpers.ts';

const skip = redisSkipReason();
const fixture = { name: 'fx', transport: 'stdio', command: process.execPath, args: [MODERN_FIXTURE, 'stdio'] };
const AGENTS = { a: {}, b: {}, c: {} };

function config(url: string, keyPrefix: string, failureMode: 'fail_closed' | 'local'): Record<string, unknown> {
  return {
    upstreams: [fixture],
    traffic: {
      counters: { kind: 'redis', url, keyPrefix, timeoutMs: 250, failureMode },
      limits: [
        { name: 'shared-burst', match: { tools: ['fx__echo'] }, key: ['agent'], rate: { tokens: 1, per: '1h', burst: 10 } },
        { name: 'shared-quota', match: { tools: ['fx__add'] }, key: ['agent'], quota: { limit: 5, per: 'day' } },
      ],
    },
  };
}

describe('traffic limits shared through Redis', { skip }, () => {
  let redis: TestRedis;
  let closed: KeyedGateway;
  let local: KeyedGateway;
  const call = (k: KeyedGateway, agent: string, name: string, args: Record<string, unknown>): Promise<RawReply> =>
    modernRaw(k.gw.url, bearer(k.keys[agent]!), 'tools/call', { name, arguments: args });
  /** `n` calls on each gateway at once; how many got a result. */
  const spread = async (agent: string, name: string, args: Record<string, unknown>, n: number): Promise<{ ok: number; refused: RawReply[] }> => {
    const replies = await Promise.all(Array.from({ length: 2 * n }, (_, i) => call(i % 2 === 0 ? closed : local, agent, name, args)));
    return { ok: replies.filter((r) => r.message?.result !== undefined).length, refused: replies.filter((r) => r.message?.error !== undefined) };
  };
  const counters = (k: KeyedGateway) => k.gw.running.gateway.limits.stats().counters;

  before(async () => {
    redis = await startRedis();
    const prefix = `gh-e2e-${process.pid}`;
    closed = await keyedGateway(config(redis.url, prefix, 'fail_closed'), AGENTS);
    local = await keyedGateway(config(redis.url, prefix, 'local'), AGENTS);
  });
  after(async () => {
    await closed?.gw.stop();
    await local?.gw.stop();
    await redis?.stop();
  });

  it('holds one token bucket exactly between two gateways', async () => {
    const { ok, refused } = await spread('a', 'fx__echo', { message: 'hi' }, 20);
    assert.equal(ok, 10);
    assert.equal(refused.length, 30);
    for (const r of refused) {
      assert.equal(r.status, 429);
      assert.equal(r.message?.error?.data?.limit, 'shared-burst');
    }
    assert.deepEqual(counters(closed), { kind: 'redis', status: 'ready', failureMode: 'fail_closed', redisFailures: 0, fallbacks: 0 });
  });

  it('holds one quota exactly between two gateways', async () => {
    const { ok, refused } = await spread('a', 'fx__add', { a: 1, b: 2 }, 4);
    assert.equal(ok, 5);
    assert.equal(refused.length, 3);
    for (const r of refused) assert.equal(r.message?.error?.code, -31430);
  });

  it('when Redis dies: fail_closed refuses with limits_unavailable (503), local goes on with its own counters', async () => {
    await redis.halt();
    await waitFor(() => counters(closed).status !== 'ready' && counters(local).status !== 'ready', 'both gateways to see Redis gone');

    const refused = await call(closed, 'b', 'fx__echo', { message: 'hi' });
    assert.equal(refused.status, 503);
    assert.equal(refused.headers['retry-after'], '1');
    assert.equal(refused.message?.error?.code, -31506);
    assert.equal(refused.message?.error?.data?.limit, 'shared-burst');
    assert.match(refused.message!.error!.message, /^traffic limit "shared-burst" cannot be checked: its shared counters \(Redis\) are unreachable; retry in 1\.0 s$/);
    assert.ok((await call(closed, 'b', 'fx__annotated', {})).message?.result, 'calls no limit applies to are not affected');

    // The local gateway counts on its own: still a limit, and an exact one.
    const replies = await Promise.all(Array.from({ length: 14 }, () => call(local, 'b', 'fx__echo', { message: 'hi' })));
    assert.equal(replies.filter((r) => r.message?.result !== undefined).length, 10);
    assert.equal(replies.filter((r) => r.message?.error?.code === -31429).length, 4);
    const s = counters(local);
    assert.equal(s.failureMode, 'local');
    assert.ok(s.fallbacks >= 14, `fallbacks counted, got ${s.fallbacks}`);
    assert.ok(s.redisFailures >= 14, `failures counted, got ${s.redisFailures}`);
    assert.ok(counters(closed).redisFailures >= 1);
    assert.equal(closed.gw.running.gateway.limits.stats().limits['shared-burst']?.refused.unavailable, 1);
  });

  it('when Redis is back, the counters are shared again', async () => {
    await redis.resume();
    await waitFor(() => counters(closed).status === 'ready' && counters(local).status === 'ready', 'both gateways to reconnect');
    const { ok } = await spread('c', 'fx__echo', { message: 'hi' }, 10);
    assert.equal(ok, 10, 'ten between the two gateways, not ten each');
    assert.ok((await call(closed, 'b', 'fx__echo', { message: 'hi' })).message?.result, 'the fail_closed gateway serves again (a fresh Redis: a full bucket)');
  });
});
