import { z } from 'zod';
import { authListSchema, tlsSchema } from './gateway.ts';

export const adminSchema = z
  .strictObject({
    listen: z
      .strictObject({
        host: z.string().default('127.0.0.1').describe('Address the admin listener binds. Keep it private.'),
        port: z.number().int().min(0).max(65535).default(8081).describe('TCP port of the admin listener (0 picks a free port). Must differ from the data plane\'s.'),
        tls: tlsSchema.optional(),
      })
      .prefault({})
      .describe('Where the admin API listens: its own port, never the data plane\'s.'),
    auth: authListSchema.describe('Authentication methods of the admin API, in the order tried. Required. `api_key` methods here must accept `kind: admin` keys; other methods must give the `role` below.'),
    role: z.string().min(1).default('gatehouse-admin').describe('Role a JWT, gateway token or certificate principal needs to use the admin API (admin API keys carry it).'),
  })
  .describe('The admin plane: API keys, tokens, the policy in force and its explain, and (later) audit and the console. Off unless this section is present.');

export type AdminConfig = z.infer<typeof adminSchema>;
