import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { tokensSchema, type TokensConfig } from '../../src/config/schema/auth.ts';
import { configSchema } from '../../src/config/schema/root.ts';
import { canonicalUrls } from '../../src/identity/canonical-url.ts';
import type { AuthEnv, AuthResult, Credentials } from '../../src/identity/method.ts';
import { createGatewayTokenMethod } from '../../src/identity/methods/gateway-token.ts';
import { TokenInputError, TokenService } from '../../src/identity/tokens/token-service.ts';
import { MemoryStore } from '../../src/store/memory.ts';
import { openSqliteStore } from '../../src/store/sqlite.ts';
import type { Store } from '../../src/store/store.ts';

const ISSUER = 'https://mcp.example.com';
const AUDIENCE = 'https://mcp.example.com/mcp';
const T0 = Date.parse('2030-01-01T00:00:00Z');
const cfg: TokensConfig = tokensSchema.parse({ defaultTtlSeconds: 600, maxTtlSeconds: 3600 });

function service(store: Store = new MemoryStore(), c: TokensConfig = cfg, audience = AUDIENCE): TokenService {
  return new TokenService(store, c, () => ISSUER, () => audience);
}

async function ok(s: TokenService, token: string, now: number): Promise<Record<string, unknown>> {
  const r = await s.verify(token, now);
  assert.equal(r.kind, 'ok', JSON.stringify(r));
  return (r as { claims: Record<string, unknown> }).claims;
}

async function refused(s: TokenService, token: string, now: number): Promise<string> {
  const r = await s.verify(token, now);
  assert.equal(r.kind, 'fail', JSON.stringify(r));
  const { reason, message } = (r as Extract<AuthResult, { kind: 'fail' }>).failure;
  assert.equal(reason, 'invalid_token');
  const signature = token.split('.')[2] ?? '';
  if (signature !== '') assert.ok(!message.includes(signature), 'the message echoes the token');
  return message;
}

