// HTTP upstreams that fail in the ways real ones do, played by a small programmable server.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { GatewayFault } from '../../src/errors/codes.ts';
import { connectUpstream } from '../../src/upstream/connect.ts';
import { freePort } from '../support/processes.ts';
import { deps, eventually, httpConfig, RecordedEvents, textOf } from './support/helpers.ts';

type Handler = (req: IncomingMessage, body: Record<string, unknown> | undefined, res: ServerResponse) => void;

interface Played {
  url: string;
  seen: Array<{ method: string; rpc: string | undefined; session: string | undefined }>;
  handler: Handler;
  close(): Promise<void>;
}

async function play(handler: Handler): Promise<Played> {
  const played: Played = { url: '', seen: [], handler, close: async () => undefined };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const body = text === '' ? undefined : (JSON.parse(text) as Record<string, unknown>);
      played.seen.push({ method: req.method ?? '', rpc: body?.method as string | undefined, session: req.headers['mcp-session-id'] as string | undefined });
      played.handler(req, body, res);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  played.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp`;
  played.close = () =>
    new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    });
  return played;
}

function json(res: ServerResponse, status: number, value: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(value));
}

/** A minimal legacy (2025-06-18) server with sessions; `expire()` makes it forget the current one. */
function legacyServer(): { handler: Handler; expire(): void; deleted: string[] } {
  let n = 0;
  let current = '';
  const deleted: string[] = [];
  let cut: unknown;
  const handler: Handler = (req, body, res) => {
    if (req.method === 'GET' && req.headers['last-event-id'] === 'e1' && cut !== undefined) {
      // Resumption of the cut stream: the answer arrives here.
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      return void res.end(`id: e2\ndata: ${JSON.stringify({ jsonrpc: '2.0', id: cut, result: { content: [{ type: 'text', text: 'resumed' }] } })}\n\n`);
    }
    if (req.method === 'GET') return void res.writeHead(405).end();
    if (req.method === 'DELETE') {
      deleted.push(String(req.headers['mcp-session-id']));
      return void res.writeHead(200).end();
    }
    if (body?.method === 'server/discover') return json(res, 400, { jsonrpc: '2.0', id: null, error: { code: -32000, message: 'Bad Request: Server not initialized' } });
    if (body?.method === 'initialize') {
      current = `s${++n}`;
      return json(res, 200, { jsonrpc: '2.0', id: body.id, result: { protocolVersion: '2025-06-18', capabilities: { tools: {} }, serverInfo: { name: 'played', version: '1' } } }, { 'mcp-session-id': current });
    }
    if (req.headers['mcp-session-id'] !== current) return json(res, 404, { jsonrpc: '2.0', id: null, error: { code: -32001, message: 'Session not found' } });
    if (body?.id === undefined) return void res.writeHead(202).end();
    if (body.method === 'tools/call' && (body.params as { name?: string }).name === 'cut') {
      // Polling-style SSE (2025-11-25): prime with an id, ask for a quick retry, close before answering.
      cut = body.id;
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      return void res.end('id: e1\nretry: 10\ndata: \n\n');
    }
    if (body.method === 'tools/call') return json(res, 200, { jsonrpc: '2.0', id: body.id, result: { content: [{ type: 'text', text: `in ${current}` }] } });
    return json(res, 200, { jsonrpc: '2.0', id: body.id, error: { code: -32601, message: 'Method not found' } });
  };
  return { handler, expire: () => (current = 'gone'), deleted };
}

describe('HTTP failures', () => {
  let played: Played;
  before(async () => {
    played = await play(() => undefined);
  });
  after(async () => {
    await played.close();
  });

  it('connection refused is upstream_unavailable, naming the upstream', async () => {
    const port = await freePort();
    await assert.rejects(connectUpstream(httpConfig(`http://127.0.0.1:${port}/mcp`, { name: 'nobody' }), deps(new RecordedEvents())), (err) => {
      assert.ok(err instanceof GatewayFault);
      assert.equal(err.error.name, 'upstream_unavailable');
      assert.match(err.message, /nobody/);
      assert.match(err.message, /ECONNREFUSED/);
      return true;
    });
  });

  it('a 5xx is upstream_failed with the status', async () => {
    played.handler = (_req, _body, res) => json(res, 500, { oops: true });
    await assert.rejects(connectUpstream(httpConfig(played.url, { name: 'broken' }), deps(new RecordedEvents())), (err) => err instanceof GatewayFault && err.error.name === 'upstream_failed' && /broken/.test(err.message) && /HTTP 500/.test(err.message));
  });

  it('a 401 says so, without echoing the configured credentials', async () => {
    played.handler = (_req, _body, res) => res.writeHead(401, { 'www-authenticate': 'Bearer' }).end();
    await assert.rejects(connectUpstream(httpConfig(played.url, { name: 'locked', headers: { authorization: 'Bearer s3cr3t-token' } }), deps(new RecordedEvents())), (err) => {
      assert.ok(err instanceof GatewayFault);
      assert.equal(err.error.name, 'upstream_unavailable');
      assert.match(err.message, /HTTP 401/);
      assert.doesNotMatch(JSON.stringify(err.error), /s3cr3t/);
      return true;
    });
  });

  it('a modern server\'s answers that are not JSON-RPC are protocol errors', async () => {
    let mode = 'html';
    played.handler = (_req, body, res) => {
      if (body?.method === 'server/discover') return json(res, 200, { jsonrpc: '2.0', id: body.id, result: { supportedVersions: ['2026-07-28'], capabilities: {} } });
      if (mode === 'html') return void res.writeHead(200, { 'content-type': 'text/html' }).end('<html>hi</html>');
      if (mode === 'not-rpc') return json(res, 200, { hello: 'world' });
      if (mode === 'huge') {
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(65 * 1024 * 1024) });
        return void res.end('{');
      }
      if (mode === 'cut') {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        return void res.end('event: message\ndata: {"jsonrpc":"2.0","method":"notifications/message","params":{"level":"info","data":"x"}}\n\n');
      }
      return json(res, 200, { jsonrpc: '2.0', id: body?.id, error: { code: -32602, message: 'bad arguments' } });
    };
    const s = await connectUpstream(httpConfig(played.url, { name: 'odd' }), deps(new RecordedEvents()));
    try {
      assert.equal(s.era, 'modern');
      await assert.rejects(s.request('tools/list', {}), (err) => err instanceof GatewayFault && err.error.name === 'upstream_protocol_error' && /text\/html/.test(err.message));
      mode = 'not-rpc';
      await assert.rejects(s.request('tools/list', {}), (err) => err instanceof GatewayFault && err.error.name === 'upstream_protocol_error' && /not a JSON-RPC response/.test(err.message));
      mode = 'huge';
      await assert.rejects(s.request('tools/list', {}), (err) => err instanceof GatewayFault && err.error.name === 'upstream_protocol_error' && /limit/.test(err.message));
      mode = 'cut';
      const notes: unknown[] = [];
      await assert.rejects(s.request('tools/list', {}, { onNotification: (n) => notes.push(n) }), (err) => err instanceof GatewayFault && err.error.name === 'upstream_failed' && /ended before the answer/.test(err.message));
      assert.equal(notes.length, 1, 'the request-scoped notification reached the call');
      mode = 'rpc-error';
      const res = await s.request('tools/call', { name: 'x' });
      assert.ok('error' in res);
      assert.equal(res.error.message, 'bad arguments');
    } finally {
      await s.close();
    }
  });

  it('a legacy session that expires is re-initialized once and the request retried; close sends DELETE', async () => {
    const legacy = legacyServer();
    played.handler = legacy.handler;
    played.seen.length = 0;
    const events = new RecordedEvents();
    const s = await connectUpstream(httpConfig(played.url, { name: 'sessions' }), deps(events));
    assert.equal(s.era, 'legacy');
    assert.equal(s.protocolVersion, '2025-06-18');
    assert.equal(textOf(await s.request('tools/call', { name: 'a' })), 'in s1');
    legacy.expire();
    assert.equal(textOf(await s.request('tools/call', { name: 'a' })), 'in s2');
    assert.equal(textOf(await s.request('tools/call', { name: 'cut' })), 'resumed');
    const rpcs = played.seen.filter((r) => r.method === 'POST').map((r) => `${r.rpc ?? 'response'}@${r.session ?? '-'}`);
    assert.deepEqual(rpcs, [
      'server/discover@-',
      'initialize@-',
      'notifications/initialized@s1',
      'tools/call@s1',
      'tools/call@s1',
      'initialize@-',
      'notifications/initialized@s2',
      'tools/call@s2',
      'tools/call@s2',
    ]);
    assert.ok(played.seen.some((r) => r.method === 'GET' && r.session === 's2'), 'resumed with a GET on the session');
    await s.close();
    assert.deepEqual(legacy.deleted, ['s2']);
    assert.deepEqual(events.closes, [undefined]);
  });

  it('a session that cannot be re-initialized kills the session (onClose)', async () => {
    const legacy = legacyServer();
    played.handler = legacy.handler;
    const events = new RecordedEvents();
    const s = await connectUpstream(httpConfig(played.url, { name: 'sessions' }), deps(events));
    played.handler = (_req, _body, res) => json(res, 404, { jsonrpc: '2.0', id: null, error: { code: -32001, message: 'Session not found' } });
    await assert.rejects(s.request('tools/call', { name: 'a' }), (err) => err instanceof GatewayFault && /re-initialization failed/.test(err.message));
    await eventually(() => events.closes.length === 1, 'onClose');
    assert.ok(events.closes[0] instanceof GatewayFault);
  });
});
