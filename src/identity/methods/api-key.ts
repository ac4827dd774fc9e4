import type { ApiKeyMethodConfig } from '../../config/schema/auth.ts';
import { makePrincipal } from '../../pipeline/principal.ts';
import type { ApiKeyRecord } from '../../store/store.ts';
import { API_KEY_PREFIX, checkApiKeyText, displayKeyId, secretMatches } from '../api-key-format.ts';
import type { AuthEnv, AuthMethod, AuthResult, Credentials } from '../method.ts';

/** Role every admin key carries, so the admin listener's role check admits it. */
export const ADMIN_ROLE = 'gatehouse-admin';
/** Least time between two last-use writes for one key: a write per request would cost more than the lookup. */
const TOUCH_INTERVAL_MS = 60_000;
/** Keys whose last write is remembered; past it, old entries go (worst case: one extra write per key). */
const TOUCH_MEMORY = 10_000;
// A hash no secret has (it is not the SHA-256 of anything known), compared against when the id is
// unknown so that an unknown id and a wrong secret cost the same work.
const NO_HASH = 'ff'.repeat(32);
const UNKNOWN = 'unknown API key';

const skip = (why: string): AuthResult => ({ kind: 'skip', why });
const fail = (message: string, reason: 'invalid_token' | 'unavailable' = 'invalid_token'): AuthResult => ({ kind: 'fail', failure: { reason, message } });

/**
 * Gateway-issued API keys (`ghk_…`), from `Authorization: Bearer` or `X-API-Key`. The record is read
 * from the store on every request, never cached, so a revoke from the CLI in another process takes
 * effect on the next request.
 */
export function createApiKeyMethod(cfg: ApiKeyMethodConfig): AuthMethod {
  const touched = new Map<string, number>();

  function touch(env: AuthEnv, id: string, now: number): void {
    const last = touched.get(id);
    if (last !== undefined && now - last < TOUCH_INTERVAL_MS) return;
    if (touched.size >= TOUCH_MEMORY) forgetOld(touched, now);
    touched.set(id, now);
    // Last use is bookkeeping: a failed write must neither fail nor delay the request. The SQLite
    // store writes synchronously, so the write waits for the next turn of the event loop.
    setImmediate(writeLastUse, env, id, new Date(now).toISOString());
  }

  return {
    name: cfg.name,
    type: 'api_key',
    bearer: true,
    async authenticate(c: Credentials, env: AuthEnv): Promise<AuthResult> {
      const text = pick(c);
      if (typeof text !== 'string') return text;
      const parsed = checkApiKeyText(text);
      if (!parsed.ok) return fail(`malformed API key: ${parsed.problem}`);
      const { id, secret } = parsed;

      let record: ApiKeyRecord | undefined;
      try {
        record = await env.store.getApiKey(id);
      } catch {
        // Fail closed; the store's own message (file paths, SQLite codes) is for the operator's log.
        return fail('API keys cannot be checked right now (the gateway\'s store is unavailable)', 'unavailable');
      }
      // Same message, same work for an unknown id and a wrong secret: ids cannot be probed.
      if (!secretMatches(secret, record?.hash ?? NO_HASH) || record === undefined) return fail(UNKNOWN);

      const shown = displayKeyId(id);
      if (record.revokedAt !== undefined) return fail(`API key ${shown} has been revoked`);
      const now = env.now();
      const expiresAt = record.expiresAt === undefined ? undefined : Date.parse(record.expiresAt);
      if (expiresAt !== undefined && !(expiresAt > now)) return fail(`API key ${shown} has expired (${record.expiresAt})`);
      if (record.kind !== cfg.kind) {
        return fail(cfg.kind === 'admin' ? `API key ${shown} is an agent key; the admin API accepts admin keys only` : `API key ${shown} is an admin key; it works on the admin API only`);
      }

      touch(env, id, now);
      const roles = record.kind === 'admin' && !record.roles.includes(ADMIN_ROLE) ? [...record.roles, ADMIN_ROLE] : record.roles;
      return {
        kind: 'ok',
        principal: makePrincipal({
          authMethod: 'api_key',
          authSource: cfg.name,
          agent: record.agent,
          ...(record.user !== undefined ? { user: record.user, userSource: 'credential' as const } : {}),
          ...(record.tenant !== undefined ? { tenant: record.tenant } : {}),
          roles,
          scopes: record.scopes,
          credentialId: id,
          ...(expiresAt !== undefined ? { expiresAt } : {}),
        }),
      };
    },
  };
}

/** The presented key text, or the skip result when there is none. Bearer first: it is the standard place. */
function pick(c: Credentials): string | AuthResult {
  const fromBearer = c.bearer !== undefined && c.bearer.startsWith(API_KEY_PREFIX) ? c.bearer : undefined;
  const fromHeader = c.apiKey !== undefined && c.apiKey.startsWith(API_KEY_PREFIX) ? c.apiKey : undefined;
  if (fromBearer !== undefined && fromHeader !== undefined && fromBearer !== fromHeader) {
    return fail('two different API keys were sent (Authorization and X-API-Key); send one');
  }
  const text = fromBearer ?? fromHeader;
  if (text !== undefined) return text;
  if (c.apiKey !== undefined) return skip(`X-API-Key is not a Gatehouse API key (${API_KEY_PREFIX}…)`);
  return skip(c.bearer === undefined ? 'no API key was sent' : `the bearer token is not a Gatehouse API key (${API_KEY_PREFIX}…)`);
}

function writeLastUse(env: AuthEnv, id: string, at: string): void {
  try {
    env.store.touchApiKey(id, at).catch(ignore);
  } catch {
    // a store that throws synchronously: same treatment
  }
}

function ignore(): void {}

function forgetOld(touched: Map<string, number>, now: number): void {
  for (const [id, at] of touched) if (now - at >= TOUCH_INTERVAL_MS) touched.delete(id);
  // Every key used within the interval: start over rather than grow without bound.
  if (touched.size >= TOUCH_MEMORY) touched.clear();
}
