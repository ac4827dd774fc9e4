import type { Catalog, Item } from '../../catalog/catalog.ts';
import type { Exchange } from '../../pipeline/exchange.ts';
import type { Principal } from '../../pipeline/principal.ts';
import { listTraits, type ListTraits } from '../../policy/compile-policy.ts';
import { visibleItems, type ListField } from '../../policy/list-filter.ts';
import type { CompiledPolicy } from '../../policy/policy.ts';

/** Callers remembered per catalog, policy and list: past this, the least recently listing one is forgotten. */
export const MAX_CALLERS = 1_000;

type Memo = Map<string, readonly Item[]>;

// Keyed by the objects themselves: a new catalog (list_changed, an upstream going up or down) or a
// new policy (every reload compiles one) starts empty, and the old memo goes with the old object.
const memos = new WeakMap<Catalog, WeakMap<CompiledPolicy, Record<ListField, Memo>>>();

/**
 * The items of one merged list this caller may see, remembered per (catalog, policy, caller) when the
 * policy's list decisions depend on nothing else: each tools/list then costs a lookup instead of a
 * policy decision per tool. The era is not part of the key: it changes only the fields around the
 * list (lists.ts), not which items are in it.
 */
export function visibleList(p: CompiledPolicy | undefined, x: Exchange, catalog: Catalog, field: ListField): readonly Item[] {
  const items = catalog[field];
  if (p === undefined || p.shadow || items.length === 0) return items;
  const traits = listTraits(p);
  if (traits === undefined || traits.time) return visibleItems(p, x, catalog, field, items);
  const key = callerKey(x.principal, x.origin.clientAddress, traits);
  if (key === undefined) return visibleItems(p, x, catalog, field, items);
  const memo = memoFor(catalog, p)[field];
  const hit = memo.get(key);
  if (hit !== undefined) {
    memo.delete(key);
    memo.set(key, hit);
    return hit;
  }
  const out = visibleItems(p, x, catalog, field, items);
  if (memo.size >= MAX_CALLERS) memo.delete(memo.keys().next().value!);
  // Nothing hidden: keep the catalog's own array rather than a copy of it.
  // Frozen: every caller with this key is handed this array, so none may change it.
  const kept = out.length === items.length ? items : Object.freeze(out);
  memo.set(key, kept);
  return kept;
}

function memoFor(catalog: Catalog, p: CompiledPolicy): Record<ListField, Memo> {
  let byPolicy = memos.get(catalog);
  if (byPolicy === undefined) memos.set(catalog, (byPolicy = new WeakMap()));
  let m = byPolicy.get(p);
  if (m === undefined) byPolicy.set(p, (m = { tools: new Map(), prompts: new Map(), resources: new Map(), resourceTemplates: new Map() }));
  return m;
}

/**
 * Everything about the caller a list decision can read. The principal id holds the auth source,
 * tenant, agent and user; roles, groups, scopes and the auth method are matched too (two tokens of one
 * subject may carry different scopes). Attributes and the agent's display name count only when a
 * condition reads `principal`, the client address only when a rule looks at it.
 */
function callerKey(pr: Principal, clientAddress: string | undefined, t: ListTraits): string | undefined {
  const parts: unknown[] = [pr.id, pr.authMethod, pr.roles, pr.groups, pr.scopes];
  if (t.principalDetail) parts.push(pr.agentName ?? null, pr.attributes ?? null);
  if (t.client) parts.push(clientAddress ?? null);
  try {
    return JSON.stringify(parts);
  } catch {
    // Attributes that are not JSON (a claim as a BigInt): no memo for this caller.
    return undefined;
  }
}
