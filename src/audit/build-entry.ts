// From what the gateway knows when something finishes to the body of an audit entry: an exchange, a
// gap in the trail, an admin action. Redaction happens here, before anything is sealed or written.
import type { ExchangeRecord } from '../pipeline/record.ts';
import type { Principal } from '../pipeline/principal.ts';
import { TARGET_DEF, type Target } from '../pipeline/target.ts';
import { uuidv7 } from '../pipeline/ids.ts';
import { canonicalWellFormed, jsonProblem, sha256Hex } from './canonical.ts';
import type { AuditEntryBody } from './chain.ts';
import type { AuditAdmin, AuditGap, AuditPolicy, AuditPrincipal, AuditTarget } from './entry.ts';
import type { Redaction, Redactor } from './redact.ts';
import { summarizeResult } from './summary.ts';

export interface EntryContext {
  readonly redaction: Redaction;
  /** `argsDigester(key)`: the keyed digest of the original arguments. */
  readonly digest: (args: unknown) => string;
  /** `audit.results`; a redaction rule's `results` overrides it per target. */
  readonly results: 'summary' | 'content';
  /** The target's tool class (from policy), when a policy is configured. */
  readonly toolClass?: (target: Target) => string | undefined;
}

/** Methods whose `params.arguments` are the call's arguments. Resource reads carry theirs in the URI (the target name). */
const ARGUMENT_METHODS: ReadonlySet<string> = new Set(['tools/call', 'prompts/get']);

const round3 = (ms: number): number => Math.round(ms * 1000) / 1000;

/** The principal as the trail keeps it: who, never what they may do beyond roles (no groups, scopes, attributes). */
export function auditPrincipal(p: Principal): AuditPrincipal {
  const out: AuditPrincipal = { id: p.id, agent: p.agent, authMethod: p.authMethod, authSource: p.authSource };
  if (p.agentName !== undefined) out.agentName = p.agentName;
  if (p.user !== undefined) out.user = p.user;
  if (p.userSource !== undefined) out.userSource = p.userSource;
  if (p.tenant !== undefined) out.tenant = p.tenant;
  if (p.credentialId !== undefined) out.credentialId = p.credentialId;
  if (p.roles.length > 0) out.roles = [...p.roles];
  return out;
}

// Catalog definitions are immutable and shared by every call of a tool: hash each once.
const definitionHashes = new WeakMap<object, string>();

/** `sha256:<hex>` of the canonical JSON of a tool definition, computed once per definition object. */
export function definitionHash(def: Readonly<Record<string, unknown>>): string {
  let h = definitionHashes.get(def);
  if (h === undefined) {
    h = `sha256:${sha256Hex(canonicalWellFormed(def).text)}`;
    definitionHashes.set(def, h);
  }
  return h;
}

function auditTarget(t: Target, ctx: EntryContext): AuditTarget {
  const out: AuditTarget = { kind: t.kind };
  if (t.upstream !== undefined) out.upstream = t.upstream;
  if (t.name !== undefined) out.name = t.name;
  if (t.upstreamName !== undefined) out.upstreamName = t.upstreamName;
  const cls = ctx.toolClass?.(t);
  if (cls !== undefined) out.class = cls;
  const def = t[TARGET_DEF];
  if (def !== undefined) out.definitionHash = definitionHash(def);
  return out;
}

function auditPolicy(rec: ExchangeRecord): AuditPolicy | undefined {
  const p = rec.policy;
  if (p === undefined) return undefined;
  // The policy filter records its decision as shadow when the whole policy runs in shadow mode.
  const enforced = !rec.decisions.some((d) => d.filter === 'policy' && d.phase === 'authorize' && d.shadow);
  const out: AuditPolicy = { effect: p.effect, reason: p.reason, enforced };
  if (p.rule !== undefined) out.rule = p.rule;
  if (p.message !== '') out.message = p.message;
  if (p.shadow !== undefined) {
    const s = p.shadow;
    out.shadow = { effect: s.effect, reason: s.reason, ...(s.rule === undefined ? {} : { rule: s.rule }), ...(s.message === '' ? {} : { message: s.message }) };
  }
  return out;
}

/**
 * Redacted copy of a value, or an explanation when it cannot be kept (not plain JSON, nested too
 * deep). The explanation is recorded in its place: an entry is never refused for what an agent sent.
 */
function keepable(value: unknown, redactor: Redactor | undefined, at: string, redacted: string[]): { value: unknown; json: boolean } {
  const problem = jsonProblem(value);
  // Lone surrogates are fine here: sealing replaces them (canonicalWellFormed).
  if (problem !== undefined && problem.kind !== 'lone_surrogate') return { value: `[unrecordable: ${problem.message}]`, json: false };
  if (redactor === undefined) return { value, json: true };
  const r = redactor.apply(value);
  // Paths are kept relative to the entry, so those of arguments and of result content stay apart.
  for (const p of r.paths) redacted.push(`$${at}${p.slice(1)}`);
  return { value: r.value, json: true };
}

