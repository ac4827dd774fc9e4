/**
 * A described call ("agent X calls tool Y with these arguments at this time") turned into the input a
 * policy decision looks at. The one place that does it, so that `gatehouse policy test`, `policy
 * explain` and the admin API's explain all judge a call the way the serving gateway would.
 */
import { z } from 'zod';
import type { Snapshot } from '../config/snapshot.ts';
import { makePrincipal, type AuthMethodType } from '../pipeline/principal.ts';
import type { Verdict } from './decide.ts';
import type { Explanation } from './explain.ts';
import { toolTarget } from './input.ts';
import type { CompiledPolicy } from './policy.ts';
import type { PolicyInput, PolicyTarget } from './types.ts';

const AUTH_METHODS = ['anonymous', 'api_key', 'jwt', 'gateway_token', 'mtls'] as const satisfies readonly AuthMethodType[];
const text = z.string().min(1);
const names = z.array(text);

/** The caller's fields; `agent` alone is required (a test file may supply it from its defaults). */
export const probePrincipalFields = {
  agent: text.describe('Agent id (the software calling).'),
  agentName: text.optional().describe('Display name of the agent.'),
  user: text.optional().describe('The human or workflow the agent acts for.'),
  tenant: text.optional(),
  roles: names.optional().describe('Roles; default none.'),
  groups: names.optional().describe('Groups; default none.'),
  scopes: names.optional().describe('Scopes; default none.'),
  authMethod: z.enum(AUTH_METHODS).optional().describe('How the caller authenticated; default `api_key`.'),
  authSource: text.optional().describe('Name of the `auth.methods` entry that accepted it; default `probe`.'),
  attributes: z.record(z.string(), z.unknown()).optional().describe('Extra claims for CEL conditions (`principal.attributes`).'),
};

export const probePrincipalSchema = z.strictObject(probePrincipalFields);

const object = z.record(z.string(), z.unknown());

export const probeCallSchema = z
  .strictObject({
    tool: text.optional().describe('Public tool name (`<prefix><separator><name>`).'),
    prompt: text.optional().describe('Public prompt name.'),
    resource: text.optional().describe('Resource URI (or URI template).'),
    arguments: object.default({}).describe('Call arguments.'),
    method: text.optional().describe('MCP method; default `tools/call`, `prompts/get` or `resources/read`.'),
    upstream: text.optional().describe('The upstream serving it: needed for passthrough-named upstreams and, with several upstreams, for resources.'),
    annotations: object.optional().describe('The tool\'s annotations, as its upstream lists them (counted only for a `trusted` upstream).'),
  })
  .superRefine((c, ctx) => {
    const given = (['tool', 'prompt', 'resource'] as const).filter((k) => c[k] !== undefined);
    if (given.length !== 1) {
      ctx.addIssue({ code: 'custom', path: [], message: given.length === 0 ? 'give one of tool, prompt or resource' : `give only one of tool, prompt or resource (got ${given.join(' and ')})` });
    }
    if (c.annotations !== undefined && c.tool === undefined) ctx.addIssue({ code: 'custom', path: ['annotations'], message: 'annotations apply to tools only' });
  });

// ISO-8601 with an explicit offset: a time without one would mean whatever zone the machine is in.
const INSTANT = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(Z|[+-](\d{2}):(\d{2}))$/;

/** Epoch milliseconds of an ISO-8601 date-time with offset; a string saying what is wrong otherwise. */
export function parseInstant(s: string): number | { readonly error: string } {
  const m = INSTANT.exec(s);
  const bad = { error: `"${s}" is not an ISO-8601 date and time with an offset (e.g. 2026-03-29T06:00:00Z or 2026-03-29T08:00+02:00)` };
  if (m === null) return bad;
  const [y, mo, d, h, mi, sec] = [m[1], m[2], m[3], m[4], m[5], m[6] ?? '0'].map(Number) as [number, number, number, number, number, number];
  const daysInMonth = new Date(Date.UTC(y, mo, 0)).getUTCDate();
  if (mo < 1 || mo > 12 || d < 1 || d > daysInMonth || h > 23 || mi > 59 || sec > 59) return { error: `"${s}": no such date or time of day` };
  if (m[8] !== undefined && (Number(m[8]) > 23 || Number(m[9]) > 59)) return { error: `"${s}": the offset must be at most ±23:59` };
  return Date.parse(s);
}

