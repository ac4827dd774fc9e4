import type { Catalog } from '../catalog/catalog.ts';

/**
 * The list_changed notifications a catalog rebuild calls for. Rebuilds are rare (health or list
 * changes), so comparing whole lists is affordable.
 */
export function listChangedMethods(next: Catalog, prev: Catalog): string[] {
  const out: string[] = [];
  if (!sameList(next.tools, prev.tools)) out.push('notifications/tools/list_changed');
  if (!sameList(next.prompts, prev.prompts)) out.push('notifications/prompts/list_changed');
  if (!sameList(next.resources, prev.resources) || !sameList(next.resourceTemplates, prev.resourceTemplates)) out.push('notifications/resources/list_changed');
  return out;
}

function sameList(a: readonly unknown[], b: readonly unknown[]): boolean {
  return a === b || (a.length === b.length && JSON.stringify(a) === JSON.stringify(b));
}
