// Label values come from what agents send (method and tool names) and from who they are (agent ids):
// each is bounded here before it becomes a series, so no caller can grow what a scraper stores.
import { ERRORS } from '../../errors/codes.ts';
import { METHODS } from '../../methods/table.ts';
import type { DecisionRecord, ExchangeRecord } from '../../pipeline/record.ts';
import type { Target } from '../../pipeline/target.ts';
import { NONE, OTHER } from './series.ts';

/** The methods the gateway serves keep their name; anything else is `_other`; none (unparsable) is empty. */
export function methodLabel(method: string | undefined): string {
  if (method === undefined) return NONE;
  return METHODS.has(method) ? method : OTHER;
}

/** The names a tool label may take: the catalog in force (tools whose upstream is down included). */
export interface ToolNames {
  readonly toolIndex: ReadonlyMap<string, unknown>;
  readonly unavailable: ReadonlyMap<string, unknown>;
}

/**
 * `tools/call` only: the public tool name when the catalog knows it, `_other` for anything else (an
 * unknown name, garbage, a tool that left the catalog). Other methods have no tool label.
 */
export function toolLabel(method: string | undefined, target: Target | undefined, names: ToolNames): string {
  if (method !== 'tools/call') return NONE;
  const name = target?.kind === 'tool' ? target.name : undefined;
  return name !== undefined && (names.toolIndex.has(name) || names.unavailable.has(name)) ? name : OTHER;
}

/** Error names of the gateway's table keep their name (anything else would be a bug; still bounded). */
export function errorLabel(name: string | undefined): string {
  return name !== undefined && Object.hasOwn(ERRORS, name) ? name : OTHER;
}

/**
 * The first `max` distinct agents seen keep their own label for the life of the process; later ones
 * share `_other`. Lowering `max` on reload stops new agents getting a label; those that have one keep it.
 */
export class AgentLabels {
  max: number;
  readonly #known = new Set<string>();

  constructor(max: number) {
    this.max = max;
  }

  label(agent: string): string {
    if (this.#known.has(agent)) return agent;
    if (this.#known.size >= this.max) return OTHER;
    this.#known.add(agent);
    return agent;
  }
}

/** What policy did to an exchange, as the metrics count it. */
export interface PolicyOutcome {
  /** `allow`, `deny`, `require_approval`: the enforced verdict; `none`: no policy judged it in force. */
  readonly decision: string;
  /** The enforced refusal, when policy refused the call. */
  readonly denial: { readonly rule: string; readonly effect: string; readonly reason: string } | undefined;
  /** What a shadow policy (or shadow rules) would have refused. */
  readonly shadow: { readonly rule: string; readonly effect: string } | undefined;
}

const plain = (decision: string): PolicyOutcome => Object.freeze({ decision, denial: undefined, shadow: undefined });
const NO_POLICY = plain('none');
// The common outcomes are shared constants: the hot path allocates only for refusals and shadow verdicts.
const PLAIN: Readonly<Record<string, PolicyOutcome>> = { allow: plain('allow'), deny: plain('deny'), require_approval: plain('require_approval'), none: NO_POLICY };

/** Same spelling as the log lines for a verdict no rule gave. */
export const DEFAULT_RULE = '(default)';

export function policyOutcome(r: ExchangeRecord): PolicyOutcome {
  const p = r.policy;
  if (p === undefined) return NO_POLICY;
  let d: DecisionRecord | undefined;
  for (const x of r.decisions) if (x.filter === 'policy' && x.phase === 'authorize') d = x;
  if (d === undefined || d.shadow) {
    // A policy in shadow mode decides nothing: what it would have done is the shadow figure.
    const shadow = p.effect !== 'allow' ? { rule: p.rule ?? DEFAULT_RULE, effect: p.effect } : shadowRules(r);
    return shadow === undefined ? NO_POLICY : { decision: 'none', denial: undefined, shadow };
  }
  const denial = d.kind === 'deny' && p.effect !== 'allow' ? { rule: p.rule ?? DEFAULT_RULE, effect: p.effect, reason: p.reason } : undefined;
  const shadow = shadowRules(r);
  return denial === undefined && shadow === undefined ? PLAIN[p.effect]! : { decision: p.effect, denial, shadow };
}

function shadowRules(r: ExchangeRecord): PolicyOutcome['shadow'] {
  const s = r.policy?.shadow;
  return s !== undefined && s.effect !== 'allow' ? { rule: s.rule ?? DEFAULT_RULE, effect: s.effect } : undefined;
}
