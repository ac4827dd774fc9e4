// Legacy Streamable HTTP and the 2024-11-05 HTTP+SSE transport, against server-everything.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { GatewayFault } from '../../src/errors/codes.ts';
import type { JsonRpcNotification } from '../../src/protocol/jsonrpc.ts';
import { connectUpstream } from '../../src/upstream/connect.ts';
import type { UpstreamSession } from '../../src/upstream/session.ts';
import type { StreamableHttpSession } from '../../src/upstream/transports/streamable-http.ts';
import { freePort, startServerEverything, type RunningServer } from '../support/processes.ts';
import { deps, eventually, httpConfig, LOOPBACK, pidAlive, RecordedEvents, SERVER_EVERYTHING, sseConfig, textOf } from './support/helpers.ts';

function deleteSession(url: string, sessionId: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: 'DELETE', headers: { 'mcp-session-id': sessionId, 'mcp-protocol-version': '2025-11-25' } }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.once('error', reject);
    req.end();
  });
}

async function exercise(s: UpstreamSession): Promise<void> {
  assert.equal(s.era, 'legacy');
  assert.equal(s.serverInfo?.name, 'mcp-servers/everything');
  const list = await s.request('tools/list', {});
  assert.ok('result' in list && Array.isArray(list.result.tools));
  assert.equal(textOf(await s.request('tools/call', { name: 'echo', arguments: { message: 'över http' } })), 'Echo: över http');
  const structured = await s.request('tools/call', { name: 'get-structured-content', arguments: { location: 'New York' } });
  assert.ok('result' in structured);
  assert.deepEqual(structured.result.structuredContent, { temperature: 33, conditions: 'Cloudy', humidity: 82 });
  const progress: JsonRpcNotification[] = [];
  await s.request('tools/call', { name: 'trigger-long-running-operation', arguments: { duration: 0.2, steps: 2 }, _meta: { progressToken: 'p-1' } }, { onNotification: (n) => progress.push(n) });
  assert.deepEqual(progress.map((n) => [n.params?.progressToken, n.params?.progress]), [['p-1', 1], ['p-1', 2]]);
  const ac = new AbortController();
  const cancelled = s.request('tools/call', { name: 'trigger-long-running-operation', arguments: { duration: 30, steps: 30 } }, { signal: ac.signal });
  ac.abort(new Error('stop'));
  await assert.rejects(cancelled, /stop/);
  await assert.rejects(
    s.request('tools/call', { name: 'trigger-long-running-operation', arguments: { duration: 30, steps: 30 } }, { timeoutMs: 150 }),
    (err) => err instanceof GatewayFault && err.error.name === 'upstream_timeout',
  );
  assert.equal(textOf(await s.request('tools/call', { name: 'echo', arguments: { message: 'still fine' } })), 'Echo: still fine');
}

describe('streamable HTTP (legacy era): server-everything started by the test', () => {
  let server: RunningServer;
  before(async () => {
    server = await startServerEverything('streamableHttp');
  });
  after(async () => {
    await server.stop();
  });

  it('probes, falls back to initialize, and serves calls', async () => {
    const events = new RecordedEvents();
    const s = await connectUpstream(httpConfig(server.url, { name: 'everything-http', headers: { 'x-api-key': 'secret-value' } }), deps(events));
    try {
      await exercise(s);
    } finally {
      await s.close();
    }
    assert.deepEqual(events.closes, [undefined]);
  });

  it('hands server->client requests on the response stream to the caller and posts the answer back', async () => {
    const events = new RecordedEvents();
    events.answer = async (req) => ({ jsonrpc: '2.0', id: req.id, result: { role: 'assistant', content: { type: 'text', text: 'sampled by the test' }, model: 'test-model' } });
    const s = await connectUpstream(httpConfig(server.url, { name: 'everything-http' }), deps(events, { clientCapabilities: { sampling: {} } }));
    try {
      const res = await s.request('tools/call', { name: 'trigger-sampling-request', arguments: { prompt: 'hi' } });
      assert.match(textOf(res), /sampled by the test/);
      assert.equal(events.serverRequests[0]?.method, 'sampling/createMessage');
    } finally {
      await s.close();
    }
  });

  it('receives notifications not tied to a request on the GET stream', async () => {
    const events = new RecordedEvents();
    const opened = (): number => server.output().stdout.split('Establishing new SSE stream').length;
    const before = opened();
    const s = await connectUpstream(httpConfig(server.url, { name: 'everything-http' }), deps(events));
    try {
      await eventually(() => opened() > before, 'the GET stream to open');
      await s.request('tools/call', { name: 'toggle-simulated-logging', arguments: {} });
      await eventually(() => events.notifications.some((n) => n.method === 'notifications/message'), 'a log message');
      await s.request('tools/call', { name: 'toggle-simulated-logging', arguments: {} });
    } finally {
      await s.close();
    }
  });

  it('re-initializes once when the server forgets the session, and retries the request', async () => {
    const events = new RecordedEvents();
    const s = await connectUpstream(httpConfig(server.url, { name: 'everything-http' }), deps(events));
    try {
      const first = (s as StreamableHttpSession).currentSessionId;
      assert.ok(first !== undefined);
      assert.equal(await deleteSession(server.url, first), 200);
      assert.equal(textOf(await s.request('tools/call', { name: 'echo', arguments: { message: 'again' } })), 'Echo: again');
      const second = (s as StreamableHttpSession).currentSessionId;
      assert.ok(second !== undefined && second !== first);
      assert.equal(events.closes.length, 0);
    } finally {
      await s.close();
    }
  });

  it('skips the probe when the era is known or configured', async () => {
    for (const over of [{ era: 'legacy' as const }, {}]) {
      const s = await connectUpstream(httpConfig(server.url, { name: 'everything-http', ...over }), deps(new RecordedEvents(), { knownEra: 'legacy' }));
      try {
        assert.equal(s.era, 'legacy');
        assert.equal(textOf(await s.request('tools/call', { name: 'echo', arguments: { message: 'k' } })), 'Echo: k');
      } finally {
        await s.close();
      }
    }
  });

  it('refuses a forced modern era with an error naming the upstream', async () => {
    await assert.rejects(
      connectUpstream(httpConfig(server.url, { name: 'everything-http', era: 'modern' }), deps(new RecordedEvents())),
      (err) => err instanceof GatewayFault && err.error.name === 'upstream_protocol_error' && /everything-http/.test(err.message) && /modern/.test(err.message),
    );
  });
});

