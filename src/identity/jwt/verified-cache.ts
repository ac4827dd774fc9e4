import type { Principal } from '../../pipeline/principal.ts';

const MAX_ENTRIES = 4096;
/** A verified token is trusted again without a signature check for at most this long. */
const MAX_REUSE_MS = 300_000;

/**
 * Tokens already verified, by their exact text. An agent sends the same access token on every call;
 * checking its signature each time (ECDSA/RSA, hundreds of µs) would cost more than the rest of the
 * gateway. An entry lives until the token expires, at most five minutes, and is keyed by the whole
 * token, so a changed byte is a different token. Only successes are kept. One cache per compiled
 * method: a reload (new issuer, audience or keys setting) starts empty.
 */
export class VerifiedTokenCache {
  readonly #entries = new Map<string, { principal: Principal; until: number }>();

  get(token: string, now: number): Principal | undefined {
    const e = this.#entries.get(token);
    if (e === undefined) return undefined;
    if (e.until <= now) {
      this.#entries.delete(token);
      return undefined;
    }
    return e.principal;
  }

  /** `validUntil`: when the token stops being acceptable (its `exp`, or its maximum age). */
  put(token: string, principal: Principal, validUntil: number, now: number): void {
    if (this.#entries.size >= MAX_ENTRIES) {
      // Oldest insertion first out: Map iteration order is insertion order.
      const oldest = this.#entries.keys().next().value;
      if (oldest !== undefined) this.#entries.delete(oldest);
    }
    this.#entries.set(token, { principal, until: Math.min(validUntil, now + MAX_REUSE_MS) });
  }
}
