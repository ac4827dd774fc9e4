import { z } from 'zod';
import { TOOL_CLASSES } from '../../policy/types.ts';

const glob = z.string().min(1);
const globs = (what: string) => z.array(glob).min(1).optional().describe(`${what} (globs: \`*\` any run of characters, \`?\` one character). Any of them matches.`);
const anyOf = (what: string) => z.array(z.string().min(1)).min(1).optional().describe(`${what}: the rule matches when the principal has any of them.`);

export const ruleName = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$/, 'must start with a letter or digit and use only letters, digits, "_", ".", ":" and "-" (at most 64 characters)');

export const timeWindowSchema = z
  .strictObject({
    timezone: z.string().min(1).optional().describe('IANA time zone of the window (e.g. `Europe/Berlin`); defaults to `policy.timezone`. Wall-clock time, so daylight saving is followed.'),
    days: z.array(z.string().min(1)).min(1).optional().describe('Days the window starts on: `mon`..`sun` or ranges like `mon-fri`. Default: every day.'),
    from: z.string().optional().describe('Start, `HH:MM` (inclusive). Default `00:00`.'),
    to: z.string().optional().describe('End, `HH:MM` (exclusive; `24:00` allowed). Default `24:00`. A `to` before `from` crosses midnight.'),
  })
  .describe('A weekly time window.');

export const matchSchema = z
  .strictObject({
    agents: globs('Agent ids'),
    users: globs('User ids (a principal without a user never matches)'),
    tenants: globs('Tenants (a principal without a tenant never matches)'),
    roles: anyOf('Roles'),
    groups: anyOf('Groups'),
    scopes: anyOf('Scopes'),
    authMethods: z.array(z.string().min(1)).min(1).optional().describe('Authentication method types (`api_key`, `jwt`, ...) or method names from `auth.methods`.'),
    upstreams: globs('Upstream names'),
    tools: globs('Public tool names; a rule naming tools applies only to tools'),
    prompts: globs('Public prompt names; a rule naming prompts applies only to prompts'),
    resources: globs('Resource URIs (and URI templates, when templates are listed); a rule naming resources applies only to resources'),
    classes: z.array(z.enum(TOOL_CLASSES)).min(1).optional().describe('Tool classes; a rule naming classes applies only to tools.'),
    annotations: z
      .record(z.string(), z.union([z.boolean(), z.string(), z.number()]))
      .optional()
      .describe('Tool annotations that must all have these values (e.g. `destructiveHint: true`). Only annotations of `trusted` upstreams count.'),
    methods: z.array(z.string().min(1)).min(1).optional().describe('MCP methods (`tools/call`, `prompts/get`, `resources/read`, `resources/subscribe`, `completion/complete`).'),
    environments: z.array(z.string().min(1)).min(1).optional().describe('Values of `gateway.environment` this rule applies in.'),
    clients: z.array(z.string().min(1)).min(1).optional().describe('Client addresses or CIDR ranges (IPv4 or IPv6).'),
    time: z.union([timeWindowSchema, z.array(timeWindowSchema).min(1)]).optional().describe('When the rule applies: one window or a list (any of them).'),
    condition: z.string().min(1).optional().describe('A CEL expression over `principal`, `target`, `method`, `args`, `environment`, `client`, `now` and `time`; must be true for the rule to match. An evaluation error denies the call.'),
  })
  .describe('What a rule matches. Every field given must match; an empty `when` matches every call.');

export const argumentConstraintSchema = z
  .strictObject({
    schema: z.record(z.string(), z.unknown()).optional().describe('A JSON Schema (draft 2020-12) fragment the arguments object must satisfy.'),
    condition: z.string().min(1).optional().describe('A CEL expression over the same variables as `when.condition` that must be true.'),
    message: z.string().min(1).optional().describe('What the agent is told when the arguments break the constraint.'),
  })
  .describe('Argument constraints: a call this rule matches whose arguments break them is denied.');

export const ruleSchema = z
  .strictObject({
    name: ruleName.describe('Unique name: shown in decisions, audit records and `policy explain`.'),
    description: z.string().optional().describe('Why the rule exists.'),
    effect: z.enum(['allow', 'deny', 'require_approval']).describe('`allow`, `deny` (overrides any allow), or `require_approval` (overrides allow; until approvals exist such calls are refused with a message saying so).'),
    message: z.string().min(1).optional().describe('What the agent is told when this rule denies its call.'),
    when: matchSchema.prefault({}),
    arguments: argumentConstraintSchema.optional(),
    reveal: z.boolean().default(false).describe('For `deny`: keep the target listed and tell the agent `message` when it calls it. By default a target a caller may not use is hidden, and calling it gets the same answer as a name that does not exist.'),
    shadow: z.boolean().default(false).describe('Compute and record what this rule would decide, without enforcing it.'),
  })
  .describe('One policy rule.');

export const policyFileSchema = z
  .strictObject({
    rules: z.array(ruleSchema).default([]).describe('Rules, in order.'),
  })
  .describe('A policy file named in `policy.files`.');

export const policySchema = z
  .strictObject({
    default: z.enum(['allow', 'deny']).default('deny').describe('Effect for a call no rule matches.'),
    shadow: z.boolean().default(false).describe('Shadow mode for the whole policy: decisions are computed and recorded, none is enforced.'),
    timezone: z.string().min(1).default('UTC').describe('Default time zone of time windows and of `now` in conditions.'),
    defaultToolClass: z.enum(TOOL_CLASSES).default('high_risk_write').describe('Class of a tool that no `toolClasses` entry (or trusted annotation) classes.'),
    rules: z.array(ruleSchema).default([]).describe('Rules, in order. Deny overrides require_approval overrides allow; order decides which rule is named.'),
    files: z.array(z.string().min(1)).default([]).describe('Policy files (YAML with a `rules:` list) whose rules follow the inline ones, in this order; relative paths resolve against the config file\'s folder. They reload with the config.'),
  })
  .describe('Who may call which tool, with which arguments, when and where. Without this section every authenticated caller may use everything.');

export type PolicyConfig = z.infer<typeof policySchema>;
export type RuleConfig = z.infer<typeof ruleSchema>;
export type MatchConfig = z.infer<typeof matchSchema>;
export type PolicyFileConfig = z.infer<typeof policyFileSchema>;
