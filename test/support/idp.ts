// A small identity provider on loopback for end-to-end tests: OIDC discovery, a JWKS whose keys can
// be rotated, and token signing with jose. Real HTTP, real keys; only the login part of an IdP is absent.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK, type JWTPayload } from 'jose';

interface Key {
  readonly kid: string;
  readonly privateKey: CryptoKey;
  readonly jwk: JWK;
}

export class TestIdp implements AsyncDisposable {
  origin = '';
  jwksFetches = 0;
  #server: Server | undefined;
  #keys: Key[] = [];
  #seq = 0;

  static async start(): Promise<TestIdp> {
    const idp = new TestIdp();
    await idp.rotate();
    idp.#server = createServer((req, res) => {
      const json = (body: unknown) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify(body));
      };
      if (req.url === '/.well-known/openid-configuration') return json({ issuer: idp.origin, jwks_uri: `${idp.origin}/jwks` });
      if (req.url === '/jwks') {
        idp.jwksFetches++;
        return json({ keys: idp.#keys.map((k) => k.jwk) });
      }
      res.writeHead(404).end();
    });
    await new Promise<void>((resolve) => idp.#server!.listen(0, '127.0.0.1', resolve));
    idp.origin = `http://127.0.0.1:${(idp.#server.address() as AddressInfo).port}`;
    return idp;
  }

  /** A new signing key replaces the published set (the old key is gone, as after a real rotation). */
  async rotate(): Promise<string> {
    const { publicKey, privateKey } = await generateKeyPair('ES256', { extractable: true });
    const kid = `k${++this.#seq}`;
    this.#keys = [{ kid, privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' } }];
    return kid;
  }

  /** Signs `claims` with the current key; `iss`, `iat` and a 5-minute `exp` are filled in unless given. */
  sign(claims: JWTPayload): Promise<string> {
    const k = this.#keys[0]!;
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({ iss: this.origin, iat: now, exp: now + 300, ...claims }).setProtectedHeader({ alg: 'ES256', kid: k.kid, typ: 'at+jwt' }).sign(k.privateKey);
  }

  async stop(): Promise<void> {
    const s = this.#server;
    if (s === undefined) return;
    await new Promise<void>((resolve) => {
      s.close(() => resolve());
      s.closeAllConnections();
    });
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }
}
