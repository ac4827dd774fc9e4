// The jwt method against a real identity provider stand-in: OIDC discovery and a JWKS served over
// HTTP on loopback, keys made with jose, tokens signed (and forged) here.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK, type JWTPayload } from 'jose';
import { jwtMethodSchema } from '../../src/config/schema/auth.ts';
import type { AuthEnv, AuthMethod, AuthResult, Credentials } from '../../src/identity/method.ts';
import { createJwtMethod, verifyUserAssertion } from '../../src/identity/methods/jwt.ts';
import { MemoryStore } from '../../src/store/memory.ts';

const AUDIENCE = 'http://127.0.0.1:9/mcp';
const NOW = Date.now();
const nowS = Math.floor(NOW / 1000);

interface Key {
  kid: string;
  alg: string;
  privateKey: CryptoKey;
  jwk: JWK;
}

async function makeKey(kid: string, alg = 'ES256'): Promise<Key> {
  const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true });
  return { kid, alg, privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' } };
}

/** The provider: discovery documents and a JWKS whose keys the tests swap. */
class Provider {
  server!: Server;
  origin = '';
  published: Key[] = [];
  jwksFetches = 0;
  discoveryFetches = 0;

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      const url = req.url ?? '/';
      const json = (status: number, body: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(body));
      };
      if (url === '/.well-known/openid-configuration') this.discoveryFetches++;
      if (url === '/.well-known/openid-configuration') return json(200, { issuer: this.origin, jwks_uri: `${this.origin}/jwks` });
      if (url === '/jwks') {
        this.jwksFetches++;
        return json(200, { keys: this.published.map((k) => k.jwk) });
      }
      // An issuer with a path and only RFC 8414 metadata (the OIDC address answers 404).
      if (url === '/.well-known/oauth-authorization-server/tenant-a') return json(200, { issuer: `${this.origin}/tenant-a`, jwks_uri: `${this.origin}/jwks` });
      // A provider whose document vouches for another issuer.
      if (url === '/liar/.well-known/openid-configuration') return json(200, { issuer: 'https://elsewhere.example', jwks_uri: `${this.origin}/jwks` });
      if (url === '/broken-jwks') return json(500, { error: 'boom' });
      if (url === '/hang') return; // never answers
      json(404, { error: 'not found' });
    });
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.origin = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }
}

const provider = new Provider();
let key1: Key;
let key2: Key;
let closedPort: number;

const env: AuthEnv = {
  store: new MemoryStore(),
  tokens: { verify: async () => ({ kind: 'skip' }) },
  audiences: () => [AUDIENCE],
  now: () => NOW,
};

function method(extra: Record<string, unknown> = {}): AuthMethod {
  return createJwtMethod(jwtMethodSchema.parse({ name: 'idp', type: 'jwt', issuer: provider.origin, jwks: { cooldownSeconds: 0 }, ...extra }));
}

function creds(bearer: string | undefined): Credentials {
  return { bearer, apiKey: undefined, peerCertificate: undefined, peerAuthorized: false, peerError: undefined, userAssertion: undefined, clientAddress: '127.0.0.1' };
}

function goodClaims(over: JWTPayload = {}): JWTPayload {
  return { iss: provider.origin, aud: AUDIENCE, sub: 'alice', client_id: 'cursor', iat: nowS - 10, exp: nowS + 300, jti: 'tok-1', scope: 'tools:call tools:read', roles: ['dev'], tenant: 'acme', ...over };
}

async function sign(claims: JWTPayload, k: Key = key1, header: Record<string, unknown> = {}): Promise<string> {
  return new SignJWT(claims).setProtectedHeader({ alg: k.alg, kid: k.kid, ...header }).sign(k.privateKey);
}

async function failure(m: AuthMethod, token: string): Promise<{ reason: string; message: string; scopes?: readonly string[] }> {
  const r = await m.authenticate(creds(token), env);
  assert.equal(r.kind, 'fail', `expected a failure, got ${JSON.stringify(r)}`);
  const f = (r as Extract<AuthResult, { kind: 'fail' }>).failure;
  // Whatever went wrong, the message never carries the token.
  for (const part of token.split('.')) if (part.length > 8) assert.ok(!f.message.includes(part), `message echoes the token: ${f.message}`);
  return f;
}

function b64(v: unknown): string {
  return Buffer.from(JSON.stringify(v)).toString('base64url');
}

before(async () => {
  await provider.start();
  key1 = await makeKey('k1');
  key2 = await makeKey('k2', 'RS256');
  provider.published = [key1];
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  closedPort = (s.address() as AddressInfo).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
});

