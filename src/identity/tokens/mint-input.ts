// What may go into a gateway-minted token: the same rules as API keys, checked once here for the CLI
// and the admin API alike.
import { checkIdentity, quote } from '../identity-input.ts';

/** A mint request the token service refuses; `message` is written for the person who made it (400). */
export class TokenInputError extends Error {
  override readonly name = 'TokenInputError';
}

export interface MintInput {
  agent: string;
  user?: string;
  tenant?: string;
  roles?: string[];
  scopes?: string[];
  /** Lifetime; default `auth.tokens.defaultTtlSeconds`, at most `auth.tokens.maxTtlSeconds`. */
  ttlSeconds?: number;
  /** A display name for the agent (the principal's agentName). */
  name?: string;
}

export interface CheckedMint {
  agent: string;
  user: string | undefined;
  tenant: string | undefined;
  roles: string[];
  scopes: string[];
  ttlSeconds: number;
  name: string | undefined;
}

export function checkMintInput(input: MintInput, limits: { defaultTtlSeconds: number; maxTtlSeconds: number }): CheckedMint {
  if (input === null || typeof input !== 'object') throw new TokenInputError('token details must be an object');
  const ttl = input.ttlSeconds ?? limits.defaultTtlSeconds;
  if (typeof ttl !== 'number' || !Number.isInteger(ttl) || ttl < 1) throw new TokenInputError(`ttl must be a whole number of seconds, at least 1, got ${quote(ttl)}`);
  if (ttl > limits.maxTtlSeconds) {
    throw new TokenInputError(`ttl ${ttl} s is longer than the ${limits.maxTtlSeconds} s allowed (auth.tokens.maxTtlSeconds)`);
  }
  return { ...checkIdentity(input, (m) => new TokenInputError(m), 'token'), ttlSeconds: ttl };
}




