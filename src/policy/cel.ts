/**
 * CEL conditions of policy rules, on @marcbachmann/cel-js. Every condition is parsed and type-checked
 * when the config is compiled, against one shared environment that declares the variables below; a
 * decision then only evaluates. Any evaluation error, or a result that is not a bool, is thrown as
 * PolicyEvalError, which the engine turns into a deny.
 *
 * Numbers: CEL integer literals are ints, while call arguments and claims come from JSON, whose
 * numbers are doubles (as in CEL's own JSON mapping). Comparisons mix them freely (`args.limit > 100`,
 * `args.n == 1`); arithmetic does not (`int(args.n) + 1`, or `args.n + 1.0`). The `now` fields are ints.
 */
import { Environment } from '@marcbachmann/cel-js';
import type { ASTNode } from '@marcbachmann/cel-js';
import type { Principal } from '../pipeline/principal.ts';
import { isTimeZone, localTime } from './local-time.ts';
import type { LocalTime } from './local-time.ts';
import type { PolicyInput, PolicyTarget } from './types.ts';

// Built once: creating an environment is the expensive part of the library.
const env = new Environment({
  // Literal lists mixing ints, doubles and strings (`args.limit in [10, 2.5]`) are natural next to
  // JSON values; requiring `dyn(...)` around them would only trip policy authors.
  homogeneousAggregateLiterals: false,
  // A condition is a line or two of config; these bounds stop a pathological one at load time.
  limits: { maxAstNodes: 2_000, maxDepth: 32, maxListElements: 500, maxMapEntries: 200, maxCallArguments: 16 },
})
  .registerVariable('principal', 'map<string, dyn>', {
    description: 'The caller: id, agent, agentName, user, tenant, roles, groups, scopes, authMethod, attributes',
  })
  .registerVariable('target', 'map<string, dyn>', {
    description: 'What is reached: kind, upstream, name, upstreamName, class, annotations',
  })
  .registerVariable('method', 'string', { description: 'The MCP method, e.g. tools/call' })
  .registerVariable('args', 'map<string, dyn>', { description: 'Call arguments; {} when not known' })
  .registerVariable('environment', 'string', { description: "The gateway's environment name; '' when unset" })
  .registerVariable('client', 'map<string, string>', { description: 'The client connection: address' })
  .registerVariable('now', 'map<string, int>', {
    description: "Wall-clock time in the policy's time zone: year, month, day, hour, minute, weekday (0=Sunday)",
  })
  .registerVariable('time', 'google.protobuf.Timestamp', { description: 'The time of the decision' });

/** Evaluation of a condition failed; the engine denies. */
export class PolicyEvalError extends Error {
  override readonly name = 'PolicyEvalError';
  /** The library's error code (e.g. `no_such_key`), or `not_bool`. */
  readonly code: string;
  constructor(message: string, code: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
  }
}

export interface CelCondition {
  readonly source: string;
  /** The condition reads `args`: when listing, where arguments are unknown, it may match. */
  readonly usesArgs: boolean;
  /** Throws PolicyEvalError on any evaluation error or a non-bool result. */
  test(ctx: CelContext): boolean;
}

type Program = (context: CelContext) => unknown;

class Condition implements CelCondition {
  readonly source: string;
  readonly usesArgs: boolean;
  readonly #program: Program;

  constructor(source: string, usesArgs: boolean, program: Program) {
    this.source = source;
    this.usesArgs = usesArgs;
    this.#program = program;
  }

  test(ctx: CelContext): boolean {
    let result: unknown;
    try {
      result = this.#program(ctx);
    } catch (err) {
      const e = err as { summary?: unknown; message?: unknown; code?: unknown } | null | undefined;
      const text = typeof e?.summary === 'string' ? e.summary : String(e?.message ?? err);
      throw new PolicyEvalError(`condition failed: ${text}`, typeof e?.code === 'string' ? e.code : 'error', { cause: err });
    }
    if (typeof result === 'boolean') return result;
    throw new PolicyEvalError(`condition returned ${celTypeOf(result)}, not a bool`, 'not_bool');
  }
}

