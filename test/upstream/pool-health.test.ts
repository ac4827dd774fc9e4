// Active health checks of replicas: they reuse what calls use (the 2025-era session, the 2026-07-28
// keep-alive connections; never a new session), and a replica failing one leaves the rotation at once
// while the calls already on it finish undisturbed.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startNodeScript, startServerEverything, type RunningServer } from '../support/processes.ts';
import { allReady, compiled, newPool, REPLICA_SERVER, replicaPids, slowWhoami, whoami, type TestPool } from './pool-support.ts';
import { eventually, httpConfig, pidAlive, stdioConfig } from './support/helpers.ts';
import { modernRequest } from '../harness/rpc.ts';

interface Stats {
  connections: number;
  openedBy: Record<string, number>;
  requests: Record<string, number>;
}

/** Asked by the test's own HTTP client, so the gateway's connections carry nothing but health checks. */
async function statsOf(url: string): Promise<Stats> {
  const r = await modernRequest(url, 'tools/call', { name: 'stats', arguments: {} });
  const stats = r.response?.result?.structuredContent as Stats | undefined;
  assert.ok(stats !== undefined, `stats from ${url}: ${JSON.stringify(r.response)}`);
  return stats;
}

describe('health checks: 2026-07-28 replicas over HTTP', () => {
  const servers: RunningServer[] = [];
  let t: TestPool;
  before(async () => {
    servers.push(await startNodeScript(REPLICA_SERVER, [], { PORT: '0' }), await startNodeScript(REPLICA_SERVER, [], { PORT: '0' }));
    t = newPool(compiled(httpConfig(servers[0]!.url, { name: 'modern', replicaUrls: [servers[1]!.url], healthIntervalMs: 100 })));
    await t.pool.start();
    await allReady(t.pool);
  });
  after(async () => {
    await t.pool.stop();
    await Promise.all(servers.map((s) => s.stop()));
  });

  it('both URLs are replicas of one upstream, speaking the modern era', () => {
    assert.deepEqual(t.pool.status().map((s) => [s.name, s.era]), [['modern#1', 'modern'], ['modern#2', 'modern']]);
  });

  it('checks ask server/discover over the connections already open, never ping, never a new connection', async () => {
    for (const server of servers) {
      const before = await statsOf(server.url);
      const discovers = before.requests['server/discover'] ?? 0;
      let now = before;
      // The deadline only turns a hang into a readable failure.
      for (const until = Date.now() + 30_000; (now.requests['server/discover'] ?? 0) < discovers + 5; ) {
        assert.ok(Date.now() < until, `${server.url}: five more health checks`);
        await new Promise((r) => setTimeout(r, 100));
        now = await statsOf(server.url);
      }
      assert.equal(now.requests.ping, undefined, 'no ping in the 2026-07-28 era');
      // Only the era probe at start-up opened a connection with server/discover.
      assert.equal(now.openedBy['server/discover'], before.openedBy['server/discover'], 'the checks opened no connection');
      assert.equal(before.openedBy['server/discover'], 1);
    }
  });
});

describe('health checks: 2025-era replicas over HTTP (server-everything)', () => {
  const servers: RunningServer[] = [];
  let t: TestPool;
  before(async () => {
    servers.push(await startServerEverything('streamableHttp'), await startServerEverything('streamableHttp'));
    t = newPool(compiled(httpConfig(servers[0]!.url, { name: 'legacy', replicaUrls: [servers[1]!.url], healthIntervalMs: 100 })));
    await t.pool.start();
    await allReady(t.pool);
  });
  after(async () => {
    await t.pool.stop();
    await Promise.all(servers.map((s) => s.stop()));
  });

  it('checks ping over the one session each replica holds: no new session is ever made', async () => {
    const posts = (s: RunningServer) => s.output().stdout.split('Received MCP POST request').length - 1;
    const sessions = (s: RunningServer) => s.output().stdout.split('Session initialized with ID').length - 1;
    const start = servers.map(posts);
    await eventually(() => servers.every((s, i) => posts(s) >= start[i]! + 5), 'five more health checks on each replica');
    assert.deepEqual(servers.map(sessions), [1, 1], 'one session per replica, made by the first connection');
    assert.deepEqual(t.pool.status().map((s) => s.state), ['ready', 'ready']);
  });
});

describe('health checks: a replica that stops answering', () => {
  let t: TestPool;
  const seen = new Set<number>();
  before(async () => {
    // The check's deadline follows timeoutMs; calls below set their own, longer one.
    t = newPool(compiled(stdioConfig([REPLICA_SERVER, 'stdio'], { name: 'files', replicas: 2, timeoutMs: 1_000, healthIntervalMs: 100, restart: { initialDelayMs: 100, maxDelayMs: 200 } })));
    await t.pool.start();
    await allReady(t.pool);
    for (const p of replicaPids(t.pool)) seen.add(p);
  });
  after(async () => {
    await t.pool.stop();
    for (const pid of seen) {
      if (!pidAlive(pid)) continue;
      process.kill(pid, 'SIGCONT');
      process.kill(pid, 'SIGKILL');
    }
  });

  it('leaves the rotation and reconnects; the call already on it finishes there', async () => {
    const inflight = slowWhoami(t.pool, 300, { timeoutMs: 60_000 });
    const victim = t.pool.replicas.find((r) => r.outstanding === 1)!;
    const other = t.pool.replicas.find((r) => r !== victim)!;
    const [victimPid, otherPid] = [victim, other].map((r) => t.pool.status().find((s) => s.name === r.label)!.pid!) as [number, number];
    process.kill(victimPid, 'SIGSTOP');
    try {
      await eventually(() => victim.state !== 'ready', `${victim.label} out of rotation`);
      assert.match(victim.reason ?? '', /health check failed/);
      assert.equal(await whoami(t.pool), otherPid, 'calls go to the healthy replica');
    } finally {
      process.kill(victimPid, 'SIGCONT');
    }
    assert.equal(await inflight, victimPid, 'the call in flight was not disturbed by the failed check');
    await eventually(() => victim.state === 'ready', `${victim.label} reconnected`);
    const fresh = t.pool.status().find((s) => s.name === victim.label)!.pid!;
    seen.add(fresh);
    assert.notEqual(fresh, victimPid, 'a new process');
    await eventually(() => !pidAlive(victimPid), 'the old process is stopped once its call is done');
    const served = new Set<number>();
    for (let i = 0; i < 4; i++) served.add(await whoami(t.pool));
    assert.deepEqual([...served].sort(), [fresh, otherPid].sort(), 'both replicas take calls again');
  });
});
