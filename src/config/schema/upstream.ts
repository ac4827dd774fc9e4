import { z } from 'zod';
import { identifier, secretMap } from './common.ts';
import { TOOL_CLASSES } from '../../policy/types.ts';

const restartSchema = z
  .strictObject({
    initialDelayMs: z.number().int().positive().default(500).describe('First delay before restarting or reconnecting.'),
    maxDelayMs: z.number().int().positive().default(30_000).describe('Longest delay between attempts (exponential backoff with jitter).'),
  })
  .describe('How an upstream that failed is retried in the background.');

const globMap = (what: string) => z.record(z.string().min(1), what === 'ms' ? z.number().int().positive() : z.number().int().min(0));

const retrySchema = z
  .strictObject({
    attempts: z.number().int().min(0).max(10).default(2).describe('Further attempts after the first. Only calls that never reached the upstream, or tools classed `read_only` or listed in `idempotentTools`, are retried.'),
    initialDelayMs: z.number().int().min(0).default(100).describe('Delay before the first retry (exponential backoff with full jitter).'),
    maxDelayMs: z.number().int().positive().default(2_000).describe('Longest delay between retries.'),
    idempotentTools: z.array(z.string().min(1)).default([]).describe('Tools (the upstream\'s own names or globs) that are safe to repeat although they change something.'),
  })
  .describe('Retries of calls that failed in transport (never of calls the upstream answered, even with an error).');

const breakerSchema = z
  .strictObject({
    consecutiveFailures: z.number().int().min(0).default(5).describe('Transport failures and timeouts in a row that open the breaker (0 turns it off).'),
    halfOpenAfterMs: z.number().int().positive().default(10_000).describe('How long the breaker stays open before one trial call may pass (half-open); success closes it.'),
  })
  .describe('Circuit breaker for this upstream: while open, calls fail fast with `upstream_circuit_open`.');

const cacheSchema = z
  .strictObject({
    tools: globMap('ms').default({}).describe('Read-only tools whose results may be cached, by the upstream\'s own name or glob, with the time to live in milliseconds. A tool not classed `read_only` is a config error.'),
    scope: z.enum(['principal', 'shared']).default('principal').describe('Who may be served a cached result of `tools`: the same principal only (tenant, user and agent), or every caller the policy lets call the tool.'),
    honorTtl: z.boolean().default(true).describe('Cache 2026-07-28 results by their own `ttlMs` and `cacheScope` (`private` results are keyed by principal).'),
  })
  .describe('Response cache for calls that are safe to cache. Entries are keyed by the arguments and the authorization context.');

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
  timeoutMs: z.number().int().positive().default(60_000).describe('Longest a single attempt at a call to this upstream may take.'),
  toolTimeoutsMs: globMap('ms').default({}).describe('Deadlines per tool (the upstream\'s own name or glob, first match in written order), instead of `timeoutMs`.'),
  progressResetsTimeout: z.boolean().default(false).describe('A progress notification from the upstream restarts the call\'s deadline, up to `maxTimeoutMs` in all.'),
  maxTimeoutMs: z.number().int().positive().default(600_000).describe('Hard maximum for one attempt, however often progress restarts its deadline.'),
  retry: retrySchema.prefault({}),
  breaker: breakerSchema.prefault({}),
  cache: cacheSchema.prefault({}),
  connectTimeoutMs: z.number().int().positive().default(15_000).describe('Longest the start, handshake and first listing may take.'),
  healthIntervalMs: z.number().int().min(0).default(30_000).describe('Interval of health checks over the existing connection, per replica (`ping` on 2025-era sessions, `server/discover` on 2026-07-28); a replica failing one leaves the rotation and is restarted. 0 turns them off.'),
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
  replicas: z.number().int().min(1).max(32).default(1).describe('Processes to run of this server; calls go to the one with the fewest outstanding requests and fail over to the others.'),
  command: z.string().min(1).describe('Executable to run; its stdin/stdout carry MCP.'),
  args: z.array(z.string()).default([]).describe('Arguments.'),
  env: envSchema,
  cwd: z.string().optional().describe('Working directory; relative paths resolve against the config file\'s folder.'),
});

export const httpUpstreamSchema = z.strictObject({
  ...common,
  transport: z.literal('streamable-http'),
  url: z.url({ protocol: /^https?$/ }).describe('The upstream MCP endpoint.'),
  replicaUrls: z.array(z.url({ protocol: /^https?$/ })).default([]).describe('Further endpoints serving the same server: calls are balanced across all of them (fewest outstanding requests) and fail over.'),
  headers: secretMap.default({}).describe('Headers sent upstream (credentials held by the gateway; values are secrets).'),
  era: z.enum(['auto', 'modern', 'legacy']).default('auto').describe('Protocol era of the upstream; `auto` probes once and remembers.'),
  launch: launchSchema.optional(),
});

export const sseUpstreamSchema = z.strictObject({
  ...common,
  transport: z.literal('sse'),
  url: z.url({ protocol: /^https?$/ }).describe('The legacy HTTP+SSE endpoint (the GET stream URL).'),
  replicaUrls: z.array(z.url({ protocol: /^https?$/ })).default([]).describe('Further endpoints serving the same server: calls are balanced across all of them (fewest outstanding requests) and fail over.'),
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
