import { hash } from 'node:crypto';
import type { CompiledUpstream } from '../../config/snapshot.ts';
import { compileGlobs, type GlobSet } from '../../policy/glob.ts';

/** One upstream's `cache` settings, compiled once per snapshot. */
export interface UpstreamCachePolicy {
  readonly upstream: string;
  /** Identity of the upstream connection and digest of the cache settings: both go into every key. */
  readonly context: string;
  /** Digest of the cache settings alone: a reload that changes it drops the upstream's entries. */
  readonly digest: string;
  readonly scope: 'principal' | 'shared';
  readonly honorTtl: boolean;
  /** TTL of a tool by its upstream name: the first matching `cache.tools` entry in written order; 0 = not cached. */
  toolTtl(upstreamName: string): number;
}

/** Past this many names the per-tool memo starts over (names come from the catalog, so this is a safety bound). */
const MAX_MEMO = 10_000;

/** undefined when nothing of this upstream can ever be cached: such calls cost one lookup. */
export function compileUpstreamCache(u: CompiledUpstream): UpstreamCachePolicy | undefined {
  const c = u.config.cache;
  const entries = Object.entries(c.tools).map(([glob, ttl]) => ({ match: compileGlobs([glob]) as GlobSet, ttl }));
  if (entries.length === 0 && !c.honorTtl) return undefined;
  const digest = hash('sha256', JSON.stringify([Object.entries(c.tools), c.scope, c.honorTtl]), 'base64url');
  const memo = new Map<string, number>();
  return {
    upstream: u.name,
    context: `${u.identity}/${digest}`,
    digest,
    scope: c.scope,
    honorTtl: c.honorTtl,
    toolTtl(name) {
      if (entries.length === 0) return 0;
      let ttl = memo.get(name);
      if (ttl !== undefined) return ttl;
      ttl = 0;
      for (const e of entries) {
        if (e.match.test(name)) {
          ttl = e.ttl;
          break;
        }
      }
      if (memo.size >= MAX_MEMO) memo.clear();
      memo.set(name, ttl);
      return ttl;
    },
  };
}

/** How a call may be cached, decided before the upstream is asked. */
export interface CacheRule {
  /** Configured TTL (`cache.tools`); 0 when only the result's own `ttlMs` can make it cacheable. */
  readonly ttlMs: number;
  /** Configured scope; a result's own `cacheScope` may narrow it (never widen it). */
  readonly scope: 'principal' | 'shared';
  /** The result's `ttlMs` and `cacheScope` count: `honorTtl` on, and the upstream speaks 2026-07-28. */
  readonly honorResult: boolean;
}

/** Whether and how a result may be kept: its TTL and whether every caller may be served it. */
export interface StoreDecision {
  readonly ttlMs: number;
  readonly shared: boolean;
}

/**
 * Never kept: errors (`isError`), anything but a complete result (`input_required`, tasks), and
 * results whose own `ttlMs` says they are stale at once. A result that does not carry `cacheScope`
 * is treated as `private` when the result alone makes it cacheable.
 */
export function storeDecision(rule: CacheRule, result: Record<string, unknown>): StoreDecision | undefined {
  if (result.isError === true) return undefined;
  if (result.resultType !== undefined && result.resultType !== 'complete') return undefined;
  // A 2025-era CreateTaskResult: the task, not its result.
  if (result.task !== undefined) return undefined;
  let ttlMs = rule.ttlMs;
  let shared = rule.scope === 'shared';
  if (rule.honorResult) {
    const own = result.ttlMs;
    if (typeof own === 'number') {
      if (!(own > 0)) return undefined;
      ttlMs = ttlMs > 0 ? Math.min(ttlMs, own) : own;
    }
    if (rule.ttlMs === 0) shared = result.cacheScope === 'public';
    else if (result.cacheScope === 'private') shared = false;
  }
  return ttlMs > 0 ? { ttlMs, shared } : undefined;
}
