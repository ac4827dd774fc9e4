// The task table: who may see which upstream task, for how long, and within what bounds.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Snapshot } from '../../src/config/snapshot.ts';
import type { AgentSession, SessionStream } from '../../src/edge/agent-session.ts';
import { Exchange, type Origin } from '../../src/pipeline/exchange.ts';
import type { JsonRpcNotification } from '../../src/protocol/jsonrpc.ts';
import { ownerKey, parseCreateTaskResult, relatedTaskId, TaskTable, type AskAgent, type NewTask, type TaskOwner } from '../../src/relay/tasks.ts';
import { ANONYMOUS } from '../../src/pipeline/principal.ts';

const ALICE: TaskOwner = { principal: 'alice', session: undefined };
const BOB: TaskOwner = { principal: 'bob', session: undefined };

function clock(start = 1_000_000): { now: () => number; advance(ms: number): void } {
  let t = start;
  return { now: () => t, advance: (ms) => (t += ms) };
}

function task(taskId: string, extra: Partial<NewTask> = {}): NewTask {
  return { taskId, upstream: 'up', era: 'legacy', ttlMs: 60_000, ...extra };
}

function session(id: string, sent: object[] = []): AgentSession {
  const stream: SessionStream = { send: (m) => (sent.push(m), { ok: true }), closed: false, close: () => undefined };
  return {
    id,
    protocolVersion: '2025-11-25',
    clientCapabilities: {},
    clientInfo: undefined,
    principalId: ANONYMOUS.id,
    initialized: true,
    logLevel: undefined,
    stream,
    inflight: undefined,
    requests: undefined,
    resources: undefined,
    cleanup: undefined,
  };
}

function exchange(method: string, era: 'legacy' | 'modern', s?: AgentSession): Exchange {
  const origin: Origin = {
    era,
    protocolVersion: era === 'modern' ? '2026-07-28' : '2025-11-25',
    session: s,
    clientAddress: undefined,
    clientCapabilities: {},
    notify: undefined,
    ask: undefined,
    logLevel: undefined,
  };
  const x = new Exchange({} as Snapshot, origin, method, 1, {}, new AbortController().signal, 0);
  x.target = { kind: 'tool', upstream: 'up', name: 'up__slow', upstreamName: 'slow' };
  return x;
}

const legacyCreate = (taskId: string, ttl: number | null = 60_000) => ({ task: { taskId, status: 'working', ttl, createdAt: 'x', lastUpdatedAt: 'x' } });
const modernCreate = (taskId: string, ttlMs: number | null = 60_000) => ({ resultType: 'task', taskId, status: 'working', ttlMs, createdAt: 'x', lastUpdatedAt: 'x' });

describe('TaskTable ownership', () => {
  it('a task is visible to its owner only; anyone else gets what an unknown id gets', () => {
    const t = new TaskTable();
    t.record(ALICE, task('t1'));
    assert.equal(t.lookup(ALICE, 't1')?.upstream, 'up');
    assert.equal(t.lookup(BOB, 't1'), undefined);
    assert.equal(t.lookup(BOB, 'nope'), undefined);
    assert.deepEqual(t.owned(BOB, 0, 10), []);
  });

  it('a 2025 session binds the task: the same principal in another session cannot see it', () => {
    const t = new TaskTable();
    t.record({ principal: 'alice', session: 's1' }, task('t1'));
    assert.ok(t.lookup({ principal: 'alice', session: 's1' }, 't1'));
    assert.equal(t.lookup({ principal: 'alice', session: 's2' }, 't1'), undefined);
    assert.equal(t.lookup(ALICE, 't1'), undefined, 'nor a sessionless (2026) request of that principal');
  });

  it('owner keys cannot be forged by crafted principal ids, session ids or task ids', () => {
    const keys = new Set([
      ownerKey({ principal: 'a', session: undefined }),
      ownerKey({ principal: 'a', session: '' }),
      ownerKey({ principal: 'a|', session: undefined }),
      ownerKey({ principal: 'a', session: '-' }),
      ownerKey({ principal: '1:a|-|', session: undefined }),
    ]);
    assert.equal(keys.size, 5);
    const t = new TaskTable();
    t.record({ principal: 'victim', session: undefined }, task('secret'));
    // An attacker whose principal id is a prefix of the victim's key cannot reach it via the task id.
    assert.equal(t.lookup({ principal: 'v', session: undefined }, 'ictim|-|secret'), undefined);
  });

  it('the same id from two upstreams: kept apart across owners; for one owner the newer wins', () => {
    const t = new TaskTable();
    t.record(ALICE, task('dup', { upstream: 'a' }));
    t.record(BOB, task('dup', { upstream: 'b' }));
    assert.equal(t.lookup(ALICE, 'dup')?.upstream, 'a');
    assert.equal(t.lookup(BOB, 'dup')?.upstream, 'b');
    t.record(ALICE, task('dup', { upstream: 'c' }));
    assert.equal(t.lookup(ALICE, 'dup')?.upstream, 'c');
    assert.equal(t.size, 2);
  });

  it('forget and dropOwner remove entries', () => {
    const t = new TaskTable();
    const e = t.record(ALICE, task('t1'));
    t.record(ALICE, task('t2'));
    t.record(BOB, task('t3'));
    t.forget(e);
    assert.equal(t.lookup(ALICE, 't1'), undefined);
    t.dropOwner(ALICE);
    assert.equal(t.lookup(ALICE, 't2'), undefined);
    assert.ok(t.lookup(BOB, 't3'));
    assert.equal(t.size, 1);
  });
});

