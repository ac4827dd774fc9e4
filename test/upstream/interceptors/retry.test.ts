// Retries through the router against real MCP servers: a failure before the request left the gateway
// is retried for any tool (and lands on the next session, as a pool fails over); a timed-out call is
// retried only when the tool is read-only or listed as idempotent; answers and cancellations never are.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import type { UpstreamConfig } from '../../../src/config/schema/upstream.ts';
import { GatewayFault } from '../../../src/errors/codes.ts';
import { connectUpstream } from '../../../src/upstream/connect.ts';
import { Router } from '../../../src/upstream/router.ts';
import { NotSentFault, type UpstreamSession } from '../../../src/upstream/session.ts';
import { HttpEndpoint } from '../../../src/upstream/transports/http-endpoint.ts';
import { StreamableHttpSession } from '../../../src/upstream/transports/streamable-http.ts';
import { freePort } from '../../support/processes.ts';
import { deps, httpConfig, quietLogger, RecordedEvents, stdioConfig, textOf } from '../support/helpers.ts';
import { faultNamed, lookup, RESILIENCE_SERVER, SessionTarget, snapshotOf } from './support/kit.ts';

const RETRY = { attempts: 2, initialDelayMs: 1, maxDelayMs: 5, idempotentTools: [] as string[] };

