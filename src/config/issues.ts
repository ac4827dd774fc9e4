import type { z } from 'zod';
import type { ConfigPath } from './locate.ts';
import { allowedKeys, schemaAt } from './schema-walk.ts';

type Schema = z.core.$ZodType;
type Issue = z.core.$ZodIssue;

/**
 * Passed to zod as the per-parse error map. Messages set on the schema itself take precedence over it, so an issue
 * that still carries this marker has no author-written message and gets one of ours instead.
 */
export const NO_MESSAGE = '\u0000';
export const markDefaultMessages = (): string => NO_MESSAGE;

/** One message, and what it points at: the value at `path`, or with `key` the key that ends `path`. */
export interface IssueTarget {
  path: ConfigPath;
  key: boolean;
  message: string;
}

export interface IssueContext {
  root: Schema;
  data: unknown;
  /** Environment variables the value at `path` came from: such values are secrets and are named, never shown. */
  sourcesOf(path: ConfigPath): readonly string[] | undefined;
}

function valueAt(data: unknown, path: ConfigPath): { present: boolean; value: unknown } {
  let v: unknown = data;
  for (const seg of path) {
    if (typeof v !== 'object' || v === null || !Object.hasOwn(v, seg)) return { present: false, value: undefined };
    v = (v as Record<string | number, unknown>)[seg];
  }
  return { present: true, value: v };
}

function kindOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'list';
  if (typeof v === 'object') return 'mapping';
  return typeof v;
}

function quote(v: unknown): string {
  if (typeof v !== 'string') return String(v);
  return JSON.stringify(v.length > 60 ? `${v.slice(0, 57)}...` : v);
}

/** A value for a message: `string "abc"`, or `string from ${TOKEN}` / `the value from ${TOKEN}` when it came from the environment. */
function shown(ctx: IssueContext, path: ConfigPath, value: unknown, withKind: boolean): string {
  const vars = ctx.sourcesOf(path);
  const kind = kindOf(value);
  if (vars) return `${withKind ? `${kind} ` : 'the value '}from ${vars.map((n) => `\${${n}}`).join(', ')}`;
  if (kind === 'list' || kind === 'mapping' || kind === 'null') return withKind ? kind : kind === 'null' ? 'null' : `a ${kind}`;
  return withKind ? `${kind} ${quote(value)}` : quote(value);
}

function listValues(values: readonly unknown[]): string {
  const one = (v: unknown) => (typeof v === 'string' && /^[\w.:/@+-]+$/.test(v) ? v : JSON.stringify(v));
  return values.length === 1 ? `expected ${one(values[0])}` : `allowed: ${values.map(one).join(', ')}`;
}

const TYPE_NAMES: Record<string, string> = { object: 'mapping', array: 'list', int: 'integer', map: 'mapping' };

/** Edits between two keys, case-insensitive; a swap of neighbours counts as one ("prot" → "port"). */
function editDistance(x: string, y: string): number {
  const a = x.toLowerCase();
  const b = y.toLowerCase();
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const row = d[i]!;
      row[j] = Math.min(d[i - 1]![j]! + 1, row[j - 1]! + 1, d[i - 1]![j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) row[j] = Math.min(row[j]!, d[i - 2]![j - 2]! + 1);
    }
  }
  return d[a.length]![b.length]!;
}

function unknownKey(key: string, allowed: readonly string[] | undefined): string {
  if (!allowed) return `unknown key "${key}"`;
  const near = allowed
    .map((k) => ({ k, d: editDistance(key, k) }))
    .filter(({ d }) => d <= Math.max(1, Math.floor(key.length / 3)))
    .sort((a, b) => a.d - b.d)[0];
  const hint = near ? `did you mean "${near.k}"? ` : '';
  return `unknown key "${key}" (${hint}allowed: ${allowed.join(', ') || 'none'})`;
}

function bound(issue: Extract<Issue, { code: 'too_small' | 'too_big' }>, small: boolean): string {
  const n = Number(small ? (issue as { minimum: unknown }).minimum : (issue as { maximum: unknown }).maximum);
  const origin = issue.origin;
  if (origin === 'string') {
    if (issue.exact) return `must be exactly ${n} characters long`;
    if (small && n === 1) return 'must not be empty';
    return `must be at ${small ? 'least' : 'most'} ${n} characters long`;
  }
  if (origin === 'array' || origin === 'set') {
    if (issue.exact) return `must have exactly ${n} items`;
    return small && n === 1 ? 'must not be empty' : `must have at ${small ? 'least' : 'most'} ${n} items`;
  }
  if (issue.inclusive === false) return `must be ${small ? 'greater' : 'less'} than ${n}`;
  return `must be at ${small ? 'least' : 'most'} ${n}`;
}

