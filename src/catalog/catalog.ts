import { basePublicName, disambiguatedName, type NamingRules } from './naming.ts';
import { templateMatcher } from './uri-template.ts';

export type Item = Record<string, unknown> & { name?: unknown; uri?: unknown; uriTemplate?: unknown };

/** What one upstream contributes: its last known lists, and whether it is serving right now. */
export interface UpstreamListing {
  readonly upstream: string;
  /** undefined when the upstream publishes names unprefixed. */
  readonly prefix: string | undefined;
  readonly healthy: boolean;
  readonly tools: readonly Item[];
  readonly prompts: readonly Item[];
  readonly resources: readonly Item[];
  readonly resourceTemplates: readonly Item[];
}

export interface Entry {
  readonly publicName: string;
  readonly upstream: string;
  readonly upstreamName: string;
  /** The definition as agents see it: the upstream's, unchanged but for the name. */
  readonly def: Item;
}

export interface Collision {
  readonly kind: 'tool' | 'prompt' | 'resource';
  readonly name: string;
  readonly kept: string;
  readonly renamed: string;
  readonly assigned: string;
}

/**
 * The merged catalog: immutable, rebuilt whole whenever an upstream's lists or health change.
 * Names are computed over every known upstream (healthy or not) so that an outage never shifts
 * a name; unhealthy upstreams are then left out of what is listed and routed.
 */
export interface Catalog {
  readonly version: number;
  readonly tools: readonly Item[];
  readonly prompts: readonly Item[];
  readonly resources: readonly Item[];
  readonly resourceTemplates: readonly Item[];
  /** The upstream of each entry of `resourceTemplates`, by position. */
  readonly templateOwners: readonly string[];
  readonly toolIndex: ReadonlyMap<string, Entry>;
  readonly promptIndex: ReadonlyMap<string, Entry>;
  readonly resourceIndex: ReadonlyMap<string, string>;
  readonly templateRoutes: readonly { readonly upstream: string; readonly match: RegExp }[];
  readonly collisions: readonly Collision[];
  /** Items hidden because their upstream is unhealthy, by public name: for "why is my tool missing", and for policy. */
  readonly unavailable: ReadonlyMap<string, Entry>;
}

let versions = 0;

export function buildCatalog(listings: readonly UpstreamListing[], rules: NamingRules): Catalog {
  const collisions: Collision[] = [];
  const unavailable = new Map<string, Entry>();
  const tools = nameItems('tool', listings, (l) => l.tools, rules, collisions, unavailable);
  const prompts = nameItems('prompt', listings, (l) => l.prompts, rules, collisions, unavailable);

  const resources: Item[] = [];
  const resourceIndex = new Map<string, string>();
  const templates: Item[] = [];
  const templateOwners: string[] = [];
  const templateRoutes: { upstream: string; match: RegExp }[] = [];
  for (const l of listings) {
    if (!l.healthy) continue;
    for (const r of l.resources) {
      if (typeof r.uri !== 'string') continue;
      const owner = resourceIndex.get(r.uri);
      if (owner !== undefined) {
        collisions.push({ kind: 'resource', name: r.uri, kept: owner, renamed: l.upstream, assigned: '(hidden)' });
        continue;
      }
      resourceIndex.set(r.uri, l.upstream);
      resources.push(r);
    }
    for (const t of l.resourceTemplates) {
      if (typeof t.uriTemplate !== 'string') continue;
      const match = templateMatcher(t.uriTemplate);
      if (match !== undefined) templateRoutes.push({ upstream: l.upstream, match });
      templates.push(t);
      templateOwners.push(l.upstream);
    }
  }

  return Object.freeze({
    version: ++versions,
    tools: tools.list,
    prompts: prompts.list,
    resources,
    resourceTemplates: templates,
    templateOwners,
    toolIndex: tools.index,
    promptIndex: prompts.index,
    resourceIndex,
    templateRoutes,
    collisions,
    unavailable,
  });
}

export function routeResource(c: Catalog, uri: string): string | undefined {
  const exact = c.resourceIndex.get(uri);
  if (exact !== undefined) return exact;
  for (const r of c.templateRoutes) if (r.match.test(uri)) return r.upstream;
  return undefined;
}

function nameItems(
  kind: 'tool' | 'prompt',
  listings: readonly UpstreamListing[],
  pick: (l: UpstreamListing) => readonly Item[],
  rules: NamingRules,
  collisions: Collision[],
  unavailable: Map<string, Entry>,
): { list: Item[]; index: Map<string, Entry> } {
  // Pass 1 claims base names in config order; pass 2 gives later claimants a suffixed name.
  // Config order decides, so appending an upstream never renames anything that existed.
  const owner = new Map<string, string>();
  const pending: { l: UpstreamListing; name: string; base: string; def: Item }[] = [];
  for (const l of listings) {
    for (const def of pick(l)) {
      if (typeof def.name !== 'string' || def.name.length === 0) continue;
      const base = basePublicName(l.prefix, def.name, rules);
      if (!owner.has(base)) owner.set(base, l.upstream);
      pending.push({ l, name: def.name, base, def });
    }
  }
  const list: Item[] = [];
  const index = new Map<string, Entry>();
  const taken = new Set<string>();
  for (const p of pending) {
    let publicName = p.base;
    if (owner.get(p.base) !== p.l.upstream || taken.has(p.base)) {
      let chars = 6;
      publicName = disambiguatedName(p.base, p.l.upstream, p.name, rules, chars);
      while ((owner.has(publicName) || taken.has(publicName)) && chars < 26) {
        publicName = disambiguatedName(p.base, p.l.upstream, p.name, rules, ++chars);
      }
      collisions.push({ kind, name: p.base, kept: owner.get(p.base)!, renamed: p.l.upstream, assigned: publicName });
    }
    taken.add(publicName);
    const def = publicName === p.name ? p.def : { ...p.def, name: publicName };
    const entry = { publicName, upstream: p.l.upstream, upstreamName: p.name, def };
    if (!p.l.healthy) {
      unavailable.set(publicName, entry);
      continue;
    }
    list.push(def);
    index.set(publicName, entry);
  }
  return { list, index };
}
