// The rules for who a credential names, shared by API keys and minted tokens: the same agent, user,
// tenant, roles and scopes must be acceptable (or refused, with the same words) whichever is issued.

const MAX_IDENT = 128;
const MAX_NAME = 100;
const MAX_ROLES = 32;
const MAX_SCOPES = 64;
// Whitespace would split a scope list; control and format characters (bidi overrides, zero-width)
// would make two different names print the same in logs and tables.
const IDENT = /^[^\s\p{Cc}\p{Cf}]+$/u;
const NAME_CHARS = /^[^\p{Cc}\p{Cf}\p{Zl}\p{Zp}]+$/u;

export interface IdentityInput {
  agent: string;
  name?: string | undefined;
  user?: string | undefined;
  tenant?: string | undefined;
  roles?: readonly string[] | undefined;
  scopes?: readonly string[] | undefined;
}

export interface CheckedIdentity {
  agent: string;
  name: string | undefined;
  user: string | undefined;
  tenant: string | undefined;
  roles: string[];
  scopes: string[];
}

/** Checks `input`; every refusal is `fail(message)` thrown, the message written for the person who asked. */
export function checkIdentity(input: IdentityInput, fail: (message: string) => Error, per: 'key' | 'token'): CheckedIdentity {
  const ident = (what: string, value: unknown): string => {
    if (typeof value !== 'string' || value.length === 0) throw fail(`${what} is required and must be a non-empty string`);
    if (value.length > MAX_IDENT) throw fail(`${what} is longer than ${MAX_IDENT} characters`);
    if (!IDENT.test(value)) throw fail(`${what} ${quote(value)} contains whitespace or control characters`);
    return value;
  };
  const identList = (what: string, value: unknown, max: number): string[] => {
    if (value === undefined) return [];
    if (!Array.isArray(value)) throw fail(`${what}s must be a list of strings`);
    if (value.length > max) throw fail(`at most ${max} ${what}s per ${per}, got ${value.length}`);
    const seen = new Set<string>();
    for (const v of value) {
      const s = ident(what, v);
      if (seen.has(s)) throw fail(`${what} ${quote(s)} is given twice`);
      seen.add(s);
    }
    return [...seen];
  };
  const name = input.name;
  if (name !== undefined) {
    if (typeof name !== 'string' || name.trim().length === 0) throw fail('name must be a non-empty string when given');
    if (name.length > MAX_NAME) throw fail(`name is longer than ${MAX_NAME} characters`);
    if (name.trim() !== name) throw fail('name must not start or end with whitespace');
    if (!NAME_CHARS.test(name)) throw fail('name contains control characters');
  }
  return {
    agent: ident('agent', input.agent),
    name,
    user: input.user === undefined ? undefined : ident('user', input.user),
    tenant: input.tenant === undefined ? undefined : ident('tenant', input.tenant),
    roles: identList('role', input.roles, MAX_ROLES),
    scopes: identList('scope', input.scopes, MAX_SCOPES),
  };
}

export function quote(v: unknown): string {
  return typeof v === 'string' ? JSON.stringify(v) : String(v);
}
