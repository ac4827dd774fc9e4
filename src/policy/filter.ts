import { gatewayError, type GatewayError } from '../errors/codes.ts';
import { notFound } from '../methods/targets.ts';
import { CONTINUE, deny } from '../pipeline/decision.ts';
import type { Exchange } from '../pipeline/exchange.ts';
import type { Filter } from '../pipeline/filter.ts';
import { decide, outcomeOf } from './decide.ts';
import { argsOf, inputFor, policyTarget } from './input.ts';
import type { CompiledPolicy } from './policy.ts';
import type { PolicyTarget } from './types.ts';

/**
 * The methods policy governs: the ones that reach a tool, prompt or resource. Lists are filtered instead
 * (methods/lists.ts); the handshake, discovery, tasks (bound to their owner) and unsubscribing are not.
 */
const GOVERNED: ReadonlySet<string> = new Set(['tools/call', 'prompts/get', 'resources/read', 'resources/subscribe', 'completion/complete']);

/**
 * The authorize phase. Decides every governed call, records the decision on the exchange for audit and
 * explain, and refuses what it does not allow. A target the caller may not even see is refused with the
 * very answer a name that does not exist gets.
 */
export function policyFilter(p: CompiledPolicy): Filter {
  return {
    name: 'policy',
    phase: 'authorize',
    shadow: p.shadow,
    onRequest(x) {
      const t = x.target;
      if (t === undefined || !GOVERNED.has(x.method)) return CONTINUE;
      const pt = policyTarget(p, t);
      if (pt === undefined) return CONTINUE;
      const args = argsOf(x);
      if (args === 'invalid') return deny(gatewayError('invalid_params', `Invalid params: ${x.method} arguments must be an object`));
      const input = inputFor(p, x, pt, args);
      const d = decide(p, input);
      x.policy = d;
      const o = outcomeOf(p, input, d);
      if (o === 'allow') return CONTINUE;
      if (o === 'hidden') return deny(hidden(x, pt));
      const detail = d.rule === undefined ? undefined : { rule: d.rule };
      return deny(gatewayError(o === 'require_approval' ? 'approval_required' : 'denied', d.message, detail));
    },
  };
}

function hidden(x: Exchange, t: PolicyTarget): GatewayError {
  if (x.method === 'completion/complete' && t.kind === 'resource') return notFound('completion-resource', t.name, x.origin.era);
  return notFound(t.kind, t.name, x.origin.era);
}

/**
 * Whether policy lets this exchange's caller subscribe to a resource: for the URIs a 2026-07-28
 * `subscriptions/listen` names, which are not targets of their own. A refused URI is simply not honored,
 * exactly like one nothing serves.
 */
export function maySubscribe(p: CompiledPolicy | undefined, x: Exchange, uri: string, upstream: string | undefined): boolean {
  if (p === undefined || p.shadow) return true;
  const target: PolicyTarget = { kind: 'resource', upstream, name: uri, upstreamName: uri };
  return decide(p, inputFor(p, x, target, {}, 'resources/subscribe')).effect === 'allow';
}
