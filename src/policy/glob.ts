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

/**
 * Exact names go in a Set (one lookup); the globs share one anchored regex. Most rules name tools
 * exactly, so the common case costs a hash lookup.
 */
export function compileGlobs(globs: readonly string[]): GlobSet {
  const exact = new Set<string>();
  const patterns: string[] = [];
  for (const g of globs) {
    if (g === '*') return { test: () => true, source: globs };
    if (isGlob(g)) patterns.push(globBody(g));
    else exact.add(g);
  }
  const re = patterns.length === 0 ? undefined : new RegExp(`^(?:${patterns.join('|')})$`, 's');
  if (re === undefined) return { test: (s) => exact.has(s), source: globs };
  if (exact.size === 0) return { test: (s) => re.test(s), source: globs };
  return { test: (s) => exact.has(s) || re.test(s), source: globs };
}
