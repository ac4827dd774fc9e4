// The canonical form of audit data: RFC 8785 (JCS) JSON, and the SHA-256 over it. Everything the trail
// hashes, signs or digests goes through here, so one definition of "the same value" holds everywhere.
//
// The serializer is our own, checked against the `canonicalize` package (the reference
// implementation's author) by differential tests: sealing runs once per exchange, and the package
// costs ~20 µs for a typical entry (a Set of ancestors, a JS loop over every string for surrogates),
// where this single pass that validates while it writes costs a few. JCS reduces to: members sorted
// by UTF-16 code units, no whitespace, strings and numbers exactly as ECMAScript JSON.stringify
// writes them (RFC 8785 §3.2.2.2-3), lone surrogates refused.
import { hash } from 'node:crypto';

/**
 * Deeper values are refused. Arguments are JSON an agent sent, and every walk over audit data
 * (canonical form, redaction) recurses: a bound keeps a hostile nesting from exhausting the stack,
 * and turns a cycle (only a bug can make one) into an error instead of a hang.
 */
export const MAX_JSON_DEPTH = 200;

export type JsonProblemKind = 'not_json' | 'lone_surrogate' | 'too_deep';

/** Why a value has no canonical form. */
export class CanonicalJsonError extends Error {
  readonly kind: JsonProblemKind;
  /** JSONPath (normalized) of the offending value. */
  readonly path: string;
  constructor(kind: JsonProblemKind, path: string, what: string) {
    super(`no canonical JSON for this value: ${what} at ${path}`);
    this.name = 'CanonicalJsonError';
    this.kind = kind;
    this.path = path;
  }
}

/** `$['a'][0]`: RFC 9535 normalized path of a location. */
export function normalizedPath(segments: readonly (string | number)[]): string {
  let out = '$';
  for (const s of segments) out += typeof s === 'number' ? `[${s}]` : `['${escapeName(s)}']`;
  return out;
}

/** RFC 9535 §2.7 escaping of a member name inside single quotes. */
export function escapeName(name: string): string {
  // Most names need no escaping: test once, build only when needed.
  if (!/['\\\u0000-\u001f]/.test(name)) return name;
  let out = '';
  for (const ch of name) {
    const c = ch.charCodeAt(0);
    if (ch === "'") out += "\\'";
    else if (ch === '\\') out += '\\\\';
    else if (c === 8) out += '\\b';
    else if (c === 9) out += '\\t';
    else if (c === 10) out += '\\n';
    else if (c === 12) out += '\\f';
    else if (c === 13) out += '\\r';
    else if (c < 0x20) out += `\\u${c.toString(16).padStart(4, '0')}`;
    else out += ch;
  }
  return out;
}

interface Problem {
  kind: JsonProblemKind;
  what: string;
}

/**
 * The first reason `v` is not plain JSON, or undefined. Plain JSON: null, booleans, finite numbers,
 * well-formed strings, arrays and objects whose prototype is Object.prototype or null. `undefined` is
 * accepted as an object member (JSON.stringify and JCS drop it) but not as an array element, where it
 * would silently become null. Allocates nothing unless something is wrong.
 */
export function jsonProblem(v: unknown): CanonicalJsonError | undefined {
  const stack: (string | number)[] = [];
  const p = walk(v, 0, stack);
  return p === undefined ? undefined : new CanonicalJsonError(p.kind, normalizedPath(stack), p.what);
}

function walk(v: unknown, depth: number, stack: (string | number)[]): Problem | undefined {
  switch (typeof v) {
    case 'string':
      return v.isWellFormed() ? undefined : { kind: 'lone_surrogate', what: 'a string with a lone UTF-16 surrogate' };
    case 'number':
      return Number.isFinite(v) ? undefined : { kind: 'not_json', what: `the number ${v}` };
    case 'boolean':
      return undefined;
    case 'object':
      break;
    default:
      return { kind: 'not_json', what: `a value of type ${typeof v}` };
  }
  if (v === null) return undefined;
  if (depth >= MAX_JSON_DEPTH) return { kind: 'too_deep', what: `nesting deeper than ${MAX_JSON_DEPTH} levels (or a cycle)` };
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) {
      const item: unknown = v[i];
      stack.push(i);
      const p = item === undefined ? { kind: 'not_json' as const, what: 'undefined in an array' } : walk(item, depth + 1, stack);
      if (p !== undefined) return p;
      stack.pop();
    }
    return undefined;
  }
  const proto: unknown = Object.getPrototypeOf(v);
  if (proto !== Object.prototype && proto !== null) {
    return { kind: 'not_json', what: `an object of class ${(v as object).constructor?.name ?? 'unknown'}` };
  }
  for (const k in v) {
    if (!Object.hasOwn(v, k)) continue;
    stack.push(k);
    if (!k.isWellFormed()) return { kind: 'lone_surrogate', what: 'a member name with a lone UTF-16 surrogate' };
    const item = (v as Record<string, unknown>)[k];
    if (item !== undefined) {
      const p = walk(item, depth + 1, stack);
      if (p !== undefined) return p;
    }
    stack.pop();
  }
  return undefined;
}

