import { z } from 'zod';
import { identifier, secretMap } from './common.ts';
import { TOOL_CLASSES } from '../../policy/types.ts';

const restartSchema = z
  .strictObject({
    initialDelayMs: z.number().int().positive().default(500).describe('First delay before restarting or reconnecting.'),
    maxDelayMs: z.number().int().positive().default(30_000).describe('Longest delay between attempts (exponential backoff with jitter).'),
  })
  .describe('How an upstream that failed is retried in the background.');

const common = {
  name: identifier.describe('Unique upstream name; the default prefix of its tools and prompts.'),
  prefix: z
    .string()
    .regex(/^[A-Za-z0-9_.-]{1,32}$/)
    .optional()
    .describe('Prefix for this upstream\'s public names; defaults to `name`.'),
  passthroughNames: z
    .boolean()
    .default(false)
    .describe('Publish tool and prompt names unprefixed. Collisions with other upstreams are resolved by config order and reported.'),
  required: z.boolean().default(false).describe('Readiness reports not-ready while this upstream is unhealthy.'),
  timeoutMs: z.number().int().positive().default(60_000).describe('Longest a single call to this upstream may take.'),
  connectTimeoutMs: z.number().int().positive().default(15_000).describe('Longest the start, handshake and first listing may take.'),
  healthIntervalMs: z.number().int().min(0).default(30_000).describe('Interval of ping health checks over the existing connection (0 turns them off).'),
  restart: restartSchema.prefault({}),
  trusted: z
    .boolean()
    .default(false)
    .describe('Trust this upstream\'s tool annotations: `readOnlyHint` / `destructiveHint` seed tool classes and `when.annotations` rules may match them. Annotations of untrusted upstreams are ignored by policy.'),
  toolClasses: z
    .record(z.string().min(1), z.enum(TOOL_CLASSES))
    .default({})
    .describe('Tool classes by the upstream\'s own tool name or glob (`kubectl_get*: read_only`); the first matching entry, in written order, wins over annotations.'),
};

// Numbers and booleans are accepted and passed as text: `PORT: 3001` and `PORT: ${PORT}` both work.
const envValue = z.union([z.string(), z.number(), z.boolean()]).transform(String);
const envSchema = z.record(z.string(), envValue).default({}).describe('Environment variables for the process (the gateway\'s own environment is not inherited beyond PATH, HOME and the like).');

export const launchSchema = z
  .strictObject({
    command: z.string().min(1).describe('Executable to run.'),
    args: z.array(z.string()).default([]).describe('Arguments.'),
    env: envSchema,
    cwd: z.string().optional().describe('Working directory; relative paths resolve against the config file\'s folder.'),
  })
  .describe('A local process the gateway starts, supervises and stops with itself.');

export const stdioUpstreamSchema = z.strictObject({
  ...common,
  transport: z.literal('stdio'),
  command: z.string().min(1).describe('Executable to run; its stdin/stdout carry MCP.'),
  args: z.array(z.string()).default([]).describe('Arguments.'),
  env: envSchema,
  cwd: z.string().optional().describe('Working directory; relative paths resolve against the config file\'s folder.'),
});

export const httpUpstreamSchema = z.strictObject({
  ...common,
  transport: z.literal('streamable-http'),
  url: z.url({ protocol: /^https?$/ }).describe('The upstream MCP endpoint.'),
  headers: secretMap.default({}).describe('Headers sent upstream (credentials held by the gateway; values are secrets).'),
  era: z.enum(['auto', 'modern', 'legacy']).default('auto').describe('Protocol era of the upstream; `auto` probes once and remembers.'),
  launch: launchSchema.optional(),
});

export const sseUpstreamSchema = z.strictObject({
  ...common,
  transport: z.literal('sse'),
  url: z.url({ protocol: /^https?$/ }).describe('The legacy HTTP+SSE endpoint (the GET stream URL).'),
  headers: secretMap.default({}).describe('Headers sent upstream (values are secrets).'),
  launch: launchSchema.optional(),
});

export const upstreamSchema = z
  .discriminatedUnion('transport', [stdioUpstreamSchema, httpUpstreamSchema, sseUpstreamSchema])
  .describe('One MCP server behind the gateway.');

export type UpstreamConfig = z.infer<typeof upstreamSchema>;
export type StdioUpstreamConfig = z.infer<typeof stdioUpstreamSchema>;
export type HttpUpstreamConfig = z.infer<typeof httpUpstreamSchema>;
export type SseUpstreamConfig = z.infer<typeof sseUpstreamSchema>;
export type LaunchConfig = z.infer<typeof launchSchema>;
