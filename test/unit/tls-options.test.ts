import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request } from 'node:https';
import type { Server } from 'node:https';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { TLSSocket } from 'node:tls';
import { loadTlsOptions, TlsConfigError } from '../../src/edge/tls-options.ts';
import type { TlsConfig, TlsServerOptions } from '../../src/edge/tls-options.ts';
import { makeTestPki } from '../support/certs.ts';
import type { TestCert, TestPki } from '../support/certs.ts';

let dir: string;
let pki: TestPki;
let server: TestCert;
let client: TestCert;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'gatehouse-tls-'));
  pki = makeTestPki(dir);
  server = pki.server();
  client = pki.client({ uris: ['spiffe://example.org/a'] });
});

after(() => rmSync(dir, { recursive: true, force: true }));

const base = (over: Partial<TlsConfig> = {}): TlsConfig => ({ cert: server.certPath, key: server.keyPath, clientCa: pki.ca.certPath, clientCert: 'request', ...over });

async function refused(cfg: TlsConfig, message: RegExp, path: string, at?: string): Promise<void> {
  await assert.rejects(loadTlsOptions(cfg, dir, at), (err: unknown) => {
    assert.ok(err instanceof TlsConfigError, String(err));
    assert.match(err.message, message);
    assert.deepEqual(err.path, [path]);
    return true;
  });
}

describe('loadTlsOptions errors', () => {
  it('names a file it cannot read', async () => {
    await refused(base({ key: 'missing/key.pem' }), new RegExp(`^cannot read gateway\\.listen\\.tls\\.key ${join(dir, 'missing/key.pem')}: ENOENT$`), 'key');
    await refused(base({ clientCa: '/nonexistent/ca.pem' }), /^cannot read admin\.listen\.tls\.clientCa \/nonexistent\/ca\.pem: ENOENT$/, 'clientCa', 'admin.listen.tls');
  });

  it('names a file that is not PEM of the right kind', async () => {
    const junk = join(dir, 'junk.txt');
    writeFileSync(junk, 'hello\n');
    await refused(base({ key: junk }), /^gateway\.listen\.tls\.key .*junk\.txt is not a PEM private key: no "-----BEGIN PRIVATE KEY-----" block$/, 'key');
    await refused(base({ key: server.certPath }), /is not a PEM private key: .*are cert and key swapped\?/, 'key');
    await refused(base({ cert: server.keyPath }), /^gateway\.listen\.tls\.cert .* is not a PEM certificate file: .*\(it holds a private key\)$/, 'cert');
    await refused(base({ clientCa: junk }), /gateway\.listen\.tls\.clientCa .*junk\.txt is not a PEM certificate file/, 'clientCa');
    const broken = join(dir, 'broken.pem');
    writeFileSync(broken, '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n');
    await refused(base({ cert: broken }), /broken\.pem: certificate 1 of 1 cannot be parsed/, 'cert');
    const badKey = join(dir, 'bad-key.pem');
    writeFileSync(badKey, '-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n');
    await refused(base({ key: badKey }), /bad-key\.pem is not a PEM private key: /, 'key');
  });

  it('refuses an encrypted key', async () => {
    const enc = join(dir, 'enc.key.pem');
    execFileSync('openssl', ['pkey', '-in', server.keyPath, '-aes256', '-passout', 'pass:secret', '-out', enc], { env: { ...process.env, OPENSSL_CONF: '/dev/null' } });
    await refused(base({ key: enc }), /enc\.key\.pem is encrypted/, 'key');
  });

  it('detects a key that does not belong to the certificate', async () => {
    await refused(base({ key: client.keyPath }), new RegExp(`key .*${basename(client.keyPath).replaceAll('.', '\\.')} does not belong to the certificate in gateway\\.listen\\.tls\\.cert`), 'key');
  });

  it('reports what OpenSSL itself refuses, naming the files', async () => {
    const key = join(dir, 'weak.key.pem');
    const cert = join(dir, 'weak.cert.pem');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:512', '-nodes', '-keyout', key, '-out', cert, '-subj', '/CN=weak', '-days', '2'], { stdio: 'ignore', env: { ...process.env, OPENSSL_CONF: '/dev/null' } });
    await refused(base({ cert, key }), /^gateway\.listen\.tls: the certificate .*weak\.cert\.pem, key .*weak\.key\.pem and client CA .* cannot be used together: .*key too small/, 'cert');
  });

  it('needs a client CA to ask for client certificates, and no CA when it asks for none', async () => {
    const { clientCa: _, ...noCa } = base();
    await refused({ ...noCa, clientCert: 'request' }, /^gateway\.listen\.tls\.clientCert: request needs gateway\.listen\.tls\.clientCa/, 'clientCert');
    await refused({ ...noCa, clientCert: 'require' }, /clientCert: require needs/, 'clientCert');
    await refused(base({ clientCert: 'none' }), /clientCa is set but clientCert: none/, 'clientCa');
  });
});

describe('loadTlsOptions results', () => {
  it('maps clientCert to requestCert and rejectUnauthorized, relative paths against the config folder', async () => {
    const rel = (p: string) => p.slice(dir.length + 1);
    const none = await loadTlsOptions({ cert: rel(server.certPath), key: rel(server.keyPath), clientCert: 'none' }, dir);
    assert.equal(none.requestCert, false);
    assert.equal(none.rejectUnauthorized, false);
    assert.equal(none.ca, undefined);
    assert.equal(none.minVersion, 'TLSv1.2');
    const req = await loadTlsOptions(base({ clientCa: rel(pki.ca.certPath) }), dir);
    assert.deepEqual([req.requestCert, req.rejectUnauthorized], [true, false]);
    assert.equal(req.ca, pki.ca.cert);
    const must = await loadTlsOptions(base({ clientCert: 'require' }), dir);
    assert.deepEqual([must.requestCert, must.rejectUnauthorized], [true, true]);
  });

  it('serves HTTPS: request lets a request without a certificate through, require refuses it', async () => {
    for (const mode of ['request', 'require'] as const) {
      await withServer(await loadTlsOptions(base({ clientCert: mode }), dir), async (port) => {
        assert.equal(await get(port, client), 'authorized=true cert=yes');
        if (mode === 'request') {
          assert.equal(await get(port), 'authorized=false cert=no');
          assert.equal(await get(port, pki.client({ ca: 'other' })), 'authorized=false cert=yes');
        } else {
          await assert.rejects(get(port), /alert|socket hang up|ECONNRESET|certificate required/i);
          await assert.rejects(get(port, pki.client({ ca: 'other' })), /alert|socket hang up|ECONNRESET|unknown ca/i);
        }
      });
    }
  });
});

async function withServer(options: TlsServerOptions, body: (port: number) => Promise<void>): Promise<void> {
  const srv: Server = createServer(options, (req, res) => {
    const socket = req.socket as TLSSocket;
    const cert = socket.getPeerCertificate();
    res.end(`authorized=${socket.authorized} cert=${Object.keys(cert).length > 0 ? 'yes' : 'no'}`);
  });
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  try {
    await body((srv.address() as { port: number }).port);
  } finally {
    srv.closeAllConnections();
    srv.close();
  }
}

function get(port: number, cert?: TestCert): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, path: '/', servername: 'localhost', ca: pki.ca.cert, agent: false, ...(cert ? { cert: cert.cert, key: cert.key } : {}) },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (body += d));
        res.on('end', () => resolve(body));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end();
  });
}
