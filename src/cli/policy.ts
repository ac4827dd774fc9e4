// `gatehouse policy test` and `gatehouse policy explain`: policy decisions offline, against a config
// file, judged by the same code as the admin API's explain (policy/probe.ts). Exit codes: 0 all good,
// 1 a test case failed, 2 a flag, test file or config is wrong.
import { relative, sep } from 'node:path';
import { compileConfig } from '../config/compile.ts';
import { ConfigError } from '../config/errors.ts';
import { loadConfig } from '../config/load.ts';
import type { Outcome } from '../policy/decide.ts';
import { explain, type Explanation, type RuleTrace } from '../policy/explain.ts';
import type { CompiledPolicy } from '../policy/policy.ts';
import { explanationJson, probeInput, probeSchema } from '../policy/probe.ts';
import { runTestFile, type CaseResult, type SnapshotCache, type TestFileResult } from '../policy/test-file.ts';
import type { PolicyInput } from '../policy/types.ts';
import { CliError, info, out } from './store-command.ts';
import { table } from './table.ts';

/** A path as the user would type it: relative to the working folder when inside it. */
function shown(path: string): string {
  const r = relative(process.cwd(), path);
  return r === '' || r.startsWith(`..${sep}`) || r === '..' ? path : r;
}

/** `file:line` with the file shortened. */
function place(where: string): string {
  const i = where.lastIndexOf(':');
  return i < 0 ? shown(where) : `${shown(where.slice(0, i))}${where.slice(i)}`;
}

const json = (v: unknown) => `${JSON.stringify(v, (_k, x: unknown) => (x === undefined ? null : x), 2)}\n`;

// ---- policy test -------------------------------------------------------------------------------

export async function policyTestCommand(files: readonly string[], o: { json?: boolean }): Promise<void> {
  const cache: SnapshotCache = new Map();
  const results: TestFileResult[] = [];
  const broken: { file: string; problems: string[] }[] = [];
  for (const f of files) {
    try {
      results.push(await runTestFile(f, cache));
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      broken.push({ file: f, problems: err.message.split('\n') });
      if (!o.json) info(err.message);
    }
  }
  const cases = results.flatMap((r) => r.cases);
  const failed = cases.filter((c) => !c.ok).length;
  if (o.json) {
    out(json({ ok: failed === 0 && broken.length === 0, passed: cases.length - failed, failed, files: [...results.map(fileJson), ...broken.map((b) => ({ file: b.file, errors: b.problems }))] }));
  } else {
    for (const r of results) out(fileText(r));
    const summary = `${cases.length} case${cases.length === 1 ? '' : 's'} in ${results.length} file${results.length === 1 ? '' : 's'}: ${cases.length - failed} passed, ${failed} failed`;
    out(`${summary}${broken.length > 0 ? `; ${broken.length} file${broken.length === 1 ? '' : 's'} could not be run` : ''}\n`);
  }
  process.exitCode = broken.length > 0 ? 2 : failed > 0 ? 1 : 0;
}

const ruleOf = (rule: string | undefined) => rule ?? '(default)';

function fileText(r: TestFileResult): string {
  const rows = r.cases.map((c) => ({ case: c.name, expected: c.expected, got: c.got, rule: ruleOf(c.rule), result: c.ok ? 'ok' : 'FAIL' }));
  let text = `${shown(r.file)}  (config ${shown(r.config)}${r.policy.shadow ? ', policy in shadow mode: decisions are not enforced' : ''})\n${table(rows)}`;
  for (const c of r.cases.filter((x) => !x.ok)) text += failureText(c);
  return `${text}\n`;
}

function failureText(c: CaseResult): string {
  const d = c.explanation.decision;
  const want = c.expectedRule === undefined ? c.expected : `${c.expected} by ${c.expectedRule === 'default' ? 'the default' : `rule "${c.expectedRule}"`}`;
  const by = d.rule === undefined ? 'the default' : `rule "${d.rule}"`;
  let text = `\nFAIL "${c.name}" (${place(c.where)}): expected ${want}, got ${c.got} by ${by}${d.message === '' ? '' : `: ${d.message}`}\n`;
  text += `  ${targetLine(c.input)}\n`;
  if (c.relevant.length === 0) text += `  no rule matched or could have matched; the default is ${c.explanation.defaultEffect}\n`;
  text += traces(c.relevant, '  ');
  return text;
}

