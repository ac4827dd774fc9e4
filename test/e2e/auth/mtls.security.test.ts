// mTLS on the data plane: real TLS, client certificates made for the test (SPIFFE IDs as URI SANs),
// a real SDK client over HTTPS, and fallback to an API key for agents without a certificate.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Agent, fetch as undiciFetch } from 'undici';
import { Client as V1Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as V1Transport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { createKey } from '../../../src/identity/key-service.ts';
import type { ExchangeRecord } from '../../../src/pipeline/record.ts';
import { startGateway, stdioEverything, type TestGateway } from '../../harness/gateway.ts';
import { makeTestPki, type TestCert, type TestPki } from '../../support/certs.ts';

const INIT = { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'raw', version: '1' } } };

describe('mTLS with SPIFFE IDs', () => {
  let dir: string;
  let pki: TestPki;
  let gw: TestGateway;
  let key: string;
  const records: ExchangeRecord[] = [];
  const agents: Agent[] = [];

  const dispatcher = (client?: TestCert): Agent => {
    const a = new Agent({ connect: { ca: pki.ca.cert, ...(client === undefined ? {} : { cert: client.cert, key: client.key }) } });
    agents.push(a);
    return a;
  };
  const post = async (client: TestCert | undefined, headers: Record<string, string> = {}) => {
    const res = await undiciFetch(gw.url, { method: 'POST', dispatcher: dispatcher(client), headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers }, body: JSON.stringify(INIT) });
    return { status: res.status, challenge: res.headers.get('www-authenticate'), text: await res.text() };
  };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gatehouse-mtls-'));
    pki = makeTestPki(dir);
    const server = pki.server();
    gw = await startGateway({
      auth: {
        methods: [
          { name: 'workloads', type: 'mtls', trustDomains: ['prod.example.org'], pattern: '^spiffe://prod\\.example\\.org/tenant/(?<tenant>[^/]+)/agent/(?<agent>[^/]+)$', roles: ['workload'] },
          { name: 'keys', type: 'api_key' },
        ],
      },
      gateway: { listen: { auth: ['workloads', 'keys'], tls: { cert: server.certPath, key: server.keyPath, clientCa: pki.ca.certPath, clientCert: 'request' } } },
      upstreams: [stdioEverything('everything')],
    });
    gw.running.gateway.observers.add({ name: 'test', onComplete: (r) => void records.push(r) });
    key = (await createKey(gw.running.gateway.store, { agent: 'laptop-agent' }, Date.now())).key;
  });
  after(async () => {
    await gw?.stop();
    await Promise.all(agents.map((a) => a.close()));
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves HTTPS and identifies a workload by its SPIFFE ID (tenant and agent from the pattern)', async () => {
    assert.match(gw.url, /^https:\/\//);
    const cert = pki.client({ uris: ['spiffe://prod.example.org/tenant/acme/agent/billing-bot'] });
    const r = await post(cert);
    assert.equal(r.status, 200, r.text);
    const rec = records.findLast((x) => x.method === 'initialize');
    assert.ok(rec);
    assert.equal(rec.principal.authMethod, 'mtls');
    assert.equal(rec.principal.agent, 'billing-bot');
    assert.equal(rec.principal.tenant, 'acme');
    assert.deepEqual(rec.principal.roles, ['workload']);
    assert.match(rec.principal.credentialId ?? '', /^sha256:[0-9a-f]{64}$/);
  });

  it('a real SDK client works over mTLS', async () => {
    const cert = pki.client({ uris: ['spiffe://prod.example.org/tenant/acme/agent/sdk-bot'] });
    const d = dispatcher(cert);
    const client = new V1Client({ name: 'mtls', version: '1' });
    await client.connect(new V1Transport(new URL(gw.url), { fetch: ((url: string | URL, init?: RequestInit) => undiciFetch(url, { ...(init as object), dispatcher: d })) as unknown as typeof fetch }));
    const r = await client.callTool({ name: 'everything__echo', arguments: { message: 'over mtls' } });
    assert.match(JSON.stringify(r.content), /over mtls/);
    await client.close();
    assert.equal(records.findLast((x) => x.method === 'tools/call')?.principal.agent, 'sdk-bot');
  });

  it('refuses a certificate from an untrusted CA, an expired one, and a foreign trust domain, with the reason', async () => {
    const cases: [TestCert, RegExp][] = [
      [pki.client({ uris: ['spiffe://prod.example.org/tenant/acme/agent/x'], ca: 'other' }), /not trusted/],
      [pki.client({ uris: ['spiffe://prod.example.org/tenant/acme/agent/x'], expired: true }), /not trusted|expired/i],
      [pki.client({ uris: ['spiffe://evil.org/tenant/acme/agent/x'] }), /trust domain evil\.org is not trusted/],
      [pki.client({ uris: ['spiffe://prod.example.org/other/shape'] }), /match|pattern/i],
    ];
    for (const [cert, why] of cases) {
      const r = await post(cert);
      assert.equal(r.status, 401, r.text);
      assert.match(r.text, why);
    }
  });

  it('without a certificate the next method (API key) decides; with neither, 401', async () => {
    assert.equal((await post(undefined, { authorization: `Bearer ${key}` })).status, 200);
    assert.equal(records.findLast((x) => x.method === 'initialize')?.principal.agent, 'laptop-agent');
    const none = await post(undefined);
    assert.equal(none.status, 401);
    assert.match(none.challenge ?? '', /^Bearer resource_metadata="https:\/\/127\.0\.0\.1:\d+\/\.well-known\/oauth-protected-resource\/mcp"$/);
  });
});
