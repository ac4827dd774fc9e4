// The replica pool over real stdio processes (test/fixtures/replica-server.ts, which answers with its
// pid): least-outstanding balancing, failover, the avoid hint a retry gives, and reloads that keep
// running replicas.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { GatewayFault } from '../../src/errors/codes.ts';
import { leastOutstanding } from '../../src/upstream/balance.ts';
import { NotSentFault, type CallOptions } from '../../src/upstream/session.ts';
import { allReady, compiled, count, newPool, REPLICA_SERVER, replicaPids, slowWhoami, whoami, type TestPool } from './pool-support.ts';
import { startServerEverything, type RunningServer } from '../support/processes.ts';
import { eventually, pidAlive, sseConfig, stdioConfig, textOf } from './support/helpers.ts';

const seen = new Set<number>();

function stdioReplicas(replicas: number, over: Record<string, unknown> = {}) {
  return compiled(stdioConfig([REPLICA_SERVER, 'stdio'], { name: 'files', replicas, ...over }));
}

after(() => {
  for (const pid of seen) if (pidAlive(pid)) process.kill(pid, 'SIGKILL');
});

describe('leastOutstanding', () => {
  const r = (label: string, outstanding: number, state = 'ready', avoidUntil = 0) => ({ label, outstanding, state, avoidUntil });

  it('picks the ready replica with the fewest outstanding calls', () => {
    const rs = [r('a', 3), r('b', 1, 'unhealthy'), r('c', 2), r('d', 0, 'connecting')];
    assert.equal(leastOutstanding(rs, 0, undefined, 0)?.label, 'c');
    assert.equal(leastOutstanding([r('a', 0, 'unhealthy')], 0, undefined, 0), undefined);
  });

  it('gives ties to each in turn, from where the scan starts', () => {
    const rs = [r('a', 1), r('b', 1), r('c', 1)];
    assert.deepEqual([0, 1, 2, 3, 7].map((start) => leastOutstanding(rs, start, undefined, 0)?.label), ['a', 'b', 'c', 'a', 'a']);
  });

  it('puts replicas this call failed on last, then those that just failed, whatever their load', () => {
    const rs = [r('a', 0), r('b', 5, 'ready', 100), r('c', 9)];
    assert.equal(leastOutstanding(rs, 0, ['a'], 50)?.label, 'c');
    assert.equal(leastOutstanding(rs, 0, ['a'], 150)?.label, 'b', 'the failure is forgotten after a while');
    assert.equal(leastOutstanding(rs, 0, ['a', 'c'], 50)?.label, 'b');
    assert.equal(leastOutstanding([r('a', 0)], 0, ['a'], 0)?.label, 'a', 'a hint: the only ready replica still gets the call');
  });
});

describe('pool: balancing over two stdio replicas', () => {
  let t: TestPool;
  let pids: number[];
  before(async () => {
    t = newPool(stdioReplicas(2));
    await t.pool.start();
    await allReady(t.pool);
    pids = replicaPids(t.pool);
    for (const p of pids) seen.add(p);
  });
  after(() => t.pool.stop());

  it('names the replicas and is ready with its first ready replica', () => {
    assert.deepEqual(t.pool.status().map((s) => s.name), ['files#1', 'files#2']);
    assert.equal(t.pool.state, 'ready');
    assert.equal(t.pool.reason, undefined);
    assert.ok(t.pool.lists.tools.some((tool) => tool.name === 'whoami'));
    assert.notEqual(pids[0], pids[1]);
  });

  it('concurrent calls go to the replica with the fewest outstanding calls', async () => {
    // Issued in one tick, so each pick sees the calls picked before it still outstanding.
    const calls = [0, 1, 2, 3].map(() => slowWhoami(t.pool, 300));
    assert.deepEqual(t.pool.status().map((s) => s.outstanding), [2, 2]);
    const served = count(await Promise.all(calls));
    assert.deepEqual([...served.values()], [2, 2], `two calls each: ${JSON.stringify([...served])}`);
    assert.deepEqual(t.pool.status().map((s) => s.outstanding), [0, 0], 'settled calls are no longer outstanding');
  });

  it('a busy replica gets the new calls while the other works', async () => {
    const slow = slowWhoami(t.pool, 1_000);
    const busy = t.pool.status().findIndex((s) => s.outstanding === 1);
    assert.ok(busy >= 0);
    const quick = [];
    for (let i = 0; i < 3; i++) quick.push(await whoami(t.pool));
    assert.deepEqual(quick, [pids[1 - busy], pids[1 - busy], pids[1 - busy]], 'idle replica served every quick call');
    assert.equal(await slow, pids[busy]);
  });

  it('ties are broken in turn: idle calls alternate', async () => {
    const order = [];
    for (let i = 0; i < 4; i++) order.push(await whoami(t.pool));
    assert.deepEqual([...count(order).values()], [2, 2]);
    assert.notEqual(order[0], order[1]);
  });

  it('says where each attempt went, and honours the avoid hint of a retry', async () => {
    const opts: CallOptions = {};
    const first = await whoami(t.pool, opts);
    assert.ok(opts.replica === 'files#1' || opts.replica === 'files#2');
    const label = opts.replica!;
    for (let i = 0; i < 3; i++) {
      const retry: CallOptions = { avoid: [label] };
      assert.notEqual(await whoami(t.pool, retry), first, 'the avoided replica is passed over');
      assert.notEqual(retry.replica, label);
    }
    // With every ready replica avoided, one still gets the call.
    assert.ok(pids.includes(await whoami(t.pool, { avoid: ['files#1', 'files#2'] })));
  });
});

