import { z } from 'zod';
import { TokenInputError } from '../identity/tokens/token-service.ts';
import { parseBody } from './key-routes.ts';
import { AdminError, type AdminRoute } from './routes.ts';

const mintBody = z.strictObject({
  agent: z.string(),
  user: z.string().optional(),
  tenant: z.string().optional(),
  roles: z.array(z.string()).optional(),
  scopes: z.array(z.string()).optional(),
  ttlSeconds: z.number().int().positive().optional(),
});

/** Gateway-minted tokens and the keys that sign them. */
export const tokenRoutes: readonly AdminRoute[] = [
  {
    method: 'POST',
    path: '/v1/tokens',
    action: 'tokens.mint',
    handle: async (r) => {
      const b = parseBody(mintBody, r.body);
      try {
        const out = await r.gw.identity.tokens.mint(b, Date.now());
        return { status: 201, body: out };
      } catch (err) {
        if (err instanceof TokenInputError) throw new AdminError(400, 'invalid_token_request', err.message);
        throw err;
      }
    },
  },
  {
    method: 'GET',
    path: '/v1/signing-keys',
    action: 'signing-keys.list',
    handle: async (r) => ({ status: 200, body: await r.gw.identity.tokens.jwks(Date.now()) }),
  },
  {
    method: 'POST',
    path: '/v1/signing-keys/rotate',
    action: 'signing-keys.rotate',
    handle: async (r) => ({ status: 201, body: await r.gw.identity.tokens.rotate(Date.now()) }),
  },
];
