// Deadlines per upstream and per tool, restarted by progress up to a hard maximum, against a real MCP
// server over stdio (its stderr goes to a file: it reports what it started and what it was told to
// cancel) and over Streamable HTTP (a timed-out call closes its response stream).
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { UpstreamConfig } from '../../../src/config/schema/upstream.ts';
import { GatewayFault } from '../../../src/errors/codes.ts';
import type { JsonRpcNotification } from '../../../src/protocol/jsonrpc.ts';
import { connectUpstream } from '../../../src/upstream/connect.ts';
import { Router } from '../../../src/upstream/router.ts';
import type { UpstreamSession } from '../../../src/upstream/session.ts';
import { deps, eventually, httpConfig, RecordedEvents, stdioConfig, textOf } from '../support/helpers.ts';
import { lookup, RESILIENCE_SERVER, SessionTarget, snapshotOf } from './support/kit.ts';
import { startResilienceHttp, type ResilienceHttp } from './support/resilience-server.ts';

function timeoutOf(err: unknown): { message: string; detail: Record<string, unknown> } {
  assert.ok(err instanceof GatewayFault, `expected a GatewayFault, got ${String(err)}`);
  assert.equal(err.error.name, 'upstream_timeout');
  return { message: err.error.message, detail: err.error.detail ?? {} };
}

/** The request id of the last call of `tool` the server reported starting. */
function lastStarted(log: string, tool: string): string | undefined {
  return [...log.matchAll(new RegExp(`^started ${tool} (\\S+)$`, 'gm'))].at(-1)?.[1];
}

async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  assert.fail('the call was expected to fail');
}

describe('timeouts over stdio', () => {
  let tmp: string;
  let stderr: string;
  let session: UpstreamSession;
  const seen = () => readFileSync(stderr, 'utf8');
  before(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'gatehouse-timeouts-'));
    stderr = join(tmp, 'server.stderr');
    writeFileSync(stderr, '');
    // A shell that execs the server keeps one process and sends its stderr where the test can read it.
    const cfg = stdioConfig(['-c', 'exec "$0" "$1" 2>>"$2"', process.execPath, RESILIENCE_SERVER, stderr], { name: 'up', command: '/bin/sh' });
    session = await connectUpstream(cfg, deps(new RecordedEvents()));
  });
  after(async () => {
    await session.close();
    rmSync(tmp, { recursive: true, force: true });
  });

  /** A router over the one session, with these upstream settings. */
  function route(over: Partial<UpstreamConfig>) {
    const router = new Router(lookup(new SessionTarget('up', [session])));
    const snapshot = snapshotOf([stdioConfig(['x'], { name: 'up', retry: { attempts: 0, initialDelayMs: 0, maxDelayMs: 1, idempotentTools: [] }, ...over } as never)]);
    return {
      call: (name: string, args: Record<string, unknown>, opts: { onNotification?: (n: JsonRpcNotification) => void; meta?: Record<string, unknown> } = {}) =>
        router.call(snapshot, 'up', 'tools/call', { name, arguments: args, ...(opts.meta ? { _meta: opts.meta } : {}) }, opts.onNotification ? { onNotification: opts.onNotification } : {}),
      stats: () => router.stats(snapshot)[0]!,
    };
  }

  it('takes the first matching toolTimeoutsMs entry, in written order, and cancels the upstream work when it fires', async () => {
    const { call, stats } = route({ timeoutMs: 20_000, toolTimeoutsMs: { 'slo*': 150, slow: 99_999 } });
    const t = timeoutOf(await rejection(call('slow', { ms: 60_000 })));
    assert.equal(t.detail.timeoutMs, 150);
    assert.equal(t.detail.deadline, 'toolTimeoutsMs "slo*"');
    assert.match(t.message, /^tools\/call on upstream "up" got no answer within 150 ms \(toolTimeoutsMs "slo\*"\)$/);
    const id = lastStarted(seen(), 'slow');
    assert.ok(id !== undefined, 'the server started the call');
    await eventually(() => seen().includes(`cancelled slow ${id}\n`), 'the server to be told to cancel');
    assert.equal(stats().timeouts, 1);
  });

  it('uses timeoutMs for tools no entry matches', async () => {
    const { call } = route({ timeoutMs: 200, toolTimeoutsMs: { echo: 60_000 } });
    const t = timeoutOf(await rejection(call('never', {})));
    assert.equal(t.detail.timeoutMs, 200);
    assert.equal(t.detail.deadline, 'timeoutMs');
  });

  it('without progressResetsTimeout, progress does not move the deadline', async () => {
    const { call } = route({ timeoutMs: 20_000, toolTimeoutsMs: { sleepy_progress: 400 } });
    const t = timeoutOf(await rejection(call('sleepy_progress', { ms: 60_000, every: 20 }, { meta: { progressToken: 'p' } })));
    assert.equal(t.detail.deadline, 'toolTimeoutsMs "sleepy_progress"');
  });

  it('with progressResetsTimeout, each progress notification restarts the deadline (the agent asked for none)', async () => {
    const { call } = route({ timeoutMs: 20_000, toolTimeoutsMs: { sleepy_progress: 600 }, progressResetsTimeout: true });
    const res = await call('sleepy_progress', { ms: 1_800, every: 30 });
    assert.match(textOf(res), /^worked 1800ms, \d+ progress notifications$/);
    assert.doesNotMatch(textOf(res), /, 0 progress/, 'the gateway asked for progress itself');
  });

  it('delivers progress to an agent that asked for it, with its own token, while restarting the deadline', async () => {
    const { call } = route({ timeoutMs: 20_000, toolTimeoutsMs: { sleepy_progress: 600 }, progressResetsTimeout: true });
    const got: JsonRpcNotification[] = [];
    await call('sleepy_progress', { ms: 1_200, every: 30 }, { meta: { progressToken: 'agent-token' }, onNotification: (n) => got.push(n) });
    assert.ok(got.length > 0);
    assert.ok(got.every((n) => n.method === 'notifications/progress' && n.params?.progressToken === 'agent-token'));
  });

  it('fires the hard maximum however often progress comes, says so, and cancels the upstream work', async () => {
    const { call, stats } = route({ timeoutMs: 20_000, toolTimeoutsMs: { sleepy_progress: 500 }, progressResetsTimeout: true, maxTimeoutMs: 1_500 });
    const before = stats().timeouts;
    const t = timeoutOf(await rejection(call('sleepy_progress', { ms: 60_000, every: 20 })));
    assert.equal(t.detail.deadline, 'maxTimeoutMs');
    assert.equal(t.detail.timeoutMs, 1_500);
    assert.match(t.message, /hard maximum of 1500 ms \(maxTimeoutMs\); progress kept restarting its 500 ms deadline/);
    const id = lastStarted(seen(), 'sleepy_progress');
    assert.ok(id !== undefined);
    await eventually(() => seen().includes(`cancelled sleepy_progress ${id}\n`), 'the server to be told to cancel');
    assert.equal(stats().timeouts, before + 1);
  });

  it('caps every deadline at maxTimeoutMs, and leaves a tighter deadline of the caller alone', async () => {
    const { call } = route({ timeoutMs: 20_000, maxTimeoutMs: 250 });
    const t = timeoutOf(await rejection(call('never', {})));
    assert.equal(t.detail.timeoutMs, 250);
    assert.equal(t.detail.deadline, 'maxTimeoutMs');

    const router = new Router(lookup(new SessionTarget('up', [session])));
    const snapshot = snapshotOf([stdioConfig(['x'], { name: 'up', timeoutMs: 20_000 })]);
    const own = timeoutOf(await rejection(router.call(snapshot, 'up', 'tools/call', { name: 'never', arguments: {} }, { timeoutMs: 120 })));
    assert.equal(own.detail.timeoutMs, 120);
    assert.equal(own.detail.deadline, 'call');
  });
});

