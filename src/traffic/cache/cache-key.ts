import { hash } from 'node:crypto';
import { canonicalJson } from '../../audit/canonical.ts';

/** What identifies a cacheable call, whoever makes it. */
export interface KeyParts {
  readonly upstream: string;
  /**
   * The upstream side of the authorization context and everything that shapes the answer: the
   * upstream's identity (its connection and credentials) and the digest of its cache settings.
   */
  readonly context: string;
  /** The agent's protocol era: the gateway calls an upstream differently for each (relay-call.ts). */
  readonly era: string;
  readonly method: string;
  /** The upstream's own tool name or resource URI (public names move when prefixes change). */
  readonly name: string;
  /** The call's arguments; null when it has none. */
  readonly args: unknown;
}

/**
 * The unhashed request part of a key: the fixed parts as a JSON array (which never holds a raw
 * newline), a newline, then the RFC 8785 canonical JSON of the arguments, so that `{a,b}` and `{b,a}`
 * are the same call. Throws CanonicalJsonError for arguments that have no canonical form (lone
 * surrogates, cycles, too deep): such a call is not cached, since making them canonical would make
 * distinct arguments equal.
 */
export function requestBase(k: KeyParts): string {
  return `${JSON.stringify([k.upstream, k.context, k.era, k.method, k.name])}\n${canonicalJson(k.args ?? null)}`;
}

/** Key of an entry only this principal may be served: the principal id is part of what is hashed. */
export function principalKey(base: string, principalId: string): string {
  return hash('sha256', `${base}\np\n${principalId}`, 'base64url');
}

/** Key of an entry any caller the policy lets through may be served. */
export function sharedKey(base: string): string {
  return hash('sha256', `${base}\ns`, 'base64url');
}
