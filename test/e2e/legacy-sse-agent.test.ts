// Agents on the deprecated HTTP+SSE transport (2024-11-05): the SDK 1.x SSE client end to end, and the
// wire itself (endpoint event, 202 on POST, answers on the stream), with every refusal precise and recorded.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import { CreateMessageRequestSchema, ToolListChangedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { request } from 'undici';
import { LegacySseSession } from '../../src/edge/legacy-sse-session.ts';
import { MEMORY, startGateway, stdioEverything, type TestGateway } from '../harness/gateway.ts';
import { waitFor } from '../harness/pids.ts';

interface SseEvent {
  event: string;
  data: string;
}

/** A raw GET <ssePath> stream: its events in order, and a way to wait for the next matching one. */
async function openRawSse(url: URL, headers: Record<string, string> = {}) {
  const ac = new AbortController();
  const res = await request(url, { method: 'GET', headers: { accept: 'text/event-stream', ...headers }, signal: ac.signal });
  const events: SseEvent[] = [];
  let wake: (() => void) | undefined;
  let ended = false;
  void (async () => {
    let buf = '';
    try {
      for await (const chunk of res.body) {
        buf += (chunk as Buffer).toString('utf8');
        for (let i = buf.indexOf('\n\n'); i >= 0; i = buf.indexOf('\n\n')) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          let event = 'message';
          const data: string[] = [];
          for (const line of block.split('\n')) {
            if (line.startsWith('event:')) event = line.slice(6).trim();
            else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
          }
          if (data.length > 0) events.push({ event, data: data.join('\n') });
        }
        wake?.();
      }
    } catch {
      // aborted by the test
    }
    ended = true;
    wake?.();
  })();
  let seen = 0;
  return {
    status: res.statusCode,
    headers: res.headers,
    events,
    get ended() {
      return ended;
    },
    /** The next event (after the ones already taken) that `match` accepts. */
    async next(match: (e: SseEvent) => boolean = () => true): Promise<SseEvent> {
      for (;;) {
        while (seen < events.length) {
          const e = events[seen++]!;
          if (match(e)) return e;
        }
        if (ended) throw new Error('the stream ended');
        await new Promise<void>((r) => (wake = r));
      }
    },
    close: () => ac.abort(),
  };
}

async function post(url: URL | string, body: string | object, headers: Record<string, string> = {}) {
  const res = await request(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.body.text();
  return { status: res.statusCode, headers: res.headers, text, json: text.length > 0 && text.startsWith('{') ? JSON.parse(text) : undefined };
}

const INIT = { jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: '2024-11-05', capabilities: {}, clientInfo: { name: 'raw', version: '1' } } };