describe('retries', () => {
  let live: UpstreamSession;
  before(async () => {
    live = await connectUpstream(stdioConfig([RESILIENCE_SERVER], { name: 'up' }), deps(new RecordedEvents()));
  });
  after(async () => {
    await live.close();
  });

  function route(sessions: UpstreamSession[], over: Partial<UpstreamConfig> = {}) {
    const target = new SessionTarget('up', sessions);
    const logged: Array<Record<string, unknown>> = [];
    const log = pino({ level: 'debug' }, { write: (line: string) => void logged.push(JSON.parse(line) as Record<string, unknown>) });
    const router = new Router(lookup(target), log);
    const snapshot = snapshotOf([stdioConfig(['x'], { name: 'up', retry: RETRY, ...over } as never)]);
    return {
      target,
      logged,
      call: (method: string, params: Record<string, unknown>, opts = {}) => router.call(snapshot, 'up', method, params, opts),
      stats: () => router.stats(snapshot)[0]!,
    };
  }

  it('retries a write tool whose request never left (the session is closed) on the next session', async () => {
    const dead = await connectUpstream(stdioConfig([RESILIENCE_SERVER], { name: 'up' }), deps(new RecordedEvents()));
    await dead.close();
    const { target, call, stats, logged } = route([dead, live]);
    const res = await call('tools/call', { name: 'echo', arguments: { message: 'after failover' } });
    assert.equal(textOf(res), 'Echo: after failover');
    assert.deepEqual(target.used, [0, 1]);
    assert.equal(stats().retries, 1);
    const line = logged.find((l) => l.msg === 'retrying upstream call');
    assert.ok(line !== undefined && line.level === 20 && line.unsent === true && line.tool === 'echo', 'each retry is logged at debug');
  });

  it('retries when the HTTP connection is refused (nothing was sent)', async () => {
    const port = await freePort();
    const cfg = httpConfig(`http://127.0.0.1:${port}/mcp`, { name: 'up' });
    const refused = new StreamableHttpSession({ name: 'up', logger: quietLogger(), events: new RecordedEvents(), clientInfo: { name: 't', version: '1' }, clientCapabilities: {}, timeoutMs: 5_000 }, cfg, undefined);
    try {
      await assert.rejects(refused.request('tools/call', { name: 'echo', arguments: {} }), (err) => err instanceof NotSentFault && err.error.name === 'upstream_unavailable');
      const { target, call, stats } = route([refused, live]);
      assert.equal(textOf(await call('tools/call', { name: 'echo', arguments: { message: 'x' } })), 'Echo: x');
      assert.deepEqual(target.used, [0, 1]);
      assert.equal(stats().retries, 1);
    } finally {
      await refused.close();
    }
  });

  it('classifies only connection failures of the request itself as not sent', () => {
    const ep = new HttpEndpoint('up', 'http://127.0.0.1:1/mcp', {}, 1_000);
    const refused = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    const reset = Object.assign(new Error('other side closed'), { code: 'UND_ERR_SOCKET' });
    assert.ok(ep.transportFault('tools/call', refused, true) instanceof NotSentFault);
    assert.ok(!(ep.transportFault('resuming tools/call', refused) instanceof NotSentFault), 'a resumed stream\'s request was sent');
    assert.ok(!(ep.transportFault('tools/call', reset, true) instanceof NotSentFault), 'a reset may come after the request was read');
    void ep.close();
  });

  it('retries a read-only tool that timed out', async () => {
    const { target, call, stats } = route([live], { toolTimeoutsMs: { slow_first: 200 }, toolClasses: { slow_first: 'read_only' } });
    const res = await call('tools/call', { name: 'slow_first', arguments: { key: 'read-only', ms: 60_000 } });
    assert.equal(textOf(res), 'call 2 for read-only');
    assert.equal(target.used.length, 2);
    assert.deepEqual([stats().retries, stats().timeouts], [1, 1]);
  });

  it('retries a write tool listed in retry.idempotentTools', async () => {
    const { call, stats } = route([live], { toolTimeoutsMs: { slow_first: 200 }, retry: { ...RETRY, idempotentTools: ['slow_*'] } });
    assert.equal(textOf(await call('tools/call', { name: 'slow_first', arguments: { key: 'idempotent', ms: 60_000 } })), 'call 2 for idempotent');
    assert.equal(stats().retries, 1);
  });

  it('does not retry a write tool whose request reached the upstream', async () => {
    const { target, call, stats } = route([live], { toolTimeoutsMs: { slow_first: 200 } });
    await assert.rejects(call('tools/call', { name: 'slow_first', arguments: { key: 'write', ms: 60_000 } }), faultNamed('upstream_timeout'));
    assert.equal(target.used.length, 1);
    assert.equal(stats().retries, 0);
    // The upstream saw exactly one call for the key: the next one is its second.
    assert.equal(textOf(await call('tools/call', { name: 'slow_first', arguments: { key: 'write', ms: 0 } })), 'call 2 for write');
  });

  it('never retries an answer, even a JSON-RPC error, nor after the caller cancelled', async () => {
    const { target, call, stats } = route([live], { toolClasses: { '*': 'read_only' } });
    const res = await call('tools/call', { name: 'no-such-tool', arguments: {} });
    assert.ok('error' in res || res.result.isError === true);
    assert.equal(target.used.length, 1);

    const ac = new AbortController();
    const pending = call('tools/call', { name: 'never', arguments: {} }, { signal: ac.signal });
    setImmediate(() => ac.abort(new Error('agent left')));
    await assert.rejects(pending, /agent left/);
    assert.equal(target.used.length, 2);
    assert.equal(stats().retries, 0);
  });

  it('never retries long-lived requests or task methods, even when nothing was sent', async () => {
    const dead = await connectUpstream(stdioConfig([RESILIENCE_SERVER], { name: 'up' }), deps(new RecordedEvents()));
    await dead.close();
    for (const [method, params, opts] of [
      ['subscriptions/listen', { notifications: {} }, {}],
      ['tools/call', { name: 'echo', arguments: { message: 'x' } }, { timeoutMs: 0 }],
      ['tasks/get', { taskId: 't1' }, {}],
      ['tools/call', { name: 'echo', arguments: { message: 'x' }, task: { ttl: 1000 } }, {}],
    ] as const) {
      const { target, call } = route([dead, live]);
      await assert.rejects(call(method, { ...params }, { ...opts }), (err) => err instanceof GatewayFault);
      assert.equal(target.used.length, 1, `${method} was not retried`);
    }
  });

  it('gives up after retry.attempts and rejects with the last failure', async () => {
    const dead = await connectUpstream(stdioConfig([RESILIENCE_SERVER], { name: 'up' }), deps(new RecordedEvents()));
    await dead.close();
    const { target, call, stats } = route([dead], { retry: { ...RETRY, attempts: 3 } });
    await assert.rejects(call('resources/read', { uri: 'fixture://static' }), (err) => err instanceof NotSentFault);
    assert.equal(target.used.length, 4);
    assert.equal(stats().retries, 3);
  });
});
