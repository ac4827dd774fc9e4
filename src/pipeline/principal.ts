/**
 * Who is calling. The authentication step at the edge establishes it once per request; every later
 * decision (policy, limits, audit) reads this value and nothing else about the caller.
 * It never holds a secret: `credentialId` names the credential (key id, token id, certificate
 * fingerprint), never its bytes.
 */
export interface Principal {
  /**
   * Stable key of the subject: `<source>:<tenant>:<agent>:<user>`. Equal ids mean the same caller,
   * whatever credential it presented this time (a refreshed token, a rotated key). Sessions are bound to it.
   */
  readonly id: string;
  readonly authMethod: AuthMethodType;
  /** Name of the configured method that accepted the credential (`auth.methods[].name`). */
  readonly authSource: string;
  /** The agent: the software calling (OAuth client, API key holder, workload). */
  readonly agent: string;
  /** Display name of the agent, when the credential carries one. */
  readonly agentName?: string;
  /** The human or workflow the agent acts for, when known. */
  readonly user?: string;
  /** Where `user` came from: the credential itself, or a signed assertion from a trusted proxy. */
  readonly userSource?: 'credential' | 'proxy_assertion';
  readonly tenant?: string;
  readonly roles: readonly string[];
  readonly groups: readonly string[];
  readonly scopes: readonly string[];
  /** Which credential: API key id, JWT `jti` (or issuer#kid), certificate SHA-256 fingerprint. */
  readonly credentialId?: string;
  /** When the credential stops being valid (epoch ms), when it says. */
  readonly expiresAt?: number;
  /** Extra claims or attributes kept for policy conditions (never secrets). */
  readonly attributes?: Readonly<Record<string, unknown>>;
}

export type AuthMethodType = 'anonymous' | 'api_key' | 'jwt' | 'gateway_token' | 'mtls';

const EMPTY: readonly string[] = Object.freeze([]);

/** The principal of requests the edge refused before anyone was identified. */
export const ANONYMOUS: Principal = Object.freeze({
  id: 'none:::anonymous',
  authMethod: 'anonymous',
  authSource: 'none',
  agent: 'anonymous',
  roles: EMPTY,
  groups: EMPTY,
  scopes: EMPTY,
});

/** The one way to spell a principal id, so that every method binds sessions the same way. */
export function principalId(source: string, agent: string, tenant: string | undefined, user: string | undefined): string {
  // Each part escaped, so no value containing ':' can make two callers' ids equal.
  return `${esc(source)}:${esc(tenant ?? '')}:${esc(agent)}:${esc(user ?? '')}`;
}

function esc(s: string): string {
  return s.includes(':') || s.includes('%') ? s.replace(/%/g, '%25').replace(/:/g, '%3A') : s;
}

/** Builds a frozen principal with its id computed from its parts. */
export function makePrincipal(p: Omit<Principal, 'id' | 'roles' | 'groups' | 'scopes'> & Partial<Pick<Principal, 'roles' | 'groups' | 'scopes'>>): Principal {
  return Object.freeze({
    ...p,
    id: principalId(p.authSource, p.agent, p.tenant, p.user),
    roles: Object.freeze([...(p.roles ?? [])]),
    groups: Object.freeze([...(p.groups ?? [])]),
    scopes: Object.freeze([...(p.scopes ?? [])]),
  });
}
