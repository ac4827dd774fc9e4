// Cheap looks at a bearer token before any verification, to route it to the method it is meant for.
import { decodeJwt } from 'jose';

// Three base64url parts; the signature may be empty so that `alg: none` tokens reach the verifier
// and are refused by name rather than skipped.
const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

/** Longest token looked at; a bigger one is not a JWT any provider issues. */
export const MAX_TOKEN_CHARS = 16 * 1024;

export function looksLikeJwt(token: string): boolean {
  return token.length <= MAX_TOKEN_CHARS && JWT_SHAPE.test(token);
}

/**
 * The unverified `iss` of a JWT-shaped token: only to pick the method that will verify it. `undefined`
 * when the payload is not JSON or has no string `iss`.
 */
export function peekIssuer(token: string): string | undefined {
  try {
    const iss = decodeJwt(token).iss;
    return typeof iss === 'string' ? iss : undefined;
  } catch {
    return undefined;
  }
}
