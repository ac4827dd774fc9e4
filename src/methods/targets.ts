import { gatewayError } from '../errors/codes.ts';
import { routeResource } from '../catalog/catalog.ts';
import type { Gateway } from '../core/gateway.ts';
import type { Exchange } from '../pipeline/exchange.ts';
import type { MethodHandler } from './method.ts';
import { forward, withField } from './forward.ts';
import { relayCall } from '../relay/relay-call.ts';
import { requiredTaskError } from './tasks.ts';

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
      if (e === undefined) return unknownOrDown(gw, unknown, kind, name);
      return { kind, upstream: e.upstream, name, upstreamName: e.upstreamName };
    },
    async handle(gw, x) {
      if (kind === 'tool') {
        const refused = requiredTaskError(gw, x);
        if (refused !== undefined) return { error: refused };
      }
      const out = await relayCall(gw, x, renamed(x));
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
    if (upstream === undefined) return gatewayError(x.origin.era === 'modern' ? 'resource_not_found' : 'unknown_resource', `Resource ${uri} not found`, { uri });
    return { kind: 'resource', upstream, name: uri, upstreamName: uri };
  };
}

export const resourcesRead: MethodHandler = {
  resolve: resourceTarget('resources/read'),
  handle: (gw, x) => relayCall(gw, x, x.params),
};

export const completionComplete: MethodHandler = {
  resolve(gw, x) {
    const ref = x.params?.ref as { type?: unknown; name?: unknown; uri?: unknown } | undefined;
    if (ref?.type === 'ref/prompt' && typeof ref.name === 'string') {
      const e = gw.registry.catalog.promptIndex.get(ref.name);
      if (e === undefined) return unknownOrDown(gw, 'unknown_prompt', 'prompt', ref.name);
      return { kind: 'completion', upstream: e.upstream, name: ref.name, upstreamName: e.upstreamName };
    }
    if (ref?.type === 'ref/resource' && typeof ref.uri === 'string') {
      const upstream = routeResource(gw.registry.catalog, ref.uri);
      if (upstream === undefined) return gatewayError('unknown_resource', `Resource ${ref.uri} not found`, { uri: ref.uri });
      return { kind: 'completion', upstream, name: ref.uri, upstreamName: ref.uri };
    }
    return gatewayError('invalid_params', 'completion/complete needs params.ref of type ref/prompt (with name) or ref/resource (with uri)');
  },
  handle(gw, x) {
    const ref = x.params?.ref as Record<string, unknown>;
    const t = x.target!;
    const params = ref.type === 'ref/prompt' ? withField(x.params, 'ref', { ...ref, name: t.upstreamName }) : x.params;
    return forward(gw, x, params);
  },
};

function renamed(x: Exchange): Record<string, unknown> | undefined {
  const t = x.target!;
  return t.upstreamName === t.name ? x.params : withField(x.params, 'name', t.upstreamName);
}

/** A name that belongs to an upstream that is down gets "unavailable", not "unknown": it is retriable. */
function unknownOrDown(gw: Gateway, kind: 'unknown_tool' | 'unknown_prompt', what: string, name: string) {
  const down = gw.registry.catalog.unavailable.get(name);
  if (down !== undefined) {
    const h = gw.registry.get(down);
    return gatewayError('upstream_unavailable', `${what} "${name}" is unavailable: upstream "${down}" is ${h?.state ?? 'down'}${h?.reason ? ` (${h.reason})` : ''}`, { upstream: down });
  }
  return gatewayError(kind, `Unknown ${what}: ${name}`);
}
