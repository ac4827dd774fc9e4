import { z } from 'zod';
import { adminSchema } from './admin.ts';
import { auditSchema } from './audit.ts';
import { authSchema } from './auth.ts';
import { gatewaySchema } from './gateway.ts';
import { logSchema } from './log.ts';
import { policySchema } from './policy.ts';
import { storeSchema } from './store.ts';
import { telemetrySchema } from './telemetry.ts';
import { trafficSchema } from './traffic.ts';
import { upstreamSchema } from './upstream.ts';

export const configSchema = z
  .strictObject({
    version: z.literal(1).describe('Config format version.'),
    gateway: gatewaySchema.prefault({}),
    auth: authSchema.prefault({}),
    admin: adminSchema.optional(),
    policy: policySchema.optional(),
    traffic: trafficSchema.optional(),
    audit: auditSchema.prefault({}),
    store: storeSchema.default({ kind: 'sqlite', path: './data/gatehouse.db' }),
    log: logSchema.prefault({}),
    telemetry: telemetrySchema.prefault({}),
    upstreams: z.array(upstreamSchema).default([]).describe('The MCP servers behind the gateway, in precedence order.'),
  })
  .describe('Gatehouse configuration.');

export type GatehouseConfig = z.infer<typeof configSchema>;
