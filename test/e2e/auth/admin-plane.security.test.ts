// The admin listener: its own port and its own credentials. Keys and tokens made there work on the
// data plane at once; revocation and rotation take effect on the next request; the data plane never
// serves admin routes and agent keys never open the admin API.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createKey } from '../../../src/identity/key-service.ts';
import { startGateway, stdioEverything, type TestGateway } from '../../harness/gateway.ts';

const INIT = { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'raw', version: '1' } } };

describe('admin plane', () => {
  let gw: TestGateway;
  let adminUrl: string;
  let adminKey: string;
  let agentKey: string;

  const admin = async (method: string, path: string, opts: { key?: string; body?: unknown; raw?: string } = {}) => {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (opts.key !== undefined) headers.authorization = `Bearer ${opts.key}`;
    const res = await fetch(`${adminUrl}${path}`, { method, headers, ...(opts.raw !== undefined ? { body: opts.raw } : opts.body !== undefined ? { body: JSON.stringify(opts.body) } : {}) });
    return { status: res.status, challenge: res.headers.get('www-authenticate'), body: (await res.json()) as Record<string, any> };
  };
  const data = async (credential: string) => {
    const res = await fetch(gw.url, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', authorization: `Bearer ${credential}` }, body: JSON.stringify(INIT) });
    await res.text();
    return res.status;
  };

  before(async () => {
    gw = await startGateway({
      auth: {
        methods: [
          { name: 'keys', type: 'api_key' },
          { name: 'minted', type: 'gateway_token' },
          { name: 'admin-keys', type: 'api_key', kind: 'admin' },
        ],
      },
      gateway: { listen: { auth: ['keys', 'minted'] } },
      admin: { listen: { host: '127.0.0.1', port: 0 }, auth: ['admin-keys'] },
      upstreams: [stdioEverything('everything')],
    });
    adminUrl = gw.running.admin!.url;
    adminKey = (await createKey(gw.running.gateway.store, { agent: 'ops', kind: 'admin' }, Date.now())).key;
    agentKey = (await createKey(gw.running.gateway.store, { agent: 'agent-a' }, Date.now())).key;
  });
  after(() => gw.stop());

  it('listens on its own port; the data plane serves no admin route', async () => {
    assert.notEqual(new URL(adminUrl).port, new URL(gw.url).port);
    const res = await fetch(`${new URL(gw.url).origin}/v1/keys`, { headers: { authorization: `Bearer ${adminKey}` } });
    assert.equal(res.status, 404);
    await res.text();
  });

  it('refuses callers without an admin credential: none, an agent key, a garbage token', async () => {
    const none = await admin('GET', '/v1/keys');
    assert.equal(none.status, 401);
    assert.match(none.challenge ?? '', /^Bearer realm="gatehouse-admin"/);
    const agent = await admin('GET', '/v1/keys', { key: agentKey });
    assert.equal(agent.status, 401);
    assert.match(agent.body.error.message, /admin/i);
    assert.equal((await admin('GET', '/v1/keys', { key: 'ghk_x' })).status, 401);
    // Admin keys are no agent credential either.
    assert.equal(await data(adminKey), 401);
  });

  it('whoami, and precise errors for bad bodies and unknown routes', async () => {
    const me = await admin('GET', '/v1/whoami', { key: adminKey });
    assert.equal(me.status, 200);
    assert.equal(me.body.principal.agent, 'ops');
    assert.equal((await admin('POST', '/v1/keys', { key: adminKey, raw: '{nope' })).status, 400);
    const unknownField = await admin('POST', '/v1/keys', { key: adminKey, body: { agent: 'x', colour: 'blue' } });
    assert.equal(unknownField.status, 400);
    assert.match(unknownField.body.error.message, /colour/);
    assert.equal((await admin('GET', '/v1/nothing', { key: adminKey })).status, 404);
    assert.equal((await admin('DELETE', '/v1/whoami', { key: adminKey })).status, 405);
  });

  it('key lifecycle over the API: create (shown once) -> works -> rotate (old one ends) -> revoke', async () => {
    const created = await admin('POST', '/v1/keys', { key: adminKey, body: { agent: 'ci-bot', tenant: 'acme', scopes: ['tools'] } });
    assert.equal(created.status, 201);
    const key = created.body.key as string;
    assert.match(key, /^ghk_/);
    assert.equal(created.body.record.hash, undefined, 'the hash is never served');
    assert.equal(await data(key), 200);

    const listed = await admin('GET', '/v1/keys', { key: adminKey });
    assert.ok(listed.body.keys.some((k: { id: string; agent: string }) => k.agent === 'ci-bot'));
    assert.ok(!JSON.stringify(listed.body).includes(key.split('_').at(-1)!), 'no secret in listings');

    const id = created.body.record.id as string;
    const rotated = await admin('POST', `/v1/keys/${id}/rotate`, { key: adminKey, body: { graceSeconds: 0 } });
    assert.equal(rotated.status, 201);
    const next = rotated.body.key as string;
    assert.equal(await data(next), 200);
    assert.equal(await data(key), 401, 'rotation without grace ends the old key');

    assert.equal((await admin('POST', `/v1/keys/${rotated.body.record.id}/revoke`, { key: adminKey })).status, 200);
    assert.equal(await data(next), 401, 'revoked: refused on the very next request');
  });

  it('minted tokens work on the data plane, are published in the JWKS, and survive a signing key rotation', async () => {
    const minted = await admin('POST', '/v1/tokens', { key: adminKey, body: { agent: 'short-lived', ttlSeconds: 300, scopes: ['tools'] } });
    assert.equal(minted.status, 201, JSON.stringify(minted.body));
    const token = minted.body.token as string;
    assert.equal(await data(token), 200);

    const jwks = (await (await fetch(`${new URL(gw.url).origin}/.well-known/jwks.json`)).json()) as { keys: Record<string, unknown>[] };
    assert.equal(jwks.keys.length, 1);
    assert.equal(jwks.keys[0]!.d, undefined, 'no private member');

    const rotated = await admin('POST', '/v1/signing-keys/rotate', { key: adminKey });
    assert.equal(rotated.status, 201);
    assert.equal(await data(token), 200, 'tokens minted before the rotation stay valid');
    const after = (await (await fetch(`${new URL(gw.url).origin}/.well-known/jwks.json`)).json()) as { keys: { kid: string }[] };
    assert.equal(after.keys.length, 2);
    assert.ok(after.keys.some((k) => k.kid === rotated.body.kid));

    const tooLong = await admin('POST', '/v1/tokens', { key: adminKey, body: { agent: 'x', ttlSeconds: 10 * 86_400 } });
    assert.equal(tooLong.status, 400);
  });
});
