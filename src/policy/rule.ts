import type { ArgumentSchema } from './arguments.ts';
import type { CelCondition } from './cel.ts';
import { celContext, PolicyEvalError } from './cel.ts';
import type { Check, EvalState } from './checks.ts';
import type { Effect, PolicyInput, PolicyTarget } from './types.ts';

export const KIND_BITS: Readonly<Record<PolicyTarget['kind'], number>> = { tool: 1, prompt: 2, resource: 4 };
export const ALL_KINDS = 7;

/** Constraints an allowing rule puts on the arguments. */
export interface Constraint {
  readonly schema: ArgumentSchema | undefined;
  readonly condition: CelCondition | undefined;
  readonly message: string | undefined;
}

export interface CompiledRule {
  readonly name: string;
  readonly index: number;
  readonly effect: Effect;
  readonly message: string | undefined;
  readonly reveal: boolean;
  readonly shadow: boolean;
  /** `file:line` where the rule is written, for explain output. */
  readonly where: string;
  /** Target kinds the rule applies to (KIND_BITS). */
  readonly kinds: number;
  /** Matchers on the method and target alone: run once per target, see candidates.ts. */
  readonly targetChecks: readonly Check[];
  /** The rest, cheapest first; the CEL condition, if any, last. */
  readonly checks: readonly Check[];
  readonly constraint: Constraint | undefined;
}

/** `maybe`: every check that could be decided matched, and some need the (unknown) arguments. */
export type RuleResult = 'no' | 'yes' | 'maybe' | { readonly error: string };

export function ruleApplies(r: CompiledRule, input: PolicyInput): boolean {
  return (r.kinds & KIND_BITS[input.target.kind]) !== 0;
}

/** Evaluates the rule's caller checks; its target checks passed already (the rule is a candidate). */
export function evaluateRule(r: CompiledRule, input: PolicyInput, st: EvalState): RuleResult {
  let maybe = false;
  const checks = r.checks;
  for (let i = 0; i < checks.length; i++) {
    const c = checks[i]!;
    if (c.usesArgs && input.args === undefined) {
      maybe = true;
      continue;
    }
    try {
      if (!c.test(input, st)) return 'no';
    } catch (err) {
      return { error: errorText(err) };
    }
  }
  return maybe ? 'maybe' : 'yes';
}

/** The first way the arguments break the rule's constraint, or undefined. Evaluation errors break it too. */
export function constraintViolation(r: CompiledRule, input: PolicyInput, st: EvalState): string | undefined {
  const c = r.constraint;
  if (c === undefined) return undefined;
  const args = input.args ?? {};
  const bad = c.schema?.check(args);
  if (bad !== undefined) return bad;
  if (c.condition !== undefined) {
    try {
      if (!c.condition.test((st.cel ??= celContext(input, st.zone)))) return `arguments do not satisfy \`${c.condition.source}\``;
    } catch (err) {
      return `the argument condition could not be evaluated (${errorText(err)})`;
    }
  }
  return undefined;
}

export function errorText(err: unknown): string {
  if (err instanceof PolicyEvalError) return err.message;
  return err instanceof Error ? err.message.split('\n')[0]! : String(err);
}
