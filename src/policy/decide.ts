import type { EvalState } from './checks.ts';
import type { CompiledPolicy } from './policy.ts';
import { candidatesFor } from './candidates.ts';
import { constraintViolation, evaluateRule, type CompiledRule } from './rule.ts';
import type { Effect, PolicyInput } from './types.ts';
import { LIST_METHOD } from './input.ts';

export type DecisionReason = 'rule' | 'default' | 'constraint' | 'error';

export interface Verdict {
  readonly effect: Effect;
  /** The deciding rule; undefined when the default decided. */
  readonly rule: string | undefined;
  readonly reason: DecisionReason;
  /** What the agent is told when the call is not allowed. */
  readonly message: string;
}

export interface PolicyDecision extends Verdict {
  /** What the policy would decide with its shadow rules enforced, when that differs. */
  readonly shadow: Verdict | undefined;
}

/** Deny overrides require_approval, which overrides allow; within an effect the first rule in order is named. */
class Tally {
  deny: Verdict | undefined;
  approve: Verdict | undefined;
  allow: Verdict | undefined;
  add(v: Verdict): void {
    if (v.effect === 'deny') this.deny ??= v;
    else if (v.effect === 'require_approval') this.approve ??= v;
    else this.allow ??= v;
  }
  result(p: CompiledPolicy): Verdict {
    return this.deny ?? this.approve ?? this.allow ?? defaultVerdict(p);
  }
}

const DEFAULT_ALLOW: Verdict = Object.freeze({ effect: 'allow', rule: undefined, reason: 'default', message: '' });
const DEFAULT_DENY: Verdict = Object.freeze({ effect: 'deny', rule: undefined, reason: 'default', message: 'No policy rule allows this call' });

function defaultVerdict(p: CompiledPolicy): Verdict {
  return p.defaultEffect === 'allow' ? DEFAULT_ALLOW : DEFAULT_DENY;
}

export function verdictOf(r: CompiledRule, input: PolicyInput, st: EvalState, error: string | undefined): Verdict {
  if (error !== undefined) {
    return { effect: 'deny', rule: r.name, reason: 'error', message: `Policy rule "${r.name}" could not be evaluated (${error}); the call is denied` };
  }
  if (r.effect === 'deny') return { effect: 'deny', rule: r.name, reason: 'rule', message: r.message ?? `Denied by policy rule "${r.name}"` };
  const broken = constraintViolation(r, input, st);
  if (broken !== undefined) {
    const head = r.constraint?.message ?? `The arguments break policy rule "${r.name}"`;
    return { effect: 'deny', rule: r.name, reason: 'constraint', message: `${head}: ${broken}` };
  }
  if (r.effect === 'require_approval') {
    return {
      effect: 'require_approval',
      rule: r.name,
      reason: 'rule',
      message: r.message ?? `This call needs a human's approval (policy rule "${r.name}"); approvals are not available on this gateway yet, so it is denied`,
    };
  }
  return { effect: 'allow', rule: r.name, reason: 'rule', message: '' };
}

/**
 * The decision for one call with known arguments. One pass over the rules, skipping those for other
 * target kinds; once an enforced deny is found only shadow rules can still change what is recorded,
 * so without shadow rules the pass stops there.
 */
export function decide(p: CompiledPolicy, input: PolicyInput): PolicyDecision {
  const st: EvalState = { cel: undefined, zone: p.zone };
  const enforced = new Tally();
  const all = p.hasShadowRules ? new Tally() : undefined;
  const rules = candidatesFor(p, input);
  for (let i = 0; i < rules.length; i++) {
    const r = rules[i]!;
    if (enforced.deny !== undefined && (all === undefined || !r.shadow)) {
      if (all === undefined) break;
      continue;
    }
    const res = evaluateRule(r, input, st);
    if (res === 'no') continue;
    const v = verdictOf(r, input, st, typeof res === 'object' ? res.error : undefined);
    if (!r.shadow) enforced.add(v);
    all?.add(v);
  }
  const out = enforced.result(p);
  const would = all?.result(p);
  const differs = would !== undefined && (would.effect !== out.effect || would.rule !== out.rule);
  return { ...out, shadow: differs ? would : undefined };
}

/**
 * Whether a caller may see a target in a list: could some call to it be allowed (or approved)? Arguments
 * are unknown here, so conditions on them count as "may match": an allow that may match lists the target,
 * a deny that may match does not hide it. A deny that surely matches hides it unless the rule reveals.
 */
export function visible(p: CompiledPolicy, input: PolicyInput): boolean {
  const st: EvalState = { cel: undefined, zone: p.zone };
  let allowed = false;
  const rules = candidatesFor(p, input);
  for (let i = 0; i < rules.length; i++) {
    const r = rules[i]!;
    if (r.shadow) continue;
    const res = evaluateRule(r, input, st);
    if (res === 'no') continue;
    // An evaluation error denies every call it would decide: the target is as good as forbidden.
    if (typeof res === 'object') return false;
    if (r.effect === 'deny') {
      if (res === 'yes') return r.reveal;
      continue;
    }
    allowed = true;
  }
  return allowed || p.defaultEffect === 'allow';
}

/** What the agent meets: the effect, or `hidden` when it is refused a target it may not even list. */
export type Outcome = Effect | 'hidden';

/**
 * The answer the authorize filter gives for a decision. Hidden or merely refused is judged as lists
 * judge it: by the call the target's list stands for, with the arguments unknown.
 */
export function outcomeOf(p: CompiledPolicy, input: PolicyInput, d: Verdict): Outcome {
  if (d.effect === 'allow') return 'allow';
  return visibleInLists(p, input) ? d.effect : 'hidden';
}

/** Whether an enforcing policy lists the target for this caller (the call's arguments play no part). */
export function visibleInLists(p: CompiledPolicy, input: PolicyInput): boolean {
  return visible(p, { ...input, method: LIST_METHOD[input.target.kind], args: undefined });
}
