import type { Item } from '../../catalog/catalog.ts';

/** What the cache needs to know of one upstream's living state (an UpstreamHandle fits). */
export interface WatchedUpstream {
  readonly name: string;
  readonly identity: string;
  readonly lists: { readonly tools: readonly Item[]; readonly resources: readonly Item[]; readonly resourceTemplates: readonly Item[] };
}

/** Where upstream changes are heard: the registry rebuilds its catalog after every one of them. */
export interface CatalogSource {
  onCatalogChange(fn: () => void): unknown;
  handles(): Iterable<WatchedUpstream>;
}

type Drop = (upstream: string, method?: string, names?: ReadonlySet<string>) => void;

interface Seen {
  readonly identity: string;
  readonly tools: readonly Item[];
  readonly resources: readonly Item[];
  readonly resourceTemplates: readonly Item[];
}

/**
 * Turns upstream changes into invalidations. A handle replaces a list array only when it fetched the
 * list again (list_changed, a reconnect), so unchanged arrays cost nothing; a changed one is compared
 * item by item, and only the tools whose definition changed or went away lose their entries (a
 * spurious list_changed, or a reconnect to the same server, drops nothing). A new identity (another
 * connection or other credentials) and an upstream that is gone drop everything of it; a change in
 * the resource lists drops the upstream's resource reads.
 *
 * Epochs count the drops per upstream, so that a call that was in flight across one does not store
 * an answer made under the old definition.
 */
export class UpstreamWatch {
  readonly #drop: Drop;
  readonly #epochs = new Map<string, number>();
  readonly #known = new Map<string, Seen>();

  constructor(drop: Drop) {
    this.#drop = drop;
  }

  attach(source: CatalogSource): void {
    source.onCatalogChange(() => this.sync(source.handles()));
    this.sync(source.handles());
  }

  epoch(upstream: string): number {
    return this.#epochs.get(upstream) ?? 0;
  }

  bump(upstream: string): void {
    this.#epochs.set(upstream, this.epoch(upstream) + 1);
  }

  sync(handles: Iterable<WatchedUpstream>): void {
    const present = new Set<string>();
    for (const h of handles) {
      present.add(h.name);
      const before = this.#known.get(h.name);
      const l = h.lists;
      this.#known.set(h.name, { identity: h.identity, tools: l.tools, resources: l.resources, resourceTemplates: l.resourceTemplates });
      if (before === undefined) continue;
      if (before.identity !== h.identity) {
        this.#drop(h.name);
        continue;
      }
      if (before.tools !== l.tools) {
        const changed = changedNames(before.tools, l.tools);
        if (changed.size > 0) this.#drop(h.name, 'tools/call', changed);
      }
      const resourcesChanged = before.resources !== l.resources && !sameItems(before.resources, l.resources);
      if (resourcesChanged || (before.resourceTemplates !== l.resourceTemplates && !sameItems(before.resourceTemplates, l.resourceTemplates))) {
        this.#drop(h.name, 'resources/read');
      }
    }
    for (const name of [...this.#known.keys()]) {
      if (present.has(name)) continue;
      this.#known.delete(name);
      this.#drop(name);
    }
  }
}

/** Names of tools added, removed or defined differently. */
function changedNames(before: readonly Item[], after: readonly Item[]): Set<string> {
  const old = new Map<string, string>();
  for (const t of before) if (typeof t.name === 'string') old.set(t.name, JSON.stringify(t));
  const out = new Set<string>();
  for (const t of after) {
    if (typeof t.name !== 'string') continue;
    const was = old.get(t.name);
    if (was !== JSON.stringify(t)) out.add(t.name);
    old.delete(t.name);
  }
  for (const name of old.keys()) out.add(name);
  return out;
}

function sameItems(a: readonly Item[], b: readonly Item[]): boolean {
  return a.length === b.length && JSON.stringify(a) === JSON.stringify(b);
}
