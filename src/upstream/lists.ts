import type { Item } from '../catalog/catalog.ts';
import type { UpstreamSession } from './session.ts';

export interface UpstreamLists {
  tools: Item[];
  prompts: Item[];
  resources: Item[];
  resourceTemplates: Item[];
}

export const EMPTY_LISTS: Readonly<UpstreamLists> = Object.freeze({ tools: [], prompts: [], resources: [], resourceTemplates: [] });

export type ListKind = keyof UpstreamLists;

const METHODS: Record<ListKind, { method: string; field: string; capability: string }> = {
  tools: { method: 'tools/list', field: 'tools', capability: 'tools' },
  prompts: { method: 'prompts/list', field: 'prompts', capability: 'prompts' },
  resources: { method: 'resources/list', field: 'resources', capability: 'resources' },
  resourceTemplates: { method: 'resources/templates/list', field: 'resourceTemplates', capability: 'resources' },
};

/** Guards against an upstream that hands out cursors forever. */
const MAX_PAGES = 1000;

/** Reads one whole list, following every cursor. Only what the upstream declared is asked for. */
export async function fetchList(session: UpstreamSession, kind: ListKind, timeoutMs: number): Promise<Item[]> {
  const m = METHODS[kind];
  if (session.capabilities[m.capability] === undefined) return [];
  const out: Item[] = [];
  let cursor: string | undefined;
  const seen = new Set<string>();
  for (let pageNo = 0; pageNo < MAX_PAGES; pageNo++) {
    const res = await session.request(m.method, cursor === undefined ? undefined : { cursor }, { timeoutMs });
    if ('error' in res) {
      // -32601: declared the capability but not this list (templates are often missing).
      if (res.error.code === -32601) return out;
      throw new Error(`${m.method} failed: ${res.error.message} (${res.error.code})`);
    }
    const items = res.result[m.field];
    if (!Array.isArray(items)) throw new Error(`${m.method} result has no ${m.field} array`);
    for (const it of items) if (it !== null && typeof it === 'object') out.push(it as Item);
    const next = res.result.nextCursor;
    if (typeof next !== 'string' || next.length === 0) return out;
    if (seen.has(next)) throw new Error(`${m.method} returned the same cursor twice`);
    seen.add(next);
    cursor = next;
  }
  throw new Error(`${m.method} did not finish within ${MAX_PAGES} pages`);
}

export async function fetchAllLists(session: UpstreamSession, timeoutMs: number): Promise<UpstreamLists> {
  const [tools, prompts, resources, resourceTemplates] = await Promise.all([
    fetchList(session, 'tools', timeoutMs),
    fetchList(session, 'prompts', timeoutMs),
    fetchList(session, 'resources', timeoutMs),
    fetchList(session, 'resourceTemplates', timeoutMs),
  ]);
  return { tools, prompts, resources, resourceTemplates };
}

export function listKindOf(notificationMethod: string): ListKind[] | undefined {
  switch (notificationMethod) {
    case 'notifications/tools/list_changed':
      return ['tools'];
    case 'notifications/prompts/list_changed':
      return ['prompts'];
    case 'notifications/resources/list_changed':
      return ['resources', 'resourceTemplates'];
    default:
      return undefined;
  }
}
