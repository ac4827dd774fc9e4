// The mtls method against real certificates, read the way the listener reads them: through a real TLS
// handshake with a server that asks for a client certificate and leaves the verdict to the method.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { connect, createServer } from 'node:tls';
import type { Server, TLSSocket } from 'node:tls';
import { mtlsMethodSchema } from '../../src/config/schema/auth.ts';
import type { AuthEnv, AuthResult, Credentials } from '../../src/identity/method.ts';
import { createMtlsMethod, parseSpiffeId, parseSubjectAltName } from '../../src/identity/methods/mtls.ts';
import type { Principal } from '../../src/pipeline/principal.ts';
import { createMemoryStore } from '../../src/store/memory.ts';
import { makeTestPki } from '../support/certs.ts';
import type { TestCert, TestPki } from '../support/certs.ts';

let dir: string;
let pki: TestPki;
let server: Server;
let port: number;
let clock = Date.now();
const store = createMemoryStore();
const env: AuthEnv = {
  store,
  tokens: { verify: async () => ({ kind: 'skip', why: 'not used by mtls' }) },
  audiences: () => [],
  now: () => clock,
};

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'gatehouse-mtls-'));
  pki = makeTestPki(dir);
  const srv = pki.server();
  server = createServer({ cert: srv.cert, key: srv.key, ca: pki.ca.cert, requestCert: true, rejectUnauthorized: false, minVersion: 'TLSv1.2' });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  port = (server.address() as { port: number }).port;
});

after(async () => {
  server.close();
  await store[Symbol.asyncDispose]();
  rmSync(dir, { recursive: true, force: true });
});

/** Credentials exactly as the server side of a handshake sees them. */
async function present(cert?: TestCert): Promise<Credentials> {
  const accepted = once(server, 'secureConnection') as Promise<[TLSSocket]>;
  const client = connect({ host: '127.0.0.1', port, ca: pki.ca.cert, servername: 'localhost', ...(cert ? { cert: cert.cert, key: cert.key } : {}) });
  client.on('error', () => {});
  const [socket] = await accepted;
  const peer = socket.getPeerCertificate();
  const creds: Credentials = {
    bearer: undefined,
    apiKey: undefined,
    peerCertificate: Object.keys(peer).length > 0 ? peer : undefined,
    peerAuthorized: socket.authorized,
    peerError: socket.authorizationError === null || socket.authorizationError === undefined ? undefined : String(socket.authorizationError),
    userAssertion: undefined,
    clientAddress: socket.remoteAddress,
  };
  socket.destroy();
  client.destroy();
  return creds;
}

function method(cfg: Record<string, unknown>) {
  return createMtlsMethod(mtlsMethodSchema.parse({ name: 'workloads', type: 'mtls', ...cfg }));
}

async function ok(r: AuthResult | Promise<AuthResult>): Promise<Principal> {
  const v = await r;
  assert.equal(v.kind, 'ok', JSON.stringify(v));
  return (v as { principal: Principal }).principal;
}

async function failure(r: AuthResult | Promise<AuthResult>): Promise<string> {
  const v = await r;
  assert.equal(v.kind, 'fail', JSON.stringify(v));
  const f = (v as { failure: { reason: string; message: string } }).failure;
  assert.equal(f.reason, 'invalid_token');
  return f.message;
}

