import type { EvalState } from './checks.ts';
import { decide, outcomeOf, verdictOf, visibleInLists, type Outcome, type PolicyDecision } from './decide.ts';
import type { CompiledPolicy } from './policy.ts';
import { errorText, ruleApplies, type CompiledRule } from './rule.ts';
import type { PolicyInput } from './types.ts';

export interface RuleTrace {
  readonly rule: string;
  readonly effect: CompiledRule['effect'];
  readonly shadow: boolean;
  readonly where: string;
  /** `matched`: every matcher held; `may match`: the rest depends on unknown arguments. */
  readonly result: 'matched' | 'not matched' | 'may match' | 'error' | 'not applicable';
  /** Why it did not match (every matcher that failed), or the error, or what it decided. */
  readonly reasons: readonly string[];
}

export interface Explanation {
  readonly decision: PolicyDecision;
  /** False when the whole policy is in shadow mode: the decision is recorded, not enforced. */
  readonly enforced: boolean;
  /** Whether the target shows in the caller's lists; a hidden target answers a call like one that does not exist. */
  readonly listed: boolean;
  /** What the agent meets when the policy is enforced: the effect, or `hidden`. */
  readonly outcome: Outcome;
  readonly defaultEffect: 'allow' | 'deny';
  readonly rules: readonly RuleTrace[];
}

const KIND_NAMES = { tool: 'tools', prompt: 'prompts', resource: 'resources' } as const;

/**
 * For people, not the hot path: every rule with what it made of the call. Unlike decide() it looks at
 * every matcher of every rule, so one run shows all the reasons a rule missed.
 */
export function explain(p: CompiledPolicy, input: PolicyInput): Explanation {
  const st: EvalState = { cel: undefined, zone: p.zone };
  const rules = p.rules.map((r): RuleTrace => {
    const base = { rule: r.name, effect: r.effect, shadow: r.shadow, where: r.where };
    if (!ruleApplies(r, input)) return { ...base, result: 'not applicable', reasons: [`applies to ${kindsOf(r)} only; this is a ${input.target.kind}`] };
    const reasons: string[] = [];
    let maybe = false;
    let failed: string | undefined;
    for (const c of [...r.targetChecks, ...r.checks]) {
      if (c.usesArgs && input.args === undefined) {
        maybe = true;
        continue;
      }
      try {
        if (!c.test(input, st)) reasons.push(`${c.field}: ${c.why(input)}`);
      } catch (err) {
        failed = `${c.field}: ${errorText(err)}`;
        reasons.push(failed);
      }
    }
    // An error decides only when every other matcher held: decide() never gets that far otherwise.
    if (failed !== undefined && reasons.length === 1) return { ...base, result: 'error', reasons: [failed, verdictOf(r, input, st, failed.slice(failed.indexOf(': ') + 2)).message] };
    if (reasons.length > 0) return { ...base, result: 'not matched', reasons };
    if (maybe) return { ...base, result: 'may match', reasons: ['depends on the arguments, which are not given'] };
    const v = verdictOf(r, input, st, undefined);
    return { ...base, result: 'matched', reasons: [v.reason === 'constraint' ? v.message : `decides ${v.effect}`] };
  });
  const decision = decide(p, input);
  return {
    decision,
    enforced: !p.shadow,
    listed: p.shadow || visibleInLists(p, input),
    outcome: outcomeOf(p, input, decision),
    defaultEffect: p.defaultEffect,
    rules,
  };
}

function kindsOf(r: CompiledRule): string {
  const out: string[] = [];
  if (r.kinds & 1) out.push(KIND_NAMES.tool);
  if (r.kinds & 2) out.push(KIND_NAMES.prompt);
  if (r.kinds & 4) out.push(KIND_NAMES.resource);
  return out.join(' and ');
}
