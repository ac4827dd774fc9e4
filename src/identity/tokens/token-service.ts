// Tokens the gateway signs itself (`gatehouse token mint`, admin API) and verifies (`gateway_token`).
import { randomBytes } from 'node:crypto';
import { importJWK, jwtVerify, SignJWT, type CryptoKey, type JWK } from 'jose';
import type { TokensConfig } from '../../config/schema/auth.ts';
import type { SigningKeyRecord, Store } from '../../store/store.ts';
import type { AuthResult, GatewayTokenVerifier } from '../method.ts';
import { looksLikeJwt, peekIssuer } from '../jwt/peek.ts';
import { checkHeader, clip, verifyFailure } from '../jwt/verify-errors.ts';
import { activeKey, generateSigningKey, isPublished, publicJwk, VerifyKeys } from './key-ring.ts';
import { checkMintInput, TokenInputError, type MintInput } from './mint-input.ts';

/** How long a served key set is reused (a rotation in this process clears it at once). */
const JWKS_MEMO_MS = 5_000;

export { TokenInputError, type MintInput };

/** `typ` of minted tokens (RFC 9068): an ID token or any other JWT of this issuer is not one. */
export const GATEWAY_TOKEN_TYPE = 'at+jwt';
const ALGORITHMS = ['EdDSA', 'ES256'] as const;
// Minted and verified by instances of one deployment whose clocks may differ a little.
const CLOCK_TOLERANCE_S = 30;
/** Least time between two store reads caused by unknown kids. */
const KEY_RELOAD_MS = 2_000;

export interface MintedToken {
  /** The token text: hand it to the agent; never log it. */
  token: string;
  jti: string;
  /** Epoch ms. */
  expiresAt: number;
}

export interface PublishedJwk extends JWK {
  kid: string;
  alg: string;
  use: 'sig';
}

type NotOk = Exclude<AuthResult, { kind: 'ok' }>;

export class TokenService implements GatewayTokenVerifier {
  readonly #store: Store;
  readonly #cfg: TokensConfig;
  readonly #issuer: () => string;
  readonly #audience: () => string;
  readonly #verifyKeys: VerifyKeys;
  readonly #signingKeys = new Map<string, CryptoKey>();
  /** The published set, kept a few seconds: `/.well-known/jwks.json` is public and must not cost a store read per hit. */
  #jwks: { at: number; body: { keys: PublishedJwk[] } } | undefined;

  constructor(store: Store, cfg: TokensConfig, issuer: () => string, audience: () => string) {
    this.#store = store;
    this.#cfg = cfg;
    this.#issuer = issuer;
    this.#audience = audience;
    this.#verifyKeys = new VerifyKeys(store, KEY_RELOAD_MS);
  }