after(async () => {
  await provider.stop();
});

describe('jwt method: accepting tokens', () => {
  it('accepts a valid token found through OIDC discovery and maps the principal', async () => {
    const m = method({ claims: { attributes: ['department'] } });
    assert.equal(m.type, 'jwt');
    assert.equal(m.bearer, true);
    assert.equal(m.issuer, provider.origin);
    const r = await m.authenticate(creds(await sign(goodClaims({ client_name: 'Cursor IDE', department: 'R&D' }))), env);
    assert.equal(r.kind, 'ok', JSON.stringify(r));
    const p = (r as Extract<AuthResult, { kind: 'ok' }>).principal;
    assert.equal(p.authMethod, 'jwt');
    assert.equal(p.authSource, 'idp');
    assert.equal(p.agent, 'cursor');
    assert.equal(p.agentName, 'Cursor IDE');
    assert.equal(p.user, 'alice');
    assert.equal(p.userSource, 'credential');
    assert.equal(p.tenant, 'acme');
    assert.deepEqual(p.roles, ['dev']);
    assert.deepEqual(p.scopes, ['tools:call', 'tools:read']);
    assert.deepEqual(p.groups, []);
    assert.equal(p.credentialId, 'tok-1');
    assert.equal(p.expiresAt, (nowS + 300) * 1000);
    assert.deepEqual(p.attributes, { department: 'R&D' });
    assert.equal(p.id, 'idp:acme:cursor:alice');
  });

  it('names the credential issuer#kid when the token has no jti', async () => {
    const r = await method().authenticate(creds(await sign(goodClaims({ jti: undefined }))), env);
    assert.equal(r.kind, 'ok');
    assert.equal((r as Extract<AuthResult, { kind: 'ok' }>).principal.credentialId, `${provider.origin}#k1`);
  });

  it('follows a key rotation: a token with a new kid is accepted after the key set is fetched again', async () => {
    const m = method();
    const discovered = provider.discoveryFetches;
    assert.equal((await m.authenticate(creds(await sign(goodClaims())), env)).kind, 'ok');
    const fetched = provider.jwksFetches;
    provider.published = [key2];
    try {
      const r = await m.authenticate(creds(await sign(goodClaims(), key2)), env);
      assert.equal(r.kind, 'ok', JSON.stringify(r));
      assert.equal(provider.jwksFetches, fetched + 1);
      assert.equal(provider.discoveryFetches, discovered + 1, 'discovery happens once per method');
    } finally {
      provider.published = [key1];
    }
  });

  it('finds keys through RFC 8414 metadata when the issuer has no OIDC document', async () => {
    const issuer = `${provider.origin}/tenant-a`;
    const m = createJwtMethod(jwtMethodSchema.parse({ name: 'idp2', type: 'jwt', issuer }));
    assert.equal((await m.authenticate(creds(await sign(goodClaims({ iss: issuer }))), env)).kind, 'ok');
  });

  it('uses the configured audience instead of the gateway URL', async () => {
    const m = method({ audience: ['api://gatehouse'] });
    assert.equal((await m.authenticate(creds(await sign(goodClaims({ aud: ['other', 'api://gatehouse'] }))), env)).kind, 'ok');
    assert.match((await failure(m, await sign(goodClaims()))).message, /does not include api:\/\/gatehouse/);
  });
});

describe('jwt method: skipping what is not its own', () => {
  it('skips a missing bearer, an opaque token and a token of another issuer', async () => {
    const m = method();
    assert.deepEqual(await m.authenticate(creds(undefined), env), { kind: 'skip', why: 'no bearer token' });
    assert.equal((await m.authenticate(creds('ghk_abc.def'), env)).kind, 'skip');
    const r = await m.authenticate(creds(await sign(goodClaims({ iss: 'https://other.example' }))), env);
    assert.deepEqual(r, { kind: 'skip', why: 'issuer "https://other.example" is not trusted by method idp' });
  });
});

