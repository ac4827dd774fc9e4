// Token claims → the parts of a principal, per `claims` of a jwt method. Bounded: a token that
// carries absurdly large values is refused with a sentence, never copied.
import type { ClaimsConfig } from '../../config/schema/auth.ts';

/** Most entries read from one list claim (roles, groups, scopes) or one array attribute. */
export const MAX_LIST_ENTRIES = 256;
/** Longest string read from a claim (a name, one role, one scope, one attribute string). */
export const MAX_STRING_CHARS = 1024;
const MAX_ATTRIBUTE_DEPTH = 4;

export interface ClaimParts {
  readonly agent: string;
  readonly agentName?: string;
  readonly user?: string;
  readonly tenant?: string;
  readonly roles: readonly string[];
  readonly groups: readonly string[];
  readonly scopes: readonly string[];
  readonly attributes?: Readonly<Record<string, unknown>>;
}

export type ClaimsResult = { readonly ok: true; readonly parts: ClaimParts } | { readonly ok: false; readonly message: string };

/** Thrown inside the mapping; becomes `{ ok: false }` at its boundary. */
class ClaimProblem extends Error {}

/**
 * A claim by reference: the exact claim name first (names may contain dots, e.g. URIs as claim
 * names), else a dotted path through nested objects. Only own properties are read.
 */
export function claimValue(payload: Readonly<Record<string, unknown>>, ref: string): unknown {
  if (Object.hasOwn(payload, ref)) return payload[ref];
  if (!ref.includes('.')) return undefined;
  let at: unknown = payload;
  for (const part of ref.split('.')) {
    if (at === null || typeof at !== 'object' || Array.isArray(at) || !Object.hasOwn(at, part)) return undefined;
    at = (at as Record<string, unknown>)[part];
  }
  return at;
}

/** The first claim of `refs` that is present (not undefined, null or ''), with its name. */
export function firstPresent(payload: Readonly<Record<string, unknown>>, refs: readonly string[]): { ref: string; value: unknown } | undefined {
  for (const ref of refs) {
    const value = claimValue(payload, ref);
    if (value !== undefined && value !== null && value !== '') return { ref, value };
  }
  return undefined;
}

/** The user (and tenant) a trusted proxy's assertion names, read with the `user` and `tenant` mappings. */
export function mapUserClaims(payload: Readonly<Record<string, unknown>>, cfg: ClaimsConfig): { readonly ok: true; readonly user: string; readonly tenant?: string } | { readonly ok: false; readonly message: string } {
  try {
    const user = nameClaim(payload, cfg.user, 'user');
    if (user === undefined) return { ok: false, message: `names no user: none of the claims ${cfg.user.join(', ')} is present` };
    const tenant = nameClaim(payload, cfg.tenant, 'tenant');
    return tenant === undefined ? { ok: true, user } : { ok: true, user, tenant };
  } catch (err) {
    if (err instanceof ClaimProblem) return { ok: false, message: err.message };
    throw err;
  }
}

/** Maps a verified payload; the message of a failure names the claim and what is wrong with it. */
export function mapClaims(payload: Readonly<Record<string, unknown>>, cfg: ClaimsConfig): ClaimsResult {
  try {
    const agent = nameClaim(payload, cfg.agent, 'agent');
    if (agent === undefined) return { ok: false, message: `token names no agent: none of the claims ${cfg.agent.join(', ')} is present` };
    const agentName = displayClaim(payload, cfg.agentName);
    const user = nameClaim(payload, cfg.user, 'user');
    const tenant = nameClaim(payload, cfg.tenant, 'tenant');
    const attributes = attributeClaims(payload, cfg.attributes);
    const parts: ClaimParts = {
      agent,
      ...(agentName !== undefined && { agentName }),
      // A client-credentials token has sub = client id: the agent acts for itself, there is no user.
      ...(user !== undefined && user !== agent && { user }),
      ...(tenant !== undefined && { tenant }),
      roles: listClaim(payload, cfg.roles),
      groups: listClaim(payload, cfg.groups),
      scopes: listClaim(payload, cfg.scopes),
      ...(attributes !== undefined && { attributes }),
    };
    return { ok: true, parts };
  } catch (err) {
    if (err instanceof ClaimProblem) return { ok: false, message: err.message };
    throw err;
  }
}