describe('pool: failover', () => {
  let t: TestPool;
  before(async () => {
    // A killed replica stays down long enough to look at (backoff of a minute).
    t = newPool(stdioReplicas(2, { restart: { initialDelayMs: 60_000, maxDelayMs: 60_000 } }));
    await t.pool.start();
    await allReady(t.pool);
    for (const p of replicaPids(t.pool)) seen.add(p);
  });
  after(() => t.pool.stop());

  it('a call right after a replica died lands on the survivor; none is sent to the dead one', async () => {
    const [a, b] = replicaPids(t.pool) as [number, number];
    const inflight = slowWhoami(t.pool, 5_000);
    const victim = t.pool.status().findIndex((s) => s.outstanding === 1);
    const victimPid = victim === 0 ? a : b;
    const survivor = victim === 0 ? b : a;
    process.kill(victimPid, 'SIGKILL');
    const err = await inflight.then(
      () => assert.fail('the call on the killed replica cannot succeed'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof GatewayFault && err.error.name === 'upstream_failed', String(err));
    // The retry interceptor calls again at once: the pool must already know.
    assert.equal(await whoami(t.pool), survivor);
    assert.equal(t.pool.replicas[victim]!.state, 'unhealthy');
    assert.equal(t.pool.state, 'ready');
    for (let i = 0; i < 4; i++) assert.equal(await whoami(t.pool), survivor);
  });

  it('rejects with upstream_unavailable (not sent) only when no replica is ready, naming each', async () => {
    const alive = t.pool.status().find((s) => s.state === 'ready');
    assert.ok(alive?.pid !== undefined);
    process.kill(alive.pid, 'SIGKILL');
    await eventually(() => t.pool.state === 'unhealthy', 'every replica down');
    const err = await whoami(t.pool).then(
      () => assert.fail('no replica is ready'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof NotSentFault, 'nothing was sent: a retry is safe');
    assert.equal(err.error.name, 'upstream_unavailable');
    assert.match(err.error.message, /^upstream "files" is unavailable: all 2 replicas are unavailable: files#1: .+; files#2: .+/);
    assert.match(t.pool.reason ?? '', /all 2 replicas are unavailable/);
  });
});

describe('pool: reload', () => {
  let t: TestPool;
  before(async () => {
    t = newPool(stdioReplicas(2));
    await t.pool.start();
    await allReady(t.pool);
    for (const p of replicaPids(t.pool)) seen.add(p);
  });
  after(() => t.pool.stop());

  it('an unchanged config keeps every replica; new settings reach the running ones', async () => {
    const before = replicaPids(t.pool);
    await t.pool.apply(stdioReplicas(2, { timeoutMs: 12_345 }));
    assert.deepEqual(replicaPids(t.pool), before);
    assert.equal(t.pool.replicas[0]!.spec.upstream.config.timeoutMs, 12_345);
  });

  it('adding a replica starts one and keeps the others; removing stops only the removed', async () => {
    const [a, b] = replicaPids(t.pool) as [number, number];
    await t.pool.apply(stdioReplicas(3));
    await allReady(t.pool);
    const three = replicaPids(t.pool);
    for (const p of three) seen.add(p);
    assert.deepEqual(three.slice(0, 2), [a, b], 'the first two kept running');
    assert.deepEqual(t.pool.status().map((s) => s.name), ['files#1', 'files#2', 'files#3']);
    const served = new Set<number>();
    for (let i = 0; i < 6; i++) served.add(await whoami(t.pool));
    assert.equal(served.size, 3, 'the new replica takes calls');

    await t.pool.apply(stdioReplicas(1));
    assert.deepEqual(replicaPids(t.pool), [a]);
    assert.deepEqual(t.pool.status().map((s) => s.name), ['files'], 'a lone replica is the upstream itself');
    await eventually(() => !pidAlive(b) && !pidAlive(three[2]!), 'removed replicas reaped');
    assert.equal(await whoami(t.pool), a);
  });
});

describe('pool: legacy HTTP+SSE replicas (server-everything)', () => {
  const servers: RunningServer[] = [];
  let t: TestPool;
  before(async () => {
    servers.push(await startServerEverything('sse'), await startServerEverything('sse'));
    t = newPool(compiled(sseConfig(servers[0]!.url, { name: 'everything', replicaUrls: [servers[1]!.url] })));
    await t.pool.start();
    await allReady(t.pool);
  });
  after(async () => {
    await t.pool.stop();
    await Promise.all(servers.map((s) => s.stop()));
  });

  it('each URL is a replica with its own session; calls use both', async () => {
    assert.deepEqual(t.pool.status().map((s) => [s.name, s.state, s.era]), [['everything#1', 'ready', 'legacy'], ['everything#2', 'ready', 'legacy']]);
    for (let i = 0; i < 4; i++) {
      const res = await t.pool.request('tools/call', { name: 'echo', arguments: { message: `m${i}` } }, {});
      assert.equal(textOf(res), `Echo: m${i}`);
    }
    assert.deepEqual(t.pool.status().map((s) => s.calls), [2, 2]);
  });
});

