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
  const traits = { time: false, client: false, principalDetail: false };
  for (const { rules: list, src } of sources) {
    list.forEach((r, i) => {
      const at = (...p: Path) => [...src.base, i, ...p];
      const where = whereOf(src.doc, at());
      const other = names.get(r.name);
      if (other !== undefined) problems.push(configProblem(src.doc, at('name'), `duplicate rule name "${r.name}" (first at ${other})`));
      names.set(r.name, where);
      const c = compileRule(r, rules.length, where, src.doc, at, ctx);
      if (c !== undefined) {
        rules.push(c);
        noteListTraits(traits, r, c, loaded.config.gateway.environment);
      }
    });
  }
  if (problems.length > before) return undefined;
  const policy: CompiledPolicy = Object.freeze({
    defaultEffect: cfg.default,
    shadow: cfg.shadow,
    zone: ctx.zone,
    environment: loaded.config.gateway.environment,
    rules: Object.freeze(rules),
    hasShadowRules: rules.some((r) => r.shadow),
    candidates: new Map(),
    classes: compileToolClasses(loaded.config.upstreams, cfg.defaultToolClass),
  });
  listTraitsOf.set(policy, Object.freeze(traits));
  return policy;
}

/**
 * What, besides the principal's matchable fields and the target, a policy's list decisions can depend
 * on. Lists are filtered per caller; a memo of the filtered lists must key on all of it, and cannot be
 * kept at all when decisions depend on the time.
 */
export interface ListTraits {
  /** An enforced rule that listing evaluates looks at the time: a time window, or a condition reading `now` or `time`. */
  readonly time: boolean;
  /** ... at the client address: `clients`, or a condition reading `client`. */
  readonly client: boolean;
  /** ... at principal fields no matcher reads (attributes, agentName): a condition reading `principal`. */
  readonly principalDetail: boolean;
}

const listTraitsOf = new WeakMap<CompiledPolicy, ListTraits>();

/** The list traits of a policy compiled by compilePolicy; undefined for one built any other way (treat as unknown). */
export function listTraits(p: CompiledPolicy): ListTraits | undefined {
  return listTraitsOf.get(p);
}

/**
 * Listing runs a rule's checks with the arguments unknown (rule.ts evaluateRule): a condition that reads
 * `args` is never evaluated there, shadow rules are skipped (decide.ts visible), and a rule for another
 * environment never matches. Variables are found by name in the condition's text, which can only
 * over-report (a string literal "now"): safe, as an over-report only costs the memo.
 */
function noteListTraits(t: { time: boolean; client: boolean; principalDetail: boolean }, r: RuleConfig, c: CompiledRule, environment: string | undefined): void {
  if (r.shadow) return;
  // The environment is fixed per config: a rule for another one never decides here (prod-only office hours).
  if (r.when.environments !== undefined && (environment === undefined || !r.when.environments.includes(environment))) return;
  if (r.when.time !== undefined) t.time = true;
  if (r.when.clients !== undefined) t.client = true;
  const cond = c.checks.find((k) => k.field === 'condition');
  const text = r.when.condition;
  if (cond === undefined || cond.usesArgs || text === undefined) return;
  if (/\b(?:now|time)\b/.test(text)) t.time = true;
  if (/\bclient\b/.test(text)) t.client = true;
  if (/\bprincipal\b/.test(text)) t.principalDetail = true;
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