export const probeSchema = z.strictObject({
  principal: probePrincipalSchema.describe('Who calls.'),
  call: probeCallSchema.describe('What is called.'),
  time: z
    .string()
    .superRefine((s, ctx) => {
      const t = parseInstant(s);
      if (typeof t === 'object') ctx.addIssue({ code: 'custom', message: t.error });
    })
    .optional()
    .describe('When (ISO-8601 with offset); default now.'),
  environment: z.string().regex(/^[A-Za-z0-9_.-]{1,32}$/, 'must be 1-32 letters, digits, "_", "." or "-"').optional().describe('Default: the config\'s `gateway.environment`.'),
  client: z.union([z.ipv4(), z.ipv6()], { error: 'must be an IPv4 or IPv6 address' }).optional().describe('Client IP address.'),
});

export type Probe = z.infer<typeof probeSchema>;
export type ProbeCall = z.infer<typeof probeCallSchema>;

/** Every problem of a probe that does not parse, one per line, each led by its field path. */
export function describeProbeIssues(err: z.ZodError): string[] {
  return err.issues.map((i) => (i.path.length > 0 ? `${i.path.map(String).join('.')}: ${i.message}` : i.message));
}

/** The calls each target kind can be reached by, first the default. */
const METHODS: Readonly<Record<PolicyTarget['kind'], readonly string[]>> = {
  tool: ['tools/call'],
  prompt: ['prompts/get', 'completion/complete'],
  resource: ['resources/read', 'resources/subscribe', 'completion/complete'],
};

type Resolved = { upstream: string; upstreamName: string } | { error: string };

/**
 * The upstream of a public tool or prompt name, by the configured prefixes. The live catalog is not
 * consulted: a name shortened with a hash suffix, or one disambiguated after a collision, cannot be
 * traced back this way.
 */
function resolveNamed(snap: Snapshot, kind: 'tool' | 'prompt', name: string, upstream: string | undefined): Resolved {
  const sep = snap.naming.separator;
  if (upstream !== undefined) {
    const u = snap.upstreamByName.get(upstream);
    if (u === undefined) return { error: `call.upstream: no upstream is named "${upstream}" (there are: ${snap.upstreams.map((x) => x.name).join(', ') || 'none'})` };
    if (u.prefix === undefined) return { upstream, upstreamName: name };
    const head = `${u.prefix}${sep}`;
    if (!name.startsWith(head) || name.length === head.length) return { error: `${kind} "${name}" is not named under upstream "${upstream}" (its ${kind}s are named "${head}<name>")` };
    return { upstream, upstreamName: name.slice(head.length) };
  }
  const hits = snap.upstreams.filter((u) => u.prefix !== undefined && name.length > u.prefix.length + sep.length && name.startsWith(`${u.prefix}${sep}`));
  if (hits.length === 1) return { upstream: hits[0]!.name, upstreamName: name.slice(hits[0]!.prefix!.length + sep.length) };
  if (hits.length > 1) return { error: `${kind} "${name}" fits the prefixes of several upstreams (${hits.map((u) => u.name).join(', ')}): give call.upstream` };
  const passthrough = snap.upstreams.filter((u) => u.prefix === undefined).map((u) => u.name);
  const prefixes = snap.upstreams.filter((u) => u.prefix !== undefined).map((u) => `${u.prefix}${sep}`);
  const known = prefixes.length > 0 ? `; public names start with ${prefixes.map((p) => `"${p}"`).join(', ')}` : '';
  if (passthrough.length > 0) return { error: `${kind} "${name}" has no upstream prefix${known}: for a passthrough-named upstream (${passthrough.join(', ')}) give call.upstream` };
  return { error: `${kind} "${name}" does not start with any upstream's prefix${known}` };
}

function resolveResource(snap: Snapshot, uri: string, upstream: string | undefined): Resolved {
  if (upstream !== undefined) {
    if (!snap.upstreamByName.has(upstream)) return { error: `call.upstream: no upstream is named "${upstream}" (there are: ${snap.upstreams.map((x) => x.name).join(', ') || 'none'})` };
    return { upstream, upstreamName: uri };
  }
  // URIs carry no prefix: with one upstream it must be that one's; with more, only the live catalog knows.
  if (snap.upstreams.length === 1) return { upstream: snap.upstreams[0]!.name, upstreamName: uri };
  return { error: `resource "${uri}" does not say which upstream serves it: give call.upstream (one of ${snap.upstreams.map((u) => u.name).join(', ')})` };
}

