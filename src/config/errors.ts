/** One thing wrong with a config file, at a 1-based line and column. Line 0 means the file as a whole. */
export interface ConfigProblem {
  readonly file: string;
  readonly line: number;
  readonly column: number;
  readonly message: string;
}

/** `file:line:column: message`, the shape editors and terminals turn into links. */
export function formatProblem(p: ConfigProblem): string {
  return p.line > 0 ? `${p.file}:${p.line}:${p.column}: ${p.message}` : `${p.file}: ${p.message}`;
}

/** Sorted by position and without exact repeats, so that output is stable and reads top to bottom. */
export function sortProblems(problems: readonly ConfigProblem[]): ConfigProblem[] {
  const seen = new Set<string>();
  const out: ConfigProblem[] = [];
  for (const p of problems) {
    const key = formatProblem(p);
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(p);
  }
  return out.sort(
    (a, b) =>
      a.file.localeCompare(b.file) || a.line - b.line || a.column - b.column || a.message.localeCompare(b.message),
  );
}

/** Thrown for every config that cannot be used; it carries all problems found, not only the first. */
export class ConfigError extends Error {
  readonly problems: readonly ConfigProblem[];

  constructor(problems: readonly ConfigProblem[]) {
    if (problems.length === 0) throw new TypeError('ConfigError needs at least one problem');
    const sorted = sortProblems(problems);
    super(sorted.map(formatProblem).join('\n'));
    this.name = 'ConfigError';
    this.problems = Object.freeze(sorted);
  }
}

/** What configProblem needs from a LoadedConfig (kept structural so this file imports nothing). */
export interface LocatableConfig {
  readonly file: string;
  locate(path: readonly (string | number)[]): { line: number; column: number };
}

/** A problem found after loading (e.g. by compile()), placed where `path` is written in the file. */
export function configProblem(loaded: LocatableConfig, path: readonly (string | number)[], message: string): ConfigProblem {
  const { line, column } = loaded.locate(path);
  return { file: loaded.file, line, column, message };
}
