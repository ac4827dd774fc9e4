import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { isMap, isScalar, isSeq, LineCounter, parseDocument } from 'yaml';
import { configSchema } from './schema/root.ts';
import type { GatehouseConfig } from './schema/root.ts';
import { ConfigError } from './errors.ts';
import type { ConfigProblem } from './errors.ts';
import { interpolateDocument } from './interpolate.ts';
import { describeIssue, markDefaultMessages } from './issues.ts';
import { positionOf, walkPath } from './locate.ts';
import type { ConfigPath, Position } from './locate.ts';
import { yamlProblems } from './yaml-problems.ts';

// Callers of the loader get the error types from the same place.
export { ConfigError, configProblem } from './errors.ts';
export type { ConfigProblem } from './errors.ts';

export interface LoadedConfig {
  /** Validated, defaults applied, frozen. */
  readonly config: GatehouseConfig;
  /** Absolute path of the file. */
  readonly file: string;
  /** Folder of the file: relative paths in the config resolve against it. */
  readonly dir: string;
  /** The text as read, before interpolation. */
  readonly text: string;
  /** Where a config path is written: its value, or the nearest parent that exists in the file. */
  locate(path: ConfigPath): Position;
  /**
   * The environment variables the value at `path` was interpolated from, or undefined if it was written out.
   * Such a value may be a secret: a message about it names the variables instead of quoting it.
   */
  envSources(path: ConfigPath): readonly string[] | undefined;
}


function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

/** Parses and validates config text; throws ConfigError listing every problem found. */
export function parseConfigText(text: string, file: string, env: NodeJS.ProcessEnv = process.env): LoadedConfig {
  const abs = resolve(file);
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false, merge: true, uniqueKeys: true });
  const at = (offset: number): Position => {
    const { line, col } = lc.linePos(offset);
    return { line, column: col };
  };
  const problem = (pos: Position, message: string): ConfigProblem => ({ file: abs, ...pos, message });

  const syntax = yamlProblems(doc, text, (offset) => at(offset).line);
  if (syntax.length > 0) throw new ConfigError(syntax.map((s) => problem(at(s.offset), s.message)));
  const root = doc.contents;
  if (root === null || (isScalar(root) && root.value === null)) {
    throw new ConfigError([problem({ line: 1, column: 1 }, 'config file is empty (it needs at least "version: 1")')]);
  }
  if (!isMap(root)) {
    const kind = isSeq(root) ? 'a list' : 'a single value';
    throw new ConfigError([problem(positionOf(lc, root), `expected a mapping of settings at the top level, got ${kind}`)]);
  }

  const interp = interpolateDocument(doc, env);
  const envSources = (path: ConfigPath) => {
    const node = walkPath(doc, path).node;
    return node ? interp.sources.get(node) : undefined;
  };
  const problems: ConfigProblem[] = interp.problems.map((p) => problem(positionOf(lc, p.node), p.message));
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: 1000 });
  } catch (err) {
    // e.g. an alias bomb: nothing sensible to validate.
    throw new ConfigError([...problems, problem({ line: 1, column: 1 }, (err as Error).message)]);
  }

  const parsed = configSchema.safeParse(data, { error: markDefaultMessages });
  if (!parsed.success) {
    const ctx = { root: configSchema, data, sourcesOf: envSources };
    for (const issue of parsed.error.issues) {
      for (const t of describeIssue(issue, ctx)) {
        const hit = walkPath(doc, t.path, { key: t.key });
        if (!t.key && hit.node && interp.failed.has(hit.node)) continue;
        problems.push(problem(positionOf(lc, hit.anchor), t.message));
      }
    }
  }
  if (problems.length > 0 || !parsed.success) {
    throw new ConfigError(problems.length > 0 ? problems : [problem({ line: 1, column: 1 }, 'invalid config')]);
  }

  return Object.freeze({
    config: deepFreeze(parsed.data),
    file: abs,
    dir: dirname(abs),
    text,
    locate: (path: ConfigPath) => positionOf(lc, walkPath(doc, path).anchor),
    envSources,
  });
}

function readFailure(err: NodeJS.ErrnoException): string {
  switch (err.code) {
    case 'ENOENT':
      return 'config file not found';
    case 'EACCES':
    case 'EPERM':
      return 'config file cannot be read: permission denied';
    case 'EISDIR':
      return 'is a directory, not a config file';
    default:
      return `config file cannot be read: ${err.message}`;
  }
}

/** Reads, interpolates and validates a config file; throws ConfigError listing every problem found. */
export async function loadConfig(file: string, env: NodeJS.ProcessEnv = process.env): Promise<LoadedConfig> {
  const abs = resolve(file);
  let bytes: Buffer;
  try {
    bytes = await readFile(abs);
  } catch (err) {
    throw new ConfigError([{ file: abs, line: 0, column: 0, message: readFailure(err as NodeJS.ErrnoException) }]);
  }
  let text: string;
  try {
    // Fatal decoding: a stray Latin-1 byte must not become U+FFFD inside a token or a URL unnoticed.
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new ConfigError([{ file: abs, line: 0, column: 0, message: 'config file is not valid UTF-8' }]);
  }
  return parseConfigText(text, abs, env);
}
