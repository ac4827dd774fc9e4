import type { ListField } from '../policy/list-filter.ts';
import { visibleList } from '../traffic/cache/list-memo.ts';
import { page } from '../catalog/paginate.ts';
import type { Gateway } from '../core/gateway.ts';
import type { Exchange } from '../pipeline/exchange.ts';
import type { MethodHandler, MethodOutcome } from './method.ts';

const LIST_TARGET = Object.freeze({ kind: 'list' as const });

/** Merged lists are answered from the catalog: no upstream is asked, so one slow server stalls nobody. */
function listHandler(field: ListField): MethodHandler {
  return {
    resolve: () => LIST_TARGET,
    handle(gw: Gateway, x: Exchange): MethodOutcome {
      const catalog = gw.registry.catalog;
      const items = visibleList(x.snapshot.policy, x, catalog, field);
      const p = page(items, field, x.params?.cursor, x.snapshot.config.gateway.pageSize);
      if ('name' in p) return { error: p };
      const result: Record<string, unknown> = { [field]: p.items };
      if (p.nextCursor !== undefined) result.nextCursor = p.nextCursor;
      if (x.origin.era === 'modern') {
        // Lists are filtered per caller by policy: never cacheable across callers.
        result.ttlMs = 0;
        result.cacheScope = 'private';
      }
      return { result };
    },
  };
}

export const toolsList = listHandler('tools');
export const promptsList = listHandler('prompts');
export const resourcesList = listHandler('resources');
export const resourceTemplatesList = listHandler('resourceTemplates');