describe('jwt method: refusing bad tokens', () => {
  it('refuses an expired token, saying when it expired', async () => {
    const f = await failure(method(), await sign(goodClaims({ iat: nowS - 7200, exp: nowS - 3600 })));
    assert.equal(f.reason, 'invalid_token');
    assert.equal(f.message, `token expired at ${new Date((nowS - 3600) * 1000).toISOString()}`);
  });

  it('refuses a token that is not valid yet', async () => {
    const f = await failure(method(), await sign(goodClaims({ nbf: nowS + 600 })));
    assert.equal(f.message, `token is not valid before ${new Date((nowS + 600) * 1000).toISOString()}`);
  });

  it('refuses a token without exp', async () => {
    assert.equal((await failure(method(), await sign(goodClaims({ exp: undefined })))).message, 'token has no "exp" claim');
  });

  it('refuses a token issued longer ago than maxTokenAgeSeconds', async () => {
    const f = await failure(method({ maxTokenAgeSeconds: 60 }), await sign(goodClaims({ iat: nowS - 3600 })));
    assert.match(f.message, /token was issued at .*, longer ago than the 60 s accepted/);
  });

  it('refuses a token for another audience', async () => {
    const f = await failure(method(), await sign(goodClaims({ aud: 'https://other.example/mcp' })));
    assert.equal(f.message, `token audience "https://other.example/mcp" does not include ${AUDIENCE}`);
  });

  it('refuses alg none', async () => {
    const token = `${b64({ alg: 'none', typ: 'JWT' })}.${b64(goodClaims())}.`;
    const f = await failure(method(), token);
    assert.equal(f.reason, 'invalid_token');
    assert.equal(f.message, 'alg none is not accepted: tokens must be signed');
  });

  it('refuses HS256 signed with the public key as the secret (algorithm confusion)', async () => {
    const secret = new TextEncoder().encode(JSON.stringify(key1.jwk));
    const token = await new SignJWT(goodClaims()).setProtectedHeader({ alg: 'HS256', kid: 'k1' }).sign(secret);
    assert.equal((await failure(method(), token)).message, 'alg HS256 is not accepted: shared-secret algorithms are never accepted');
  });

  it('refuses an algorithm outside the allow-list', async () => {
    const f = await failure(method({ algorithms: ['RS256'] }), await sign(goodClaims()));
    assert.equal(f.message, 'alg ES256 is not accepted (accepted: RS256)');
  });

  it('refuses an unknown kid after fetching the key set again', async () => {
    const m = method();
    assert.equal((await m.authenticate(creds(await sign(goodClaims())), env)).kind, 'ok');
    const fetched = provider.jwksFetches;
    const stranger = await makeKey('k-unknown');
    const f = await failure(m, await sign(goodClaims(), stranger));
    assert.equal(f.message, `no key with kid "k-unknown" in the issuer's key set`);
    assert.equal(provider.jwksFetches, fetched + 1);
  });

  it('refuses a token signed by another key under a known kid', async () => {
    const impostor = await makeKey('k1');
    assert.equal((await failure(method(), await sign(goodClaims(), impostor))).message, 'signature verification failed');
  });

  it('refuses a tampered payload', async () => {
    const [h, , s] = (await sign(goodClaims())).split('.');
    const token = `${h}.${b64(goodClaims({ roles: ['admin'] }))}.${s}`;
    assert.equal((await failure(method(), token)).message, 'signature verification failed');
  });

  it('refuses a token naming no agent, saying which claims it looked for', async () => {
    const f = await failure(method(), await sign(goodClaims({ sub: undefined, client_id: undefined })));
    assert.equal(f.reason, 'invalid_token');
    assert.equal(f.message, 'token names no agent: none of the claims act.sub, client_id, azp, sub is present');
  });

  it('answers insufficient_scope when a required scope is missing', async () => {
    const f = await failure(method({ requiredScopes: ['tools:call', 'admin'] }), await sign(goodClaims()));
    assert.equal(f.reason, 'insufficient_scope');
    assert.equal(f.message, 'token lacks the required scope admin');
    assert.deepEqual(f.scopes, ['tools:call', 'admin']);
  });
});

