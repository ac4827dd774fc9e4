// Edge hygiene against a running gateway, with raw HTTP: every hostile request gets a precise answer.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import { startGateway, stdioEverything, type TestGateway } from '../harness/gateway.ts';

const MODERN = '2026-07-28';
const meta = { 'io.modelcontextprotocol/protocolVersion': MODERN, 'io.modelcontextprotocol/clientCapabilities': {} };

async function post(url: string, body: string | object, headers: Record<string, string> = {}) {
  const res = await request(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.body.text();
  return { status: res.statusCode, headers: res.headers, json: text.length > 0 ? JSON.parse(text) : undefined };
}

function modernHeaders(method: string, name?: string): Record<string, string> {
  return { 'mcp-protocol-version': MODERN, 'mcp-method': method, ...(name === undefined ? {} : { 'mcp-name': name }) };
}

describe('edge hygiene', () => {
  let gw: TestGateway;
  const records: { outcome: string; error?: { code: number } }[] = [];
  before(async () => {
    gw = await startGateway({ gateway: { limits: { maxBodyBytes: 2048, maxHeaderBytes: 4096, maxSessions: 2 } }, upstreams: [stdioEverything()] });
    gw.running.gateway.observers.add({ name: 'test', onComplete: (r) => records.push(r as never) });
  });
  after(() => gw.stop());

  it('refuses a foreign Origin with 403 and records it', async () => {
    const before = records.length;
    const r = await post(gw.url, { jsonrpc: '2.0', id: 1, method: 'ping', params: { _meta: meta } }, { ...modernHeaders('ping'), origin: 'https://evil.example' });
    assert.equal(r.status, 403);
    assert.equal(records.length, before + 1);
    assert.equal(records.at(-1)?.outcome, 'denied');
  });

  it('allows a loopback Origin on a loopback listener', async () => {
    const r = await post(gw.url, { jsonrpc: '2.0', id: 1, method: 'server/discover', params: { _meta: meta } }, { ...modernHeaders('server/discover'), origin: 'http://localhost:5173' });
    assert.equal(r.status, 200);
    assert.equal(r.json.result.resultType, 'complete');
  });

  it('refuses a rebinding Host with 403', async () => {
    const r = await post(gw.url, { jsonrpc: '2.0', id: 1, method: 'ping', params: { _meta: meta } }, { ...modernHeaders('ping'), host: 'attacker.example' });
    assert.equal(r.status, 403);
  });

  it('answers malformed JSON with a parse error', async () => {
    const r = await post(gw.url, '{"jsonrpc": "2.0", "id": 1,');
    assert.equal(r.status, 400);
    assert.equal(r.json.error.code, -32700);
    assert.equal(r.json.id, null);
  });

  it('rejects batches', async () => {
    const r = await post(gw.url, [{ jsonrpc: '2.0', id: 1, method: 'ping' }]);
    assert.equal(r.status, 400);
    assert.equal(r.json.error.code, -32600);
  });

  it('rejects an oversized body with 413', async () => {
    const r = await post(gw.url, { jsonrpc: '2.0', id: 1, method: 'ping', params: { pad: 'x'.repeat(5000) } });
    assert.equal(r.status, 413);
  });

  it('rejects oversized headers with 431', async () => {
    const r = await post(gw.url, { jsonrpc: '2.0', id: 1, method: 'ping' }, { 'x-pad': 'y'.repeat(8000) });
    assert.equal(r.status, 431);
  });

  it('rejects a wrong content type with 415', async () => {
    const r = await post(gw.url, 'ping', { 'content-type': 'text/plain' });
    assert.equal(r.status, 415);
  });

  it('2026-07-28: Mcp-Name that disagrees with the body is -32020 / 400', async () => {
    const r = await post(gw.url, { jsonrpc: '2.0', id: 5, method: 'tools/call', params: { name: 'everything__echo', arguments: { message: 'x' }, _meta: meta } }, modernHeaders('tools/call', 'everything__get-sum'));
    assert.equal(r.status, 400);
    assert.equal(r.json.error.code, -32020);
    assert.equal(r.json.id, 5);
  });

  it('2026-07-28: an unsupported version is -32022 with the supported list', async () => {
    const m = { ...meta, 'io.modelcontextprotocol/protocolVersion': '2099-01-01' };
    const r = await post(gw.url, { jsonrpc: '2.0', id: 6, method: 'ping', params: { _meta: m } }, { ...modernHeaders('ping'), 'mcp-protocol-version': '2099-01-01' });
    assert.equal(r.status, 400);
    assert.equal(r.json.error.code, -32022);
    assert.ok(r.json.error.data.supported.includes(MODERN));
    assert.equal(r.json.error.data.requested, '2099-01-01');
  });

  it('2026-07-28: missing clientCapabilities is -32602 / 400', async () => {
    const r = await post(gw.url, { jsonrpc: '2.0', id: 7, method: 'ping', params: { _meta: { 'io.modelcontextprotocol/protocolVersion': MODERN } } }, modernHeaders('ping'));
    assert.equal(r.status, 400);
    assert.equal(r.json.error.code, -32602);
  });

  it('2026-07-28: an unknown method is 404 / -32601, server/discover answers', async () => {
    const r = await post(gw.url, { jsonrpc: '2.0', id: 8, method: 'nope/nothing', params: { _meta: meta } }, modernHeaders('nope/nothing'));
    assert.equal(r.status, 404);
    assert.equal(r.json.error.code, -32601);
    const d = await post(gw.url, { jsonrpc: '2.0', id: 9, method: 'server/discover', params: { _meta: meta } }, modernHeaders('server/discover'));
    assert.equal(d.status, 200);
    assert.ok(d.json.result.supportedVersions.includes(MODERN));
    assert.ok(d.json.result.capabilities.tools);
  });

  it('2025 era: a request without a session is refused; an unknown session is 404', async () => {
    const r = await post(gw.url, { jsonrpc: '2.0', id: 1, method: 'tools/list' }, { 'mcp-protocol-version': '2025-11-25' });
    assert.equal(r.status, 400);
    const s = await post(gw.url, { jsonrpc: '2.0', id: 1, method: 'tools/list' }, { 'mcp-session-id': 'f'.repeat(32) });
    assert.equal(s.status, 404);
  });

  it('2025 era: sessions are bounded (503 beyond maxSessions) and DELETE frees one', async () => {
    const init = { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 't', version: '1' } } };
    const a = await post(gw.url, init);
    const b = await post(gw.url, init);
    assert.equal(a.status, 200);
    assert.equal(a.json.result.protocolVersion, '2025-11-25');
    assert.equal(b.status, 200);
    const c = await post(gw.url, init);
    assert.equal(c.status, 503);
    const sid = a.headers['mcp-session-id'] as string;
    const del = await request(gw.url, { method: 'DELETE', headers: { 'mcp-session-id': sid } });
    await del.body.dump();
    assert.equal(del.statusCode, 204);
    const d = await post(gw.url, init);
    assert.equal(d.status, 200);
    for (const r of [b, d]) {
      const x = await request(gw.url, { method: 'DELETE', headers: { 'mcp-session-id': r.headers['mcp-session-id'] as string } });
      await x.body.dump();
    }
  });

  it('every refused request above left exactly one record', () => {
    assert.ok(records.length >= 15);
    assert.ok(records.every((r) => typeof r.outcome === 'string'));
  });
});
