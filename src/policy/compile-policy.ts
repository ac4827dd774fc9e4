import { configProblem, type ConfigProblem, type LocatableConfig } from '../config/errors.ts';
import type { LoadedConfig } from '../config/load.ts';
import type { PolicyConfig, RuleConfig } from '../config/schema/policy.ts';
import { isGlob } from './glob.ts';
import { argumentSchemaCompiler, type ArgumentSchemaCompiler } from './arguments.ts';
import { celContext, compileCondition } from './cel.ts';
import { callerChecks, clientCheck, targetChecks, type Check } from './checks.ts';
import { localTime, isTimeZone } from './local-time.ts';
import type { CompiledPolicy } from './policy.ts';
import { ALL_KINDS, KIND_BITS, type CompiledRule, type Constraint } from './rule.ts';
import { compileWindow, type CompiledWindow } from './time-window.ts';
import { compileToolClasses } from './tool-class.ts';

type Path = readonly (string | number)[];

/** Where a rule is written: the config itself, or a policy file. */
interface RuleSource {
  readonly doc: LocatableConfig;
  readonly base: Path;
}

interface Ctx {
  readonly problems: ConfigProblem[];
  readonly upstreams: ReadonlySet<string>;
  readonly zone: string;
  readonly schemas: ArgumentSchemaCompiler;
}

/**
 * Compiles `policy` (inline rules, then each policy file's) into matchers, CEL programs, time windows and
 * schema validators, once. Every problem is placed at its file:line:column; nothing half-compiled serves.
 */
export function compilePolicy(loaded: LoadedConfig, problems: ConfigProblem[]): CompiledPolicy | undefined {
  const cfg: PolicyConfig | undefined = loaded.config.policy;
  if (cfg === undefined) return undefined;
  const before = problems.length;
  if (!isTimeZone(cfg.timezone)) problems.push(configProblem(loaded, ['policy', 'timezone'], `unknown time zone "${cfg.timezone}"`));
  const ctx: Ctx = {
    problems,
    upstreams: new Set(loaded.config.upstreams.map((u) => u.name)),
    zone: isTimeZone(cfg.timezone) ? cfg.timezone : 'UTC',
    schemas: argumentSchemaCompiler(),
  };
  const sources: { rules: readonly RuleConfig[]; src: RuleSource }[] = [
    { rules: cfg.rules, src: { doc: loaded, base: ['policy', 'rules'] } },
    ...loaded.policyFiles.map((f) => ({ rules: f.data.rules, src: { doc: f, base: ['rules'] } })),
  ];
  const rules: CompiledRule[] = [];
  const names = new Map<string, string>();
  for (const { rules: list, src } of sources) {
    list.forEach((r, i) => {
      const at = (...p: Path) => [...src.base, i, ...p];
      const where = whereOf(src.doc, at());
      const other = names.get(r.name);
      if (other !== undefined) problems.push(configProblem(src.doc, at('name'), `duplicate rule name "${r.name}" (first at ${other})`));
      names.set(r.name, where);
      const c = compileRule(r, rules.length, where, src.doc, at, ctx);
      if (c !== undefined) rules.push(c);
    });
  }
  if (problems.length > before) return undefined;
  return Object.freeze({
    defaultEffect: cfg.default,
    shadow: cfg.shadow,
    zone: ctx.zone,
    environment: loaded.config.gateway.environment,
    rules: Object.freeze(rules),
    hasShadowRules: rules.some((r) => r.shadow),
    candidates: new Map(),
    classes: compileToolClasses(loaded.config.upstreams, cfg.defaultToolClass),
  });
}

function whereOf(doc: LocatableConfig, path: Path): string {
  const { line } = doc.locate(path);
  return `${doc.file}:${line}`;
}

