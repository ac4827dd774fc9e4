// Redaction of what the trail keeps (arguments, result content): compiled once per snapshot, applied
// per exchange. Values are replaced, never removed, so a reader sees that something was there.
import type { AuditConfig } from '../config/schema/audit.ts';
import { compileGlobs, type GlobSet } from '../policy/glob.ts';
import { normalizedPath, setMember } from './canonical.ts';
import { isJsonPathError, locate, parseJsonPath, type JsonPath } from './jsonpath.ts';

export { parseJsonPath };

/** What a redacted value is replaced with. */
export const REDACTED = '[redacted]';

type RedactConfig = AuditConfig['redact'];
type ResultsMode = AuditConfig['results'];

export interface Redactor {
  /**
   * A redacted deep copy when something was redacted, otherwise `value` itself (nothing copied).
   * `paths`: the replaced locations, RFC 9535 normalized paths relative to `value`, in document order.
   * Never mutates `value`.
   */
  apply(value: unknown): { value: unknown; paths: string[] };
}

export interface Redaction {
  /** The redactor for a target's public name, or undefined when no key and no path could apply. */
  for(targetName: string | undefined): Redactor | undefined;
  /** `results` override of the rules matching the target, if any. */
  results(targetName: string | undefined): ResultsMode | undefined;
}

/** A problem in `audit.redact`; `path` is relative to it (`['rules', 0, 'paths', 2]`). */
export interface RedactionIssue {
  readonly path: readonly (string | number)[];
  readonly message: string;
}

export class RedactionConfigError extends Error {
  readonly issues: readonly RedactionIssue[];
  constructor(issues: readonly RedactionIssue[]) {
    super(issues.map((i) => i.message).join('\n'));
    this.name = 'RedactionConfigError';
    this.issues = issues;
  }
}

interface Rule {
  readonly tools: GlobSet;
  readonly keys: readonly string[];
  readonly paths: readonly JsonPath[];
  readonly results: ResultsMode | undefined;
}

/** Parses every path of every rule; all problems, not only the first. */
export function redactionIssues(cfg: RedactConfig): RedactionIssue[] {
  const issues: RedactionIssue[] = [];
  cfg.rules.forEach((r, i) => {
    r.paths.forEach((p, j) => {
      const parsed = parseJsonPath(p);
      if (isJsonPathError(parsed)) issues.push({ path: ['rules', i, 'paths', j], message: `paths[${j}] ${JSON.stringify(p)}: ${parsed.error}` });
    });
  });
  return issues;
}

/** Targets remembered per Redaction: names come from agents (resource URIs), so the memo is bounded. */
const MEMO_MAX = 1024;

interface Resolved {
  readonly redactor: Redactor | undefined;
  readonly results: ResultsMode | undefined;
}

/** Compiles `audit.redact`; throws RedactionConfigError listing every unparsable path. */
export function compileRedaction(cfg: RedactConfig): Redaction {
  const issues = redactionIssues(cfg);
  if (issues.length > 0) throw new RedactionConfigError(issues);
  const globalKeys = cfg.keys.map((k) => k.toLowerCase());
  const rules: Rule[] = cfg.rules.map((r) => ({
    tools: compileGlobs(r.tools),
    keys: r.keys.map((k) => k.toLowerCase()),
    paths: r.paths.map((p) => parseJsonPath(p) as JsonPath),
    results: r.results,
  }));
  const base: Resolved = { redactor: makeRedactor(globalKeys, []), results: undefined };
  if (rules.length === 0) return { for: () => base.redactor, results: () => undefined };

  // One redactor per distinct set of matching rules, shared by every target with that set.
  const byRules = new Map<string, Resolved>([['', base]]);
  const byName = new Map<string, Resolved>();
  const resolve = (name: string | undefined): Resolved => {
    if (name === undefined) return base;
    const hit = byName.get(name);
    if (hit !== undefined) return hit;
    const matching: number[] = [];
    for (let i = 0; i < rules.length; i++) if (rules[i]!.tools.test(name)) matching.push(i);
    const sig = matching.join(',');
    let r = byRules.get(sig);
    if (r === undefined) {
      const ms = matching.map((i) => rules[i]!);
      const keys = [...globalKeys, ...ms.flatMap((m) => m.keys)];
      // Conflicting overrides: the one that keeps less wins.
      const modes = ms.map((m) => m.results).filter((m) => m !== undefined);
      const results = modes.length === 0 ? undefined : modes.includes('summary') ? 'summary' : 'content';
      r = { redactor: makeRedactor(keys, ms.flatMap((m) => m.paths)), results };
      byRules.set(sig, r);
    }
    if (byName.size >= MEMO_MAX) byName.delete(byName.keys().next().value!);
    byName.set(name, r);
    return r;
  };
  return { for: (name) => resolve(name).redactor, results: (name) => resolve(name).results };
}

/** A trie of the locations JSONPaths selected in one value. */
interface Marks {
  hit: boolean;
  readonly children: Map<string | number, Marks>;
}

function makeRedactor(keyList: readonly string[], paths: readonly JsonPath[]): Redactor | undefined {
  if (keyList.length === 0 && paths.length === 0) return undefined;
  const keys: ReadonlySet<string> = new Set(keyList);
  return {
    apply(value) {
      let marks: Marks | undefined;
      if (paths.length > 0) {
        for (const p of paths) {
          for (const loc of locate(p, value)) {
            marks ??= { hit: false, children: new Map() };
            let m = marks;
            for (const step of loc) {
              let c = m.children.get(step);
              if (c === undefined) m.children.set(step, (c = { hit: false, children: new Map() }));
              m = c;
            }
            m.hit = true;
          }
        }
        if (marks?.hit === true) return { value: REDACTED, paths: ['$'] };
      }
      const w = new Walk(keys);
      const out = w.visit(value, marks);
      return { value: out, paths: w.paths };
    },
  };
}

/** One pass over a value: copies only the containers on the way to something replaced. */
class Walk {
  readonly keys: ReadonlySet<string>;
  readonly stack: (string | number)[] = [];
  paths: string[] = [];
  constructor(keys: ReadonlySet<string>) {
    this.keys = keys;
  }

  replaced(step: string | number): typeof REDACTED {
    this.stack.push(step);
    this.paths.push(normalizedPath(this.stack));
    this.stack.pop();
    return REDACTED;
  }

  visit(v: unknown, marks: Marks | undefined): unknown {
    if (typeof v !== 'object' || v === null) return v;
    if (Array.isArray(v)) {
      let copy: unknown[] | undefined;
      for (let i = 0; i < v.length; i++) {
        const m = marks?.children.get(i);
        const item: unknown = v[i];
        let next: unknown;
        if (m?.hit === true) next = this.replaced(i);
        else {
          this.stack.push(i);
          next = this.visit(item, m);
          this.stack.pop();
        }
        if (next !== item) (copy ??= v.slice())[i] = next;
      }
      return copy ?? v;
    }
    let copy: Record<string, unknown> | undefined;
    const o = v as Record<string, unknown>;
    for (const k in o) {
      if (!Object.hasOwn(o, k)) continue;
      const m = marks?.children.get(k);
      const item = o[k];
      let next: unknown;
      if (m?.hit === true || this.keys.has(k.toLowerCase())) next = this.replaced(k);
      else {
        this.stack.push(k);
        next = this.visit(item, m);
        this.stack.pop();
      }
      // The spread copies "__proto__" as a member; setMember keeps it one.
      if (next !== item) setMember((copy ??= { ...o }), k, next);
    }
    return copy ?? v;
  }
}