  /** Makes the first signing key when no key is active; returns the kid of the active key. */
  async ensureKey(now: number): Promise<string> {
    return (await this.#active(now)).kid;
  }

  /**
   * Makes a new signing key and retires the previous one, which keeps verifying (and stays in the
   * JWKS) for `maxTtlSeconds`, the longest any token it signed can live.
   */
  async rotate(now: number): Promise<{ kid: string; retired: string[] }> {
    checkNow(now);
    this.#jwks = undefined;
    const before = await this.#pruned(now);
    const next = await generateSigningKey(this.#cfg.algorithm, now);
    // The new key is stored before the old one is retired: there is never a moment without a signer.
    await this.#store.putSigningKey(next);
    const retired: string[] = [];
    for (const r of before) {
      if (r.retiredAt === undefined && (await this.#store.retireSigningKey(r.kid, iso(now)))) retired.push(r.kid);
    }
    this.#verifyKeys.invalidate();
    return { kid: next.kid, retired };
  }

  /** The public keys that verify tokens now: the active key and retired ones still in their window. */
  async jwks(now: number): Promise<{ keys: PublishedJwk[] }> {
    checkNow(now);
    const memo = this.#jwks;
    if (memo !== undefined && now >= memo.at && now - memo.at < JWKS_MEMO_MS) return memo.body;
    const records = await this.#store.listSigningKeys();
    const body = { keys: records.filter((r) => isPublished(r, now, this.#cfg.maxTtlSeconds)).map(published) };
    this.#jwks = { at: now, body };
    return body;
  }

  /** Signs a token for an agent. Throws TokenInputError for input the service refuses. */
  async mint(input: MintInput, now: number): Promise<MintedToken> {
    checkNow(now);
    const m = checkMintInput(input, this.#cfg);
    const key = await this.#active(now);
    const signer = await this.#privateKey(key);
    const jti = randomBytes(16).toString('base64url');
    const iat = Math.floor(now / 1000);
    const exp = iat + m.ttlSeconds;
    const claims: Record<string, unknown> = {};
    if (m.user !== undefined) claims.gh_user = m.user;
    if (m.tenant !== undefined) claims.gh_tenant = m.tenant;
    if (m.name !== undefined) claims.gh_name = m.name;
    if (m.roles.length > 0) claims.roles = m.roles;
    if (m.scopes.length > 0) claims.scope = m.scopes.join(' ');
    const token = await new SignJWT(claims)
      .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: GATEWAY_TOKEN_TYPE })
      .setIssuer(this.#issuer())
      .setAudience(this.#audience())
      .setSubject(m.agent)
      .setJti(jti)
      .setIssuedAt(iat)
      .setExpirationTime(exp)
      .sign(signer);
    return { token, jti, expiresAt: exp * 1000 };
  }

  async verify(token: string, now: number): Promise<{ readonly kind: 'ok'; readonly claims: Readonly<Record<string, unknown>> } | NotOk> {
    if (!looksLikeJwt(token)) return { kind: 'skip', why: 'the bearer token is not a JWT' };
    const issuer = this.#issuer();
    const iss = peekIssuer(token);
    if (iss !== issuer) return { kind: 'skip', why: `issuer ${iss === undefined ? '(none)' : JSON.stringify(clip(iss))} is not this gateway (${issuer})` };
    const checked = checkHeader(token, ALGORITHMS);
    if ('message' in checked) return fail(checked.message);
    const { header } = checked;
    if (typeof header.kid !== 'string' || header.kid === '') return fail('gateway token names no kid');
    const found = await this.#verifyKeys.find(header.kid, now);
    if (found === undefined) return fail(`no key with kid ${JSON.stringify(clip(header.kid))} among the gateway's signing keys`);
    if ('problem' in found) return { kind: 'fail', failure: { reason: 'unavailable', message: found.problem } };
    if (found.alg !== header.alg) return fail(`alg ${header.alg} does not match the ${found.alg} key ${found.kid}`);
    if (found.retiredAt !== undefined && found.retiredAt + this.#cfg.maxTtlSeconds * 1000 <= now) {
      return fail(`signing key ${found.kid} was retired at ${iso(found.retiredAt)} and no longer verifies`);
    }
    const audience = this.#audience();
    try {
      const { payload } = await jwtVerify(token, found.publicKey, {
        issuer,
        audience,
        algorithms: [found.alg],
        typ: GATEWAY_TOKEN_TYPE,
        currentDate: new Date(now),
        clockTolerance: CLOCK_TOLERANCE_S,
        requiredClaims: ['exp', 'iat', 'sub', 'jti'],
      });
      return { kind: 'ok', claims: payload };
    } catch (err) {
      const failure = verifyFailure(err, header, { issuer, audiences: [audience], keysName: "the gateway's signing keys" });
      if (failure === undefined) throw err;
      return { kind: 'fail', failure };
    }
  }

  /** The signing key, made when there is none; retired keys past their window are pruned on the way. */
  async #active(now: number): Promise<SigningKeyRecord> {
    checkNow(now);
    const existing = activeKey(await this.#pruned(now));
    if (existing !== undefined) return existing;
    const key = await generateSigningKey(this.#cfg.algorithm, now);
    await this.#store.putSigningKey(key);
    this.#verifyKeys.invalidate();
    this.#jwks = undefined;
    return key;
  }

  async #pruned(now: number): Promise<SigningKeyRecord[]> {
    await this.#store.pruneSigningKeys(iso(now - this.#cfg.maxTtlSeconds * 1000));
    return this.#store.listSigningKeys();
  }

  async #privateKey(r: SigningKeyRecord): Promise<CryptoKey> {
    let key = this.#signingKeys.get(r.kid);
    if (key === undefined) {
      let jwk: JWK;
      try {
        jwk = JSON.parse(r.privateJwk) as JWK;
      } catch {
        // Not the parser's message: it quotes the text, which is key material.
        throw new Error(`the stored signing key ${r.kid} cannot be read: its private JWK is not JSON`);
      }
      try {
        key = (await importJWK(jwk, r.alg)) as CryptoKey;
      } catch (err) {
        throw new Error(`the stored signing key ${r.kid} cannot be imported: ${(err as Error).message}`, { cause: err });
      }
      this.#signingKeys.set(r.kid, key);
    }
    return key;
  }
}

function published(r: SigningKeyRecord): PublishedJwk {
  let jwk: JWK;
  try {
    jwk = publicJwk(JSON.parse(r.publicJwk) as JWK);
  } catch (err) {
    throw new Error(`the stored signing key ${r.kid} cannot be published: ${(err as Error).message}`, { cause: err });
  }
  return { ...jwk, kid: r.kid, alg: r.alg, use: 'sig' };
}

function fail(message: string): NotOk {
  return { kind: 'fail', failure: { reason: 'invalid_token', message } };
}

function checkNow(now: number): void {
  if (!Number.isFinite(now)) throw new TypeError(`now must be epoch milliseconds, got ${String(now)}`);
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}