function traces(rules: readonly RuleTrace[], indent: string): string {
  const cells = rules.map((r) => [r.rule, `${r.effect}${r.shadow ? ' (shadow)' : ''}`, r.result, place(r.where)]);
  const widths = [0, 1, 2].map((k) => Math.max(...cells.map((c) => c[k]!.length)));
  let text = '';
  rules.forEach((r, i) => {
    text += `${indent}${cells[i]!.map((c, k) => (k < 3 ? c.padEnd(widths[k]!) : c)).join('  ')}\n`;
    for (const why of r.reasons) text += `${indent}    ${why}\n`;
  });
  return text;
}

function fileJson(r: TestFileResult): Record<string, unknown> {
  return {
    file: r.file,
    config: r.config,
    cases: r.cases.map((c) => ({
      name: c.name,
      where: c.where,
      ok: c.ok,
      expected: c.expected,
      expectedRule: c.expectedRule,
      got: c.got,
      rule: c.rule,
      message: c.explanation.decision.message,
      ...(c.ok ? {} : { rules: c.relevant }),
    })),
  };
}

// ---- policy explain ----------------------------------------------------------------------------

export interface ExplainOptions {
  config: string;
  agent: string;
  agentName?: string;
  user?: string;
  tenant?: string;
  roles?: string;
  groups?: string;
  scopes?: string;
  authMethod?: string;
  authSource?: string;
  attributes?: string;
  tool?: string;
  prompt?: string;
  resource?: string;
  args?: string;
  method?: string;
  upstream?: string;
  annotations?: string;
  time?: string;
  env?: string;
  client?: string;
  json?: boolean;
}

/** Flags by probe field, for error messages that name what the user typed. */
const FLAGS: Readonly<Record<string, string>> = {
  'principal.agentName': '--agent-name',
  'principal.authMethod': '--auth-method',
  'principal.authSource': '--auth-source',
  'call.arguments': '--args',
  call: '--tool/--prompt/--resource',
  environment: '--env',
};

/** `--flag: message` for a probe field path (`principal.roles.1` is `--roles`). */
function flagOf(path: readonly PropertyKey[]): string {
  const names = path.filter((k): k is string => typeof k === 'string');
  const key = names.slice(0, 2).join('.');
  const last = names[1] ?? names[0] ?? '';
  return FLAGS[key] ?? `--${last.replace(/[A-Z]/g, (ch) => `-${ch.toLowerCase()}`)}`;
}

/** probeInput's errors name probe fields; here they are flags. */
function withFlag(message: string): string {
  return message.replace(/^time: /, '--time: ').replaceAll('call.upstream', '--upstream').replaceAll('call.method', '--method');
}

function list(flag: string, v: string | undefined): string[] | undefined {
  if (v === undefined) return undefined;
  const items = v.split(',').map((s) => s.trim());
  if (items.some((s) => s === '')) throw new CliError(`${flag}: "${v}" has an empty item (give a comma-separated list: a,b)`);
  return items;
}