describe('TaskTable expiry and bounds', () => {
  it('an entry lives for its ttl plus grace, then reads as unknown', () => {
    const c = clock();
    const t = new TaskTable({ now: c.now, graceMs: 1_000 });
    t.record(ALICE, task('t1', { ttlMs: 5_000 }));
    c.advance(5_999);
    assert.ok(t.lookup(ALICE, 't1'));
    c.advance(1);
    assert.equal(t.lookup(ALICE, 't1'), undefined);
    assert.equal(t.size, 0, 'looked-up expired entries are dropped');
  });

  it('unlimited (null), missing and oversized ttls are capped at maxTtlMs', () => {
    const c = clock();
    const t = new TaskTable({ now: c.now, graceMs: 0, maxTtlMs: 10_000 });
    t.record(ALICE, task('null', { ttlMs: null }));
    t.record(ALICE, task('none', { ttlMs: undefined }));
    t.record(ALICE, task('big', { ttlMs: 1e12 }));
    t.record(ALICE, task('bad', { ttlMs: -5 }));
    c.advance(9_999);
    assert.equal(t.owned(ALICE, 0, 10).length, 4);
    c.advance(1);
    assert.equal(t.owned(ALICE, 0, 10).length, 0);
    assert.equal(t.size, 0);
  });

  it('sweep drops expired entries of every owner', () => {
    const c = clock();
    const t = new TaskTable({ now: c.now, graceMs: 0 });
    t.record(ALICE, task('short', { ttlMs: 100 }));
    t.record(BOB, task('short', { ttlMs: 100 }));
    t.record(BOB, task('long', { ttlMs: 100_000 }));
    c.advance(100);
    t.sweep();
    assert.equal(t.size, 1);
  });

  it('expired entries are swept when new tasks arrive', () => {
    const c = clock();
    const t = new TaskTable({ now: c.now, graceMs: 0 });
    for (let i = 0; i < 5; i++) t.record({ principal: `p${i}`, session: undefined }, task('t', { ttlMs: 1_000 }));
    c.advance(60_000);
    t.record(ALICE, task('fresh'));
    assert.equal(t.size, 1);
  });

  it('a full table evicts the oldest entry', () => {
    const t = new TaskTable({ maxEntries: 3 });
    t.record(ALICE, task('a1'));
    t.record(BOB, task('b1'));
    t.record(ALICE, task('a2'));
    t.record(BOB, task('b2'));
    assert.equal(t.size, 3);
    assert.equal(t.lookup(ALICE, 'a1'), undefined);
    assert.ok(t.lookup(BOB, 'b1'));
    assert.ok(t.lookup(BOB, 'b2'));
  });

  it('one owner over its bound evicts its own oldest, never someone else', () => {
    const t = new TaskTable({ maxPerOwner: 2 });
    t.record(BOB, task('b1'));
    t.record(ALICE, task('a1'));
    t.record(ALICE, task('a2'));
    t.record(ALICE, task('a3'));
    assert.deepEqual(t.owned(ALICE, 0, 10).map((e) => e.taskId), ['a2', 'a3']);
    assert.ok(t.lookup(BOB, 'b1'));
  });

  it('a per-owner bound of one still keeps the newest task', () => {
    const t = new TaskTable({ maxPerOwner: 1, maxEntries: 1 });
    t.record(ALICE, task('a1'));
    t.record(ALICE, task('a2'));
    assert.deepEqual(t.owned(ALICE, 0, 10).map((e) => e.taskId), ['a2']);
    assert.equal(t.size, 1);
  });

  it('owned pages by creation sequence, unaffected by entries removed in between', () => {
    const t = new TaskTable();
    const es = ['t1', 't2', 't3', 't4', 't5'].map((id) => t.record(ALICE, task(id)));
    const first = t.owned(ALICE, 0, 2);
    assert.deepEqual(first.map((e) => e.taskId), ['t1', 't2']);
    t.forget(es[2]!);
    assert.deepEqual(t.owned(ALICE, first.at(-1)!.seq, 2).map((e) => e.taskId), ['t4', 't5']);
  });
});