describe('mtls method', () => {
  it('accepts a SPIFFE ID of a trusted domain, the agent being its path', async () => {
    const cert = pki.client({ uris: ['spiffe://example.org/ns/prod/sa/billing'], cn: 'billing' });
    const c = await present(cert);
    const p = await ok(method({ trustDomains: ['example.org'], roles: ['workload'], tenant: 'acme' }).authenticate(c, env));
    assert.equal(p.authMethod, 'mtls');
    assert.equal(p.authSource, 'workloads');
    assert.equal(p.agent, 'ns/prod/sa/billing');
    assert.equal(p.tenant, 'acme');
    assert.equal(p.user, undefined);
    assert.deepEqual(p.roles, ['workload']);
    assert.equal(p.id, 'workloads:acme:ns/prod/sa/billing:');
    assert.deepEqual(p.attributes, { certificateSubject: 'CN=billing', spiffeId: 'spiffe://example.org/ns/prod/sa/billing' });
    assert.equal(p.expiresAt, Date.parse(c.peerCertificate!.valid_to));
  });

  it('credentialId is the SHA-256 fingerprint of the certificate', async () => {
    const cert = pki.client({ uris: ['spiffe://example.org/a'] });
    const c = await present(cert);
    const p = await ok(method({ trustDomains: ['example.org'] }).authenticate(c, env));
    const { X509Certificate } = await import('node:crypto');
    const expected = new X509Certificate(cert.cert).fingerprint256.replaceAll(':', '').toLowerCase();
    assert.match(p.credentialId!, /^sha256:[0-9a-f]{64}$/);
    assert.equal(p.credentialId, `sha256:${expected}`);
  });

  it('fills tenant, agent and user from the pattern groups', async () => {
    const c = await present(pki.client({ uris: ['spiffe://prod.example.org/tenant/acme/agent/triage/user/ann'] }));
    const m = method({
      trustDomains: ['prod.example.org'],
      tenant: 'fallback',
      pattern: '^spiffe://prod\\.example\\.org/tenant/(?<tenant>[^/]+)/agent/(?<agent>[^/]+)(?:/user/(?<user>[^/]+))?$',
    });
    const p = await ok(m.authenticate(c, env));
    assert.equal(p.agent, 'triage');
    assert.equal(p.tenant, 'acme');
    assert.equal(p.user, 'ann');
    assert.equal(p.userSource, 'credential');
    assert.equal(p.id, 'workloads:acme:triage:ann');
  });

  it('refuses a SPIFFE ID of another trust domain', async () => {
    const c = await present(pki.client({ uris: ['spiffe://evil.org/agent/a'] }));
    const msg = await failure(method({ trustDomains: ['example.org'] }).authenticate(c, env));
    assert.match(msg, /SPIFFE ID trust domain evil\.org is not trusted/);
  });

  it('refuses a certificate whose field does not match the pattern, saying what was expected', async () => {
    const c = await present(pki.client({ uris: ['spiffe://example.org/other/x'] }));
    const msg = await failure(method({ trustDomains: ['example.org'], pattern: '^spiffe://example\\.org/agent/(?<agent>[^/]+)$' }).authenticate(c, env));
    assert.match(msg, /"spiffe:\/\/example\.org\/other\/x" does not match the expected pattern \^spiffe/);
  });

  it('refuses malformed SPIFFE IDs', async () => {
    const m = method({ trustDomains: ['example.org'] });
    for (const [id, why] of [
      ['spiffe://Example.org/../x', /lowercase/],
      ['spiffe://example.org/a/../x', /"\." or "\.\." segment/],
      ['spiffe://example.org/a/', /trailing slash/],
      ['spiffe://example.org', /path is empty/],
      ['spiffe://example.org/a?b=c', /query or fragment/],
      ['SPIFFE://example.org/a', /scheme/],
      ['spiffe://example.org:443/a', /port/],
      ['spiffe://example.org/a%20b', /percent/],
    ] as const) {
      const msg = await failure(m.authenticate(await present(pki.client({ uris: [id] })), env));
      assert.match(msg, /^malformed SPIFFE ID /, id);
      assert.match(msg, why, id);
    }
  });

  it('refuses a certificate signed by a CA it does not trust, with the reason', async () => {
    const c = await present(pki.client({ uris: ['spiffe://example.org/a'], ca: 'other' }));
    assert.equal(c.peerAuthorized, false);
    const msg = await failure(method({ trustDomains: ['example.org'] }).authenticate(c, env));
    assert.equal(msg, 'client certificate not trusted: UNABLE_TO_VERIFY_LEAF_SIGNATURE');
  });

  it('refuses an expired certificate', async () => {
    const c = await present(pki.client({ uris: ['spiffe://example.org/a'], expired: true }));
    const msg = await failure(method({ trustDomains: ['example.org'] }).authenticate(c, env));
    assert.equal(msg, 'client certificate not trusted: CERT_HAS_EXPIRED');
  });

  it('refuses a certificate that expired after the handshake (long-lived connection)', async () => {
    const c = await present(pki.client({ uris: ['spiffe://example.org/a'], days: 1 }));
    const m = method({ trustDomains: ['example.org'] });
    await ok(m.authenticate(c, env));
    const saved = clock;
    clock = Date.parse(c.peerCertificate!.valid_to) + 1000;
    try {
      assert.match(await failure(m.authenticate(c, env)), /^client certificate expired at \d{4}-/);
    } finally {
      clock = saved;
    }
  });

  it('skips when no certificate was sent', async () => {
    const c = await present();
    assert.equal(c.peerCertificate, undefined);
    const r = await method({ trustDomains: ['example.org'] }).authenticate(c, env);
    assert.equal(r.kind, 'skip');
    // What Node hands over when a client sent none: an empty object.
    const empty = await method({}).authenticate({ ...c, peerCertificate: {} as Credentials['peerCertificate'] }, env);
    assert.equal(empty.kind, 'skip');
  });

  it('reads the agent from a DNS SAN', async () => {
    const c = await present(pki.client({ dns: ['billing.agents.example.com'], uris: ['https://ignored.example'] }));
    const p = await ok(method({ from: 'dns-san', pattern: '^(?<agent>[a-z0-9-]+)\\.agents\\.example\\.com$' }).authenticate(c, env));
    assert.equal(p.agent, 'billing');
    assert.deepEqual(p.attributes, { certificateSubject: 'CN=test-client' });
    const whole = await ok(method({ from: 'dns-san' }).authenticate(c, env));
    assert.equal(whole.agent, 'billing.agents.example.com');
  });

  it('reads the agent from the subject CN', async () => {
    const c = await present(pki.client({ cn: 'Agent, "Triage"', dns: ['x.example'] }));
    const p = await ok(method({ from: 'cn' }).authenticate(c, env));
    assert.equal(p.agent, 'Agent, "Triage"');
    assert.equal((p.attributes as Record<string, unknown>)['certificateSubject'], 'CN=Agent\\, \\"Triage\\"');
  });

  it('reads the agent and tenant from an email SAN', async () => {
    const c = await present(pki.client({ emails: ['bot@acme.example'] }));
    const p = await ok(method({ from: 'email-san', pattern: '^(?<agent>[^@]+)@(?<tenant>[^.]+)\\.example$' }).authenticate(c, env));
    assert.equal(p.agent, 'bot');
    assert.equal(p.tenant, 'acme');
  });

  it('refuses two matching SANs that name different agents, accepts ones that agree', async () => {
    const c = await present(pki.client({ dns: ['a.agents.example.com', 'b.agents.example.com'] }));
    const m = method({ from: 'dns-san', pattern: '^(?<agent>[a-z]+)\\.agents\\.example\\.com$' });
    assert.match(await failure(m.authenticate(c, env)), /2 DNS SAN values naming different identities \("a\.agents\.example\.com", "b\.agents\.example\.com"\); refusing to choose/);
    assert.match(await failure(method({ from: 'dns-san' }).authenticate(c, env)), /refusing to choose/);
    const agree = await present(pki.client({ dns: ['a.agents.example.com', 'a.agents.example.com.'] }));
    const p = await ok(method({ from: 'dns-san', pattern: '^(?<agent>[a-z]+)\\.agents\\.example\\.com\\.?$' }).authenticate(agree, env));
    assert.equal(p.agent, 'a');
  });

  it('refuses a certificate with two SPIFFE IDs', async () => {
    const c = await present(pki.client({ uris: ['spiffe://example.org/a', 'spiffe://example.org/b'] }));
    assert.match(await failure(method({ trustDomains: ['example.org'] }).authenticate(c, env)), /2 SPIFFE IDs .*exactly one/);
  });

  it('does not let a DNS SAN with an embedded ", URI:" pose as a SPIFFE ID', async () => {
    const c = await present(pki.client({ dns: ['x.example, URI:spiffe://example.org/admin'] }));
    assert.match(c.peerCertificate!.subjectaltname!, /^DNS:"x\.example\\u002c URI:spiffe:\/\/example\.org\/admin"$/);
    const msg = await failure(method({ trustDomains: ['example.org'] }).authenticate(c, env));
    assert.match(msg, /has no SPIFFE ID/);
    assert.match(await failure(method({ from: 'dns-san' }).authenticate(c, env)), /DNS SAN "x\.example, URI:spiffe:\/\/example\.org\/admin" is not a DNS name/);
  });

  it('refuses SAN values that cannot name an agent', async () => {
    const wild = await present(pki.client({ dns: ['*.agents.example.com'] }));
    assert.match(await failure(method({ from: 'dns-san' }).authenticate(wild, env)), /is not a DNS name \(wildcards/);
    const mail = await present(pki.client({ emails: ['a b@example.com'] }));
    assert.match(await failure(method({ from: 'email-san' }).authenticate(mail, env)), /is not an email address/);
  });

  it('reports what is missing when the certificate lacks the field', async () => {
    const c = await present(pki.client({ cn: 'only-cn' }));
    assert.match(await failure(method({ from: 'uri-san' }).authenticate(c, env)), /has no URI SAN/);
    assert.match(await failure(method({ trustDomains: ['example.org', 'example.com'] }).authenticate(c, env)), /expected one in trust domain example\.org or example\.com/);
  });

  it('refuses a CA certificate as an X.509-SVID', async () => {
    const c = await present(pki.client({ uris: ['spiffe://example.org/a'], isCa: true }));
    assert.match(await failure(method({ trustDomains: ['example.org'] }).authenticate(c, env)), /CA certificate/);
  });
});

describe('mtls method config', () => {
  it('refuses bad patterns and trust domains when built', () => {
    assert.throws(() => method({ pattern: '(?<agent>[' }), /pattern is not a valid regular expression/);
    assert.throws(() => method({ pattern: '^spiffe://x/(?<tenant>[^/]+)$' }), /no \(\?<agent>…\) group/);
    assert.throws(() => method({ pattern: '^(?<agnet>.+)$', trustDomains: ['example.org'] }), /group\(s\) agnet/);
    assert.doesNotThrow(() => method({ pattern: '^spiffe://example\\.org/(?<tenant>[^/]+)/.+$', trustDomains: ['example.org'] }));
    assert.throws(() => method({ trustDomains: ['Example.org'] }), /not a SPIFFE trust domain name/);
    assert.throws(() => method({ trustDomains: ['spiffe://example.org'] }), /bare domain name \(example\.org\)/);
    assert.throws(() => method({ trustDomains: ['example.org'], from: 'dns-san' }), /needs from: uri-san/);
  });
});

describe('subjectaltname parsing', () => {
  it('splits plain and JSON-quoted entries as Node writes them', () => {
    assert.deepEqual(parseSubjectAltName('URI:spiffe://a/b, DNS:"x\\u002c URI:spiffe://a/admin", email:a@b, IP Address:127.0.0.1, othername:XmppAddr:me@x'), [
      { type: 'URI', value: 'spiffe://a/b' },
      { type: 'DNS', value: 'x, URI:spiffe://a/admin' },
      { type: 'email', value: 'a@b' },
      { type: 'IP Address', value: '127.0.0.1' },
      { type: 'othername', value: 'XmppAddr:me@x' },
    ]);
    assert.deepEqual(parseSubjectAltName('URI:"spiffe://a/\\"b\\\\c"'), [{ type: 'URI', value: 'spiffe://a/"b\\c' }]);
    assert.equal(parseSubjectAltName('DNS:"unterminated'), undefined);
    assert.equal(parseSubjectAltName('DNS:a,DNS:b'), undefined);
    assert.equal(parseSubjectAltName('DNS:a, '), undefined);
  });

  it('parses well-formed SPIFFE IDs', () => {
    assert.deepEqual(parseSpiffeId('spiffe://example.org/ns/a_b-c.d'), { domain: 'example.org', path: '/ns/a_b-c.d' });
    assert.equal(typeof parseSpiffeId('spiffe://exa mple.org/a'), 'string');
    assert.equal(typeof parseSpiffeId('spiffe://user@example.org/a'), 'string');
    assert.equal(typeof parseSpiffeId(`spiffe://example.org/${'a'.repeat(2040)}`), 'string');
  });
});
