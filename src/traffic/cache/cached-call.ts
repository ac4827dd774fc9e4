import type { Gateway } from '../../core/gateway.ts';
import type { MethodOutcome } from '../../methods/method.ts';
import type { Exchange } from '../../pipeline/exchange.ts';
import { TARGET_DEF } from '../../pipeline/target.ts';
import { relayCall } from '../../relay/relay-call.ts';
import type { CacheRequest } from './response-cache.ts';

const BYPASS = 'bypass';

/**
 * relayCall for tools/call, prompts/get and resources/read, through the response cache when the call
 * may be cached; marks the exchange `hit`, `miss` or `bypass`. Filters ran before: a hit is only served
 * to a caller the policy lets make this call, and limits counted it.
 */
export async function relayThroughCache(gw: Gateway, x: Exchange, params: Record<string, unknown> | undefined): Promise<MethodOutcome> {
  const req = cacheRequest(gw, x);
  if (req === undefined) return relayCall(gw, x, params);
  if (req === BYPASS) {
    x.cache = 'bypass';
    gw.cache.noteBypass();
    return relayCall(gw, x, params);
  }
  const { outcome, status } = await gw.cache.run(req, () => relayCall(gw, x, params), x.signal);
  x.cache = status;
  return outcome;
}

/**
 * Whether this call may be cached, decided from compiled settings before any key is built: a call to
 * a target nothing caches costs a map lookup or two.
 *
 * - `tools/call`: the tool matches `cache.tools` and is classed `read_only` now (classes follow the
 *   snapshot and trusted annotations, which can change with the tool list).
 * - `resources/read`: the upstream speaks 2026-07-28, `honorTtl` is on, and the result will say how
 *   long it may be reused (`ttlMs`, `cacheScope`). 2026-07-28 defines these for reads (and lists) only,
 *   so prompts/get is never cached.
 * - Never: calls that continue an `input_required` exchange, that ask for a task, or that carry a
 *   progress token. Progress is a side channel the agent asked to watch: it gets a real call with real
 *   progress, never a silent cached answer or a seat on another call it would hear nothing from.
 */
function cacheRequest(gw: Gateway, x: Exchange): CacheRequest | typeof BYPASS | undefined {
  const t = x.target;
  if (t?.upstream === undefined || t.upstreamName === undefined) return undefined;
  const method = x.method;
  if (method !== 'tools/call' && method !== 'resources/read') return undefined;
  const policy = gw.cache.policyFor(x.snapshot, t.upstream);
  if (policy === undefined) return undefined;
  let ttlMs = 0;
  if (method === 'tools/call') {
    ttlMs = policy.toolTtl(t.upstreamName);
    if (ttlMs === 0) return undefined;
    if (x.snapshot.toolClasses.classOf(t.upstream, t.upstreamName, t[TARGET_DEF]) !== 'read_only') return BYPASS;
  } else if (!policy.honorTtl) return undefined;
  const honorResult = policy.honorTtl && gw.registry.get(t.upstream)?.session?.era === 'modern';
  if (ttlMs === 0 && !honorResult) return undefined;
  const p = x.params;
  if (p !== undefined && (p.task !== undefined || p.requestState !== undefined || p.inputResponses !== undefined || hasProgressToken(p._meta))) return BYPASS;
  return {
    upstream: t.upstream,
    context: policy.context,
    era: x.origin.era ?? 'legacy',
    method,
    name: t.upstreamName,
    args: method === 'tools/call' ? (p?.arguments ?? null) : null,
    principal: x.principal.id,
    ttlMs,
    scope: policy.scope,
    honorResult,
  };
}

function hasProgressToken(meta: unknown): boolean {
  return meta !== null && typeof meta === 'object' && (meta as { progressToken?: unknown }).progressToken !== undefined;
}
