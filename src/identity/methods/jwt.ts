// `type: jwt`: access tokens of an OAuth 2.1 / OpenID Connect provider, verified against its published keys.
import { errors, jwtVerify, type JWTPayload, type JWTVerifyOptions, type ProtectedHeaderParameters } from 'jose';
import type { JwtMethodConfig } from '../../config/schema/auth.ts';
import { VerifiedTokenCache } from '../jwt/verified-cache.ts';
import { makePrincipal } from '../../pipeline/principal.ts';
import type { AuthEnv, AuthFailure, AuthMethod, AuthResult, Credentials } from '../method.ts';
import { mapClaims, mapUserClaims } from '../jwt/claims.ts';
import { JwksLocator } from '../jwt/discovery.ts';
import { KeySourceError } from '../jwt/fetch-json.ts';
import { looksLikeJwt, peekIssuer } from '../jwt/peek.ts';
import { RemoteKeys } from '../jwt/remote-keys.ts';
import { checkHeader, clip, verifyFailure, type VerifyExpectations } from '../jwt/verify-errors.ts';

/** Most keys tried for a token without `kid` when several keys of its algorithm are published. */
const MAX_KID_LESS_CANDIDATES = 8;

type Verified = { kind: 'ok'; payload: JWTPayload; header: ProtectedHeaderParameters } | { kind: 'fail'; failure: AuthFailure };

/**
 * Builds the method at config-compile time: no I/O (keys are located and fetched on first use).
 * Throws an Error naming the method for a config that cannot be served safely.
 */
export function createJwtMethod(cfg: JwtMethodConfig): AuthMethod {
  return new JwtAuthMethod(cfg);
}

/**
 * Verifies a trusted proxy's user assertion (`gateway.listen.userAssertion`) with the named jwt
 * method: same issuer, audience, expiry and signature checks as an access token; the user and tenant
 * come from the method's `claims.user` / `claims.tenant` mappings. An invalid assertion is a failure,
 * never ignored.
 */
export async function verifyUserAssertion(method: AuthMethod, token: string, env: AuthEnv): Promise<{ user: string; tenant?: string } | AuthFailure> {
  if (!(method instanceof JwtAuthMethod)) {
    return { reason: 'unavailable', message: `user assertions are verified by a jwt method; "${method.name}" is of type ${method.type}` };
  }
  return method.verifyAssertion(token, env);
}

class JwtAuthMethod implements AuthMethod {
  readonly name: string;
  readonly type = 'jwt' as const;
  readonly bearer = true;
  readonly issuer: string;
  readonly #cfg: JwtMethodConfig;
  readonly #keys: RemoteKeys;
  readonly #verified = new VerifiedTokenCache();

  constructor(cfg: JwtMethodConfig) {
    this.name = cfg.name;
    this.issuer = cfg.issuer;
    this.#cfg = cfg;
    const bad = cfg.algorithms.find((a) => a.toLowerCase() === 'none' || /^HS/i.test(a));
    if (bad !== undefined) throw new Error(`auth method "${cfg.name}": algorithm ${bad} is never accepted`);
    let locator: JwksLocator;
    try {
      locator = new JwksLocator(cfg.issuer, cfg.jwksUrl, { timeoutMs: cfg.jwks.timeoutMs, retryAfterMs: Math.min(5_000, cfg.jwks.cooldownSeconds * 1000) });
    } catch (err) {
      throw new Error(`auth method "${cfg.name}": ${(err as Error).message}`);
    }
    this.#keys = new RemoteKeys(locator, cfg.jwks);
  }

