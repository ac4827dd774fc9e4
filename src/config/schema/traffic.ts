import { z } from 'zod';
import { TOOL_CLASSES } from '../../policy/types.ts';

/** What a counter can be keyed by: parts of the caller and of what it calls. */
export const KEY_DIMENSIONS = ['tenant', 'agent', 'user', 'upstream', 'tool', 'class'] as const;

/** Methods that reach an upstream: the only ones limits count. */
export const LIMITED_METHODS = ['tools/call', 'prompts/get', 'resources/read', 'resources/subscribe', 'completion/complete'] as const;

/** `250ms`, `1s`, `5m`, `1h`: the span a rate refills over. */
export const DURATION_PATTERN = /^([1-9][0-9]{0,8})(ms|s|m|h)$/;

// No ":" or "#" in names: counter keys are `<name>[#<override>]:<key parts>` and must never run together.
const limitName = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/, 'must start with a letter or digit and use only letters, digits, "_", "." and "-" (at most 64 characters)');

const globs = (what: string) => z.array(z.string().min(1)).min(1).optional().describe(`${what} (globs: \`*\` any run of characters, \`?\` one character). Any of them matches.`);

function isRedisUrl(text: string): boolean {
  try {
    const u = new URL(text);
    return (u.protocol === 'redis:' || u.protocol === 'rediss:') && u.hostname !== '';
  } catch {
    return false;
  }
}

export const limitMatchSchema = z
  .strictObject({
    tenants: globs('Tenants (a caller without a tenant never matches)'),
    agents: globs('Agent ids'),
    users: globs('User ids (a caller without a user never matches)'),
    roles: z.array(z.string().min(1)).min(1).optional().describe('Roles: matches a caller that has any of them.'),
    upstreams: globs('Upstream names'),
    tools: globs('Public tool names; naming tools restricts the limit to `tools/call`'),
    classes: z.array(z.enum(TOOL_CLASSES)).min(1).optional().describe('Tool classes (as policy classes tools); naming classes restricts the limit to `tools/call`.'),
    methods: z.array(z.enum(LIMITED_METHODS)).min(1).optional().describe('Methods counted. Default: every method that reaches an upstream (`tools/call`, `prompts/get`, `resources/read`, `resources/subscribe`, `completion/complete`).'),
  })
  .describe('Which calls a limit (or an override) applies to. Every field given must match; an empty match applies to every call that reaches an upstream. Calls to an upstream that is down are never counted (they reach no server).');

const rateSchema = z
  .strictObject({
    tokens: z.number().int().min(1).max(1_000_000).describe('Tokens added to the bucket every `per`: the sustained rate. Each call takes one.'),
    per: z
      .string()
      .regex(DURATION_PATTERN, 'must be a whole number followed by ms, s, m or h, like 1s, 250ms, 1m or 1h')
      .default('1s')
      .describe('The span `tokens` refill over: a whole number with `ms`, `s`, `m` or `h`.'),
    burst: z.number().int().min(1).max(1_000_000).optional().describe('Bucket size: how many calls may go at once after a quiet spell. Default `tokens`.'),
  })
  .describe('A token bucket (exact: one stored arrival time per key, GCRA). A call finding no token waits in `queue` when the next token comes within `queue.maxWaitMs`, otherwise it is refused with `rate_limited` and the time until the next token.');

const quotaSchema = z
  .strictObject({
    limit: z.number().int().min(1).describe('Calls allowed per period.'),
    per: z.enum(['hour', 'day', 'month']).describe('Calendar period in UTC: counts reset exactly at the top of the hour, at midnight, or on the first of the month. A refused call is told when the period ends.'),
  })
  .describe('A quota: calls per calendar period. A call over it is refused with `quota_exceeded`; waiting never helps, so quotas never queue.');

const queueSchema = z
  .strictObject({
    size: z.number().int().min(1).max(100_000).describe('Most calls waiting per key (on this gateway instance); one more is refused at once.'),
    maxWaitMs: z.number().int().min(1).max(600_000).describe('Longest a call waits for a token or a free slot before it is refused.'),
  })
  .describe('A bounded wait queue that smooths short spikes: calls over `rate` or `concurrency` wait (first come, first served) instead of being refused, up to `size` calls for `maxWaitMs` each. Needs `rate` or `concurrency`.');

