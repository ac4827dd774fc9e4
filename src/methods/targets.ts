import { gatewayError, type GatewayError } from '../errors/codes.ts';
import { TARGET_DEF, type Target } from '../pipeline/target.ts';
import { routeResource } from '../catalog/catalog.ts';
import type { Gateway } from '../core/gateway.ts';
import type { Exchange } from '../pipeline/exchange.ts';
import type { MethodHandler } from './method.ts';
import { forward, withField } from './forward.ts';
import { requiredTaskError } from './tasks.ts';
import { relayThroughCache } from '../traffic/cache/cached-call.ts';

/** tools/call and prompts/get: the public name in params.name, looked up in one catalog index. */
function namedTarget(kind: 'tool' | 'prompt'): MethodHandler {
  const method = kind === 'tool' ? 'tools/call' : 'prompts/get';
  const unknown = kind === 'tool' ? 'unknown_tool' : 'unknown_prompt';
  return {
    resolve(gw, x) {
      const name = x.params?.name;
      if (typeof name !== 'string') return gatewayError('invalid_params', `${method} needs params.name (a string)`);
      const c = gw.registry.catalog;
      const e = (kind === 'tool' ? c.toolIndex : c.promptIndex).get(name);
      if (e !== undefined) return { kind, upstream: e.upstream, name, upstreamName: e.upstreamName, [TARGET_DEF]: e.def };
      const down = c.unavailable.get(name);
      if (down !== undefined) return { kind, upstream: down.upstream, name, upstreamName: down.upstreamName, down: true, [TARGET_DEF]: down.def };
      return notFound(kind, name, x.origin.era);
    },
    async handle(gw, x) {
      if (x.target!.down) return { error: unavailable(gw, kind, x.target!) };
      if (kind === 'tool') {
        const refused = requiredTaskError(gw, x);
        if (refused !== undefined) return { error: refused };
      }
      const out = await relayThroughCache(gw, x, renamed(x));
      if (kind === 'tool' && 'result' in out) gw.tasks.noteResult(x, x.target!.upstream!, out.result);
      return out;
    },
  };
}

export const toolsCall: MethodHandler = namedTarget('tool');
export const promptsGet: MethodHandler = namedTarget('prompt');

/** Methods that name a resource by `params.uri`: routed to the upstream that serves it. */
export function resourceTarget(method: string): NonNullable<MethodHandler['resolve']> {
  return (gw, x) => {
    const uri = x.params?.uri;
    if (typeof uri !== 'string') return gatewayError('invalid_params', `${method} needs params.uri (a string)`);
    const upstream = routeResource(gw.registry.catalog, uri);
    if (upstream === undefined) return notFound('resource', uri, x.origin.era);
    return { kind: 'resource', upstream, name: uri, upstreamName: uri };
  };
}

export const resourcesRead: MethodHandler = {
  resolve: resourceTarget('resources/read'),
  handle: (gw, x) => relayThroughCache(gw, x, x.params),
};

export const completionComplete: MethodHandler = {
  resolve(gw, x) {
    const ref = x.params?.ref as { type?: unknown; name?: unknown; uri?: unknown } | undefined;
    if (ref?.type === 'ref/prompt' && typeof ref.name === 'string') {
      const c = gw.registry.catalog;
      const e = c.promptIndex.get(ref.name);
      if (e !== undefined) return { kind: 'completion', ref: 'prompt', upstream: e.upstream, name: ref.name, upstreamName: e.upstreamName };
      const down = c.unavailable.get(ref.name);
      if (down !== undefined) return { kind: 'completion', ref: 'prompt', upstream: down.upstream, name: ref.name, upstreamName: down.upstreamName, down: true };
      return notFound('prompt', ref.name, x.origin.era);
    }
    if (ref?.type === 'ref/resource' && typeof ref.uri === 'string') {
      const upstream = routeResource(gw.registry.catalog, ref.uri);
      if (upstream === undefined) return notFound('completion-resource', ref.uri, x.origin.era);
      return { kind: 'completion', ref: 'resource', upstream, name: ref.uri, upstreamName: ref.uri };
    }
    return gatewayError('invalid_params', 'completion/complete needs params.ref of type ref/prompt (with name) or ref/resource (with uri)');
  },
  handle(gw, x) {
    const ref = x.params?.ref as Record<string, unknown>;
    const t = x.target!;
    if (t.down) return { error: unavailable(gw, 'prompt', t) };
    const params = ref.type === 'ref/prompt' ? withField(x.params, 'ref', { ...ref, name: t.upstreamName }) : x.params;
    return forward(gw, x, params);
  },
};

function renamed(x: Exchange): Record<string, unknown> | undefined {
  const t = x.target!;
  return t.upstreamName === t.name ? x.params : withField(x.params, 'name', t.upstreamName);
}

/**
 * The answer for a name nothing serves. Policy gives exactly this answer for a target the caller may
 * not see, so the two cannot be told apart: keep every "not found" answer here.
 */
export function notFound(kind: 'tool' | 'prompt' | 'resource' | 'completion-resource', name: string, era: Exchange['origin']['era']): GatewayError {
  switch (kind) {
    case 'tool':
      return gatewayError('unknown_tool', `Unknown tool: ${name}`);
    case 'prompt':
      return gatewayError('unknown_prompt', `Unknown prompt: ${name}`);
    case 'resource':
      return gatewayError(era === 'modern' ? 'resource_not_found' : 'unknown_resource', `Resource ${name} not found`, { uri: name });
    case 'completion-resource':
      return gatewayError('unknown_resource', `Resource ${name} not found`, { uri: name });
  }
}

/** A name of an upstream that is down gets "unavailable", not "unknown": it is retriable. Only after policy let the call through. */
function unavailable(gw: Gateway, what: string, t: Target): GatewayError {
  const h = gw.registry.get(t.upstream!);
  return gatewayError('upstream_unavailable', `${what} "${t.name}" is unavailable: upstream "${t.upstream}" is ${h?.state ?? 'down'}${h?.reason ? ` (${h.reason})` : ''}`, { upstream: t.upstream });
}
