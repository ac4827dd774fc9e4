// The stdio transport against real servers (server-everything, server-memory, the SDK v2 modern
// fixture) and a deliberately misbehaving one.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GatewayFault } from '../../src/errors/codes.ts';
import type { JsonRpcNotification } from '../../src/protocol/jsonrpc.ts';
import { connectUpstream } from '../../src/upstream/connect.ts';
import type { UpstreamSession } from '../../src/upstream/session.ts';
import type { StdioSession } from '../../src/upstream/transports/stdio.ts';
import { deps, eventually, FAKE_STDIO, MODERN_SERVER, pidAlive, RecordedEvents, SERVER_EVERYTHING, SERVER_MEMORY, stdioConfig, textOf } from './support/helpers.ts';

function pidOf(s: UpstreamSession): number {
  const pid = (s as StdioSession).pid;
  assert.ok(pid !== undefined);
  return pid;
}

describe('stdio: server-everything', () => {
  const events = new RecordedEvents();
  let s: UpstreamSession;
  before(async () => {
    s = await connectUpstream(stdioConfig([SERVER_EVERYTHING, 'stdio'], { name: 'everything' }), deps(events));
  });
  after(async () => {
    await s.close();
  });

  it('detects the legacy era and completes the handshake', () => {
    assert.equal(s.era, 'legacy');
    assert.equal(s.protocolVersion, '2025-11-25');
    assert.equal(s.serverInfo?.name, 'mcp-servers/everything');
    assert.ok('tools' in s.capabilities);
  });

  it('lists tools and calls echo', async () => {
    const list = await s.request('tools/list', undefined);
    assert.ok('result' in list);
    const names = (list.result.tools as Array<{ name: string }>).map((t) => t.name);
    assert.ok(names.includes('echo') && names.includes('get-structured-content'));
    assert.equal(textOf(await s.request('tools/call', { name: 'echo', arguments: { message: 'hello' } })), 'Echo: hello');
  });

  it('passes structuredContent through unchanged', async () => {
    const res = await s.request('tools/call', { name: 'get-structured-content', arguments: { location: 'Chicago' } });
    assert.ok('result' in res);
    assert.deepEqual(res.result.structuredContent, { temperature: 36, conditions: 'Light rain / drizzle', humidity: 82 });
  });

  it('resolves with a JSON-RPC error response instead of throwing', async () => {
    const res = await s.request('no/such-method', {});
    assert.ok('error' in res);
    assert.equal(res.error.code, -32601);
  });

  it('routes progress to the call with the original token, even when two calls use the same one', async () => {
    const a: JsonRpcNotification[] = [];
    const b: JsonRpcNotification[] = [];
    const params = { name: 'trigger-long-running-operation', arguments: { duration: 0.3, steps: 3 }, _meta: { progressToken: 'same' } };
    await Promise.all([
      s.request('tools/call', params, { onNotification: (n) => a.push(n) }),
      s.request('tools/call', params, { onNotification: (n) => b.push(n) }),
    ]);
    for (const got of [a, b]) {
      assert.deepEqual(got.map((n) => n.params?.progress), [1, 2, 3]);
      assert.ok(got.every((n) => n.method === 'notifications/progress' && n.params?.progressToken === 'same'));
    }
    assert.equal(params._meta.progressToken, 'same', 'the caller\'s params are not modified');
  });

  it('cancels through the signal, and the session stays usable', async () => {
    const ac = new AbortController();
    const call = s.request('tools/call', { name: 'trigger-long-running-operation', arguments: { duration: 30, steps: 30 } }, { signal: ac.signal });
    const reason = new Error('agent went away');
    ac.abort(reason);
    await assert.rejects(call, (err) => err === reason);
    assert.equal(textOf(await s.request('tools/call', { name: 'echo', arguments: { message: 'after' } })), 'Echo: after');
  });

  it('times out with upstream_timeout', async () => {
    const call = s.request('tools/call', { name: 'trigger-long-running-operation', arguments: { duration: 30, steps: 30 } }, { timeoutMs: 200 });
    await assert.rejects(call, (err) => err instanceof GatewayFault && err.error.name === 'upstream_timeout' && /everything/.test(err.message));
  });
});

describe('stdio: server-memory', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'gh-memory-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('connects and round-trips through its tools', async () => {
    const events = new RecordedEvents();
    const s = await connectUpstream(stdioConfig([SERVER_MEMORY], { name: 'memory', env: { MEMORY_FILE_PATH: join(dir, 'memory.jsonl') } }), deps(events));
    try {
      assert.equal(s.era, 'legacy');
      const created = await s.request('tools/call', { name: 'create_entities', arguments: { entities: [{ name: 'gatehouse', entityType: 'project', observations: ['an MCP gateway'] }] } });
      assert.ok('result' in created && created.result.isError !== true);
      const graph = await s.request('tools/call', { name: 'read_graph', arguments: {} });
      assert.match(textOf(graph), /gatehouse/);
    } finally {
      await s.close();
    }
  });
});

