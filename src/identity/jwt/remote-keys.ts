// The signing keys of one issuer, fetched on first use and refetched on rotation (jose's remote key
// set), with fetches bounded and failures turned into KeySourceError (fail closed, 503).
import { createRemoteJWKSet, customFetch, errors, type CryptoKey, type FlattenedJWSInput, type JWSHeaderParameters } from 'jose';
import type { JwksLocator } from './discovery.ts';
import { fetchBounded, KeySourceError } from './fetch-json.ts';

export interface RemoteKeyOptions {
  readonly cacheSeconds: number;
  readonly cooldownSeconds: number;
  readonly timeoutMs: number;
}

export type KeyResolver = (header: JWSHeaderParameters, token: FlattenedJWSInput) => Promise<CryptoKey>;

/**
 * Lazily built: compiling a config creates this without I/O; the first token to verify locates the
 * key set (discovery) and fetches it. Unknown `kid`s refetch subject to the cooldown (jose).
 */
export class RemoteKeys {
  readonly #locator: JwksLocator;
  readonly #opts: RemoteKeyOptions;
  #resolver: KeyResolver | undefined;

  constructor(locator: JwksLocator, opts: RemoteKeyOptions) {
    this.#locator = locator;
    this.#opts = opts;
  }

  /** Rejects with a KeySourceError when the key set's location cannot be found. */
  async resolver(): Promise<KeyResolver> {
    if (this.#resolver !== undefined) return this.#resolver;
    const url = await this.#locator.resolve();
    this.#resolver ??= this.#build(url);
    return this.#resolver;
  }

  #build(url: URL): KeyResolver {
    const timeoutMs = this.#opts.timeoutMs;
    const remote = createRemoteJWKSet(url, {
      timeoutDuration: timeoutMs,
      cooldownDuration: this.#opts.cooldownSeconds * 1000,
      cacheMaxAge: this.#opts.cacheSeconds * 1000,
      [customFetch]: async (href: string, init: { signal: AbortSignal }) => {
        const { status, text } = await fetchBounded(href, init.signal, timeoutMs);
        if (status !== 200 || text === undefined) throw new KeySourceError(`the key set at ${href} answered HTTP ${status}`);
        try {
          JSON.parse(text);
        } catch {
          throw new KeySourceError(`the key set at ${href} is not JSON`);
        }
        return new Response(text, { status: 200, headers: { 'content-type': 'application/json' } });
      },
    });
    return async (header, token) => {
      try {
        return await remote(header, token);
      } catch (err) {
        if (err instanceof errors.JWKSInvalid) throw new KeySourceError(`the key set at ${url.href} is malformed: ${err.message}`, { cause: err });
        if (err instanceof errors.JWKSTimeout) throw new KeySourceError(`${url.href} did not answer within ${timeoutMs} ms`, { cause: err });
        throw err;
      }
    };
  }
}