/** The entry body of one finished exchange. Never throws for anything an agent or upstream sent. */
export function buildEntryBody(rec: ExchangeRecord, ctx: EntryContext): AuditEntryBody {
  const body: AuditEntryBody = { type: 'exchange', id: rec.id, time: rec.time, durationMs: round3(rec.durationMs) };
  if (rec.upstreamMs !== undefined) body.upstreamMs = round3(rec.upstreamMs);
  body.principal = auditPrincipal(rec.principal);
  if (rec.clientAddress !== undefined) body.client = { address: rec.clientAddress };
  if (rec.sessionId !== undefined) body.session = rec.sessionId;
  if (rec.rpcId !== undefined) body.requestId = rec.rpcId;
  if (rec.traceId !== undefined) body.traceId = rec.traceId;
  if (rec.era !== undefined) body.era = rec.era;
  if (rec.protocolVersion !== undefined) body.protocolVersion = rec.protocolVersion;
  if (rec.method !== undefined) body.method = rec.method;
  if (rec.target !== undefined) body.target = auditTarget(rec.target, ctx);

  const name = rec.target?.name;
  const redactor = ctx.redaction.for(name);
  const redacted: string[] = [];
  const args = rec.method !== undefined && ARGUMENT_METHODS.has(rec.method) ? rec.params?.arguments : undefined;
  if (args !== undefined) {
    const kept = keepable(args, redactor, "['args']", redacted);
    body.args = kept.value;
    // The digest covers what the agent sent, before redaction; none for what has no canonical form.
    if (kept.json) body.argsDigest = ctx.digest(args);
  }

  const policy = auditPolicy(rec);
  if (policy !== undefined) body.policy = policy;
  body.outcome = rec.outcome;
  if (rec.error !== undefined) {
    const e = rec.error;
    body.error = { code: e.code, message: e.message, source: e.source, ...(e.name === undefined ? {} : { name: e.name }) };
    if (e.limit !== undefined) body.error.limit = e.limit;
    if (e.retryAfterMs !== undefined) body.error.retryAfterMs = e.retryAfterMs;
  }
  if (rec.cache !== undefined) body.cache = rec.cache;
  body.bytesIn = rec.bytesIn;
  body.bytesOut = rec.bytesOut;
  const mode = ctx.redaction.results(name) ?? ctx.results;
  const result = summarizeResult(rec.method, rec.response, rec.bytesOut, mode === 'content');
  if (result !== undefined) {
    if (result.content !== undefined) result.content = keepable(result.content, redactor, "['result']['content']", redacted).value;
    body.result = result;
  }
  if (redacted.length > 0) body.redacted = redacted;
  return body;
}

/** The entry body recording records the trail could not keep, or a sink that fell behind. */
export function buildGapBody(gap: AuditGap, now: Date): AuditEntryBody {
  const g: AuditGap = { reason: gap.reason, lost: gap.lost, from: gap.from, to: gap.to };
  if (gap.sink !== undefined) g.sink = gap.sink;
  if (gap.detail !== undefined) g.detail = gap.detail;
  return { type: 'gap', id: uuidv7(now.getTime()), time: now.toISOString(), gap: g };
}

/** One admin API request, as the admin server knows it once answered. */
export interface AdminEvent {
  readonly principal: Principal;
  /** Route action (`keys.create`). */
  readonly action: string;
  readonly status: number;
  /** What it acted on (key id, token id), when the route names one. */
  readonly subject?: string;
  readonly time: Date;
  readonly durationMs?: number;
  readonly clientAddress?: string;
  readonly traceId?: string;
  /** When the action failed: the message answered. */
  readonly error?: string;
}

/** The entry body of an admin action. */
export function buildAdminBody(a: AdminEvent): AuditEntryBody {
  const body: AuditEntryBody = { type: 'admin', id: uuidv7(a.time.getTime()), time: a.time.toISOString() };
  if (a.durationMs !== undefined) body.durationMs = round3(a.durationMs);
  body.principal = auditPrincipal(a.principal);
  if (a.clientAddress !== undefined) body.client = { address: a.clientAddress };
  if (a.traceId !== undefined) body.traceId = a.traceId;
  const admin: AuditAdmin = { action: a.action, status: a.status };
  if (a.subject !== undefined) admin.subject = a.subject;
  body.admin = admin;
  body.outcome = a.status < 400 ? 'ok' : a.status === 401 || a.status === 403 ? 'denied' : a.status === 400 ? 'malformed' : 'error';
  // Admin answers are HTTP, not JSON-RPC: the error code is the HTTP status.
  if (a.error !== undefined) body.error = { code: a.status, message: a.error, source: 'gateway' };
  return body;
}