describe('streamable HTTP with launch: the gateway starts server-everything', () => {
  it('starts it, waits for the port, connects, and stops the process on close', async () => {
    const port = await freePort();
    const events = new RecordedEvents();
    const cfg = httpConfig(`http://127.0.0.1:${port}/mcp`, {
      name: 'launched',
      launch: { command: process.execPath, args: [SERVER_EVERYTHING, 'streamableHttp'], env: { PORT: String(port), NODE_OPTIONS: `--import ${LOOPBACK}` } },
    });
    const s = await connectUpstream(cfg, deps(events));
    const pid = (s as unknown as { proc: { pid: number } }).proc.pid;
    try {
      assert.ok(pidAlive(pid));
      assert.equal(textOf(await s.request('tools/call', { name: 'echo', arguments: { message: 'launched' } })), 'Echo: launched');
    } finally {
      await s.close();
    }
    assert.equal(pidAlive(pid), false);
  });

  it('reports the death of the launched process through onClose', async () => {
    const port = await freePort();
    const events = new RecordedEvents();
    const cfg = httpConfig(`http://127.0.0.1:${port}/mcp`, {
      name: 'launched',
      launch: { command: process.execPath, args: [SERVER_EVERYTHING, 'streamableHttp'], env: { PORT: String(port), NODE_OPTIONS: `--import ${LOOPBACK}` } },
    });
    const s = await connectUpstream(cfg, deps(events));
    const pid = (s as unknown as { proc: { pid: number } }).proc.pid;
    const call = s.request('tools/call', { name: 'trigger-long-running-operation', arguments: { duration: 60, steps: 2 } });
    process.kill(pid, 'SIGKILL');
    // Refused (the kill won the race to the socket) or cut off (the process died under the call).
    await assert.rejects(call, (err) => err instanceof GatewayFault && (err.error.name === 'upstream_failed' || err.error.name === 'upstream_unavailable'));
    await events.closed();
    assert.match(String(events.closes[0]?.message), /launched/);
    await s.close();
  });

  it('fails clearly when the launched process exits before listening', async () => {
    const port = await freePort();
    const cfg = httpConfig(`http://127.0.0.1:${port}/mcp`, { name: 'crashy', launch: { command: process.execPath, args: ['-e', 'console.error("boom"); process.exit(2)'], env: {} } });
    await assert.rejects(connectUpstream(cfg, deps(new RecordedEvents())), (err) => err instanceof GatewayFault && err.error.name === 'upstream_unavailable' && /crashy/.test(err.message) && /code 2/.test(err.message) && /boom/.test(err.message));
  });
});

describe('HTTP+SSE (2024-11-05): server-everything', () => {
  let server: RunningServer;
  before(async () => {
    server = await startServerEverything('sse');
  });
  after(async () => {
    await server.stop();
  });

  it('waits for the endpoint event, initializes, and serves calls', async () => {
    const events = new RecordedEvents();
    const s = await connectUpstream(sseConfig(server.url, { name: 'everything-sse' }), deps(events));
    try {
      await exercise(s);
      // Notifications not tied to a request arrive on the stream and go to the session events.
      await eventually(() => events.notifications.some((n) => n.method === 'notifications/tools/list_changed'), 'list_changed');
    } finally {
      await s.close();
    }
    assert.deepEqual(events.closes, [undefined]);
  });

  it('dies (onClose) when the server goes away', async () => {
    const own = await startServerEverything('sse');
    const events = new RecordedEvents();
    const s = await connectUpstream(sseConfig(own.url, { name: 'everything-sse' }), deps(events));
    await own.stop();
    await events.closed();
    assert.ok(events.closes[0] instanceof GatewayFault);
    await assert.rejects(s.request('tools/list', {}), (err) => err instanceof GatewayFault && err.error.name === 'upstream_unavailable');
  });
});