describe('timeouts over Streamable HTTP (2026-07-28)', () => {
  let server: ResilienceHttp;
  let session: UpstreamSession;
  before(async () => {
    server = await startResilienceHttp();
    session = await connectUpstream(httpConfig(server.url, { name: 'up' }), deps(new RecordedEvents()));
  });
  after(async () => {
    await session.close();
    await server.close();
  });

  it('a timed-out call closes its response stream, which cancels the upstream work', async () => {
    assert.equal(session.era, 'modern');
    const router = new Router(lookup(new SessionTarget('up', [session])));
    const snapshot = snapshotOf([httpConfig(server.url, { name: 'up', timeoutMs: 20_000, toolTimeoutsMs: { slow_first: 200 }, retry: { attempts: 0 } } as never)]);
    const t = timeoutOf(await rejection(router.call(snapshot, 'up', 'tools/call', { name: 'slow_first', arguments: { key: 'http-cancel', ms: 60_000 } }, {})));
    assert.equal(t.detail.deadline, 'toolTimeoutsMs "slow_first"');
    await eventually(() => server.state.events.some((e) => e.startsWith('cancelled slow_first')), 'the server to see the stream closed');
  });

  it('progress on the response stream restarts the deadline', async () => {
    const router = new Router(lookup(new SessionTarget('up', [session])));
    const snapshot = snapshotOf([httpConfig(server.url, { name: 'up', timeoutMs: 20_000, toolTimeoutsMs: { sleepy_progress: 600 }, progressResetsTimeout: true })]);
    const res = await router.call(snapshot, 'up', 'tools/call', { name: 'sleepy_progress', arguments: { ms: 1_500, every: 30 } }, {});
    assert.match(textOf(res), /^worked 1500ms/);
  });
});