  async authenticate(c: Credentials, env: AuthEnv): Promise<AuthResult> {
    const token = c.bearer;
    if (token === undefined) return { kind: 'skip', why: 'no bearer token' };
    if (!looksLikeJwt(token)) return { kind: 'skip', why: 'the bearer token is not a JWT' };
    const iss = peekIssuer(token);
    if (iss === undefined) return { kind: 'skip', why: 'the bearer token has no iss claim' };
    if (iss !== this.issuer) return { kind: 'skip', why: `issuer ${JSON.stringify(clip(iss))} is not trusted by method ${this.name}` };
    const now = env.now();
    const known = this.#verified.get(token, now);
    if (known !== undefined) return { kind: 'ok', principal: known };

    const v = await this.#verify(token, env, 'token');
    if (v.kind === 'fail') return v;
    const { payload, header } = v;
    const mapped = mapClaims(payload, this.#cfg.claims);
    if (!mapped.ok) return fail('invalid_token', mapped.message);
    const p = mapped.parts;
    const missing = this.#cfg.requiredScopes.filter((s) => !p.scopes.includes(s));
    if (missing.length > 0) {
      return { kind: 'fail', failure: { reason: 'insufficient_scope', message: `token lacks the required scope${missing.length > 1 ? 's' : ''} ${missing.join(' ')}`, scopes: this.#cfg.requiredScopes } };
    }
    const jti = payload.jti;
    if (jti !== undefined && (typeof jti !== 'string' || jti.length > 256)) return fail('invalid_token', 'token claim "jti" must be a string of at most 256 characters');
    const principal = makePrincipal({
        authMethod: 'jwt',
        authSource: this.name,
        agent: p.agent,
        ...(p.agentName !== undefined && { agentName: p.agentName }),
        ...(p.user !== undefined && { user: p.user, userSource: 'credential' as const }),
        ...(p.tenant !== undefined && { tenant: p.tenant }),
        roles: p.roles,
        groups: p.groups,
        scopes: p.scopes,
        credentialId: jti ?? (typeof header.kid === 'string' ? `${this.issuer}#${clip(header.kid, 256)}` : this.issuer),
        // `exp` is required by #verify, so it is a number here.
        expiresAt: (payload.exp as number) * 1000,
        ...(p.attributes !== undefined && { attributes: p.attributes }),
      });
    const maxAge = this.#cfg.maxTokenAgeSeconds;
    const aged = maxAge !== undefined && typeof payload.iat === 'number' ? (payload.iat + maxAge) * 1000 : Infinity;
    // Acceptable exactly as long as a fresh verification would accept it (exp plus the clock skew).
    this.#verified.put(token, principal, Math.min((payload.exp as number) * 1000 + this.#cfg.clockSkewSeconds * 1000, aged), now);
    return { kind: 'ok', principal };
  }

  async verifyAssertion(token: string, env: AuthEnv): Promise<{ user: string; tenant?: string } | AuthFailure> {
    if (!looksLikeJwt(token)) return { reason: 'invalid_token', message: 'user assertion is not a JWT' };
    const iss = peekIssuer(token);
    if (iss !== this.issuer) {
      return { reason: 'invalid_token', message: `user assertion issuer ${iss === undefined ? 'is missing' : JSON.stringify(clip(iss))}: method ${this.name} trusts ${this.issuer}` };
    }
    const v = await this.#verify(token, env, 'user assertion');
    if (v.kind === 'fail') return v.failure;
    const mapped = mapUserClaims(v.payload, this.#cfg.claims);
    if (!mapped.ok) return { reason: 'invalid_token', message: `user assertion ${mapped.message}` };
    return mapped.tenant === undefined ? { user: mapped.user } : { user: mapped.user, tenant: mapped.tenant };
  }

  /** Signature, issuer, audience, time claims. `what` starts failure messages about claims. */
  async #verify(token: string, env: AuthEnv, what: 'token' | 'user assertion'): Promise<Verified> {
    const cfg = this.#cfg;
    const checked = checkHeader(token, cfg.algorithms);
    if ('message' in checked) return fail('invalid_token', prefixed(what, checked.message));
    const { header } = checked;
    const audiences = cfg.audience.length > 0 ? cfg.audience : env.audiences();
    if (audiences.length === 0) return fail('unavailable', `method ${this.name} has no audience to check tokens against: set its audience or gateway.publicUrl`);
    const expect: VerifyExpectations = { issuer: this.issuer, audiences, keysName: "the issuer's key set", ...(cfg.maxTokenAgeSeconds !== undefined && { maxTokenAgeSeconds: cfg.maxTokenAgeSeconds }) };

    let resolver;
    try {
      resolver = await this.#keys.resolver();
    } catch (err) {
      if (err instanceof KeySourceError) return fail('unavailable', `the signing keys of ${this.issuer} could not be found: ${err.message}`);
      throw err;
    }
    const options: JWTVerifyOptions = {
      issuer: this.issuer,
      audience: [...audiences],
      algorithms: [...cfg.algorithms],
      clockTolerance: cfg.clockSkewSeconds,
      currentDate: new Date(env.now()),
      // RFC 9068 access tokens always expire; one that does not would be valid forever.
      requiredClaims: ['exp'],
      ...(cfg.maxTokenAgeSeconds !== undefined && { maxTokenAge: cfg.maxTokenAgeSeconds }),
    };
    try {
      const { payload } = await jwtVerify(token, resolver, options);
      return { kind: 'ok', payload, header };
    } catch (err) {
      let e: unknown = err;
      if (err instanceof errors.JWKSMultipleMatchingKeys) {
        const r = await tryEach(token, err, options);
        if (r.ok) return { kind: 'ok', payload: r.payload, header };
        e = r.error;
      }
      const failure = verifyFailure(e, header, expect);
      if (failure === undefined) throw e;
      return { kind: 'fail', failure: failure.reason === 'invalid_token' ? { ...failure, message: prefixed(what, failure.message) } : failure };
    }
  }
}

/**
 * A token without `kid` while the key set publishes several keys of its algorithm: try each (as jose
 * documents), a bounded number of them.
 */
async function tryEach(token: string, multiple: errors.JWKSMultipleMatchingKeys, options: JWTVerifyOptions): Promise<{ ok: true; payload: JWTPayload } | { ok: false; error: unknown }> {
  let tried = 0;
  for await (const key of multiple) {
    if (++tried > MAX_KID_LESS_CANDIDATES) break;
    try {
      const { payload } = await jwtVerify(token, key, options);
      return { ok: true, payload };
    } catch (err) {
      if (err instanceof errors.JWSSignatureVerificationFailed) continue;
      return { ok: false, error: err };
    }
  }
  return { ok: false, error: new errors.JWSSignatureVerificationFailed() };
}

function prefixed(what: 'token' | 'user assertion', message: string): string {
  if (what === 'token') return message;
  return message.startsWith('token ') ? `user assertion ${message.slice(6)}` : `user assertion: ${message}`;
}

function fail(reason: AuthFailure['reason'], message: string): { kind: 'fail'; failure: AuthFailure } {
  return { kind: 'fail', failure: { reason, message } };
}