const figures = {
  rate: rateSchema.optional(),
  quota: quotaSchema.optional(),
  concurrency: z.number().int().min(1).max(1_000_000).optional().describe('Calls in flight at once per key, counted per gateway instance (not shared through Redis). A call over it waits in `queue` or is refused with `concurrency_limited`.'),
  queue: queueSchema.optional(),
};

export const limitOverrideSchema = z
  .strictObject({
    match: limitMatchSchema,
    ...figures,
    unlimited: z.literal(true).optional().describe('Calls this override matches are not limited by this limit at all.'),
  })
  .describe('Other figures for some callers or targets. Each of `rate`, `quota`, `concurrency` and `queue` given replaces the limit\'s own; those left out are kept. Calls an override matches are counted apart from the others (in counters of their own, keyed the same way).');

export const limitSchema = z
  .strictObject({
    name: limitName.describe('Unique name: appears in refusals (`data.limit`), audit entries and statistics.'),
    description: z.string().optional().describe('Why the limit exists.'),
    match: limitMatchSchema.prefault({}),
    key: z
      .array(z.enum(KEY_DIMENSIONS))
      .default([])
      .describe('What gets its own counters: any of `tenant`, `agent`, `user`, `upstream`, `tool` (the public name called: tool, prompt or resource URI) and `class` (the tool class; for other targets their kind). `[]` (default): one set of counters for every call the limit matches. Callers without a tenant (or user) share the counters of the empty value.'),
    ...figures,
    overrides: z
      .array(limitOverrideSchema)
      .default([])
      .describe('Exceptions, in order: the first whose `match` matches a call decides its figures (or `unlimited`); later ones are not consulted.'),
  })
  .describe('One limit. Every limit whose `match` matches a call applies: the call must pass all of them, in the order written. When a later one refuses, what earlier ones took (tokens, quota) is given back.');

const countersSchema = z
  .discriminatedUnion('kind', [
    z.strictObject({
      kind: z.literal('memory'),
    }),
    z.strictObject({
      kind: z.literal('redis'),
      // The message never quotes the value: the URL may carry a password.
      url: z
        .string()
        .refine(isRedisUrl, 'must be a redis:// or rediss:// URL, like redis://:${REDIS_PASSWORD}@redis.example.com:6379/0')
        .describe('Redis URL, `redis://[user:password@]host:6379/db` (`rediss://` for TLS). A secret when it holds a password: take it from the environment with `${VAR}`; it is never logged.'),
      keyPrefix: z
        .string()
        .regex(/^[A-Za-z0-9_.:-]{1,64}$/, 'must be 1-64 letters, digits, "_", ".", ":" or "-"')
        .default('gatehouse')
        .describe('Prefix of every key the gateway writes; gateways sharing counters use the same prefix.'),
      timeoutMs: z.number().int().min(1).max(60_000).default(250).describe('A Redis command slower than this counts as Redis being unreachable.'),
      failureMode: z
        .enum(['fail_closed', 'local'])
        .default('fail_closed')
        .describe('When Redis cannot be reached: `fail_closed` refuses limited calls with `limits_unavailable` (HTTP 503); `local` counts them on this instance alone until Redis is back. Either way the outage is logged once and counted.'),
    }),
  ])
  .describe('Where the rate and quota counters live: `memory` (this instance alone) or `redis` (shared exactly by every gateway using the same Redis and key prefix).');

export const trafficSchema = z
  .strictObject({
    counters: countersSchema.default({ kind: 'memory' }),
    limits: z.array(limitSchema).default([]).describe('Rate limits, quotas and concurrency limits, checked in the admit phase (after policy, before approval).'),
  })
  .describe('Traffic limits: rate limits, quotas and concurrency with a bounded wait queue. Without this section no call is limited.');

export type TrafficConfig = z.infer<typeof trafficSchema>;
export type LimitConfig = z.infer<typeof limitSchema>;
export type LimitOverrideConfig = z.infer<typeof limitOverrideSchema>;
export type LimitMatchConfig = z.infer<typeof limitMatchSchema>;
export type CountersConfig = z.infer<typeof countersSchema>;
export type KeyDimension = (typeof KEY_DIMENSIONS)[number];
export type LimitedMethod = (typeof LIMITED_METHODS)[number];
