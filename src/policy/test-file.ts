/**
 * Policy test files (`gatehouse policy test`): a config to load and calls with the outcome each must
 * get. Cases are judged exactly as `policy explain` and the admin API judge a probe (probe.ts); this
 * file only reads the YAML, places every problem at its file:line:column, and compares.
 */
import { resolve } from 'node:path';
import { z } from 'zod';
import { compileConfig } from '../config/compile.ts';
import { ConfigError, configProblem, type ConfigProblem } from '../config/errors.ts';
import { loadConfig, parseYamlText, readYamlFile, type LoadedDocument } from '../config/load.ts';
import type { Snapshot } from '../config/snapshot.ts';
import type { Outcome } from './decide.ts';
import { explain, type Explanation, type RuleTrace } from './explain.ts';
import type { CompiledPolicy } from './policy.ts';
import { probeCallSchema, probeInput, probePrincipalFields, probeSchema } from './probe.ts';
import type { PolicyInput } from './types.ts';

const OUTCOMES = ['allow', 'deny', 'require_approval', 'hidden'] as const;
const partialPrincipal = z.strictObject({ ...probePrincipalFields, agent: probePrincipalFields.agent.optional() });
const { time, environment, client } = probeSchema.shape;

const caseSchema = z.strictObject({
  name: z.string().min(1).describe('Shown in the results; unique in the file.'),
  principal: partialPrincipal.optional().describe('Who calls; merged over defaults.principal.'),
  call: probeCallSchema,
  time,
  environment,
  client,
  expect: z.enum(OUTCOMES).describe('`allow`; `deny` (refused with a message, still listed); `require_approval`; `hidden` (refused and not listed).'),
  rule: z.string().min(1).optional().describe('The rule expected to decide, or `default`.'),
});

export const testFileSchema = z.strictObject({
  config: z.string().min(1).describe('The gatehouse.yaml to test, relative to this file.'),
  defaults: z.strictObject({ principal: partialPrincipal.optional(), time, environment, client }).optional(),
  cases: z.array(caseSchema).min(1),
});

export type TestFile = z.infer<typeof testFileSchema>;

export interface CaseResult {
  readonly name: string;
  /** `file:line` of the case. */
  readonly where: string;
  readonly expected: Outcome;
  readonly expectedRule: string | undefined;
  readonly got: Outcome;
  /** The deciding rule; undefined when the default decided. */
  readonly rule: string | undefined;
  readonly ok: boolean;
  readonly explanation: Explanation;
  readonly input: PolicyInput;
  /** On failure: the rules that could have mattered (those that matched, and those of the expected effect). */
  readonly relevant: readonly RuleTrace[];
}

export interface TestFileResult {
  readonly file: string;
  readonly config: string;
  readonly policy: CompiledPolicy;
  readonly cases: readonly CaseResult[];
}

/** Compiled configs by absolute path: several test files of one config load it once. */
export type SnapshotCache = Map<string, Promise<Snapshot>>;

async function readTestFile(file: string): Promise<LoadedDocument<TestFile>> {
  return parseYamlText(testFileSchema, await readYamlFile(file, 'test file'), file, process.env, 'policy test file', 'it needs "config:" and "cases:"');
}

/**
 * Loads a test file and its config, and judges every case; throws ConfigError (file:line:column) when
 * the test file or the config is broken. Nothing is judged until every case could be placed.
 */