describe('stdio: the modern era (SDK v2 server)', () => {
  it('probes with server/discover and speaks 2026-07-28', async () => {
    const events = new RecordedEvents();
    const s = await connectUpstream(stdioConfig([MODERN_SERVER, 'stdio'], { name: 'modern' }), deps(events));
    try {
      assert.equal(s.era, 'modern');
      assert.equal(s.protocolVersion, '2026-07-28');
      assert.deepEqual(s.serverInfo, { name: 'modern-fixture', version: '1.2.3' });
      assert.equal(s.instructions, 'fixture instructions');
      const res = await s.request('tools/call', { name: 'structured', arguments: {} });
      assert.ok('result' in res);
      assert.deepEqual(res.result.structuredContent, { n: 7, tags: ['a', 'b'] });
      assert.deepEqual((res.result._meta as Record<string, unknown>)['example.com/x'], 1);
      const progress: JsonRpcNotification[] = [];
      await s.request('tools/call', { name: 'slow', arguments: { steps: 2, stepMs: 10 }, _meta: { progressToken: 42 } }, { onNotification: (n) => progress.push(n) });
      assert.deepEqual(progress.map((n) => n.params?.progressToken), [42, 42]);
    } finally {
      await s.close();
    }
  });

  it('re-probes when a remembered legacy era turns out wrong', async () => {
    const s = await connectUpstream(stdioConfig([MODERN_SERVER, 'stdio', 'strict'], { name: 'modern' }), deps(new RecordedEvents(), { knownEra: 'legacy' }));
    try {
      assert.equal(s.era, 'modern');
      assert.equal(textOf(await s.request('tools/call', { name: 'echo', arguments: { message: 'x' } })), 'Echo: x');
    } finally {
      await s.close();
    }
  });

  it('keeps a remembered legacy era when the server accepts initialize', async () => {
    const s = await connectUpstream(stdioConfig([MODERN_SERVER, 'stdio'], { name: 'modern' }), deps(new RecordedEvents(), { knownEra: 'legacy' }));
    try {
      // A dual-era server accepts initialize, so the remembered era holds.
      assert.equal(s.era, 'legacy');
      assert.equal(textOf(await s.request('tools/call', { name: 'echo', arguments: { message: 'x' } })), 'Echo: x');
    } finally {
      await s.close();
    }
  });
});