function formatMessage(issue: Extract<Issue, { code: 'invalid_format' }>, schema: Schema | undefined): string {
  const i = issue as typeof issue & { pattern?: string; prefix?: string; suffix?: string; includes?: string };
  switch (issue.format) {
    case 'regex':
      return `must match the pattern ${i.pattern}`;
    case 'starts_with':
      return `must start with ${JSON.stringify(i.prefix)}`;
    case 'ends_with':
      return `must end with ${JSON.stringify(i.suffix)}`;
    case 'includes':
      return `must contain ${JSON.stringify(i.includes)}`;
    case 'url': {
      const protocol = (schema?._zod.def as { protocol?: RegExp } | undefined)?.protocol;
      if (protocol?.source === '^https?$') return 'must be an http:// or https:// URL';
      return protocol ? `must be a URL whose scheme matches /${protocol.source}/` : 'must be a valid URL';
    }
    default:
      return `must be a valid ${issue.format}`;
  }
}

/** Turns one zod issue into messages for people, each aimed at the node it is about. */
export function describeIssue(issue: Issue, ctx: IssueContext, prefix: ConfigPath = []): IssueTarget[] {
  const path: ConfigPath = [...prefix, ...(issue.path as (string | number)[])];
  const custom = issue.message !== NO_MESSAGE ? issue.message : undefined;
  const last = path[path.length - 1];
  const name = typeof last === 'string' ? last : 'value';

  if (issue.code === 'unrecognized_keys') {
    const allowed = allowedKeys(ctx.root, ctx.data, path);
    return issue.keys.map((k) => ({ path: [...path, k], key: true, message: custom ?? unknownKey(k, allowed) }));
  }
  const here = valueAt(ctx.data, path);
  const parent = valueAt(ctx.data, path.slice(0, -1));
  const values =
    issue.code === 'invalid_value' ? issue.values : issue.code === 'invalid_union' && 'options' in issue ? (issue.options as unknown[]) : undefined;
  // An absent key is reported as such whatever the schema would have said about a bad value.
  if (!here.present && last !== undefined && parent.present && typeof parent.value === 'object' && parent.value !== null) {
    const hint = values ? ` (${listValues(values)})` : '';
    return [{ path, key: false, message: `missing required key "${String(last)}"${hint}` }];
  }
  if (issue.code === 'invalid_union' && !('discriminator' in issue && issue.discriminator) && issue.errors.length > 0) {
    // A union of plain types (`string | number | boolean`) failed on the type alone: name them all at once.
    const types = issue.errors.map((branch) => (branch.length === 1 && branch[0]!.code === 'invalid_type' && branch[0]!.path.length === 0 ? branch[0]!.expected : undefined));
    if (types.every((t) => t !== undefined) && !custom) {
      const names = [...new Set(types.map((t) => TYPE_NAMES[t!] ?? t!))];
      const expected = names.length > 1 ? `${names.slice(0, -1).join(', ')} or ${names.at(-1)}` : names[0]!;
      return [{ path, key: false, message: `expected ${expected}, got ${shown(ctx, path, here.value, true)}` }];
    }
    // Otherwise the branch with the fewest complaints is the one the author most likely meant.
    const best = [...issue.errors].sort((a, b) => a.length - b.length)[0]!;
    return best.flatMap((sub) => describeIssue(sub, ctx, path));
  }
  if (issue.code === 'invalid_key') {
    // The nested issues are about the key itself: describe them with the key as the value in question.
    const keyCtx: IssueContext = { root: ctx.root, data: last, sourcesOf: () => undefined };
    return issue.issues.flatMap((sub) => describeIssue(sub, keyCtx)).map((t) => ({ path, key: true, message: `key ${t.message}` }));
  }
  if (issue.code === 'invalid_element') {
    return issue.issues.flatMap((sub) => describeIssue(sub, ctx, path));
  }

  if (custom) return [{ path, key: false, message: custom }];

  const got = () => shown(ctx, path, here.value, false);
  let message: string;
  switch (issue.code) {
    case 'invalid_type':
      message = `expected ${TYPE_NAMES[issue.expected] ?? issue.expected}, got ${shown(ctx, path, here.value, true)}`;
      break;
    case 'invalid_value':
    case 'invalid_union':
      message = ctx.sourcesOf(path)
        ? `invalid ${name}: ${got()} (${listValues(values ?? [])})`
        : `invalid ${name} ${got()} (${listValues(values ?? [])})`;
      break;
    case 'too_small':
    case 'too_big':
      message = bound(issue, issue.code === 'too_small') + (typeof here.value === 'number' ? `, got ${got()}` : '');
      break;
    case 'invalid_format':
      message = `${formatMessage(issue, schemaAt(ctx.root, ctx.data, path))}, got ${got()}`;
      break;
    case 'not_multiple_of':
      message = `must be a multiple of ${String(issue.divisor)}, got ${got()}`;
      break;
    default:
      message = `invalid ${name}`;
  }
  return [{ path, key: false, message }];
}
