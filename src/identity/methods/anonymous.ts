import type { AnonymousMethodConfig } from '../../config/schema/auth.ts';
import { makePrincipal } from '../../pipeline/principal.ts';
import type { AuthMethod, AuthResult } from '../method.ts';

/**
 * Admits whoever reaches it, as the configured agent. Listed last (or alone) on a listener meant to
 * serve without credentials; a credential that another method on the list refused never gets here.
 */
export function createAnonymousMethod(cfg: AnonymousMethodConfig): AuthMethod {
  const ok: AuthResult = Object.freeze({
    kind: 'ok',
    principal: makePrincipal({ authMethod: 'anonymous', authSource: cfg.name, agent: cfg.agent, tenant: cfg.tenant, roles: cfg.roles }),
  });
  return { name: cfg.name, type: 'anonymous', bearer: false, authenticate: () => ok };
}
