// OAuth 2.1 resource-server behaviour through the whole gateway, with a real IdP stand-in on loopback:
// audience bound to the gateway's canonical URL, 401/403 challenges as the MCP authorization spec
// words them, key rotation at the IdP, and a trusted proxy's signed user assertion.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import type { ExchangeRecord } from '../../../src/pipeline/record.ts';
import { startGateway, stdioEverything, type TestGateway } from '../../harness/gateway.ts';
import { TestIdp } from '../../support/idp.ts';

const INIT = { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'raw', version: '1' } } };

describe('JWT access tokens from an OIDC provider', () => {
  let idp: TestIdp;
  let proxyIdp: TestIdp;
  let gw: TestGateway;
  const records: ExchangeRecord[] = [];

  const post = async (headers: Record<string, string>) => {
    const res = await fetch(gw.url, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers }, body: JSON.stringify(INIT) });
    return { status: res.status, challenge: res.headers.get('www-authenticate') ?? '', text: await res.text() };
  };
  const metadata = () => `${new URL(gw.url).origin}/.well-known/oauth-protected-resource/mcp`;

  before(async () => {
    idp = await TestIdp.start();
    proxyIdp = await TestIdp.start();
    gw = await startGateway({
      auth: {
        methods: [
          { name: 'corp', type: 'jwt', issuer: idp.origin, requiredScopes: ['mcp:tools'], jwks: { cooldownSeconds: 0 } },
          { name: 'front-proxy', type: 'jwt', issuer: proxyIdp.origin, audience: ['gatehouse-user-assertions'] },
          { name: 'corp-admins', type: 'jwt', issuer: idp.origin, audience: ['gatehouse-admin-api'], jwks: { cooldownSeconds: 0 } },
        ],
      },
      gateway: { listen: { auth: ['corp'], userAssertion: { header: 'x-user-assertion', method: 'front-proxy' } } },
      admin: { listen: { port: 0 }, auth: ['corp-admins'], role: 'mcp-admins' },
      upstreams: [stdioEverything('everything')],
    });
    gw.running.gateway.observers.add({ name: 'test', onComplete: (r) => void records.push(r) });
  });
  after(async () => {
    await gw?.stop();
    await idp?.stop();
    await proxyIdp?.stop();
  });

  it('the metadata names the IdP and the scopes; the 401 challenge carries both resource_metadata and scope', async () => {
    const doc = (await (await fetch(metadata())).json()) as Record<string, unknown>;
    assert.deepEqual(doc, { resource: gw.url, bearer_methods_supported: ['header'], authorization_servers: [idp.origin], scopes_supported: ['mcp:tools'] });
    const r = await post({});
    assert.equal(r.status, 401);
    assert.equal(r.challenge, `Bearer scope="mcp:tools", resource_metadata="${metadata()}"`);
  });

  it('a token for this gateway (aud = its canonical URL) works with a real SDK client; the principal comes from the claims', async () => {
    const token = await idp.sign({ sub: 'alice@example.com', client_id: 'cursor', aud: gw.url, scope: 'mcp:tools openid', tenant: 'acme', roles: ['oncall'] });
    const client = new Client({ name: 'oidc', version: '1' }, { versionNegotiation: { mode: 'auto' } });
    await client.connect(new StreamableHTTPClientTransport(new URL(gw.url), { requestInit: { headers: { authorization: `Bearer ${token}` } } }));
    const r = await client.callTool({ name: 'everything__echo', arguments: { message: 'with a token' } });
    assert.match(JSON.stringify(r.content), /with a token/);
    await client.close();
    const p = records.findLast((x) => x.method === 'tools/call')!.principal;
    assert.equal(p.authMethod, 'jwt');
    assert.equal(p.agent, 'cursor');
    assert.equal(p.user, 'alice@example.com');
    assert.equal(p.tenant, 'acme');
    assert.deepEqual(p.roles, ['oncall']);
    assert.deepEqual(p.scopes, ['mcp:tools', 'openid']);
  });

  it('a valid token without the required scope gets 403 insufficient_scope with the scope it needs', async () => {
    const token = await idp.sign({ sub: 'bob', client_id: 'cursor', aud: gw.url, scope: 'openid' });
    const r = await post({ authorization: `Bearer ${token}` });
    assert.equal(r.status, 403);
    assert.match(r.challenge, new RegExp(`^Bearer error="insufficient_scope", scope="mcp:tools", resource_metadata="${metadata().replace(/[.?]/g, '\\$&')}", error_description="[^"]+"$`));
    const rec = records.findLast((x) => x.error?.name === 'insufficient_scope');
    assert.equal(rec?.outcome, 'denied');
  });

  it('refuses tokens for another audience, expired tokens, tokens of an untrusted issuer and tampered tokens with 401 invalid_token', async () => {
    const other = await TestIdp.start();
    try {
      const now = Math.floor(Date.now() / 1000);
      const good = await idp.sign({ sub: 'x', client_id: 'c', aud: gw.url, scope: 'mcp:tools' });
      const [h, p, s] = good.split('.');
      const tampered = `${h}.${Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(p!, 'base64url').toString()), sub: 'admin' })).toString('base64url')}.${s}`;
      const cases: [string, RegExp][] = [
        [await idp.sign({ sub: 'x', client_id: 'c', aud: 'https://some-other-server.example/mcp', scope: 'mcp:tools' }), /audience/],
        [await idp.sign({ sub: 'x', client_id: 'c', aud: gw.url, scope: 'mcp:tools', iat: now - 900, exp: now - 600 }), /expired/],
        [await other.sign({ sub: 'x', client_id: 'c', aud: gw.url, scope: 'mcp:tools' }), /not trusted|not accepted/],
        [tampered, /signature/],
      ];
      for (const [token, why] of cases) {
        const r = await post({ authorization: `Bearer ${token}` });
        assert.equal(r.status, 401, r.text);
        assert.match(r.challenge, /^Bearer error="invalid_token"/);
        assert.match(r.text, why);
      }
    } finally {
      await other.stop();
    }
  });

  it('follows a key rotation at the IdP: a token signed with the new key is accepted after one refetch', async () => {
    const before = idp.jwksFetches;
    await idp.rotate();
    const token = await idp.sign({ sub: 'x', client_id: 'c', aud: gw.url, scope: 'mcp:tools' });
    assert.equal((await post({ authorization: `Bearer ${token}` })).status, 200);
    assert.ok(idp.jwksFetches > before, 'the unknown kid made the gateway fetch the key set again');
  });

  it('the admin API takes the IdP\'s tokens only with the admin role and the admin audience', async () => {
    const admin = gw.running.admin!.url;
    const call = async (token: string) => {
      const res = await fetch(`${admin}/v1/whoami`, { headers: { authorization: `Bearer ${token}` } });
      return { status: res.status, body: (await res.json()) as Record<string, any> };
    };
    const ok = await call(await idp.sign({ sub: 'dana', client_id: 'console', aud: 'gatehouse-admin-api', roles: ['mcp-admins'] }));
    assert.equal(ok.status, 200);
    assert.equal(ok.body.principal.user, 'dana');
    const noRole = await call(await idp.sign({ sub: 'eve', client_id: 'console', aud: 'gatehouse-admin-api', roles: ['oncall'] }));
    assert.equal(noRole.status, 403);
    assert.match(noRole.body.error.message, /role "mcp-admins"/);
    const dataToken = await call(await idp.sign({ sub: 'dana', client_id: 'console', aud: gw.url, roles: ['mcp-admins'], scope: 'mcp:tools' }));
    assert.equal(dataToken.status, 401, 'a data-plane token is no admin token');
  });

  it('takes the user from a trusted proxy\'s signed assertion, and refuses a forged one', async () => {
    const token = await idp.sign({ sub: 'svc', client_id: 'workflow-runner', aud: gw.url, scope: 'mcp:tools' });
    const assertion = await proxyIdp.sign({ sub: 'carol@example.com', aud: 'gatehouse-user-assertions' });
    assert.equal((await post({ authorization: `Bearer ${token}`, 'x-user-assertion': assertion })).status, 200);
    const p = records.findLast((x) => x.method === 'initialize')!.principal;
    assert.equal(p.agent, 'workflow-runner');
    assert.equal(p.user, 'carol@example.com');
    assert.equal(p.userSource, 'proxy_assertion');

    const forged = await idp.sign({ sub: 'mallory', aud: 'gatehouse-user-assertions' });
    const r = await post({ authorization: `Bearer ${token}`, 'x-user-assertion': forged });
    assert.equal(r.status, 401);
    assert.match(r.text, /user assertion/);
  });
});