describe('stdio: a misbehaving server', () => {
  it('skips lines that are not JSON-RPC and keeps serving', async () => {
    const s = await connectUpstream(stdioConfig([FAKE_STDIO], { name: 'fake' }), deps(new RecordedEvents()));
    try {
      assert.equal(s.era, 'legacy');
      assert.equal(s.protocolVersion, '2025-06-18');
      assert.equal(s.instructions, 'be nice');
      assert.equal(textOf(await s.request('tools/call', { name: 'noise' })), 'still here');
    } finally {
      await s.close();
    }
  });

  it('strips hop-specific _meta before a legacy upstream and replaces the progress token', async () => {
    const s = await connectUpstream(stdioConfig([FAKE_STDIO], { name: 'fake' }), deps(new RecordedEvents()));
    try {
      const meta = { 'io.modelcontextprotocol/protocolVersion': '2026-07-28', 'io.modelcontextprotocol/clientInfo': { name: 'agent', version: '1' }, progressToken: 'agent-token', 'example.com/keep': true };
      const seen = JSON.parse(textOf(await s.request('tools/call', { name: 'meta', _meta: meta }))) as Record<string, unknown>;
      assert.equal(seen['io.modelcontextprotocol/protocolVersion'], undefined);
      assert.equal(seen['io.modelcontextprotocol/clientInfo'], undefined);
      assert.equal(seen['example.com/keep'], true);
      assert.equal(typeof seen.progressToken, 'number');
      assert.equal(meta.progressToken, 'agent-token');
    } finally {
      await s.close();
    }
  });

  it('sends notifications/cancelled for an aborted call', async () => {
    const s = await connectUpstream(stdioConfig([FAKE_STDIO], { name: 'fake' }), deps(new RecordedEvents()));
    try {
      const ac = new AbortController();
      const call = s.request('tools/call', { name: 'hang' }, { signal: ac.signal });
      ac.abort();
      await assert.rejects(call);
      const ids = JSON.parse(textOf(await s.request('tools/call', { name: 'cancelled' }))) as unknown[];
      assert.equal(ids.length, 1);
      assert.equal(typeof ids[0], 'number');
    } finally {
      await s.close();
    }
  });

  it('lets the caller answer server requests, and answers with an internal error when it throws', async () => {
    const events = new RecordedEvents();
    const s = await connectUpstream(stdioConfig([FAKE_STDIO], { name: 'fake' }), deps(events));
    try {
      const ok = JSON.parse(textOf(await s.request('tools/call', { name: 'ask' }))) as Record<string, unknown>;
      assert.deepEqual(ok.result, {});
      assert.equal(events.serverRequests[0]?.method, 'ping');
      events.answer = () => Promise.reject(new Error('no idea'));
      const failed = JSON.parse(textOf(await s.request('tools/call', { name: 'ask' }))) as { id: unknown; error: { code: number } };
      assert.equal(failed.error.code, -32603);
      assert.match(String(failed.id), /^ask-/);
    } finally {
      await s.close();
    }
  });

  it('rejects pending calls at once and fires onClose when the process dies mid-call', async () => {
    const events = new RecordedEvents();
    const s = await connectUpstream(stdioConfig([SERVER_EVERYTHING, 'stdio'], { name: 'doomed' }), deps(events));
    const call = s.request('tools/call', { name: 'trigger-long-running-operation', arguments: { duration: 60, steps: 2 } }, { timeoutMs: 120_000 });
    process.kill(pidOf(s), 'SIGKILL');
    await assert.rejects(call, (err) => err instanceof GatewayFault && err.error.name === 'upstream_failed' && /doomed/.test(err.message) && /SIGKILL/.test(err.message));
    await events.closed();
    assert.ok(events.closes[0] instanceof GatewayFault);
    await assert.rejects(s.request('tools/list', undefined), (err) => err instanceof GatewayFault && err.error.name === 'upstream_unavailable');
    await s.close();
    assert.equal(events.closes.length, 1, 'onClose fires once');
  });

  it('reports an exit with its code and stderr', async () => {
    const events = new RecordedEvents();
    const s = await connectUpstream(stdioConfig([FAKE_STDIO], { name: 'fake' }), deps(events));
    await assert.rejects(s.request('tools/call', { name: 'exit' }), (err) => err instanceof GatewayFault && /code 3/.test(err.message) && /fake server starting/.test(err.message));
    await events.closed();
  });

  it('includes a crash\'s last words in the error', async () => {
    const events = new RecordedEvents();
    const cfg = stdioConfig(['-e', 'process.stdin.once("data", () => { console.error("fatal: disk on fire"); process.exit(1); })'], { name: 'crashy' });
    await assert.rejects(connectUpstream(cfg, deps(events)), (err) => err instanceof GatewayFault && /code 1/.test(err.message) && /disk on fire/.test(err.message));
    assert.equal(events.closes.length, 0, 'a session never connected does not report onClose');
  });

  it('dies when the process closes its stdout but keeps running, and stops it', async () => {
    const events = new RecordedEvents();
    const s = await connectUpstream(stdioConfig([FAKE_STDIO], { name: 'fake' }), deps(events));
    const pid = pidOf(s);
    await assert.rejects(s.request('tools/call', { name: 'close-stdout' }), (err) => err instanceof GatewayFault && /standard output/.test(err.message));
    await events.closed();
    await eventually(() => !pidAlive(pid), 'the process to be stopped');
  });

  it('reaps the whole process tree on close', async () => {
    const events = new RecordedEvents();
    const s = await connectUpstream(stdioConfig([FAKE_STDIO], { name: 'fake' }), deps(events));
    const pid = pidOf(s);
    const grandchild = Number(textOf(await s.request('tools/call', { name: 'spawn' })));
    assert.ok(pidAlive(pid) && pidAlive(grandchild));
    await s.close();
    assert.equal(pidAlive(pid), false);
    await eventually(() => !pidAlive(grandchild), 'the grandchild to be gone');
    assert.deepEqual(events.closes, [undefined]);
  });

  it('fails to connect with a clear error when the command does not exist', async () => {
    await assert.rejects(
      connectUpstream(stdioConfig([], { name: 'ghost', command: 'gatehouse-no-such-command' }), deps(new RecordedEvents())),
      (err) => err instanceof GatewayFault && err.error.name === 'upstream_unavailable' && /ghost/.test(err.message) && /ENOENT/.test(err.message),
    );
  });

  it('gives up within connectTimeoutMs on a server that never answers', async () => {
    const cfg = stdioConfig(['-e', 'setInterval(() => {}, 1000)'], { name: 'mute', connectTimeoutMs: 1_500 });
    await assert.rejects(connectUpstream(cfg, deps(new RecordedEvents())), (err) => err instanceof GatewayFault && err.error.name === 'upstream_timeout' && /mute/.test(err.message));
  });
});
