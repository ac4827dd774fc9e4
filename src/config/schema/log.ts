import { z } from 'zod';

export const logSchema = z
  .strictObject({
    level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info').describe('Least severe level written.'),
    pretty: z.boolean().default(false).describe('Human-readable lines instead of JSON (development only).'),
  })
  .describe('Structured logs (pino) on standard error.');
