import type { Catalog, Item } from '../catalog/catalog.ts';
import type { Exchange } from '../pipeline/exchange.ts';
import { visible } from './decide.ts';
import { inputFor, LIST_METHOD, toolTarget } from './input.ts';
import type { CompiledPolicy } from './policy.ts';
import type { PolicyTarget } from './types.ts';

export type ListField = 'tools' | 'prompts' | 'resources' | 'resourceTemplates';

/**
 * What of a merged list this caller may see. Listing follows calling: the same rules decide, with the
 * arguments unknown. A policy in shadow mode hides nothing.
 */
export function visibleItems(p: CompiledPolicy | undefined, x: Exchange, catalog: Catalog, field: ListField, items: readonly Item[]): readonly Item[] {
  if (p === undefined || p.shadow) return items;
  const out: Item[] = [];
  for (let i = 0; i < items.length; i++) {
    const item = items[i]!;
    const t = targetOf(p, catalog, field, item, i);
    if (t !== undefined && visible(p, inputFor(p, x, t, undefined, LIST_METHOD[t.kind]))) out.push(item);
  }
  return out;
}

function targetOf(p: CompiledPolicy, c: Catalog, field: ListField, item: Item, i: number): PolicyTarget | undefined {
  switch (field) {
    case 'tools': {
      const e = typeof item.name === 'string' ? c.toolIndex.get(item.name) : undefined;
      return e === undefined ? undefined : toolTarget(p, e.def, e.upstream, e.publicName, e.upstreamName);
    }
    case 'prompts': {
      const e = typeof item.name === 'string' ? c.promptIndex.get(item.name) : undefined;
      return e === undefined ? undefined : { kind: 'prompt', upstream: e.upstream, name: e.publicName, upstreamName: e.upstreamName };
    }
    case 'resources':
      return typeof item.uri === 'string' ? { kind: 'resource', upstream: c.resourceIndex.get(item.uri), name: item.uri, upstreamName: item.uri } : undefined;
    case 'resourceTemplates':
      return typeof item.uriTemplate === 'string' ? { kind: 'resource', upstream: c.templateOwners[i], name: item.uriTemplate, upstreamName: item.uriTemplate } : undefined;
  }
}