/** Thrown by the fast path; the caller walks again (jsonProblem) to say what and where. */
const NOT_CANONICAL = new Error('not canonical');

/** Characters that need JSON escaping, or any surrogate: strings without them are written as is. */
const NEEDS_CARE = /["\\\u0000-\u001f\ud800-\udfff]/;

function quote(s: string): string {
  if (!NEEDS_CARE.test(s)) return `"${s}"`;
  if (!s.isWellFormed()) throw NOT_CANONICAL;
  return JSON.stringify(s);
}

/** Member names in UTF-16 code unit order (RFC 8785 §3.2.3): insertion sort for the usual handful. */
function sortedKeys(o: object): string[] {
  const keys = Object.keys(o);
  if (keys.length > 32) return keys.sort();
  for (let i = 1; i < keys.length; i++) {
    const k = keys[i]!;
    let j = i - 1;
    while (j >= 0 && keys[j]! > k) {
      keys[j + 1] = keys[j]!;
      j--;
    }
    keys[j + 1] = k;
  }
  return keys;
}

function write(v: unknown, depth: number): string {
  switch (typeof v) {
    case 'string':
      return quote(v);
    case 'number':
      // ECMAScript Number::toString is JCS's number form; -0 becomes "0".
      if (!Number.isFinite(v)) throw NOT_CANONICAL;
      return String(v);
    case 'boolean':
      return v ? 'true' : 'false';
    case 'object':
      break;
    default:
      throw NOT_CANONICAL;
  }
  if (v === null) return 'null';
  if (depth >= MAX_JSON_DEPTH) throw NOT_CANONICAL;
  if (Array.isArray(v)) {
    let s = '[';
    for (let i = 0; i < v.length; i++) {
      const item: unknown = v[i];
      if (item === undefined) throw NOT_CANONICAL;
      s += i === 0 ? write(item, depth + 1) : `,${write(item, depth + 1)}`;
    }
    return `${s}]`;
  }
  const proto: unknown = Object.getPrototypeOf(v);
  if (proto !== Object.prototype && proto !== null) throw NOT_CANONICAL;
  const o = v as Record<string, unknown>;
  let s = '{';
  let first = true;
  for (const k of sortedKeys(o)) {
    const item = o[k];
    if (item === undefined) continue;
    s += `${first ? '' : ','}${quote(k)}:${write(item, depth + 1)}`;
    first = false;
  }
  return `${s}}`;
}

/** RFC 8785 canonical JSON of a plain JSON value; throws CanonicalJsonError for anything else. */
export function canonicalJson(v: unknown): string {
  try {
    return write(v, 0);
  } catch (err) {
    if (err !== NOT_CANONICAL) throw err;
    throw jsonProblem(v) ?? new CanonicalJsonError('not_json', '$', 'an unexpected value');
  }
}

/**
 * Canonical JSON of data received from outside (arguments, error messages, URIs), which JSON.parse
 * may have given lone surrogates (`"\ud800"` is valid JSON text, but JCS refuses it). Those, and only
 * those, are replaced by U+FFFD, and the returned value is what was canonicalized: the caller keeps it
 * so that what it records matches the text. Other problems still throw.
 */
export function canonicalWellFormed<T>(v: T): { value: T; text: string } {
  try {
    return { value: v, text: canonicalJson(v) };
  } catch (err) {
    if (!(err instanceof CanonicalJsonError) || err.kind !== 'lone_surrogate') throw err;
  }
  const fixed = toWellFormed(v, 0) as T;
  return { value: fixed, text: canonicalJson(fixed) };
}

/** A copy with every string (and member name) made well-formed. */
function toWellFormed(v: unknown, depth: number): unknown {
  if (typeof v === 'string') return v.toWellFormed();
  if (v === null || typeof v !== 'object') return v;
  // The lone surrogate may come before a nesting problem: stop at the same bound as jsonProblem.
  if (depth >= MAX_JSON_DEPTH) throw new CanonicalJsonError('too_deep', '$', `nesting deeper than ${MAX_JSON_DEPTH} levels (or a cycle)`);
  if (Array.isArray(v)) return v.map((item) => toWellFormed(item, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, item] of Object.entries(v)) setMember(out, k.toWellFormed(), toWellFormed(item, depth + 1));
  return out;
}

/** `o[k] = v`, except that a member named "__proto__" stays a member instead of replacing the prototype. */
export function setMember(o: Record<string, unknown>, k: string, v: unknown): void {
  if (k === '__proto__') Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
  else o[k] = v;
}

/** Lowercase hex SHA-256 of the UTF-8 bytes of `text`. */
export function sha256Hex(text: string): string {
  return hash('sha256', text, 'hex');
}

/** Base64url (no padding) SHA-256 of the UTF-8 bytes of `text`: JWK thumbprints. */
export function sha256Base64url(text: string): string {
  return hash('sha256', text, 'base64url');
}
