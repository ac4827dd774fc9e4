import { z } from 'zod';
import { createKey, KeyInputError, listKeys, normalizeKeyId, revokeKey, rotateKey } from '../identity/key-service.ts';
import { AdminError, type AdminRoute } from './routes.ts';

const createBody = z.strictObject({
  agent: z.string(),
  kind: z.enum(['agent', 'admin']).default('agent'),
  name: z.string().optional(),
  user: z.string().optional(),
  tenant: z.string().optional(),
  roles: z.array(z.string()).optional(),
  scopes: z.array(z.string()).optional(),
  expiresInSeconds: z.number().int().positive().optional(),
});

const rotateBody = z.strictObject({ graceSeconds: z.number().int().min(0).max(30 * 86_400).default(0) });

/** Parses a request body with a schema; a mismatch is a 400 naming the field. */
export function parseBody<T>(schema: z.ZodType<T>, body: unknown): T {
  const r = schema.safeParse(body ?? {});
  if (r.success) return r.data;
  const i = r.error.issues[0]!;
  throw new AdminError(400, 'invalid_body', `${i.path.length > 0 ? `${i.path.join('.')}: ` : ''}${i.message}`);
}


async function guarded<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof KeyInputError) {
      const [status, code] = err.code === 'not_found' ? [404, 'key_not_found'] : err.code === 'conflict' ? [409, 'key_conflict'] : [400, 'invalid_key_request'];
      throw new AdminError(status, code, err.message);
    }
    throw err;
  }
}

/** API key lifecycle: the same operations as `gatehouse keys`, over HTTP. The key text is in the create/rotate answer only. */
export const keyRoutes: readonly AdminRoute[] = [
  {
    method: 'GET',
    path: '/v1/keys',
    action: 'keys.list',
    handle: async (r) => {
      const kind = r.query.get('kind');
      if (kind !== null && kind !== 'agent' && kind !== 'admin') throw new AdminError(400, 'invalid_query', 'kind must be agent or admin');
      const keys = await listKeys(r.gw.store, { includeRevoked: r.query.get('all') === 'true', ...(kind === null ? {} : { kind }) });
      return { status: 200, body: { keys } };
    },
  },
  {
    method: 'POST',
    path: '/v1/keys',
    action: 'keys.create',
    handle: async (r) => {
      const b = parseBody(createBody, r.body);
      const out = await guarded(() => createKey(r.gw.store, b, Date.now()));
      return { status: 201, body: { key: out.key, record: out.record } };
    },
  },
  {
    method: 'POST',
    path: '/v1/keys/:id/revoke',
    action: 'keys.revoke',
    handle: async (r) => {
      const id = await guarded(async () => normalizeKeyId(r.params.id!));
      const record = await guarded(() => revokeKey(r.gw.store, id, Date.now()));
      return { status: 200, body: { record } };
    },
  },
  {
    method: 'POST',
    path: '/v1/keys/:id/rotate',
    action: 'keys.rotate',
    handle: async (r) => {
      const id = await guarded(async () => normalizeKeyId(r.params.id!));
      const b = parseBody(rotateBody, r.body);
      const out = await guarded(() => rotateKey(r.gw.store, id, { graceSeconds: b.graceSeconds }, Date.now()));
      return { status: 201, body: { key: out.key, record: out.record, previous: out.previous } };
    },
  },
];