/** Parses and type-checks a condition; the error is one line: the library's summary and where. */
export function compileCondition(source: string): CelCondition | { readonly error: string } {
  if (typeof source !== 'string' || source.trim() === '') return { error: 'condition is empty' };
  let parsed: ReturnType<typeof env.parse>;
  try {
    parsed = env.parse(source);
  } catch (err) {
    return { error: describeError(err, source) };
  }
  // check() also records the types on the AST, so evaluation skips its own per-call type check.
  const checked = parsed.check();
  if (!checked.valid) return { error: describeError(checked.error, source) };
  if (checked.type !== 'bool' && checked.type !== 'dyn') {
    return { error: `condition must be a bool, but it is ${checked.type}` };
  }
  const badLiteral = findBadLiteral(parsed.ast);
  if (badLiteral !== undefined) return { error: badLiteral };
  return new Condition(source, references(parsed.ast, 'args'), parsed as Program);
}

function describeError(err: unknown, source: string): string {
  const e = err as { summary?: unknown; message?: unknown; range?: { start?: unknown; end?: unknown } } | undefined;
  const summary =
    typeof e?.summary === 'string' ? e.summary : String(e?.message ?? err).split('\n', 1)[0] ?? 'invalid condition';
  const start = e?.range?.start;
  if (typeof start !== 'number') return summary;
  const end = typeof e?.range?.end === 'number' ? e.range.end : start;
  const before = source.slice(0, start).split('\n');
  const line = before.length;
  const column = (before[before.length - 1]?.length ?? 0) + 1;
  const where = line > 1 ? `line ${line}, column ${column}` : `column ${column}`;
  const excerpt = source.slice(start, end).replace(/\s+/g, ' ').trim();
  if (excerpt === '') return `${summary} at ${where}`;
  return `${summary} at ${where}: ${excerpt.length > 60 ? `${excerpt.slice(0, 57)}...` : excerpt}`;
}

/** Whether the identifier `name` occurs anywhere in the tree (macro bodies included). */
function references(node: ASTNode, name: string): boolean {
  if (node.op === 'id') return node.args === name;
  if (node.op === 'value') return false;
  return someNode(node.args, (n) => references(n, name));
}

/** Operands are nodes, strings (names, fields) or arrays of either, nested (map entries). */
function someNode(value: unknown, predicate: (node: ASTNode) => boolean): boolean {
  if (Array.isArray(value)) return value.some((v) => someNode(v, predicate));
  if (typeof value === 'object' && value !== null && 'op' in value) return predicate(value as ASTNode);
  return false;
}

const ZONED_GETTERS = new Set([
  'getFullYear', 'getMonth', 'getDate', 'getDayOfMonth', 'getDayOfWeek', 'getDayOfYear',
  'getHours', 'getMinutes', 'getSeconds', 'getMilliseconds',
]);

/**
 * Literal arguments the library only looks at when evaluating: a time zone given to a timestamp
 * getter and a `matches` pattern. Checked now, they are a config error instead of a deny on every call.
 */
function findBadLiteral(node: ASTNode): string | undefined {
  let found: string | undefined;
  const visit = (n: ASTNode): boolean => {
    if (n.op === 'rcall' && n.args[2].length === 1) {
      const method = n.args[0];
      const arg = n.args[2][0];
      const literal = arg?.op === 'value' && typeof arg.args === 'string' ? arg.args : undefined;
      if (literal !== undefined && ZONED_GETTERS.has(method) && !isTimeZone(literal)) {
        found = `unknown time zone ${JSON.stringify(literal)} in ${method}()`;
        return true;
      }
      if (literal !== undefined && method === 'matches') {
        try {
          new RegExp(literal);
        } catch (err) {
          found = `invalid regular expression ${JSON.stringify(literal)} in matches(): ${(err as Error).message}`;
          return true;
        }
      }
    }
    if (n.op === 'id' || n.op === 'value') return false;
    return someNode(n.args, visit);
  };
  visit(node);
  return found;
}

function celTypeOf(value: unknown): string {
  switch (typeof value) {
    case 'string': return 'string';
    case 'bigint': return 'int';
    case 'number': return 'double';
    case 'boolean': return 'bool';
    case 'object':
      if (value === null) return 'null';
      if (Array.isArray(value) || value instanceof Set) return 'list';
      if (value instanceof Date) return 'timestamp';
      if (value instanceof Uint8Array) return 'bytes';
      if (value.constructor === Object || value.constructor === undefined || value instanceof Map) return 'map';
      return value.constructor.name;
    default: return typeof value;
  }
}

// ---- Variables of one decision ----