function jsonObject(flag: string, v: string | undefined): Record<string, unknown> | undefined {
  if (v === undefined) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(v);
  } catch (err) {
    throw new CliError(`${flag}: not JSON (${(err as Error).message})`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new CliError(`${flag}: must be a JSON object, e.g. '{"table": "fy2026_ledger"}'`);
  return parsed as Record<string, unknown>;
}

function probeOf(o: ExplainOptions): unknown {
  const defined = (obj: Record<string, unknown>) => Object.fromEntries(Object.entries(obj).filter(([, v]) => v !== undefined));
  return defined({
    principal: defined({
      agent: o.agent,
      agentName: o.agentName,
      user: o.user,
      tenant: o.tenant,
      roles: list('--roles', o.roles),
      groups: list('--groups', o.groups),
      scopes: list('--scopes', o.scopes),
      authMethod: o.authMethod,
      authSource: o.authSource,
      attributes: jsonObject('--attributes', o.attributes),
    }),
    call: defined({ tool: o.tool, prompt: o.prompt, resource: o.resource, arguments: jsonObject('--args', o.args), method: o.method, upstream: o.upstream, annotations: jsonObject('--annotations', o.annotations) }),
    time: o.time,
    environment: o.env,
    client: o.client,
  });
}

export async function policyExplainCommand(o: ExplainOptions): Promise<void> {
  try {
    const probe = probeSchema.safeParse(probeOf(o));
    if (!probe.success) throw new CliError(probe.error.issues.map((i) => `${flagOf(i.path)}: ${i.message}`).join('\n'));
    const snap = compileConfig(await loadConfig(o.config));
    const p = snap.policy;
    if (p === undefined) throw new CliError(`${shown(snap.file)} has no policy section: every authenticated caller may use everything`);
    const input = probeInput(snap, probe.data);
    if ('error' in input) throw new CliError(withFlag(input.error));
    const e = explain(p, input);
    out(o.json ? json(explanationJson(p, input, e)) : explainText(p, input, e));
  } catch (err) {
    if (err instanceof CliError) process.stderr.write(`gatehouse: ${err.message.replace(/\n/g, '\ngatehouse: ')}\n`);
    else if (err instanceof ConfigError) process.stderr.write(`${err.message}\n`);
    else throw err;
    process.exitCode = 2;
  }
}

function targetLine(i: PolicyInput): string {
  const t = i.target;
  const pr = i.principal;
  const where = [`upstream ${t.upstream ?? '(none)'}`, t.upstreamName !== undefined && t.upstreamName !== t.name ? `its name ${t.upstreamName}` : undefined, t.class === undefined ? undefined : `class ${t.class}`].filter(Boolean).join(', ');
  const who = [`agent ${pr.agent}`, pr.user === undefined ? undefined : `user ${pr.user}`, pr.tenant === undefined ? undefined : `tenant ${pr.tenant}`, pr.roles.length > 0 ? `roles [${pr.roles.join(', ')}]` : undefined].filter(Boolean).join(', ');
  return `${i.method} ${t.kind} ${t.name} (${where}); ${who}; environment ${i.environment ?? '(none)'}; ${new Date(i.now).toISOString()}`;
}

const OUTCOME_TEXT: Readonly<Record<Outcome, string>> = {
  allow: 'allowed',
  deny: 'refused with the message above; the target stays visible',
  require_approval: 'needs approval: refused with the message above until approvals exist',
  hidden: 'hidden: not listed, and a call is answered like a name that does not exist',
};

function explainText(p: CompiledPolicy, input: PolicyInput, e: Explanation): string {
  const d = e.decision;
  const ruleWhere = (name: string | undefined) => (name === undefined ? 'the default' : `rule "${name}" (${place(p.rules.find((r) => r.name === name)?.where ?? '?')})`);
  let text = `${targetLine(input)}\n\n`;
  text += `Decision:  ${d.effect}, by ${ruleWhere(d.rule)}\n`;
  if (d.message !== '') text += `Message:   ${d.message}\n`;
  text += `Outcome:   ${OUTCOME_TEXT[e.outcome]}\n`;
  text += `Listed:    ${e.listed ? 'yes' : 'no'}\n`;
  text += `Enforced:  ${e.enforced ? 'yes' : 'no: the policy is in shadow mode (decisions are recorded, not enforced)'}\n`;
  if (d.shadow !== undefined) text += `Shadow:    with its shadow rules enforced the policy would decide ${d.shadow.effect}, by ${ruleWhere(d.shadow.rule)}\n`;
  text += `\nRules (${e.rules.length}; default ${e.defaultEffect}):\n`;
  text += e.rules.length === 0 ? '  (none)\n' : traces(e.rules, '  ');
  return text;
}