describe('jwt method: the provider failing (closed)', () => {
  it('is unavailable when the key set server is down', async () => {
    const m = method({ jwksUrl: `http://127.0.0.1:${closedPort}/jwks` });
    const f = await failure(m, await sign(goodClaims()));
    assert.equal(f.reason, 'unavailable');
    assert.match(f.message, new RegExp(`could not fetch http://127\\.0\\.0\\.1:${closedPort}/jwks: .*ECONNREFUSED`));
  });

  it('is unavailable when the key set answers an error status', async () => {
    const f = await failure(method({ jwksUrl: `${provider.origin}/broken-jwks` }), await sign(goodClaims()));
    assert.equal(f.reason, 'unavailable');
    assert.match(f.message, /broken-jwks answered HTTP 500/);
  });

  it('is unavailable when the key set does not answer in time', async () => {
    const f = await failure(method({ jwksUrl: `${provider.origin}/hang`, jwks: { timeoutMs: 200, cooldownSeconds: 0 } }), await sign(goodClaims()));
    assert.equal(f.reason, 'unavailable');
    assert.match(f.message, /\/hang did not answer within 200 ms/);
  });

  it('refuses a discovery document that names another issuer', async () => {
    const issuer = `${provider.origin}/liar`;
    const m = createJwtMethod(jwtMethodSchema.parse({ name: 'liar', type: 'jwt', issuer }));
    const f = await failure(m, await sign(goodClaims({ iss: issuer })));
    assert.equal(f.reason, 'unavailable');
    assert.match(f.message, /names issuer "https:\/\/elsewhere\.example", not the configured http:\/\/127\.0\.0\.1:\d+\/liar/);
  });

  it('says which discovery addresses it tried when there is no document', async () => {
    const issuer = `${provider.origin}/nothing`;
    const m = createJwtMethod(jwtMethodSchema.parse({ name: 'none', type: 'jwt', issuer }));
    const f = await failure(m, await sign(goodClaims({ iss: issuer })));
    assert.equal(f.reason, 'unavailable');
    assert.match(f.message, /no discovery document for issuer .*\/nothing \(.*openid-configuration answered HTTP 404; .*oauth-authorization-server\/nothing answered HTTP 404; .*\); set jwksUrl/);
  });
});

describe('jwt method: config checks at compile time', () => {
  it('refuses plain http issuers and key set URLs off loopback, without any I/O', () => {
    assert.throws(() => createJwtMethod(jwtMethodSchema.parse({ name: 'x', type: 'jwt', issuer: 'http://idp.example.com' })), {
      message: 'auth method "x": issuer "http://idp.example.com" must use https (plain http is accepted only for loopback hosts)',
    });
    assert.throws(() => createJwtMethod(jwtMethodSchema.parse({ name: 'x', type: 'jwt', issuer: 'https://idp.example.com', jwksUrl: 'http://10.0.0.1/jwks' })), /jwksUrl "http:\/\/10\.0\.0\.1\/jwks" must use https/);
    assert.ok(createJwtMethod(jwtMethodSchema.parse({ name: 'x', type: 'jwt', issuer: 'https://idp.example.com' })));
    assert.ok(createJwtMethod(jwtMethodSchema.parse({ name: 'x', type: 'jwt', issuer: 'http://localhost:8081', jwksUrl: 'http://[::1]:8081/jwks' })));
  });
});

describe('verifyUserAssertion', () => {
  it('reads the user and tenant of a valid assertion', async () => {
    const token = await sign({ iss: provider.origin, aud: AUDIENCE, sub: 'alice@example.com', tenant: 'acme', exp: nowS + 60 });
    assert.deepEqual(await verifyUserAssertion(method(), token, env), { user: 'alice@example.com', tenant: 'acme' });
  });

  it('refuses an expired assertion, one of another issuer, and one naming no user', async () => {
    const m = method();
    const expired = await verifyUserAssertion(m, await sign({ iss: provider.origin, aud: AUDIENCE, sub: 'a', exp: nowS - 3600 }), env);
    assert.deepEqual(expired, { reason: 'invalid_token', message: `user assertion expired at ${new Date((nowS - 3600) * 1000).toISOString()}` });
    const other = await verifyUserAssertion(m, await sign({ iss: 'https://x.example', aud: AUDIENCE, sub: 'a', exp: nowS + 60 }), env);
    assert.equal((other as { reason: string }).reason, 'invalid_token');
    assert.match((other as { message: string }).message, /user assertion issuer "https:\/\/x\.example": method idp trusts/);
    const nobody = await verifyUserAssertion(m, await sign({ iss: provider.origin, aud: AUDIENCE, exp: nowS + 60 }), env);
    assert.deepEqual(nobody, { reason: 'invalid_token', message: 'user assertion names no user: none of the claims sub is present' });
    assert.deepEqual(await verifyUserAssertion(m, 'not-a-jwt', env), { reason: 'invalid_token', message: 'user assertion is not a JWT' });
  });

  it('refuses to verify with a method that is not a jwt method', async () => {
    const notJwt: AuthMethod = { name: 'keys', type: 'api_key', bearer: true, authenticate: () => ({ kind: 'skip' }) };
    const r = await verifyUserAssertion(notJwt, 'a.b.c', env);
    assert.deepEqual(r, { reason: 'unavailable', message: 'user assertions are verified by a jwt method; "keys" is of type api_key' });
  });
});