const EMPTY_MAP: Readonly<Record<string, unknown>> = Object.freeze({});
const EMPTY_LIST: readonly unknown[] = Object.freeze([]);

// Principals and targets are immutable and reused across decisions (every item of one listing shares
// the principal; the catalog keeps its targets), so their CEL maps are built once per object.
const principalMaps = new WeakMap<Principal, Readonly<Record<string, unknown>>>();
const targetMaps = new WeakMap<PolicyTarget, Readonly<Record<string, unknown>>>();
const nowMaps = new WeakMap<LocalTime, Readonly<Record<string, bigint>>>();

/**
 * The variables of one decision. The library reads them as plain properties, so each is a getter
 * built on first use: a condition on `method` never builds the principal map or a Date.
 */
class DecisionVariables {
  readonly #input: PolicyInput;
  readonly #zone: string;
  #principal: Readonly<Record<string, unknown>> | undefined;
  #target: Readonly<Record<string, unknown>> | undefined;
  #client: Readonly<Record<string, string>> | undefined;
  #now: Readonly<Record<string, bigint>> | undefined;
  #time: Date | undefined;

  constructor(input: PolicyInput, zone: string) {
    this.#input = input;
    this.#zone = zone;
  }

  get principal(): Readonly<Record<string, unknown>> {
    return (this.#principal ??= principalMap(this.#input.principal));
  }

  get target(): Readonly<Record<string, unknown>> {
    return (this.#target ??= targetMap(this.#input.target));
  }

  get method(): string {
    return this.#input.method;
  }

  get args(): Readonly<Record<string, unknown>> {
    return this.#input.args ?? EMPTY_MAP;
  }

  get environment(): string {
    return this.#input.environment ?? '';
  }

  get client(): Readonly<Record<string, string>> {
    const address = this.#input.clientAddress;
    return (this.#client ??= address === undefined ? (EMPTY_MAP as Record<string, string>) : { address });
  }

  get now(): Readonly<Record<string, bigint>> {
    return (this.#now ??= nowMap(localTime(this.#zone, this.#input.now)));
  }

  get time(): Date {
    return (this.#time ??= new Date(this.#input.now));
  }
}

/** What conditions evaluate against; build with celContext. */
export type CelContext = DecisionVariables;

/** The variables for one decision; `zone` is the policy's time zone, for `now`. */
export function celContext(input: PolicyInput, zone: string): CelContext {
  return new DecisionVariables(input, zone);
}

/** localTime hands out one object per zone and minute, so within a minute this is a cache hit. */
function nowMap(t: LocalTime): Readonly<Record<string, bigint>> {
  let map = nowMaps.get(t);
  if (map === undefined) {
    map = Object.freeze({
      year: BigInt(t.year), month: BigInt(t.month), day: BigInt(t.day),
      hour: BigInt(t.hour), minute: BigInt(t.minute), weekday: BigInt(t.weekday),
    });
    nowMaps.set(t, map);
  }
  return map;
}

function principalMap(p: Principal): Readonly<Record<string, unknown>> {
  let map = principalMaps.get(p);
  if (map !== undefined) return map;
  const m: Record<string, unknown> = {
    id: p.id,
    agent: p.agent,
    authMethod: p.authMethod,
    roles: p.roles ?? EMPTY_LIST,
    groups: p.groups ?? EMPTY_LIST,
    scopes: p.scopes ?? EMPTY_LIST,
    attributes: p.attributes ?? EMPTY_MAP,
  };
  // Absent fields stay absent, so `has(principal.user)` tells.
  if (p.agentName !== undefined) m.agentName = p.agentName;
  if (p.user !== undefined) m.user = p.user;
  if (p.tenant !== undefined) m.tenant = p.tenant;
  map = Object.freeze(m);
  principalMaps.set(p, map);
  return map;
}

function targetMap(t: PolicyTarget): Readonly<Record<string, unknown>> {
  let map = targetMaps.get(t);
  if (map !== undefined) return map;
  const m: Record<string, unknown> = { kind: t.kind, name: t.name, annotations: t.annotations ?? EMPTY_MAP };
  if (t.upstream !== undefined) m.upstream = t.upstream;
  if (t.upstreamName !== undefined) m.upstreamName = t.upstreamName;
  if (t.class !== undefined) m.class = t.class;
  map = Object.freeze(m);
  targetMaps.set(t, map);
  return map;
}
