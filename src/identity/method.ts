import type { PeerCertificate } from 'node:tls';
import type { Store } from '../store/store.ts';
import type { Principal } from '../pipeline/principal.ts';

/**
 * What a request presented, taken from the transport once: the bearer token, an API key header,
 * the TLS client certificate. Methods read only this, never the raw request.
 */
export interface Credentials {
  /** `Authorization: Bearer <token>` (the scheme matched case-insensitively). */
  readonly bearer: string | undefined;
  /** `X-API-Key: <key>`. */
  readonly apiKey: string | undefined;
  /** The client certificate of a TLS connection, when one was sent. */
  readonly peerCertificate: PeerCertificate | undefined;
  /** Whether that certificate chains to the configured client CA (Node's `socket.authorized`). */
  readonly peerAuthorized: boolean;
  /** Why it does not, when it does not (Node's `socket.authorizationError`). */
  readonly peerError: string | undefined;
  /** A trusted proxy's signed statement of the user behind the agent (a JWT), when the listener reads one. */
  readonly userAssertion: string | undefined;
  readonly clientAddress: string | undefined;
  /** Set when an Authorization header was sent but is not `Bearer <token>`: refused before any method runs. */
  readonly authorizationProblem?: string;
}

/**
 * Why a credential was not accepted. `invalid_token` and `missing` become 401 with a Bearer challenge,
 * `insufficient_scope` a 403, `unavailable` a 503 (an identity provider could not be reached and the
 * method fails closed).
 */
export interface AuthFailure {
  readonly reason: 'missing' | 'invalid_token' | 'insufficient_scope' | 'unavailable';
  /** Said to the agent: precise, and free of secrets and of key material. */
  readonly message: string;
  /** Scopes the operation needs (insufficient_scope). */
  readonly scopes?: readonly string[];
}

/**
 * One method's verdict on one request's credentials.
 * - `skip`: nothing of this method's kind was presented (or the token is not for it: another issuer,
 *   not an API key); the next method is tried. `why` is kept in case every method skips.
 * - `ok`: identified.
 * - `fail`: a credential of this method's kind was presented and is not good; no other method is tried,
 *   so a bad key can never fall through to a weaker method.
 */
export type AuthResult =
  | { readonly kind: 'skip'; readonly why?: string }
  | { readonly kind: 'ok'; readonly principal: Principal }
  | { readonly kind: 'fail'; readonly failure: AuthFailure };

/** Verifies tokens the gateway minted itself (the `gateway_token` method delegates to it). */
export interface GatewayTokenVerifier {
  /**
   * The verified claims of a token this gateway minted; `skip` when the token is not a JWT of this
   * gateway's issuer, `fail` when it is one and is not good (signature, expiry, audience, unknown kid).
   */
  verify(token: string, now: number): Promise<{ readonly kind: 'ok'; readonly claims: Readonly<Record<string, unknown>> } | Exclude<AuthResult, { kind: 'ok' }>>;
}

/** Runtime things a method may need; the same object for every request of a gateway. */
export interface AuthEnv {
  readonly store: Store;
  readonly tokens: GatewayTokenVerifier;
  /** Audiences a token must name when its method configures none: the gateway's canonical URL(s). */
  audiences(): readonly string[];
  /** Clock in epoch ms (tests move it). */
  now(): number;
}

/**
 * A compiled authentication method. Built once per snapshot by the config compile (no I/O there:
 * remote key sets are fetched on first use), shared by every request.
 */
export interface AuthMethod {
  /** The configured name: `auth.methods[].name`. */
  readonly name: string;
  readonly type: Principal['authMethod'];
  /** Bearer-token methods take part in the 401 challenge and the protected resource metadata. */
  readonly bearer: boolean;
  /** Issuer URL for the protected resource metadata's `authorization_servers`, when it has one. */
  readonly issuer?: string;
  authenticate(c: Credentials, env: AuthEnv): AuthResult | Promise<AuthResult>;
}
