// `type: gateway_token`: tokens the gateway minted itself, verified with its own signing keys.
import { makePrincipal } from '../../pipeline/principal.ts';
import type { AuthEnv, AuthMethod, AuthResult, Credentials } from '../method.ts';

export function createGatewayTokenMethod(cfg: { name: string }): AuthMethod {
  const name = cfg.name;
  return Object.freeze({
    name,
    type: 'gateway_token' as const,
    bearer: true,
    async authenticate(c: Credentials, env: AuthEnv): Promise<AuthResult> {
      if (c.bearer === undefined) return { kind: 'skip', why: 'no bearer token' };
      const v = await env.tokens.verify(c.bearer, env.now());
      if (v.kind !== 'ok') return v;
      return principalOf(name, v.claims);
    },
  });
}

/**
 * The token service signed these claims, so they have the shapes it writes; they are still checked,
 * because a wrong shape would mean a key shared with something else, and that must not pass.
 */
function principalOf(name: string, claims: Readonly<Record<string, unknown>>): AuthResult {
  const { sub, gh_user: user, gh_tenant: tenant, gh_name: agentName, roles, scope, jti, exp } = claims;
  if (typeof sub !== 'string' || sub === '') return bad('"sub" must name the agent');
  if (!optionalString(user)) return bad('"gh_user" must be a string');
  if (!optionalString(tenant)) return bad('"gh_tenant" must be a string');
  if (!optionalString(agentName)) return bad('"gh_name" must be a string');
  if (roles !== undefined && !(Array.isArray(roles) && roles.every((r) => typeof r === 'string'))) return bad('"roles" must be an array of strings');
  if (!optionalString(scope)) return bad('"scope" must be a space-separated string');
  if (typeof jti !== 'string' || typeof exp !== 'number') return bad('"jti" and "exp" are required');
  return {
    kind: 'ok',
    principal: makePrincipal({
      authMethod: 'gateway_token',
      authSource: name,
      agent: sub,
      ...(agentName !== undefined && { agentName }),
      ...(user !== undefined && { user, userSource: 'credential' as const }),
      ...(tenant !== undefined && { tenant }),
      roles: (roles as string[] | undefined) ?? [],
      scopes: scope === undefined ? [] : scope.split(' ').filter((s) => s !== ''),
      credentialId: jti,
      expiresAt: exp * 1000,
    }),
  };
}

function optionalString(v: unknown): v is string | undefined {
  return v === undefined || (typeof v === 'string' && v !== '');
}

function bad(what: string): AuthResult {
  return { kind: 'fail', failure: { reason: 'invalid_token', message: `gateway token claim ${what}` } };
}
