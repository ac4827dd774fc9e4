import type { EvalState } from './checks.ts';
import type { CompiledPolicy } from './policy.ts';
import { ruleApplies, type CompiledRule } from './rule.ts';
import type { PolicyInput } from './types.ts';

/** Past this many distinct targets the memo starts over: resource URIs can be as many as agents make up. */
const MAX_TARGETS = 20_000;

/**
 * The rules that can apply to this method and target, in order. Most rules name tools, upstreams or
 * classes, so a 200-rule policy usually leaves a handful per tool; each decision then runs only the
 * principal, environment, time and condition matchers of those.
 */
export function candidatesFor(p: CompiledPolicy, input: PolicyInput): readonly CompiledRule[] {
  const t = input.target;
  const key = `${input.method}\0${t.kind}\0${t.upstream ?? ''}\0${t.class ?? ''}\0${t.name}`;
  let list = p.candidates.get(key);
  if (list !== undefined) return list;
  const st: EvalState = { cel: undefined, zone: p.zone };
  list = p.rules.filter((r) => ruleApplies(r, input) && r.targetChecks.every((c) => c.test(input, st)));
  if (p.candidates.size >= MAX_TARGETS) p.candidates.clear();
  p.candidates.set(key, list);
  return list;
}