describe('legacy HTTP+SSE agents (2024-11-05 transport)', () => {
  let gw: TestGateway;
  let sseUrl: URL;
  const records: { method?: string; outcome: string; error?: { code: number; name?: string }; sessionId?: string }[] = [];
  before(async () => {
    gw = await startGateway({ upstreams: [stdioEverything()] });
    gw.running.gateway.observers.add({ name: 'test', onComplete: (r) => records.push(r as never) });
    sseUrl = new URL('/sse', gw.url);
  });
  after(() => gw.stop());

  const legacySessions = () => [...gw.running.dataPlane.edge.sessions.values()].filter((s) => s instanceof LegacySseSession);

  it('SDK 1.x SSEClientTransport: initialize, tools/list, tools/call, progress; closing ends the session', async () => {
    const client = new Client({ name: 'sse-test', version: '1.0.0' });
    await client.connect(new SSEClientTransport(sseUrl));
    try {
      assert.equal(client.getServerVersion()?.name, 'gatehouse');
      assert.ok(client.getServerCapabilities()?.tools);
      const tools = await client.listTools();
      assert.ok(tools.tools.some((t) => t.name === 'everything__echo'));
      const echo = await client.callTool({ name: 'everything__echo', arguments: { message: 'over sse' } });
      assert.deepEqual(echo.content, [{ type: 'text', text: 'Echo: over sse' }]);

      const progress: number[] = [];
      const long = await client.callTool({ name: 'everything__trigger-long-running-operation', arguments: { duration: 1, steps: 3 } }, undefined, {
        onprogress: (p) => progress.push(p.progress),
      });
      assert.match(JSON.stringify(long.content), /Long running operation completed/);
      assert.ok(progress.length >= 1, 'progress notifications arrived on the event stream');
      assert.deepEqual([...progress].sort((a, b) => a - b), progress, 'in order');

      const unknown = await client.callTool({ name: 'nope__nothing', arguments: {} }).catch((e: Error) => e);
      assert.ok(unknown instanceof Error && /Unknown tool/.test(unknown.message));

      const [s] = legacySessions();
      assert.ok(s instanceof LegacySseSession);
      assert.equal(s.handshake, 'done');
      assert.equal(s.initialized, true, 'notifications/initialized arrived');
      assert.equal(s.protocolVersion, '2025-11-25', 'the negotiated version, not only the one asked for');
      assert.ok(records.some((r) => r.method === 'tools/call' && r.sessionId === s.id && r.outcome === 'ok'), 'recorded with the session');
    } finally {
      await client.close();
    }
    await waitFor(() => legacySessions().length === 0, 'the session to end with its stream');
  });

  it('a request the agent cancels is aborted and gets no answer', async () => {
    const client = new Client({ name: 'sse-cancel', version: '1.0.0' });
    await client.connect(new SSEClientTransport(sseUrl));
    try {
      const ac = new AbortController();
      const { promise: started, resolve } = Promise.withResolvers<void>();
      const call = client.callTool({ name: 'everything__trigger-long-running-operation', arguments: { duration: 30, steps: 30 } }, undefined, { signal: ac.signal, onprogress: () => resolve() });
      call.catch(() => undefined);
      await started;
      ac.abort();
      await assert.rejects(call);
      const r = await waitFor(() => records.find((x) => x.method === 'tools/call' && x.outcome === 'cancelled'), 'the cancelled call to be recorded');
      assert.equal(r.outcome, 'cancelled');
      await client.ping(); // the session keeps working
    } finally {
      await client.close();
    }
  });

  it('a server->client request (sampling) goes out on the stream and the agent\'s POSTed answer reaches the upstream', async () => {
    const client = new Client({ name: 'sse-sampler', version: '1.0.0' }, { capabilities: { sampling: {} } });
    client.setRequestHandler(CreateMessageRequestSchema, async (req) => ({
      model: 'test-model',
      role: 'assistant',
      content: { type: 'text', text: `sampled ${JSON.stringify(req.params.messages[0]?.content)}` },
    }));
    await client.connect(new SSEClientTransport(sseUrl));
    try {
      const r = await client.callTool({ name: 'everything__trigger-sampling-request', arguments: { prompt: 'hello' } });
      assert.match(JSON.stringify(r.content), /test-model/);
      assert.match(JSON.stringify(r.content), /context: hello/);
    } finally {
      await client.close();
    }
  });

  it('the wire: endpoint event first, 202 on POST, answers as message events on the stream', async () => {
    const sse = await openRawSse(sseUrl);
    try {
      assert.equal(sse.status, 200);
      assert.match(String(sse.headers['content-type']), /^text\/event-stream/);
      const endpoint = await sse.next();
      assert.equal(endpoint.event, 'endpoint');
      assert.match(endpoint.data, /^\/messages\?sessionId=[A-Za-z0-9_-]{22}$/, 'a relative URL, as the 2024-11-05 transport says');
      const messages = new URL(endpoint.data, sseUrl);

      // Before initialize only ping is served.
      const early = await post(messages, { jsonrpc: '2.0', id: 1, method: 'tools/list' });
      assert.equal(early.status, 400);
      assert.equal(early.json.id, 1);
      assert.equal(early.json.error.data.gatehouse.error, 'session_required');
      assert.match(early.json.error.message, /send initialize first/);
      const ping = await post(messages, { jsonrpc: '2.0', id: 2, method: 'ping' });
      assert.equal(ping.status, 202);
      assert.deepEqual(JSON.parse((await sse.next((e) => e.event === 'message')).data), { jsonrpc: '2.0', id: 2, result: {} });

      const init = await post(messages, INIT);
      assert.equal(init.status, 202);
      const answer = JSON.parse((await sse.next((e) => e.event === 'message')).data);
      assert.equal(answer.id, 0);
      assert.equal(answer.result.protocolVersion, '2024-11-05');
      assert.equal(answer.result.serverInfo.name, 'gatehouse');
      const again = await post(messages, INIT);
      assert.equal(again.status, 400);
      assert.match(again.json.error.message, /already initialized/);
      assert.equal((await post(messages, { jsonrpc: '2.0', method: 'notifications/initialized' })).status, 202);

      const list = await post(messages, { jsonrpc: '2.0', id: 'l1', method: 'tools/list' });
      assert.equal(list.status, 202);
      assert.equal(list.text, '');
      const tools = JSON.parse((await sse.next((e) => e.event === 'message')).data);
      assert.equal(tools.id, 'l1');
      assert.ok(tools.result.tools.length > 0);

      // Progress for a request travels on the same stream, before its answer.
      const call = await post(messages, { jsonrpc: '2.0', id: 'c1', method: 'tools/call', params: { name: 'everything__trigger-long-running-operation', arguments: { duration: 1, steps: 2 }, _meta: { progressToken: 'p1' } } });
      assert.equal(call.status, 202);
      const progress = JSON.parse((await sse.next((e) => e.event === 'message')).data);
      assert.equal(progress.method, 'notifications/progress');
      assert.equal(progress.params.progressToken, 'p1');
      const done = JSON.parse((await sse.next((e) => JSON.parse(e.data).id === 'c1')).data);
      assert.match(JSON.stringify(done.result.content), /completed/);

      // notifications/cancelled aborts the call, and nothing more is written for its id.
      const before = records.length;
      await post(messages, { jsonrpc: '2.0', id: 'c2', method: 'tools/call', params: { name: 'everything__trigger-long-running-operation', arguments: { duration: 30, steps: 30 }, _meta: { progressToken: 'p2' } } });
      await sse.next((e) => JSON.parse(e.data).params?.progressToken === 'p2');
      assert.equal((await post(messages, { jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 'c2', reason: 'changed my mind' } })).status, 202);
      const cancelled = await waitFor(() => records.slice(before).find((x) => x.method === 'tools/call'), 'the cancelled call to be recorded');
      assert.equal(cancelled.outcome, 'cancelled');
      await post(messages, { jsonrpc: '2.0', id: 'after', method: 'ping' });
      const next = JSON.parse((await sse.next((e) => JSON.parse(e.data).method !== 'notifications/progress')).data);
      assert.equal(next.id, 'after', 'no answer for the cancelled request');

      // An answer to a request the gateway never sent is refused, not silently dropped.
      const stray = await post(messages, { jsonrpc: '2.0', id: 'gh-999', result: {} });
      assert.equal(stray.status, 400);
      assert.match(stray.json.error.message, /no request with id "gh-999"/);
    } finally {
      sse.close();
    }
    await waitFor(() => legacySessions().length === 0, 'the session to end with its stream');
  });

  it('closing the stream aborts the session\'s calls in flight and forgets its id', async () => {
    const sse = await openRawSse(sseUrl);
    const messages = new URL((await sse.next()).data, sseUrl);
    await post(messages, INIT);
    await sse.next((e) => e.event === 'message');
    const before = records.length;
    await post(messages, { jsonrpc: '2.0', id: 'slow', method: 'tools/call', params: { name: 'everything__trigger-long-running-operation', arguments: { duration: 30, steps: 30 }, _meta: { progressToken: 1 } } });
    await sse.next((e) => JSON.parse(e.data).method === 'notifications/progress');
    sse.close();
    const r = await waitFor(() => records.slice(before).find((x) => x.method === 'tools/call'), 'the aborted call to be recorded');
    assert.equal(r.outcome, 'cancelled');
    const gone = await post(messages, { jsonrpc: '2.0', id: 1, method: 'ping' });
    assert.equal(gone.status, 404);
    assert.match(gone.json.error.message, /Session not found/);
  });

  it('unknown or missing sessionId: 404 with a clear message, recorded', async () => {
    const before = records.length;
    const unknown = await post(new URL('/messages?sessionId=AAAAAAAAAAAAAAAAAAAAAA', gw.url), { jsonrpc: '2.0', id: 1, method: 'ping' });
    assert.equal(unknown.status, 404);
    assert.equal(unknown.json.error.data.gatehouse.error, 'session_not_found');
    assert.match(unknown.json.error.message, /GET \/sse/);
    const missing = await post(new URL('/messages', gw.url), { jsonrpc: '2.0', id: 1, method: 'ping' });
    assert.equal(missing.status, 404);
    assert.match(missing.json.error.message, /needs the \?sessionId=/);
    assert.equal(records.length, before + 2);
    assert.ok(records.slice(before).every((r) => r.outcome === 'malformed'));
    // A Streamable HTTP session id is not a legacy SSE session.
    const res = await request(gw.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: JSON.stringify({ ...INIT, params: { ...INIT.params, protocolVersion: '2025-11-25' } }),
    });
    await res.body.text();
    const sid = String(res.headers['mcp-session-id']);
    assert.equal((await post(new URL(`/messages?sessionId=${sid}`, gw.url), { jsonrpc: '2.0', id: 1, method: 'ping' })).status, 404);
    await request(gw.url, { method: 'DELETE', headers: { 'mcp-session-id': sid } }).then((r) => r.body.text());
  });

  it('a foreign Origin or a rebinding Host gets 403 on both endpoints, recorded as denied', async () => {
    const before = records.length;
    const get = await request(sseUrl, { method: 'GET', headers: { accept: 'text/event-stream', origin: 'https://evil.example' } });
    assert.equal(get.statusCode, 403);
    await get.body.text();
    const host = await request(sseUrl, { method: 'GET', headers: { accept: 'text/event-stream', host: 'attacker.example' } });
    assert.equal(host.statusCode, 403);
    await host.body.text();
    const sse = await openRawSse(sseUrl);
    try {
      const messages = new URL((await sse.next()).data, sseUrl);
      const p = await post(messages, INIT, { origin: 'https://evil.example' });
      assert.equal(p.status, 403);
      assert.equal(p.json.error.data.gatehouse.error, 'forbidden_origin');
      assert.ok(records.slice(before).filter((r) => r.outcome === 'denied').length >= 3);
      // A loopback origin is fine on a loopback listener, as on the MCP endpoint.
      assert.equal((await post(messages, INIT, { origin: 'http://localhost:5173' })).status, 202);
    } finally {
      sse.close();
    }
  });

  it('transport hygiene: media type, body size, JSON, batches, methods', async () => {
    const sse = await openRawSse(sseUrl);
    try {
      const messages = new URL((await sse.next()).data, sseUrl);
      const ct = await post(messages, '{}', { 'content-type': 'text/plain' });
      assert.equal(ct.status, 415);
      const big = await post(messages, { jsonrpc: '2.0', id: 1, method: 'ping', params: { pad: 'x'.repeat(5 * 1024 * 1024) } });
      assert.equal(big.status, 413);
      const bad = await post(messages, '{"jsonrpc": "2.0", "id": 1,');
      assert.equal(bad.status, 400);
      assert.equal(bad.json.error.code, -32700);
      const batch = await post(messages, [{ jsonrpc: '2.0', id: 1, method: 'ping' }]);
      assert.equal(batch.status, 400);
      assert.equal(batch.json.error.data.gatehouse.error, 'batch_not_supported');
      const invalid = await post(messages, { jsonrpc: '1.0', id: 7, method: 'ping' });
      assert.equal(invalid.status, 400);
      assert.equal(invalid.json.error.code, -32600);
      assert.equal(invalid.json.id, 7);
      const wrongMethod = await request(messages, { method: 'GET' });
      assert.equal(wrongMethod.statusCode, 405);
      assert.equal(wrongMethod.headers.allow, 'POST');
      await wrongMethod.body.text();
      const postSse = await post(sseUrl, INIT);
      assert.equal(postSse.status, 405);
      assert.equal(postSse.headers.allow, 'GET');
      const notSse = await request(sseUrl, { method: 'GET', headers: { accept: 'application/json' } });
      assert.equal(notSse.statusCode, 406);
      await notSse.body.text();
    } finally {
      sse.close();
    }
  });

  it('tools/list_changed reaches the SSE client when a reload adds an upstream', async () => {
    const client = new Client({ name: 'sse-listener', version: '1.0.0' });
    const heard = new Promise<void>((resolve) => client.setNotificationHandler(ToolListChangedNotificationSchema, () => resolve()));
    await client.connect(new SSEClientTransport(sseUrl));
    try {
      gw.rewrite({ upstreams: [stdioEverything(), { name: 'memory', transport: 'stdio', command: process.execPath, args: [MEMORY], env: { MEMORY_FILE_PATH: `${gw.dir}/m.jsonl` } }] });
      assert.deepEqual(await gw.running.reload(), { ok: true });
      await heard;
      const tools = await client.listTools();
      assert.ok(tools.tools.some((t) => t.name === 'memory__read_graph'));
    } finally {
      await client.close();
    }
  });
});

describe('legacy HTTP+SSE transport switched off', () => {
  it('answers 404 on its paths', async () => {
    await using gw = await startGateway({ gateway: { legacySse: { enabled: false } }, upstreams: [] });
    const res = await request(new URL('/sse', gw.url), { method: 'GET', headers: { accept: 'text/event-stream' } });
    assert.equal(res.statusCode, 404);
    await res.body.text();
  });
});