function compileRule(r: RuleConfig, index: number, where: string, doc: LocatableConfig, at: (...p: Path) => Path, ctx: Ctx): CompiledRule | undefined {
  const problem = (path: Path, message: string) => ctx.problems.push(configProblem(doc, path, `rule "${r.name}": ${message}`));
  const w = r.when;
  const checks: Check[] = callerChecks(w);
  for (const [i, u] of (w.upstreams ?? []).entries()) {
    if (!isGlob(u) && !ctx.upstreams.has(u)) problem(at('when', 'upstreams', i), `no upstream is named "${u}"`);
  }
  if (w.clients) {
    const bad: { index: number; message: string }[] = [];
    checks.push(clientCheck(w.clients, bad));
    for (const b of bad) problem(at('when', 'clients', b.index), b.message);
  }
  if (w.time) {
    const list = Array.isArray(w.time) ? w.time : [w.time];
    const windows: CompiledWindow[] = [];
    list.forEach((t, i) => {
      const c = compileWindow(t, ctx.zone);
      const path = Array.isArray(w.time) ? at('when', 'time', i) : at('when', 'time');
      if ('error' in c) problem([...path, c.field], c.error);
      else windows.push(c);
    });
    checks.push(timeCheck(windows));
  }
  if (w.condition !== undefined) {
    const c = compileCondition(w.condition);
    if ('error' in c) problem(at('when', 'condition'), `condition: ${c.error}`);
    else checks.push({ field: 'condition', usesArgs: c.usesArgs, test: (i, st) => c.test((st.cel ??= celContext(i, st.zone))), why: () => `condition \`${c.source}\` is false` });
  }
  if (r.reveal && r.effect !== 'deny') problem(at('reveal'), 'reveal applies to deny rules only');
  if (r.message !== undefined && r.effect === 'allow') problem(at('message'), 'an allow rule shows no message (put it on a deny or require_approval rule, or under arguments)');
  let constraint: Constraint | undefined;
  if (r.arguments !== undefined) {
    if (r.effect === 'deny') problem(at('arguments'), 'a deny rule has no argument constraints: match the arguments in when.condition instead');
    const a = r.arguments;
    if (a.schema === undefined && a.condition === undefined) problem(at('arguments'), 'arguments needs a schema or a condition');
    let schema;
    if (a.schema !== undefined) {
      const s = ctx.schemas(a.schema);
      if ('error' in s) problem(at('arguments', 'schema'), s.error);
      else schema = s;
    }
    let condition;
    if (a.condition !== undefined) {
      const c = compileCondition(a.condition);
      if ('error' in c) problem(at('arguments', 'condition'), `condition: ${c.error}`);
      else condition = c;
    }
    constraint = Object.freeze({ schema, condition, message: a.message });
  }
  let kinds = 0;
  if (w.tools || w.classes || w.annotations) kinds |= KIND_BITS.tool;
  if (w.prompts) kinds |= KIND_BITS.prompt;
  if (w.resources) kinds |= KIND_BITS.resource;
  return Object.freeze({
    name: r.name,
    index,
    effect: r.effect,
    message: r.message,
    reveal: r.reveal,
    shadow: r.shadow,
    where,
    kinds: kinds === 0 ? ALL_KINDS : kinds,
    targetChecks: Object.freeze(targetChecks(w)),
    checks: Object.freeze(checks),
    constraint,
  });
}

function timeCheck(windows: readonly CompiledWindow[]): Check {
  return {
    field: 'time',
    usesArgs: false,
    test: (i) => {
      for (let k = 0; k < windows.length; k++) if (windows[k]!.test(i.now)) return true;
      return false;
    },
    why: (i) => {
      const z = windows[0]?.zone ?? 'UTC';
      const t = localTime(z, i.now);
      const p2 = (n: number) => String(n).padStart(2, '0');
      const day = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'][t.weekday];
      return `${t.year}-${p2(t.month)}-${p2(t.day)} ${p2(t.hour)}:${p2(t.minute)} ${day} ${z} is outside ${windows.map((w) => w.describe()).join(' and ')}`;
    },
  };
}