describe('recognising task-creating results', () => {
  it('parses both eras and nothing else', () => {
    assert.deepEqual(parseCreateTaskResult(legacyCreate('L', 300_000)), { taskId: 'L', era: 'legacy', ttlMs: 300_000 });
    assert.deepEqual(parseCreateTaskResult(legacyCreate('L', null)), { taskId: 'L', era: 'legacy', ttlMs: null });
    assert.deepEqual(parseCreateTaskResult(modernCreate('M', 5_000)), { taskId: 'M', era: 'modern', ttlMs: 5_000 });
    assert.equal(parseCreateTaskResult({ content: [{ type: 'text', text: 'hi' }] }), undefined);
    assert.equal(parseCreateTaskResult({ resultType: 'complete', taskId: 'x', status: 'working' }), undefined);
    assert.equal(parseCreateTaskResult({ resultType: 'task', taskId: 7, status: 'working' }), undefined);
    assert.equal(parseCreateTaskResult({ task: 'x' }), undefined);
    assert.equal(parseCreateTaskResult({ task: [{ taskId: 'x', status: 'working' }] }), undefined);
    assert.equal(parseCreateTaskResult({ task: { taskId: 'x' } }), undefined);
  });

  it('noteResult records tools/call tasks of the agent era with the call target', () => {
    const t = new TaskTable();
    const x = exchange('tools/call', 'modern');
    const e = t.noteResult(x, 'up', modernCreate('M'));
    assert.equal(e?.tool, 'up__slow');
    assert.equal(e?.upstreamTool, 'slow');
    assert.equal(e?.era, 'modern');
    assert.ok(t.lookup({ principal: ANONYMOUS.id, session: undefined }, 'M'));
  });

  it('noteResult ignores other methods, plain results and the other era shape', () => {
    const t = new TaskTable();
    // tasks/get answers in the 2026 shape carry taskId and status at the root too.
    assert.equal(t.noteResult(exchange('tasks/get', 'modern'), 'up', modernCreate('M')), undefined);
    assert.equal(t.noteResult(exchange('tools/call', 'modern'), 'up', { content: [] }), undefined);
    assert.equal(t.noteResult(exchange('tools/call', 'modern'), 'up', legacyCreate('L')), undefined);
    assert.equal(t.noteResult(exchange('tools/call', 'legacy', session('s')), 'up', modernCreate('M')), undefined);
    assert.equal(t.size, 0);
  });

  it('a 2025 session owns its tasks, gets their status notifications, and drops them when it ends', () => {
    const t = new TaskTable();
    const sent: object[] = [];
    const s = session('s1', sent);
    t.noteResult(exchange('tools/call', 'legacy', s), 'up', legacyCreate('L1'));
    t.noteResult(exchange('tools/call', 'legacy', s), 'up', legacyCreate('L2'));
    assert.equal(s.cleanup?.length, 1, 'one cleanup per session, however many tasks');
    const owner = { principal: ANONYMOUS.id, session: 's1' };
    assert.ok(t.lookup(owner, 'L1'));

    const n: JsonRpcNotification = { jsonrpc: '2.0', method: 'notifications/tasks/status', params: { taskId: 'L1', status: 'completed' } };
    assert.equal(t.relayStatus('up', n), true);
    assert.deepEqual(sent, [n]);
    assert.equal(t.relayStatus('other', n), false, 'same id from another upstream is not this task');
    assert.equal(t.relayStatus('up', { ...n, params: { taskId: 'unknown' } }), false);

    for (const fn of s.cleanup!) fn();
    assert.equal(t.lookup(owner, 'L1'), undefined);
    assert.equal(t.size, 0);
    assert.equal(t.relayStatus('up', n), false);
  });

  it('status notifications for a session without an open stream are accepted and not sent', () => {
    const t = new TaskTable();
    const s = session('s1');
    s.stream = undefined;
    t.noteResult(exchange('tools/call', 'legacy', s), 'up', legacyCreate('L1'));
    assert.equal(t.relayStatus('up', { jsonrpc: '2.0', method: 'notifications/tasks/status', params: { taskId: 'L1', status: 'working' } }), true);
  });
});

