import type { Exchange } from '../pipeline/exchange.ts';
import { TARGET_DEF, type Target } from '../pipeline/target.ts';
import type { CompiledPolicy } from './policy.ts';
import type { PolicyInput, PolicyTarget } from './types.ts';

/** The policy's view of an exchange target; undefined for what policy does not govern (lists, the gateway's own). */
export function policyTarget(p: CompiledPolicy, t: Target): PolicyTarget | undefined {
  const kind = t.kind === 'completion' ? t.ref : t.kind;
  if (t.name === undefined) return undefined;
  if (kind === 'tool') return toolTarget(p, t[TARGET_DEF], t.upstream, t.name, t.upstreamName);
  if (kind === 'prompt' || kind === 'resource') return { kind, upstream: t.upstream, name: t.name, upstreamName: t.upstreamName };
  return undefined;
}

export function toolTarget(p: CompiledPolicy, def: Readonly<Record<string, unknown>> | undefined, upstream: string | undefined, name: string, upstreamName: string | undefined): PolicyTarget {
  return {
    kind: 'tool',
    upstream,
    name,
    upstreamName,
    class: p.classes.classOf(upstream, upstreamName, def),
    annotations: p.classes.annotationsOf(upstream, def),
  };
}

/** The call a listed item stands for: listing, and the hidden-or-denied answer, ask about this method. */
export const LIST_METHOD: Readonly<Record<PolicyTarget['kind'], string>> = { tool: 'tools/call', prompt: 'prompts/get', resource: 'resources/read' };

/** Arguments as policy sees them: the call's `arguments` object, `{}` when there is none. */
export function argsOf(x: Exchange): Readonly<Record<string, unknown>> | 'invalid' {
  const a = x.params?.arguments;
  if (a === undefined || a === null) return EMPTY;
  // Anything but an object would reach policy as "no arguments" and the upstream as itself.
  return typeof a === 'object' && !Array.isArray(a) ? (a as Record<string, unknown>) : 'invalid';
}

const EMPTY: Readonly<Record<string, unknown>> = Object.freeze({});

export function inputFor(p: CompiledPolicy, x: Exchange, target: PolicyTarget, args: PolicyInput['args'], method: string = x.method): PolicyInput {
  return {
    principal: x.principal,
    method,
    target,
    args,
    environment: p.environment,
    clientAddress: x.origin.clientAddress,
    now: x.startedWall,
  };
}