describe('TokenService', () => {
  it('mints a token that verifies, with the claims asked for', async () => {
    const s = service();
    const minted = await s.mint({ agent: 'ci-bot', user: 'alice', tenant: 'acme', roles: ['dev', 'ops'], scopes: ['tools:call', 'tools:read'], name: 'CI bot' }, T0);
    assert.equal(minted.expiresAt, T0 + 600_000);
    const header = decodeProtectedHeader(minted.token);
    assert.equal(header.alg, 'EdDSA');
    assert.equal(header.typ, 'at+jwt');
    assert.equal(typeof header.kid, 'string');
    const claims = await ok(s, minted.token, T0 + 1000);
    assert.deepEqual(
      { ...claims },
      { iss: ISSUER, aud: AUDIENCE, sub: 'ci-bot', gh_user: 'alice', gh_tenant: 'acme', gh_name: 'CI bot', roles: ['dev', 'ops'], scope: 'tools:call tools:read', jti: minted.jti, iat: T0 / 1000, exp: T0 / 1000 + 600 },
    );
  });

  it('feeds the gateway_token method, which maps the claims onto the principal', async () => {
    const s = service();
    const { token, jti } = await s.mint({ agent: 'ci-bot', user: 'alice', tenant: 'acme', roles: ['dev'], scopes: ['a', 'b'], ttlSeconds: 120 }, T0);
    const env: AuthEnv = { store: new MemoryStore(), tokens: s, audiences: () => [AUDIENCE], now: () => T0 + 5000 };
    const m = createGatewayTokenMethod({ name: 'minted' });
    assert.equal(m.type, 'gateway_token');
    assert.equal(m.bearer, true);
    const c: Credentials = { bearer: token, apiKey: undefined, peerCertificate: undefined, peerAuthorized: false, peerError: undefined, userAssertion: undefined, clientAddress: undefined };
    const r = await m.authenticate(c, env);
    assert.equal(r.kind, 'ok', JSON.stringify(r));
    const p = (r as Extract<AuthResult, { kind: 'ok' }>).principal;
    assert.deepEqual(
      { authMethod: p.authMethod, authSource: p.authSource, agent: p.agent, user: p.user, userSource: p.userSource, tenant: p.tenant, roles: p.roles, scopes: p.scopes, credentialId: p.credentialId, expiresAt: p.expiresAt, id: p.id },
      { authMethod: 'gateway_token', authSource: 'minted', agent: 'ci-bot', user: 'alice', userSource: 'credential', tenant: 'acme', roles: ['dev'], scopes: ['a', 'b'], credentialId: jti, expiresAt: T0 + 120_000, id: 'minted:acme:ci-bot:alice' },
    );
    assert.deepEqual(await m.authenticate({ ...c, bearer: undefined }, env), { kind: 'skip', why: 'no bearer token' });
  });

  it('makes ES256 keys when configured to', async () => {
    const s = service(new MemoryStore(), tokensSchema.parse({ algorithm: 'ES256' }));
    const { token } = await s.mint({ agent: 'a' }, T0);
    assert.equal(decodeProtectedHeader(token).alg, 'ES256');
    await ok(s, token, T0);
  });

  it('keeps tokens of a rotated key valid, and signs new ones with the new key', async () => {
    const store = new MemoryStore();
    const s = service(store);
    const first = await s.ensureKey(T0);
    assert.equal(await s.ensureKey(T0), first, 'ensureKey makes a key only when none is active');
    const old = await s.mint({ agent: 'a', ttlSeconds: 3600 }, T0);
    const { kid, retired } = await s.rotate(T0 + 1000);
    assert.notEqual(kid, first);
    assert.deepEqual(retired, [first]);
    await ok(s, old.token, T0 + 2000);
    const fresh = await s.mint({ agent: 'a' }, T0 + 2000);
    assert.equal(decodeProtectedHeader(fresh.token).kid, kid);
    await ok(s, fresh.token, T0 + 3000);
    assert.deepEqual((await s.jwks(T0 + 3000)).keys.map((k) => k.kid).sort(), [first, kid].sort());
  });

  it('prunes a retired key once every token it signed has expired', async () => {
    const store = new MemoryStore();
    const s = service(store);
    const first = await s.ensureKey(T0);
    const old = await s.mint({ agent: 'a', ttlSeconds: 3600 }, T0);
    await s.rotate(T0);
    const later = T0 + 3600_000 + 1;
    assert.deepEqual((await s.jwks(later)).keys.map((k) => k.kid).includes(first), false, 'no longer published');
    await s.ensureKey(later);
    assert.deepEqual((await store.listSigningKeys()).map((k) => k.kid).includes(first), false, 'pruned from the store');
    assert.match(await refused(service(store), old.token, later), /no key with kid/);
  });

  it('publishes public keys only', async () => {
    const s = service();
    await s.ensureKey(T0);
    await s.rotate(T0);
    const { keys } = await s.jwks(T0);
    assert.equal(keys.length, 2);
    for (const k of keys) {
      assert.deepEqual(Object.keys(k).sort(), ['alg', 'crv', 'kid', 'kty', 'use', 'x']);
      assert.equal(k.use, 'sig');
      assert.equal(k.alg, 'EdDSA');
      assert.equal('d' in k, false);
    }
  });

  it('refuses a ttl above maxTtlSeconds and bad names', async () => {
    const s = service();
    await assert.rejects(s.mint({ agent: 'a', ttlSeconds: 3601 }, T0), (e: unknown) => e instanceof TokenInputError && /ttl 3601 s is longer than the 3600 s allowed/.test(e.message));
    await assert.rejects(s.mint({ agent: 'a b' }, T0), { name: 'TokenInputError', message: 'agent "a b" contains whitespace or control characters' });
    await assert.rejects(s.mint({ agent: '' }, T0), { name: 'TokenInputError', message: 'agent is required and must be a non-empty string' });
    await assert.rejects(s.mint({ agent: 'a', scopes: ['x', 'x'] }, T0), { name: 'TokenInputError', message: 'scope "x" is given twice' });
    await assert.rejects(s.mint({ agent: 'a', ttlSeconds: 1.5 }, T0), TokenInputError);
  });

  it('refuses a token minted by another gateway (another store) under the same issuer', async () => {
    const mine = service();
    await mine.ensureKey(T0);
    const { token } = await service().mint({ agent: 'a' }, T0);
    assert.match(await refused(mine, token, T0), /^no key with kid ".+" among the gateway's signing keys$/);
  });

  it('refuses a tampered token, an expired one and one for another audience', async () => {
    const store = new MemoryStore();
    const s = service(store);
    const { token } = await s.mint({ agent: 'a', roles: ['reader'] }, T0);
    const [h, , sig] = token.split('.');
    const payload = { ...decodeJwt(token), roles: ['admin'] };
    assert.equal(await refused(s, `${h}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}.${sig}`, T0), 'signature verification failed');
    assert.equal(await refused(s, token, T0 + 3600_000), `token expired at ${new Date(T0 + 600_000).toISOString()}`);
    assert.equal(await refused(service(store, cfg, 'https://other.example/mcp'), token, T0), `token audience "${AUDIENCE}" does not include https://other.example/mcp`);
  });

  it('skips tokens that are not its own and refuses unsigned ones', async () => {
    const s = service();
    assert.deepEqual(await s.verify('ghk_abcdef', T0), { kind: 'skip', why: 'the bearer token is not a JWT' });
    const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
    const foreign = `${b64({ alg: 'RS256' })}.${b64({ iss: 'https://idp.example' })}.c2ln`;
    assert.deepEqual(await s.verify(foreign, T0), { kind: 'skip', why: `issuer "https://idp.example" is not this gateway (${ISSUER})` });
    const unsigned = `${b64({ alg: 'none' })}.${b64({ iss: ISSUER, sub: 'a' })}.`;
    assert.equal(await refused(s, unsigned, T0), 'alg none is not accepted: tokens must be signed');
  });

  it('picks up a key rotated by another process sharing the store', async () => {
    const store = openSqliteStore(':memory:');
    try {
      const gateway = service(store);
      const cli = service(store);
      const before = await cli.mint({ agent: 'a' }, T0);
      await ok(gateway, before.token, T0);
      await cli.rotate(T0 + 10);
      const after = await cli.mint({ agent: 'a' }, T0 + 20);
      // The gateway's key list is a few seconds old by the time the new kid arrives.
      await ok(gateway, after.token, T0 + 5000);
      await ok(gateway, before.token, T0 + 5000);
    } finally {
      await store.close();
    }
  });
});

describe('canonicalUrls (issuer and audience of minted tokens)', () => {
  const base = (over: Record<string, unknown>) => configSchema.parse({ version: 1, ...over });

  it('derives both from the listen address, IPv6 in brackets, https with TLS', () => {
    assert.deepEqual(canonicalUrls(base({})), { resource: 'http://127.0.0.1:8080/mcp', issuer: 'http://127.0.0.1:8080' });
    assert.deepEqual(canonicalUrls(base({ gateway: { listen: { host: '::1', port: 0, path: '/x' } } }), 4321), { resource: 'http://[::1]:4321/x', issuer: 'http://[::1]:4321' });
    assert.equal(canonicalUrls(base({ gateway: { listen: { tls: { cert: 'c.pem', key: 'k.pem' } } } })).resource, 'https://127.0.0.1:8080/mcp');
  });

  it('prefers gateway.publicUrl and auth.tokens.issuer', () => {
    assert.deepEqual(canonicalUrls(base({ gateway: { publicUrl: 'https://mcp.example.com/a/mcp' } })), { resource: 'https://mcp.example.com/a/mcp', issuer: 'https://mcp.example.com' });
    assert.deepEqual(canonicalUrls(base({ gateway: { publicUrl: 'https://mcp.example.com/mcp' }, auth: { tokens: { issuer: 'https://id.example.com' } } })), {
      resource: 'https://mcp.example.com/mcp',
      issuer: 'https://id.example.com',
    });
  });
});
