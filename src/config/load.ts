import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { isMap, isScalar, isSeq, LineCounter, parseDocument } from 'yaml';
import type { z } from 'zod';
import { configSchema } from './schema/root.ts';
import { policyFileSchema, type PolicyFileConfig } from './schema/policy.ts';
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
import { configProblem } from './errors.ts';
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
  /** Policy files named by `policy.files`, in order, each locating its own paths. */
  readonly policyFiles: readonly LoadedPolicyFile[];
}

export type LoadedPolicyFile = LoadedDocument<PolicyFileConfig>;


function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

/** A YAML file checked against a schema: its data, and where each config path is written in it. */
export interface LoadedDocument<T> {
  readonly data: T;
  readonly file: string;
  readonly dir: string;
  readonly text: string;
  locate(path: ConfigPath): Position;
  envSources(path: ConfigPath): readonly string[] | undefined;
}

/** Parses, interpolates and validates YAML text against `schema`; throws ConfigError listing every problem found. */
export function parseYamlText<S extends z.ZodType>(schema: S, text: string, file: string, env: NodeJS.ProcessEnv, what: string, emptyHint: string): LoadedDocument<z.infer<S>> {
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
    throw new ConfigError([problem({ line: 1, column: 1 }, `${what} is empty (${emptyHint})`)]);
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

  const parsed = schema.safeParse(data, { error: markDefaultMessages });
  if (!parsed.success) {
    const ctx = { root: schema, data, sourcesOf: envSources };
    for (const issue of parsed.error.issues) {
      for (const t of describeIssue(issue, ctx)) {
        const hit = walkPath(doc, t.path, { key: t.key });
        if (!t.key && hit.node && interp.failed.has(hit.node)) continue;
        problems.push(problem(positionOf(lc, hit.anchor), t.message));
      }
    }
  }
  if (problems.length > 0 || !parsed.success) {
    throw new ConfigError(problems.length > 0 ? problems : [problem({ line: 1, column: 1 }, `invalid ${what}`)]);
  }

  return Object.freeze({
    data: deepFreeze(parsed.data),
    file: abs,
    dir: dirname(abs),
    text,
    locate: (path: ConfigPath) => positionOf(lc, walkPath(doc, path).anchor),
    envSources,
  });
}

/** Parses and validates config text; throws ConfigError listing every problem found. Policy files are not read. */
export function parseConfigText(text: string, file: string, env: NodeJS.ProcessEnv = process.env): LoadedConfig {
  const d = parseYamlText(configSchema, text, file, env, 'config file', 'it needs at least "version: 1"');
  return Object.freeze({ config: d.data, file: d.file, dir: d.dir, text: d.text, locate: d.locate, envSources: d.envSources, policyFiles: [] });
}

function readFailure(err: NodeJS.ErrnoException, noun: string): string {
  switch (err.code) {
    case 'ENOENT':
      return `${noun} not found`;
    case 'EACCES':
    case 'EPERM':
      return `${noun} cannot be read: permission denied`;
    case 'EISDIR':
      return `is a directory, not a ${noun}`;
    default:
      return `${noun} cannot be read: ${err.message}`;
  }
}

/** Reads a YAML file (config, policy, policy test) as strict UTF-8; a failure is a ConfigError naming the file as `noun`. */
export async function readYamlFile(abs: string, noun = 'config file'): Promise<string> {
  let bytes: Buffer;
  try {
    bytes = await readFile(abs);
  } catch (err) {
    throw new ConfigError([{ file: abs, line: 0, column: 0, message: readFailure(err as NodeJS.ErrnoException, noun) }]);
  }
  try {
    // Fatal decoding: a stray Latin-1 byte must not become U+FFFD inside a token or a URL unnoticed.
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new ConfigError([{ file: abs, line: 0, column: 0, message: `${noun} is not valid UTF-8` }]);
  }
}

/**
 * Reads, interpolates and validates a config file and the policy files it names; throws ConfigError
 * listing every problem found (in whichever file it is).
 */
export async function loadConfig(file: string, env: NodeJS.ProcessEnv = process.env): Promise<LoadedConfig> {
  const abs = resolve(file);
  const loaded = parseConfigText(await readYamlFile(abs), abs, env);
  const names = loaded.config.policy?.files ?? [];
  if (names.length === 0) return loaded;
  const problems: ConfigProblem[] = [];
  const policyFiles: LoadedPolicyFile[] = [];
  for (const [i, name] of names.entries()) {
    const path = resolve(loaded.dir, name);
    try {
      policyFiles.push(parseYamlText(policyFileSchema, await readYamlFile(path, 'file'), path, env, 'policy file', 'it needs a "rules:" list'));
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      // A missing file is reported where the config names it; problems inside one, where they are.
      if (err.problems.length === 1 && err.problems[0]!.line === 0) {
        problems.push(configProblem(loaded, ['policy', 'files', i], `policy file ${name}: ${err.problems[0]!.message}`));
      } else problems.push(...err.problems);
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return Object.freeze({ ...loaded, policyFiles });
}
