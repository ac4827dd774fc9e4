// Replicas of one upstream behind the gateway, end to end: calls spread over them, a replica killed
// under load loses no call that may be retried and comes back, a task is polled on the replica that
// created it, a 2025-era subscription moves to a surviving replica, and `gatehouse servers` shows each.
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { Client as V1Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as V1Transport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { CreateTaskResultSchema, ResourceUpdatedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { startGateway, stdioEverything, type TestGateway } from '../../harness/gateway.ts';
import { killLeftovers, pidAlive, waitFor } from '../../harness/pids.ts';
import { modernRequest } from '../../harness/rpc.ts';
import type { UpstreamPool } from '../../../src/upstream/pool.ts';

const REPLICA_SERVER = fileURLToPath(new URL('../../fixtures/replica-server.ts', import.meta.url));
const RESEARCH = 'everything__simulate-research-query';

function pool(gw: TestGateway, name: string): UpstreamPool {
  const p = gw.running.gateway.registry.get(name);
  assert.ok(p !== undefined, `upstream ${name}`);
  return p;
}

function replicaPids(p: UpstreamPool): number[] {
  return p.status().map((s) => s.pid).filter((pid): pid is number => pid !== undefined);
}

type Outcome = { pid: number } | { error: string };

async function slowWhoami(gw: TestGateway, ms: number): Promise<Outcome> {
  const r = await modernRequest(gw.url, 'tools/call', { name: 'files__slow_whoami', arguments: { ms } });
  const pid = (r.response?.result?.structuredContent as { pid?: unknown } | undefined)?.pid;
  if (typeof pid === 'number') return { pid };
  return { error: JSON.stringify(r.response?.error ?? r.response ?? r.status) };
}

describe('stdio replicas under load', () => {
  let gw: TestGateway;
  const seen = new Set<number>();
  before(async () => {
    gw = await startGateway({
      upstreams: [
        {
          name: 'files',
          transport: 'stdio',
          command: process.execPath,
          args: [REPLICA_SERVER, 'stdio'],
          replicas: 2,
          // Safe to repeat, so the retry interceptor may send a call again after its replica died.
          toolClasses: { whoami: 'read_only', slow_whoami: 'read_only' },
          // A killed replica stays away for a moment, so the survivor is seen carrying the load alone.
          restart: { initialDelayMs: 1_000, maxDelayMs: 2_000 },
        },
      ],
    });
    await waitFor(() => pool(gw, 'files').replicas.every((r) => r.state === 'ready'), 'both replicas ready');
    for (const pid of replicaPids(pool(gw, 'files'))) seen.add(pid);
  });
  after(async () => {
    await gw.stop();
    assert.deepEqual(killLeftovers(seen), [], 'every replica process went with the gateway');
  });

  it('concurrent calls are spread over both replicas', async () => {
    const outcomes = await Promise.all(Array.from({ length: 8 }, () => slowWhoami(gw, 300)));
    const pids = new Set(outcomes.map((o) => ('pid' in o ? o.pid : assert.fail(o.error))));
    assert.deepEqual([...pids].sort(), replicaPids(pool(gw, 'files')).sort());
  });

  it('a replica killed under load loses no call; the survivor carries on; the replica comes back and rejoins', async () => {
    const p = pool(gw, 'files');
    const [victimPid, survivorPid] = replicaPids(p) as [number, number];
    const victim = p.replicas.find((r) => p.status()[p.replicas.indexOf(r)]!.pid === victimPid)!;
    const results: { outcome: Outcome; afterKill: boolean; victimReady: boolean }[] = [];
    let killed = false;
    let stop = false;
    const worker = async (): Promise<void> => {
      while (!stop) {
        const afterKill = killed;
        const outcome = await slowWhoami(gw, 50);
        results.push({ outcome, afterKill, victimReady: victim.state === 'ready' });
      }
    };
    const workers = Array.from({ length: 6 }, worker);
    await waitFor(() => {
      const pids = new Set(results.map((r) => ('pid' in r.outcome ? r.outcome.pid : 0)));
      return pids.has(victimPid) && pids.has(survivorPid) && victim.outstanding > 0;
    }, 'both replicas serving the load, calls in flight on the victim');
    // Killed in the same tick as the check: these calls are on it when it dies.
    const caught = victim.outstanding;
    process.kill(victimPid, 'SIGKILL');
    killed = true;
    await waitFor(() => results.filter((r) => r.afterKill).length >= 40, 'forty calls after the kill');
    stop = true;
    await Promise.all(workers);

    const failed = results.filter((r) => 'error' in r.outcome);
    assert.deepEqual(failed.map((r) => r.outcome), [], 'every call succeeded');
    const retries = gw.running.gateway.router.stats(gw.running.gateway.snapshot).find((st) => st.upstream === 'files')?.retries ?? 0;
    // A call counted outstanding may have had its answer in the pipe already when the process died, so
    // not every one of them needs a retry; with 50 ms calls at least one of them is cut off.
    assert.ok(retries >= 1 && retries <= results.length, `calls in flight on the killed replica (${caught}) were retried (${retries} retries)`);
    const whileDown = results.filter((r) => r.afterKill && !r.victimReady);
    assert.ok(whileDown.length > 0);
    for (const r of whileDown) assert.equal((r.outcome as { pid: number }).pid, survivorPid, 'while the replica was down, the survivor served');

    await waitFor(() => victim.state === 'ready', 'the killed replica restarted');
    const fresh = replicaPids(p).find((pid) => pid !== survivorPid)!;
    seen.add(fresh);
    assert.notEqual(fresh, victimPid);
    assert.equal(pidAlive(victimPid), false);
    const rejoined = await Promise.all(Array.from({ length: 8 }, () => slowWhoami(gw, 200)));
    assert.deepEqual([...new Set(rejoined.map((o) => ('pid' in o ? o.pid : assert.fail(o.error))))].sort(), [fresh, survivorPid].sort(), 'the restarted replica takes calls again');
  });
});

describe('state that lives in one replica (two server-everything processes)', () => {
  let gw: TestGateway;
  const seen = new Set<number>();
  before(async () => {
    gw = await startGateway({ upstreams: [stdioEverything('everything', { replicas: 2, restart: { initialDelayMs: 200, maxDelayMs: 1_000 } })] });
    const p = pool(gw, 'everything');
    // server-everything registers its task tools once initialized, then says its list changed: each replica.
    await waitFor(() => p.replicas.every((r) => r.state === 'ready' && r.lists.tools.some((t) => t.name === 'simulate-research-query')), 'task tools on both replicas');
    for (const pid of replicaPids(p)) seen.add(pid);
  });
  after(async () => {
    await gw.stop();
    assert.deepEqual(killLeftovers(seen), [], 'every replica process went with the gateway');
  });

  async function connect(): Promise<V1Client> {
    const c = new V1Client({ name: 'replicas-e2e', version: '1.0.0' });
    await c.connect(new V1Transport(new URL(gw.url)));
    return c;
  }

  it('a task is polled (and cancelled) on the replica that created it', async () => {
    const p = pool(gw, 'everything');
    const c = await connect();
    try {
      // Idle calls take turns, so a few creations put tasks on both replicas.
      const byReplica = new Map<string, string>();
      for (let i = 0; i < 6 && byReplica.size < 2; i++) {
        const created = await c.request({ method: 'tools/call', params: { name: RESEARCH, arguments: { topic: `t${i}` } } }, CreateTaskResultSchema, { task: { ttl: 60_000 } });
        const holder = p.taskReplica(created.task.taskId);
        assert.ok(holder !== undefined, 'the pool remembers where the task was created');
        byReplica.set(holder.label, created.task.taskId);
      }
      assert.deepEqual([...byReplica.keys()].sort(), ['everything#1', 'everything#2']);
      for (const [label, taskId] of byReplica) {
        const holder = p.replicas.find((r) => r.label === label)!;
        const others = p.replicas.filter((r) => r !== holder);
        const before = [holder.calls, ...others.map((r) => r.calls)];
        for (let i = 0; i < 3; i++) {
          const t = await c.experimental.tasks.getTask(taskId);
          assert.equal(t.taskId, taskId);
          assert.ok(['working', 'input_required', 'completed'].includes(t.status), t.status);
        }
        assert.equal((await c.experimental.tasks.cancelTask(taskId)).status, 'cancelled');
        assert.equal(holder.calls, before[0]! + 4, `${label} answered every poll and the cancel`);
        assert.deepEqual(others.map((r) => r.calls), before.slice(1), 'no other replica was asked');
      }
    } finally {
      await c.close();
    }
  });

  it('a 2025-era subscription moves to a surviving replica when its replica dies', async () => {
    const p = pool(gw, 'everything');
    // server-everything sends updates every few seconds for subscribed URIs once told to, per process:
    // told on each replica directly.
    for (const r of p.replicas) {
      const res = await r.request('tools/call', { name: 'toggle-subscriber-updates', arguments: {} }, {});
      assert.ok('result' in res, JSON.stringify(res));
    }
    const list = await modernRequest(gw.url, 'resources/list', {});
    const uri = ((list.response?.result?.resources ?? []) as { uri: string }[])[0]?.uri;
    assert.ok(uri !== undefined);
    const c = await connect();
    const updates: string[] = [];
    let wake: (() => void) | undefined;
    c.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => {
      updates.push(n.params.uri);
      wake?.();
    });
    const nextUpdate = () => new Promise<void>((resolve) => (wake = resolve));
    try {
      let got = nextUpdate();
      await c.subscribeResource({ uri });
      await got;
      const holder = p.replicas.find((r) => r.session !== undefined && r.session === p.holderOf(uri));
      assert.ok(holder !== undefined, 'the subscription is pinned to a live replica');
      const holderPid = p.status()[p.replicas.indexOf(holder)]!.pid!;
      const survivor = p.replicas.find((r) => r !== holder)!;

      process.kill(holderPid, 'SIGKILL');
      await waitFor(() => p.holderOf(uri) !== undefined && p.holderOf(uri) === survivor.session, 'subscribed again on the survivor');
      const seenBefore = updates.length;
      got = nextUpdate();
      await got;
      assert.ok(updates.length > seenBefore && updates.every((u) => u === uri), 'updates keep coming, from the survivor');

      const callsBefore = survivor.calls;
      await c.unsubscribeResource({ uri });
      assert.equal(survivor.calls, callsBefore + 1, 'the unsubscribe went to the replica holding the subscription');
      await waitFor(() => holder.state === 'ready', 'the killed replica restarted');
      seen.add(p.status()[p.replicas.indexOf(holder)]!.pid!);
    } finally {
      await c.close();
    }
  });
});

describe('gatehouse servers', () => {
  it('shows each replica of an upstream with several', async () => {
    const gw = await startGateway({ upstreams: [{ name: 'files', transport: 'stdio', command: process.execPath, args: [REPLICA_SERVER, 'stdio'], replicas: 2 }] });
    const pids = new Set<number>();
    let out = '';
    try {
      await waitFor(() => pool(gw, 'files').replicas.every((r) => r.state === 'ready'), 'both replicas ready');
      const { serversCommand } = await import('../../../src/cli/inspect.ts');
      const write = process.stdout.write;
      process.stdout.write = ((chunk: string) => ((out += chunk), true)) as typeof process.stdout.write;
      try {
        await serversCommand({ config: gw.configFile, json: true, wait: '20000' });
      } finally {
        process.stdout.write = write;
      }
    } finally {
      await gw.stop();
    }
    const rows = JSON.parse(out) as { name: string; state: string; replicas?: { name: string; state: string; pid?: number }[] }[];
    assert.equal(rows.length, 1);
    assert.equal(rows[0]!.name, 'files');
    assert.equal(rows[0]!.state, 'ready');
    assert.deepEqual(rows[0]!.replicas?.map((r) => [r.name, r.state]), [["files#1", "ready"], ["files#2", "ready"]], JSON.stringify(rows));
    for (const r of rows[0]!.replicas!) if (r.pid !== undefined) pids.add(r.pid);
    assert.equal(pids.size, 2);
    assert.deepEqual(killLeftovers(pids), [], 'the inspecting gateway stopped its replicas');
  });
});
