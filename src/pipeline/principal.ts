/**
 * Who is calling. The authenticate phase (identity work) replaces the anonymous principal;
 * every later decision reads this value and nothing else about the caller.
 */
export interface Principal {
  readonly id: string;
  readonly authMethod: 'anonymous' | 'api_key' | 'jwt' | 'mtls' | 'stdio';
  readonly agent?: string;
  readonly user?: string;
  readonly tenant?: string;
  readonly roles: readonly string[];
  readonly credentialId?: string;
}

export const ANONYMOUS: Principal = Object.freeze({ id: 'anonymous', authMethod: 'anonymous', roles: Object.freeze([]) as readonly string[] });
