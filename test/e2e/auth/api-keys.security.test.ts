// The data plane with API keys, against real SDK clients of both eras and a real server: what an
// unauthenticated or wrongly authenticated agent gets (401 + Bearer challenge, RFC 9728 metadata),
// sessions bound to who opened them, and every refusal recorded for the observers.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { Client as V1Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as V1Transport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { createKey } from '../../../src/identity/key-service.ts';
import { generateApiKey } from '../../../src/identity/api-key-format.ts';
import type { ExchangeRecord } from '../../../src/pipeline/record.ts';
import { startGateway, stdioEverything, type TestGateway } from '../../harness/gateway.ts';

const INIT = { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'raw', version: '1' } } };

function post(url: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers }, body: JSON.stringify(body) });
}

describe('API keys on the data plane', () => {
  let gw: TestGateway;
  let keyA: string;
  let keyB: string;
  let expired: string;
  const records: ExchangeRecord[] = [];

  before(async () => {
    gw = await startGateway({
      auth: { methods: [{ name: 'keys', type: 'api_key' }], resourceMetadata: { resourceName: 'Test gateway' } },
      gateway: { listen: { auth: ['keys'] } },
      upstreams: [stdioEverything('everything')],
    });
    gw.running.gateway.observers.add({ name: 'test', onComplete: (r) => void records.push(r) });
    const store = gw.running.gateway.store;
    keyA = (await createKey(store, { agent: 'agent-a', tenant: 'acme', roles: ['oncall'], scopes: ['tools'] }, Date.now())).key;
    keyB = (await createKey(store, { agent: 'agent-b', tenant: 'acme' }, Date.now())).key;
    expired = (await createKey(store, { agent: 'agent-c', expiresInSeconds: 1 }, Date.now() - 10_000)).key;
  });
  after(() => gw.stop());

  const metadataUrl = () => `${new URL(gw.url).origin}/.well-known/oauth-protected-resource/mcp`;

  it('no credential: 401 with the Bearer challenge naming the resource metadata, and nothing else is read', async () => {
    const before = records.length;
    const res = await post(gw.url, INIT);
    assert.equal(res.status, 401);
    assert.equal(res.headers.get('www-authenticate'), `Bearer resource_metadata="${metadataUrl()}"`);
    const body = (await res.json()) as { error: { code: number; message: string } };
    assert.equal(body.error.code, -31401);
    assert.match(body.error.message, /authentication required/);
    const r = records.slice(before).find((x) => x.error?.name === 'unauthenticated');
    assert.ok(r, 'the refusal is recorded');
    assert.equal(r.outcome, 'denied');
    assert.equal(r.principal.agent, 'anonymous');
    assert.deepEqual(r.decisions.map((d) => [d.filter, d.phase, d.kind]), [['authn:none', 'authenticate', 'deny']]);
  });

  it('a wrong, malformed, expired or non-Bearer credential: 401 with error="invalid_token" and a precise description', async () => {
    const cases: [Record<string, string>, RegExp][] = [
      [{ authorization: `Bearer ${keyA.slice(0, -2)}xx` }, /checksum of the API key does not match/],
      [{ authorization: `Bearer ${generateApiKey().text}` }, /unknown API key/],
      [{ authorization: `Bearer ${expired}` }, /expired/],
      [{ 'x-api-key': 'ghk_nonsense' }, /API key/i],
      [{ authorization: `Basic ${Buffer.from('a:b').toString('base64')}` }, /scheme Basic is not accepted/],
      [{ authorization: 'Bearer not-a-key-at-all' }, /not accepted here/],
    ];
    for (const [headers, why] of cases) {
      const res = await post(gw.url, INIT, headers);
      assert.equal(res.status, 401, JSON.stringify(headers));
      const challenge = res.headers.get('www-authenticate') ?? '';
      assert.match(challenge, /^Bearer error="invalid_token", error_description="[^"]+", resource_metadata="/);
      const body = (await res.json()) as { error: { message: string } };
      assert.match(body.error.message, why);
      for (const secret of [keyA, expired]) assert.ok(!body.error.message.includes(secret.slice(17)) && !challenge.includes(secret.slice(17)), 'no secret echoed');
    }
  });

  it('serves RFC 9728 metadata at the endpoint-specific and the root well-known URL', async () => {
    for (const url of [metadataUrl(), `${new URL(gw.url).origin}/.well-known/oauth-protected-resource`]) {
      const res = await fetch(url);
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type') ?? '', /application\/json/);
      const doc = (await res.json()) as Record<string, unknown>;
      assert.equal(doc.resource, gw.url, 'resource is the canonical URL of the MCP endpoint');
      assert.deepEqual(doc.bearer_methods_supported, ['header']);
      assert.equal(doc.resource_name, 'Test gateway');
    }
  });

  it('SDK 1.x (2025 era) and SDK 2.x (2026-07-28) clients work with a key; the exchanges carry the principal', async () => {
    const v1 = new V1Client({ name: 'v1', version: '1' });
    await v1.connect(new V1Transport(new URL(gw.url), { requestInit: { headers: { authorization: `Bearer ${keyA}` } } }));
    const t1 = await v1.listTools();
    assert.ok(t1.tools.some((t) => t.name === 'everything__echo'));
    await v1.close();

    const v2 = new Client({ name: 'v2', version: '1' }, { versionNegotiation: { mode: 'auto' } });
    await v2.connect(new StreamableHTTPClientTransport(new URL(gw.url), { requestInit: { headers: { 'x-api-key': keyB } } }));
    assert.equal(v2.getNegotiatedProtocolVersion(), '2026-07-28');
    const echo = await v2.callTool({ name: 'everything__echo', arguments: { message: 'hi' } });
    assert.match(JSON.stringify(echo.content), /hi/);
    await v2.close();

    const call = records.findLast((r) => r.method === 'tools/call');
    assert.ok(call);
    assert.equal(call.principal.agent, 'agent-b');
    assert.equal(call.principal.tenant, 'acme');
    assert.equal(call.principal.authMethod, 'api_key');
    assert.equal(call.principal.authSource, 'keys');
    assert.match(call.principal.credentialId ?? '', /^[A-Za-z0-9]+$/);
    assert.equal(call.decisions[0]?.filter, 'authn:keys');
    const list = records.find((r) => r.method === 'tools/list' && r.principal.agent === 'agent-a');
    assert.deepEqual(list?.principal.roles, ['oncall']);
  });

  it('a session opened by one principal cannot be used, listened to or deleted with another principal\'s key', async () => {
    const init = await post(gw.url, INIT, { authorization: `Bearer ${keyA}` });
    assert.equal(init.status, 200);
    const sid = init.headers.get('mcp-session-id');
    assert.ok(sid);
    await init.text();
    const asA = { authorization: `Bearer ${keyA}`, 'mcp-session-id': sid, 'mcp-protocol-version': '2025-11-25' };
    const asB = { authorization: `Bearer ${keyB}`, 'mcp-session-id': sid, 'mcp-protocol-version': '2025-11-25' };
    assert.equal((await post(gw.url, { jsonrpc: '2.0', method: 'notifications/initialized' }, asA)).status, 202);

    const before = records.length;
    const hijack = await post(gw.url, { jsonrpc: '2.0', id: 2, method: 'tools/list' }, asB);
    assert.equal(hijack.status, 404, 'the same answer as an unknown session');
    const text = await hijack.text();
    assert.match(text, /Session not found/);
    assert.ok(!text.includes('agent-a'), 'nothing about whose session it is');
    const rec = records.slice(before).find((r) => r.decisions.some((d) => d.filter === 'session-binding'));
    assert.ok(rec, 'the hijack attempt is recorded');
    assert.equal(rec.outcome, 'denied');
    assert.equal(rec.principal.agent, 'agent-b');

    const get = await fetch(gw.url, { headers: { ...asB, accept: 'text/event-stream' } });
    assert.equal(get.status, 404);
    await get.text();
    const del = await fetch(gw.url, { method: 'DELETE', headers: asB });
    assert.equal(del.status, 404);
    await del.text();

    const ok = await post(gw.url, { jsonrpc: '2.0', id: 3, method: 'tools/list' }, asA);
    assert.equal(ok.status, 200, 'the owner still has the session');
    assert.match(await ok.text(), /everything__echo/);
    const bye = await fetch(gw.url, { method: 'DELETE', headers: asA });
    assert.equal(bye.status, 204);
  });

  it('the legacy HTTP+SSE transport is authenticated too, and its sessions are bound the same way', async () => {
    const origin = new URL(gw.url).origin;
    const anon = await fetch(`${origin}/sse`, { headers: { accept: 'text/event-stream' } });
    assert.equal(anon.status, 401);
    await anon.text();
    const ctrl = new AbortController();
    const sse = await fetch(`${origin}/sse`, { headers: { accept: 'text/event-stream', authorization: `Bearer ${keyA}` }, signal: ctrl.signal });
    assert.equal(sse.status, 200);
    const reader = sse.body!.getReader();
    let buf = '';
    while (!/data: (\S+)/.test(buf)) buf += new TextDecoder().decode((await reader.read()).value);
    const endpoint = /data: (\S+)/.exec(buf)![1]!;
    const asB = await post(`${origin}${endpoint}`, INIT, { authorization: `Bearer ${keyB}` });
    assert.equal(asB.status, 404);
    await asB.text();
    const asA = await post(`${origin}${endpoint}`, INIT, { authorization: `Bearer ${keyA}` });
    assert.equal(asA.status, 202);
    await asA.text();
    ctrl.abort();
  });
});

describe('a data plane without an anonymous method', () => {
  it('refuses a configuration that lists no method at all, naming the file and line', async () => {
    await assert.rejects(
      startGateway({ auth: { methods: [] }, gateway: { listen: { auth: [] } }, upstreams: [] }),
      (err: Error) => /gatehouse\.yaml:\d+:\d+: gateway\.listen\.auth is empty/.test(err.message),
    );
  });
});
