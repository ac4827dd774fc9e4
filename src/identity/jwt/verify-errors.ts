// jose's verification errors as the precise, secret-free sentences an agent gets back.
import { decodeProtectedHeader, errors, type ProtectedHeaderParameters } from 'jose';
import type { AuthFailure } from '../method.ts';
import { KeySourceError } from './fetch-json.ts';

/** What the verifier expected, so a failure can say what the token had instead. */
export interface VerifyExpectations {
  readonly issuer: string;
  readonly audiences: readonly string[];
  readonly maxTokenAgeSeconds?: number;
  /** Where keys come from, for "no key with kid …" ("the issuer's key set"). */
  readonly keysName: string;
}

const SHARED_SECRET = /^HS\d+$/i;

/**
 * Reads the protected header without trusting it, and refuses `alg` values outside the allow-list
 * with a sentence naming the problem (`none` and HS* get their own: they are attacks, not config).
 */
export function checkHeader(token: string, allowed: readonly string[]): { header: ProtectedHeaderParameters } | { message: string } {
  let header: ProtectedHeaderParameters;
  try {
    header = decodeProtectedHeader(token);
  } catch {
    return { message: 'malformed token: the header is not base64url-encoded JSON' };
  }
  const alg = header.alg;
  if (typeof alg !== 'string' || alg === '') return { message: 'malformed token: the header has no alg' };
  if (alg.toLowerCase() === 'none') return { message: 'alg none is not accepted: tokens must be signed' };
  if (SHARED_SECRET.test(alg)) return { message: `alg ${clip(alg)} is not accepted: shared-secret algorithms are never accepted` };
  if (!allowed.includes(alg)) return { message: `alg ${clip(alg)} is not accepted (accepted: ${allowed.join(', ')})` };
  return { header };
}

/** The failure for an error thrown by jwtVerify; undefined for errors that are bugs (rethrow them). */
export function verifyFailure(err: unknown, header: ProtectedHeaderParameters, exp: VerifyExpectations): AuthFailure | undefined {
  if (err instanceof KeySourceError) return { reason: 'unavailable', message: `the signing keys could not be fetched: ${err.message}` };
  if (err instanceof errors.JWKSNoMatchingKey) {
    return {
      reason: 'invalid_token',
      message: header.kid === undefined ? `no ${header.alg} key in ${exp.keysName} matches the token (it names no kid)` : `no key with kid ${JSON.stringify(clip(header.kid))} in ${exp.keysName}`,
    };
  }
  if (err instanceof errors.JWKSMultipleMatchingKeys) return { reason: 'invalid_token', message: `the token names no kid and several keys in ${exp.keysName} match` };
  if (err instanceof errors.JWSSignatureVerificationFailed) return { reason: 'invalid_token', message: 'signature verification failed' };
  if (err instanceof errors.JOSEAlgNotAllowed) return { reason: 'invalid_token', message: `alg ${clip(String(header.alg))} is not accepted` };
  if (err instanceof errors.JWTExpired || err instanceof errors.JWTClaimValidationFailed) {
    return { reason: 'invalid_token', message: claimMessage(err, exp) };
  }
  if (err instanceof errors.JWTInvalid || err instanceof errors.JWSInvalid) return { reason: 'invalid_token', message: `malformed token: ${err.message}` };
  if (err instanceof errors.JOSEError) return { reason: 'invalid_token', message: `the token cannot be verified: ${err.message}` };
  return undefined;
}

function claimMessage(err: errors.JWTExpired | errors.JWTClaimValidationFailed, exp: VerifyExpectations): string {
  const { claim, reason, payload } = err;
  const value = payload[claim];
  if (reason === 'missing') return `token has no "${claim}" claim`;
  if (reason === 'invalid') return `token claim "${claim}" must be a number`;
  switch (claim) {
    case 'exp':
      return `token expired at ${when(value)}`;
    case 'nbf':
      return `token is not valid before ${when(value)}`;
    case 'iat':
      return err instanceof errors.JWTExpired
        ? `token was issued at ${when(value)}, longer ago than the ${exp.maxTokenAgeSeconds ?? '?'} s accepted`
        : `token was issued in the future (iat ${when(value)})`;
    case 'aud':
      return `token audience ${describe(value)} does not include ${exp.audiences.join(' or ')}`;
    case 'iss':
      return `token issuer ${describe(value)} is not ${exp.issuer}`;
    case 'typ':
      return 'token type (typ header) is not the one expected';
    default:
      return `token claim "${claim}" is not accepted`;
  }
}

/** Epoch seconds as ISO 8601, or the raw value when it is not a date. */
export function when(seconds: unknown): string {
  if (typeof seconds !== 'number' || !Number.isFinite(seconds)) return describe(seconds);
  const d = new Date(seconds * 1000);
  return Number.isNaN(d.getTime()) ? String(seconds) : d.toISOString();
}

function describe(v: unknown): string {
  if (Array.isArray(v)) return `[${v.slice(0, 5).map(describe).join(', ')}${v.length > 5 ? ', …' : ''}]`;
  if (typeof v === 'string') return JSON.stringify(clip(v));
  return v === undefined ? 'absent' : clip(JSON.stringify(v) ?? String(v));
}

export function clip(s: string, max = 120): string {
  return s.length > max ? `${s.slice(0, max)}…` : s;
}
