// The Redis counter store against a real redis-server: the GCRA script is exact across clients,
// quotas are shared, and an outage (a killed server, a frozen one) fails fast, is logged once, and
// ends by itself when Redis is back.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { waitFor } from '../../harness/pids.ts';
import { redisSkipReason, startRedis, type TestRedis } from '../../support/redis.ts';
import { periodAt } from '../../../src/traffic/limits/periods.ts';
import { RedisCounters, RedisUnavailable } from '../../../src/traffic/limits/redis-counters.ts';
import type { CompiledRate } from '../../../src/traffic/limits/types.ts';

const skip = redisSkipReason();

function rate(tokens: number, perMs: number, burst = tokens): CompiledRate {
  const intervalMs = perMs / tokens;
  return { tokens, perMs, burst, intervalMs, capacityMs: intervalMs * burst };
}

interface LogLine {
  level: number;
  msg: string;
  redis?: string;
}

let prefixes = 0;

describe('RedisCounters', { skip }, () => {
  let redis: TestRedis;
  const open: RedisCounters[] = [];
  const silent = pino({ level: 'silent' });
  const counters = (keyPrefix = `t${++prefixes}`, timeoutMs = 500, log = silent) => {
    const c = new RedisCounters({ url: redis.url.replace('redis://', 'redis://:secret-pass@'), keyPrefix, timeoutMs, log });
    open.push(c);
    return c;
  };

  before(async () => {
    redis = await startRedis();
  });
  after(async () => {
    await Promise.all(open.map((c) => c.close()));
    await redis?.stop();
  });

  it('shares one bucket exactly between two clients', async () => {
    const prefix = `t${++prefixes}`;
    const a = counters(prefix);
    const b = counters(prefix);
    const r = rate(1, 3_600_000, 10);
    const results = await Promise.all(Array.from({ length: 40 }, (_, i) => (i % 2 === 0 ? a : b).reserve('k', r, 0)));
    assert.equal(results.filter((n) => n === 0).length, 10, 'exactly the burst');
    for (const n of results.filter((n) => n !== 0)) assert.ok(n < 0 && -n <= 3_600_000, `refused with the time to the next token, got ${n}`);
  });

  it('reserves within maxWaitMs, spaced one interval apart, and gives tokens back', async () => {
    const c = counters();
    const r = rate(1, 60_000, 1);
    assert.equal(await c.reserve('k', r, 600_000), 0);
    const wait = await c.reserve('k', r, 600_000);
    assert.ok(wait > 59_000 && wait <= 60_000, `the second waits about one interval, got ${wait}`);
    const refused = await c.reserve('k', r, 90_000);
    assert.ok(refused < -90_000, `the third would wait two intervals: refused, got ${refused}`);
    await c.unreserve('k', r);
    const again = await c.reserve('k', r, 90_000);
    assert.ok(again > 59_000 && again <= 60_000, `with one token given back the next waits one interval again, got ${again}`);
  });

  it('counts a quota shared by two clients, and takes counts back', async () => {
    const prefix = `t${++prefixes}`;
    const a = counters(prefix);
    const b = counters(prefix);
    const now = Date.now();
    const period = periodAt('day', now);
    const counts = await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 === 0 ? a : b).count('q', period, now)));
    assert.deepEqual(counts.sort((x, y) => x - y), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    await a.uncount('q', period, now);
    assert.equal(await b.count('q', period, now), 10);
    const ttl = await a.client.pttl(`${prefix}:quota:${period.id}:q`);
    assert.ok(ttl > 0 && ttl <= period.endsAt - now + 61_000, `the counter expires after its period, got ${ttl}`);
  });

  it('fails fast while Redis is down, logs the outage once without credentials, and recovers', async () => {
    // This client's own log: every client reports its own outage.
    const logs: LogLine[] = [];
    const c = counters(undefined, 500, pino({ level: 'info' }, { write: (s: string) => void logs.push(JSON.parse(s) as LogLine) }));
    const r = rate(1, 3_600_000, 1);
    assert.equal(await c.reserve('k', r, 0), 0);
    const before = logs.length;
    await redis.halt();
    try {
      await waitFor(() => c.status !== 'ready', 'the client to see the connection drop');
      for (let i = 0; i < 5; i++) await assert.rejects(c.reserve('k', r, 0), RedisUnavailable);
      await assert.rejects(c.count('q', periodAt('day', Date.now()), Date.now()), RedisUnavailable);
      assert.ok(c.health.down);
      assert.ok(c.health.failures >= 6, `failures counted, got ${c.health.failures}`);
      const warnings = logs.slice(before).filter((l) => l.level === 40);
      assert.equal(warnings.length, 1, `one warning per outage: ${JSON.stringify(warnings)}`);
      assert.match(warnings[0]!.msg, /Redis is unreachable/);
      assert.equal(warnings[0]!.redis, redis.url, 'where Redis is, without the password');
      assert.doesNotMatch(JSON.stringify(logs), /secret-pass/);
    } finally {
      await redis.resume();
    }
    await waitFor(() => c.status === 'ready', 'the client to reconnect');
    assert.equal(await c.reserve('k', r, 0), 0, 'a fresh server: the bucket is full again');
    assert.ok(!c.health.down);
    assert.ok(logs.slice(before).some((l) => l.level === 30 && /reachable again/.test(l.msg)));
  });

  it('counts a command slower than timeoutMs as Redis unreachable', async () => {
    const c = counters(undefined, 200);
    const r = rate(1, 1_000, 1);
    await c.reserve('k', r, 0);
    const pid = redis.pid()!;
    process.kill(pid, 'SIGSTOP');
    try {
      await assert.rejects(c.reserve('k', r, 0), (err: unknown) => err instanceof RedisUnavailable && /timed out/i.test(err.message));
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    await waitFor(async () => {
      try {
        await c.reserve('x', r, 0);
        return true;
      } catch {
        return false;
      }
    }, 'Redis to answer again');
  });
});
