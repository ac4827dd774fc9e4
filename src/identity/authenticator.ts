import { gatewayError, type GatewayError } from '../errors/codes.ts';
import type { DecisionRecord } from '../pipeline/record.ts';
import { principalId, type Principal } from '../pipeline/principal.ts';
import { presentedAny } from './credentials.ts';
import type { AuthEnv, AuthFailure, AuthMethod, Credentials } from './method.ts';

/** A trusted proxy's assertion of the user behind the agent, read on one listener. */
export interface UserAssertionCheck {
  readonly header: string;
  readonly required: boolean;
  verify(token: string, env: AuthEnv): Promise<{ user: string; tenant?: string } | AuthFailure>;
}

/** One listener's compiled authentication: its methods in order, and what it additionally demands. */
export interface ListenerAuth {
  readonly listener: 'data' | 'stdio' | 'admin';
  readonly methods: readonly AuthMethod[];
  /** Some method reads bearer tokens: 401s carry a Bearer challenge, and metadata is served. */
  readonly bearer: boolean;
  readonly userAssertion: UserAssertionCheck | undefined;
  /** A role every principal must have (the admin listener). */
  readonly requiredRole: string | undefined;
}

export type AuthOutcome =
  | { readonly kind: 'ok'; readonly principal: Principal; readonly decision: DecisionRecord }
  | { readonly kind: 'refused'; readonly failure: AuthFailure; readonly error: GatewayError; readonly decision: DecisionRecord; readonly principal: Principal | undefined };

/**
 * Tries the listener's methods in order. The first `ok` identifies the caller; a `fail` ends the
 * search (a bad credential never falls through to a weaker method, anonymous included); when every
 * method skips, the request had no credential any of them takes. The result is a value carrying the
 * decision record, so the refusal is recorded like any other denial.
 */
export async function authenticate(l: ListenerAuth, c: Credentials, env: AuthEnv): Promise<AuthOutcome> {
  const t0 = performance.now();
  const finish = (name: string, r: { principal: Principal } | { failure: AuthFailure; principal?: Principal }): AuthOutcome => {
    const micros = Math.round((performance.now() - t0) * 1000);
    if ('failure' in r) {
      const decision: DecisionRecord = { filter: `authn:${name}`, phase: 'authenticate', kind: 'deny', shadow: false, error: r.failure.message, micros };
      return { kind: 'refused', failure: r.failure, error: errorFor(r.failure), decision, principal: r.principal };
    }
    return { kind: 'ok', principal: r.principal, decision: { filter: `authn:${name}`, phase: 'authenticate', kind: 'continue', shadow: false, micros } };
  };
  if (c.authorizationProblem !== undefined) return finish('header', { failure: { reason: 'invalid_token', message: c.authorizationProblem } });

  const whys: string[] = [];
  for (const m of l.methods) {
    let r;
    try {
      r = await m.authenticate(c, env);
    } catch (err) {
      // A method that throws is a bug or an outage; either way nobody is let in.
      const message = `authentication method "${m.name}" failed: ${err instanceof Error ? err.message : String(err)}`;
      return finish(m.name, { failure: { reason: 'unavailable', message } });
    }
    if (r.kind === 'fail') return finish(m.name, { failure: r.failure });
    if (r.kind === 'skip') {
      if (r.why !== undefined) whys.push(r.why);
      continue;
    }
    let p = r.principal;
    if (l.userAssertion !== undefined) {
      const u = await assertedUser(l.userAssertion, c, env);
      if (u !== undefined && 'reason' in u) return finish(m.name, { failure: u, principal: p });
      if (u !== undefined) p = Object.freeze({ ...p, user: u.user, userSource: 'proxy_assertion' as const, id: principalId(p.authSource, p.agent, p.tenant, u.user) });
    }
    // Admin API keys are admin by kind (the compile allows only admin-kind key methods there).
    if (l.requiredRole !== undefined && p.authMethod !== 'api_key' && !p.roles.includes(l.requiredRole)) {
      return finish(m.name, { failure: { reason: 'insufficient_scope', message: `the ${l.listener} listener needs the role "${l.requiredRole}"` }, principal: p });
    }
    return finish(m.name, { principal: p });
  }
  if (!presentedAny(c)) return finish('none', { failure: { reason: 'missing', message: 'authentication required: send a credential (Authorization: Bearer <token>, X-API-Key, or a client certificate)' } });
  const why = whys.length > 0 ? `: ${whys.join('; ')}` : '';
  return finish('none', { failure: { reason: 'invalid_token', message: `the credential is not accepted here${why}` } });
}

async function assertedUser(a: UserAssertionCheck, c: Credentials, env: AuthEnv): Promise<{ user: string; tenant?: string } | AuthFailure | undefined> {
  if (c.userAssertion === undefined) {
    return a.required ? { reason: 'invalid_token', message: `the ${a.header} header (the user assertion of the trusted proxy) is required` } : undefined;
  }
  const r = await a.verify(c.userAssertion, env);
  if ('reason' in r) return { ...r, message: `user assertion (${a.header}) refused: ${r.message}` };
  return r;
}

function errorFor(f: AuthFailure): GatewayError {
  switch (f.reason) {
    case 'insufficient_scope':
      return f.scopes === undefined ? gatewayError('forbidden', `Forbidden: ${f.message}`) : gatewayError('insufficient_scope', `Forbidden: ${f.message}`, { requiredScopes: [...f.scopes] });
    case 'unavailable':
      return gatewayError('auth_unavailable', `Service Unavailable: ${f.message}`);
    default:
      return gatewayError('unauthenticated', `Unauthorized: ${f.message}`);
  }
}