export async function runTestFile(path: string, cache: SnapshotCache = new Map(), now: number = Date.now()): Promise<TestFileResult> {
  const doc = await readTestFile(resolve(path));
  const t = doc.data;
  const configFile = resolve(doc.dir, t.config);
  let loading = cache.get(configFile);
  if (loading === undefined) {
    loading = loadConfig(configFile).then(compileConfig);
    cache.set(configFile, loading);
  }
  let snap: Snapshot;
  try {
    snap = await loading;
  } catch (err) {
    // A config that cannot be read is reported where the test file names it; problems inside it, where they are.
    const only = err instanceof ConfigError && err.problems.length === 1 ? err.problems[0]! : undefined;
    if (only !== undefined && only.line === 0 && only.file === configFile) throw new ConfigError([configProblem(doc, ['config'], `${t.config}: ${only.message}`)]);
    throw err;
  }
  const p = snap.policy;
  if (p === undefined) throw new ConfigError([configProblem(doc, ['config'], `${t.config} has no policy section (every authenticated caller may use everything): nothing to test`)]);

  const problems: ConfigProblem[] = [];
  const seen = new Map<string, number>();
  const inputs: PolicyInput[] = [];
  t.cases.forEach((c, i) => {
    const first = seen.get(c.name);
    if (first !== undefined) problems.push(configProblem(doc, ['cases', i, 'name'], `duplicate case name "${c.name}" (first at line ${doc.locate(['cases', first, 'name']).line})`));
    seen.set(c.name, i);
    // A misspelt rule name would only ever fail; say so where it is written.
    if (c.rule !== undefined && c.rule !== 'default' && !p.rules.some((r) => r.name === c.rule)) {
      problems.push(configProblem(doc, ['cases', i, 'rule'], `no rule is named "${c.rule}" (${p.rules.length === 0 ? 'the policy has no rules' : `rules: ${p.rules.map((r) => r.name).join(', ')}`}; or "default")`));
    }
    const d = t.defaults;
    const merged = {
      principal: { ...d?.principal, ...c.principal },
      call: c.call,
      ...pick('time', c.time ?? d?.time),
      ...pick('environment', c.environment ?? d?.environment),
      ...pick('client', c.client ?? d?.client),
    };
    const parsed = probeSchema.safeParse(merged);
    if (!parsed.success) {
      for (const issue of parsed.error.issues) {
        // A path the case does not spell out (an agent from nowhere) is placed at its nearest parent.
        const at = ['cases', i, ...issue.path.map(String)];
        const missingAgent = issue.path.join('.') === 'principal.agent';
        problems.push(configProblem(doc, at, missingAgent ? 'principal.agent is missing (give it here or in defaults.principal)' : `${issue.path.join('.')}: ${issue.message}`));
      }
      return;
    }
    const input = probeInput(snap, parsed.data, now);
    if ('error' in input) problems.push(configProblem(doc, ['cases', i, 'call'], input.error));
    else inputs[i] = input;
  });
  if (problems.length > 0) throw new ConfigError(problems);

  const cases = t.cases.map((c, i): CaseResult => {
    const input = inputs[i]!;
    const j = explain(p, input);
    const rule = j.decision.rule;
    const ok = j.outcome === c.expect && (c.rule === undefined || c.rule === (rule ?? 'default'));
    return {
      name: c.name,
      where: `${doc.file}:${doc.locate(['cases', i]).line}`,
      expected: c.expect,
      expectedRule: c.rule,
      got: j.outcome,
      rule,
      ok,
      explanation: j,
      input,
      relevant: ok ? [] : relevantRules(j, c.expect, c.rule),
    };
  });
  return { file: doc.file, config: configFile, policy: p, cases };
}

function pick<K extends string>(key: K, v: string | undefined): Partial<Record<K, string>> {
  return v === undefined ? {} : ({ [key]: v } as Record<K, string>);
}

const EFFECT_OF: Readonly<Record<Outcome, string>> = { allow: 'allow', deny: 'deny', hidden: 'deny', require_approval: 'require_approval' };

/** What matched, what errored, and every rule of the expected effect or name: why the case came out otherwise. */
function relevantRules(j: Explanation, expected: Outcome, expectedRule: string | undefined): RuleTrace[] {
  return j.rules.filter(
    (r) => r.result !== 'not applicable' && (r.result !== 'not matched' || r.effect === EFFECT_OF[expected] || r.rule === expectedRule),
  );
}