describe('upstream requests about a task', () => {
  const about = (taskId: unknown) => ({ jsonrpc: '2.0' as const, id: 9, method: 'elicitation/create', params: { message: 'which?', _meta: { 'io.modelcontextprotocol/related-task': { taskId } } } });
  const asker = (tag: string): AskAgent => async (req) => ({ jsonrpc: '2.0', id: req.id, result: { tag } });

  it('reads the related-task id, and nothing else', () => {
    assert.equal(relatedTaskId(about('t1').params), 't1');
    assert.equal(relatedTaskId(about(5).params), undefined);
    assert.equal(relatedTaskId({ _meta: null }), undefined);
    assert.equal(relatedTaskId({}), undefined);
    assert.equal(relatedTaskId(undefined), undefined);
  });

  it("go to the owner's newest waiting tasks/result, only while it waits, only from the task's upstream", async () => {
    const t = new TaskTable();
    const e = t.record(ALICE, task('t1', { upstream: 'up' }));
    assert.equal(t.askerFor('up', about('t1')), undefined, 'nobody waits yet');
    const end1 = t.awaitResult(e, asker('first'));
    const end2 = t.awaitResult(e, asker('second'));
    assert.deepEqual((await t.askerFor('up', about('t1'))!(about('t1'))), { jsonrpc: '2.0', id: 9, result: { tag: 'second' } });
    assert.equal(t.askerFor('other', about('t1')), undefined);
    assert.equal(t.askerFor('up', about('t2')), undefined);
    assert.equal(t.askerFor('up', { jsonrpc: '2.0', id: 1, method: 'roots/list' }), undefined);
    end2();
    assert.deepEqual(await t.askerFor('up', about('t1'))!(about('t1')), { jsonrpc: '2.0', id: 9, result: { tag: 'first' } });
    end1();
    end1();
    assert.equal(t.askerFor('up', about('t1')), undefined);
  });

  it('go to nobody when the upstream handed the same id to two agents', () => {
    const t = new TaskTable();
    const a = t.record(ALICE, task('t1'));
    const b = t.record(BOB, task('t1'));
    t.awaitResult(a, asker('alice'));
    t.awaitResult(b, asker('bob'));
    const n: JsonRpcNotification = { jsonrpc: '2.0', method: 'notifications/tasks/status', params: { taskId: 't1', status: 'working' } };
    assert.equal(t.askerFor('up', about('t1')), undefined);
    assert.equal(t.relayStatus('up', n), false);
    t.forget(b);
    assert.ok(t.askerFor('up', about('t1')), 'unambiguous again once one is gone');
  });

  it('stop once the task expires', () => {
    const c = clock();
    const t = new TaskTable({ now: c.now, graceMs: 0 });
    t.awaitResult(t.record(ALICE, task('t1', { ttlMs: 1_000 })), asker('a'));
    assert.ok(t.askerFor('up', about('t1')));
    c.advance(1_000);
    assert.equal(t.askerFor('up', about('t1')), undefined);
  });
});
