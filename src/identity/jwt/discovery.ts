// Where an issuer's signing keys are: configured, or read from its discovery document.
import { checkKeyUrl, fetchJson, KeySourceError } from './fetch-json.ts';

export interface DiscoveryOptions {
  /** Longest one document fetch may take. */
  readonly timeoutMs: number;
  /** After a failed discovery, how long callers get the same error before it is tried again. */
  readonly retryAfterMs: number;
}

/**
 * The discovery addresses of an issuer, in the order tried: OpenID Connect (`/.well-known/openid-configuration`
 * appended to the issuer), then RFC 8414 (`/.well-known/oauth-authorization-server` inserted before the
 * issuer's path) and, for issuers with a path, OpenID Connect with the path inserted as well.
 */
export function discoveryUrls(issuer: string): string[] {
  const u = new URL(issuer);
  const path = u.pathname.replace(/\/+$/, '');
  const urls = [`${issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`, `${u.origin}/.well-known/oauth-authorization-server${path}`];
  if (path !== '') urls.push(`${u.origin}/.well-known/openid-configuration${path}`);
  return urls;
}

/**
 * Finds the JWKS URL of one issuer once and remembers it for the life of the compiled method (a config
 * reload makes a new one). Concurrent callers share one lookup; a failure is remembered for
 * `retryAfterMs` so that requests during an outage do not each hit the provider.
 */
export class JwksLocator {
  readonly issuer: string;
  readonly #configured: URL | undefined;
  readonly #opts: DiscoveryOptions;
  #found: URL | undefined;
  #pending: Promise<URL> | undefined;
  #failure: { error: KeySourceError; until: number } | undefined;

  /** Throws an Error for an issuer or jwksUrl that is not https (loopback excepted). */
  constructor(issuer: string, jwksUrl: string | undefined, opts: DiscoveryOptions) {
    checkKeyUrl(issuer, 'issuer');
    this.issuer = issuer;
    this.#configured = jwksUrl === undefined ? undefined : checkKeyUrl(jwksUrl, 'jwksUrl');
    this.#opts = opts;
  }

  /** The key set URL; rejects with a KeySourceError when discovery fails. */
  resolve(): Promise<URL> {
    if (this.#configured !== undefined) return Promise.resolve(this.#configured);
    if (this.#found !== undefined) return Promise.resolve(this.#found);
    if (this.#failure !== undefined && Date.now() < this.#failure.until) return Promise.reject(this.#failure.error);
    this.#pending ??= this.#discover().then(
      (url) => {
        this.#found = url;
        this.#failure = undefined;
        this.#pending = undefined;
        return url;
      },
      (err: unknown) => {
        const error = err instanceof KeySourceError ? err : new KeySourceError(`discovery for issuer ${this.issuer} failed: ${(err as Error).message}`, { cause: err });
        this.#failure = { error, until: Date.now() + this.#opts.retryAfterMs };
        this.#pending = undefined;
        throw error;
      },
    );
    return this.#pending;
  }

  async #discover(): Promise<URL> {
    const misses: string[] = [];
    for (const url of discoveryUrls(this.issuer)) {
      const { status, json } = await fetchJson(url, this.#opts.timeoutMs);
      if (status !== 200) {
        misses.push(`${url} answered HTTP ${status}`);
        continue;
      }
      return this.#jwksUriOf(url, json);
    }
    throw new KeySourceError(`no discovery document for issuer ${this.issuer} (${misses.join('; ')}); set jwksUrl to name the key set directly`);
  }

  #jwksUriOf(url: string, doc: unknown): URL {
    if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) throw new KeySourceError(`discovery document at ${url} is not a JSON object`);
    const { issuer, jwks_uri: jwksUri } = doc as Record<string, unknown>;
    // RFC 8414 §3.3 / OIDC Discovery §4.3: a document naming another issuer must not be used, or a
    // provider could vouch for keys of an issuer it is not.
    if (issuer !== this.issuer) {
      throw new KeySourceError(`discovery document at ${url} names issuer ${JSON.stringify(clip(issuer))}, not the configured ${this.issuer}`);
    }
    if (typeof jwksUri !== 'string' || jwksUri === '') throw new KeySourceError(`discovery document at ${url} has no jwks_uri`);
    try {
      return checkKeyUrl(jwksUri, `jwks_uri of the discovery document at ${url}`);
    } catch (err) {
      throw new KeySourceError((err as Error).message);
    }
  }
}

function clip(v: unknown): unknown {
  return typeof v === 'string' && v.length > 200 ? `${v.slice(0, 200)}…` : v;
}
