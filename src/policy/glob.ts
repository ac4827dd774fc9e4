/** Matches a string against a list of globs (`*` any run, `?` one character); compiled once. */
export interface GlobSet {
  test(s: string): boolean;
  readonly source: readonly string[];
}

function escape(ch: string): string {
  return /[\\^$.*+?()[\]{}|/]/.test(ch) ? `\\${ch}` : ch;
}

/** One glob as a regex body. */
export function globBody(glob: string): string {
  let out = '';
  for (const ch of glob) out += ch === '*' ? '.*' : ch === '?' ? '.' : escape(ch);
  return out;
}

export function isGlob(s: string): boolean {
  return s.includes('*') || s.includes('?');
}

const literal = (s: string) => !isGlob(s);

/**
 * The shapes policies use most get the cheapest test: exact names a Set lookup, `prefix*` a
 * startsWith, `*suffix` an endsWith; anything else shares one anchored regex.
 */
export function compileGlobs(globs: readonly string[]): GlobSet {
  const exact = new Set<string>();
  const prefixes: string[] = [];
  const suffixes: string[] = [];
  const patterns: string[] = [];
  for (const g of globs) {
    if (g === '*') return { test: () => true, source: globs };
    if (literal(g)) exact.add(g);
    else if (g.endsWith('*') && literal(g.slice(0, -1))) prefixes.push(g.slice(0, -1));
    else if (g.startsWith('*') && literal(g.slice(1))) suffixes.push(g.slice(1));
    else patterns.push(globBody(g));
  }
  const re = patterns.length === 0 ? undefined : new RegExp(`^(?:${patterns.join('|')})$`, 'su');
  const tests: ((s: string) => boolean)[] = [];
  if (exact.size > 0) tests.push((s) => exact.has(s));
  if (prefixes.length === 1) {
    const p = prefixes[0]!;
    tests.push((s) => s.startsWith(p));
  } else if (prefixes.length > 1) tests.push((s) => prefixes.some((p) => s.startsWith(p)));
  if (suffixes.length > 0) tests.push((s) => suffixes.some((p) => s.endsWith(p)));
  if (re !== undefined) tests.push((s) => re.test(s));
  if (tests.length === 1) return { test: tests[0]!, source: globs };
  return { test: (s) => tests.some((t) => t(s)), source: globs };
}