/**
 * An identity name (agent, user, tenant): a string of at most MAX_STRING_CHARS without control
 * characters (it ends up in logs, audit and session keys). Numbers are accepted as their decimal text,
 * as some providers issue numeric subject ids.
 */
export function nameClaim(payload: Readonly<Record<string, unknown>>, refs: readonly string[], what: string): string | undefined {
  const found = firstPresent(payload, refs);
  if (found === undefined) return undefined;
  const { ref, value } = found;
  const text = typeof value === 'number' && Number.isSafeInteger(value) ? String(value) : value;
  if (typeof text !== 'string') throw new ClaimProblem(`claim "${ref}" (the ${what}) must be a string, got ${kind(value)}`);
  checkString(text, ref);
  if (/[\u0000-\u001f\u007f-\u009f]/.test(text)) throw new ClaimProblem(`claim "${ref}" (the ${what}) contains control characters`);
  return text;
}

function displayClaim(payload: Readonly<Record<string, unknown>>, refs: readonly string[]): string | undefined {
  const found = firstPresent(payload, refs);
  if (found === undefined) return undefined;
  if (typeof found.value !== 'string') throw new ClaimProblem(`claim "${found.ref}" (the agent name) must be a string, got ${kind(found.value)}`);
  checkString(found.value, found.ref);
  return found.value;
}

/** Roles, groups or scopes: an array of strings, or one string separated by spaces and/or commas. */
export function listClaim(payload: Readonly<Record<string, unknown>>, refs: readonly string[]): string[] {
  const found = firstPresent(payload, refs);
  if (found === undefined) return [];
  const { ref, value } = found;
  let entries: unknown[];
  if (typeof value === 'string') {
    if (value.length > MAX_LIST_ENTRIES * (MAX_STRING_CHARS + 1)) throw new ClaimProblem(`claim "${ref}" is longer than ${MAX_LIST_ENTRIES * (MAX_STRING_CHARS + 1)} characters`);
    entries = value.split(/[\s,]+/).filter((s) => s !== '');
  } else if (Array.isArray(value)) {
    entries = value;
  } else {
    throw new ClaimProblem(`claim "${ref}" must be an array of strings or a space- or comma-separated string, got ${kind(value)}`);
  }
  if (entries.length > MAX_LIST_ENTRIES) throw new ClaimProblem(`claim "${ref}" has ${entries.length} entries, more than the ${MAX_LIST_ENTRIES} accepted`);
  const out = new Set<string>();
  for (const e of entries) {
    if (typeof e !== 'string') throw new ClaimProblem(`claim "${ref}" must hold only strings, got ${kind(e)}`);
    checkString(e, ref);
    if (e !== '') out.add(e);
  }
  return [...out];
}

function attributeClaims(payload: Readonly<Record<string, unknown>>, refs: readonly string[]): Record<string, unknown> | undefined {
  let out: Record<string, unknown> | undefined;
  for (const ref of refs) {
    const value = claimValue(payload, ref);
    if (value === undefined) continue;
    checkBounded(value, ref, 0);
    out ??= {};
    out[ref] = structuredClone(value);
  }
  return out;
}

function checkBounded(v: unknown, ref: string, depth: number): void {
  if (typeof v === 'string') return checkString(v, ref);
  if (v === null || typeof v !== 'object') return;
  if (depth >= MAX_ATTRIBUTE_DEPTH) throw new ClaimProblem(`claim "${ref}" is nested deeper than ${MAX_ATTRIBUTE_DEPTH} levels`);
  const members = Array.isArray(v) ? v : Object.values(v);
  if (members.length > MAX_LIST_ENTRIES) throw new ClaimProblem(`claim "${ref}" has ${members.length} members, more than the ${MAX_LIST_ENTRIES} accepted`);
  for (const m of members) checkBounded(m, ref, depth + 1);
}

function checkString(s: string, ref: string): void {
  if (s.length > MAX_STRING_CHARS) throw new ClaimProblem(`claim "${ref}" holds a string longer than ${MAX_STRING_CHARS} characters`);
}

function kind(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return typeof v === 'object' ? 'an object' : `a ${typeof v}`;
}