/** The policy input for a parsed probe against a compiled config; `{ error }` when the call cannot be placed. */
export function probeInput(snap: Snapshot, probe: Probe, now?: number): PolicyInput | { error: string } {
  const p: CompiledPolicy | undefined = snap.policy;
  if (p === undefined) return { error: 'the config has no policy section: every authenticated caller may use everything' };
  const c = probe.call;
  const kind: PolicyTarget['kind'] = c.tool !== undefined ? 'tool' : c.prompt !== undefined ? 'prompt' : 'resource';
  const name = (c.tool ?? c.prompt ?? c.resource)!;
  const methods = METHODS[kind];
  const method = c.method ?? methods[0]!;
  if (!methods.includes(method)) return { error: `call.method: a ${kind} is reached by ${methods.join(', ')}, not "${method}"` };
  const r = kind === 'resource' ? resolveResource(snap, name, c.upstream) : resolveNamed(snap, kind, name, c.upstream);
  if ('error' in r) return r;
  // A tool's definition, as the catalog hands it to policy, carries the annotations.
  const target: PolicyTarget =
    kind === 'tool'
      ? toolTarget(p, c.annotations === undefined ? undefined : { annotations: c.annotations }, r.upstream, name, r.upstreamName)
      : { kind, upstream: r.upstream, name, upstreamName: r.upstreamName };
  let at = now ?? Date.now();
  if (probe.time !== undefined) {
    const t = parseInstant(probe.time);
    if (typeof t === 'object') return { error: `time: ${t.error}` };
    at = t;
  }
  const pr = probe.principal;
  const principal = makePrincipal({
    agent: pr.agent,
    authMethod: pr.authMethod ?? 'api_key',
    authSource: pr.authSource ?? 'probe',
    roles: pr.roles ?? [],
    groups: pr.groups ?? [],
    scopes: pr.scopes ?? [],
    ...(pr.agentName === undefined ? {} : { agentName: pr.agentName }),
    ...(pr.user === undefined ? {} : { user: pr.user, userSource: 'credential' as const }),
    ...(pr.tenant === undefined ? {} : { tenant: pr.tenant }),
    ...(pr.attributes === undefined ? {} : { attributes: pr.attributes }),
  });
  return {
    principal,
    method,
    target,
    args: c.arguments,
    environment: probe.environment ?? p.environment,
    clientAddress: probe.client,
    now: at,
  };
}

const orNull = <T>(v: T | undefined): T | null => (v === undefined ? null : v);

function verdictJson(p: CompiledPolicy, v: Verdict): Record<string, unknown> {
  return { effect: v.effect, rule: orNull(v.rule), where: orNull(p.rules.find((r) => r.name === v.rule)?.where), reason: v.reason, message: v.message };
}

/** An explanation as JSON with every field present (absent ones `null`), for the admin API and `--json`. */
export function explanationJson(p: CompiledPolicy, input: PolicyInput, e: Explanation): Record<string, unknown> {
  const pr = input.principal;
  const t = input.target;
  return {
    outcome: e.outcome,
    decision: { ...verdictJson(p, e.decision), shadow: e.decision.shadow === undefined ? null : verdictJson(p, e.decision.shadow) },
    enforced: e.enforced,
    listed: e.listed,
    defaultEffect: e.defaultEffect,
    input: {
      principal: {
        agent: pr.agent,
        agentName: orNull(pr.agentName),
        user: orNull(pr.user),
        tenant: orNull(pr.tenant),
        roles: pr.roles,
        groups: pr.groups,
        scopes: pr.scopes,
        authMethod: pr.authMethod,
        authSource: pr.authSource,
        attributes: orNull(pr.attributes),
      },
      method: input.method,
      target: { kind: t.kind, name: t.name, upstream: orNull(t.upstream), upstreamName: orNull(t.upstreamName), class: orNull(t.class), annotations: orNull(t.annotations) },
      arguments: orNull(input.args),
      environment: orNull(input.environment),
      client: orNull(input.clientAddress),
      time: new Date(input.now).toISOString(),
    },
    rules: e.rules.map((r) => ({ rule: r.rule, effect: r.effect, shadow: r.shadow, where: r.where, result: r.result, reasons: r.reasons })),
  };
}
