import type { Logger } from 'pino';
import { buildCatalog, type Catalog, type UpstreamListing } from '../catalog/catalog.ts';
import type { Snapshot } from '../config/snapshot.ts';
import type { JsonRpcNotification, JsonRpcRequest, JsonRpcResponse } from '../protocol/jsonrpc.ts';
import type { Store } from '../store/store.ts';
import { UpstreamPool } from './pool.ts';

export interface RegistryDeps {
  readonly log: Logger;
  readonly store: Store;
  readonly clientInfo: { name: string; version: string };
  readonly onNotification: (upstream: string, n: JsonRpcNotification) => void;
  readonly onServerRequest: (upstream: string, req: JsonRpcRequest) => Promise<JsonRpcResponse>;
}

/**
 * All upstreams (each a pool of replicas), keyed by name + identity, and the merged catalog built from
 * them. Applying a new snapshot starts what is new, stops what is gone, restarts what changed shape,
 * adds or removes replicas where only their number or URLs changed, and leaves everything else running.
 */
export class UpstreamRegistry {
  readonly #deps: RegistryDeps;
  readonly #pools = new Map<string, UpstreamPool>();
  #snapshot: Snapshot | undefined;
  #catalog: Catalog;
  #rebuildQueued = false;
  readonly #catalogListeners = new Set<(c: Catalog, prev: Catalog) => void>();

  constructor(deps: RegistryDeps) {
    this.#deps = deps;
    this.#catalog = buildCatalog([], { separator: '__', maxLength: 64 });
  }

  get catalog(): Catalog {
    return this.#catalog;
  }

  /** The upstream named `name`: what the router sends its calls to. */
  get(name: string): UpstreamPool | undefined {
    return this.#pools.get(name);
  }

  /** Every upstream, in no particular order. */
  handles(): UpstreamPool[] {
    return [...this.#pools.values()];
  }

  onCatalogChange(fn: (c: Catalog, prev: Catalog) => void): () => void {
    this.#catalogListeners.add(fn);
    return () => this.#catalogListeners.delete(fn);
  }

  async apply(snapshot: Snapshot): Promise<void> {
    this.#snapshot = snapshot;
    const wanted = new Map(snapshot.upstreams.map((u) => [u.name, u]));
    const stopping: Promise<void>[] = [];
    const kept: Promise<void>[] = [];
    for (const [name, p] of this.#pools) {
      const next = wanted.get(name);
      if (next === undefined || next.identity !== p.spec.identity) {
        this.#pools.delete(name);
        stopping.push(p.stop());
      } else {
        // Same connection: new non-shaping settings (timeouts, prefix), and replicas added or removed.
        kept.push(p.apply(next));
      }
    }
    await Promise.all(stopping);
    const starting: Promise<void>[] = [];
    for (const spec of snapshot.upstreams) {
      if (this.#pools.has(spec.name)) continue;
      const p = new UpstreamPool(spec, {
        log: this.#deps.log,
        store: this.#deps.store,
        clientInfo: this.#deps.clientInfo,
        onChange: () => this.#queueRebuild(),
        onNotification: this.#deps.onNotification,
        onServerRequest: this.#deps.onServerRequest,
      });
      this.#pools.set(spec.name, p);
      starting.push(p.start());
    }
    await Promise.all([...kept, ...starting]);
    this.#rebuild();
  }

  /**
   * Resolves when every upstream has either become ready (one replica suffices) or had each replica
   * fail once (used at startup). With `everyReplica`, when every replica has either become ready or
   * failed once (what an inspection shows).
   */
  async settled(timeoutMs: number, opts: { everyReplica?: boolean } = {}): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    const waiting = opts.everyReplica === true ? (p: UpstreamPool) => p.replicas.some((r) => !r.attempted && r.state !== 'stopped') : (p: UpstreamPool) => p.state === 'connecting';
    while (Date.now() < deadline && this.handles().some(waiting)) {
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  async close(): Promise<void> {
    const all = [...this.#pools.values()];
    this.#pools.clear();
    await Promise.all(all.map((p) => p.stop()));
  }

  #queueRebuild(): void {
    if (this.#rebuildQueued) return;
    this.#rebuildQueued = true;
    queueMicrotask(() => {
      this.#rebuildQueued = false;
      this.#rebuild();
    });
  }

  /** One line per (kind, kept, renamed) group that is new, not one per item: 100 shared URIs are one fact. */
  #reportCollisions(next: Catalog, prev: Catalog): void {
    const key = (c: Catalog['collisions'][number]) => `${c.kind}\0${c.kept}\0${c.renamed}`;
    const known = new Set(prev.collisions.map((c) => `${key(c)}\0${c.name}`));
    const groups = new Map<string, Catalog['collisions'][number][]>();
    for (const c of next.collisions) {
      if (known.has(`${key(c)}\0${c.name}`)) continue;
      const g = groups.get(key(c));
      if (g === undefined) groups.set(key(c), [c]);
      else g.push(c);
    }
    for (const g of groups.values()) {
      const c = g[0]!;
      const what = c.kind === 'resource' ? 'hidden (same URI)' : 'published under suffixed names';
      this.#deps.log.warn(
        { kind: c.kind, kept: c.kept, renamed: c.renamed, count: g.length, examples: g.slice(0, 5).map((x) => ({ name: x.name, assigned: x.assigned })) },
        `name collision: ${g.length} ${c.kind}(s) of upstream "${c.renamed}" ${what}; "${c.kept}" keeps the names`,
      );
    }
  }

  #rebuild(): void {
    const snap = this.#snapshot;
    if (snap === undefined) return;
    const listings: UpstreamListing[] = [];
    for (const spec of snap.upstreams) {
      const p = this.#pools.get(spec.name);
      if (p === undefined) continue;
      listings.push({ upstream: spec.name, prefix: spec.prefix, healthy: p.state === 'ready', ...p.lists });
    }
    const prev = this.#catalog;
    const next = buildCatalog(listings, snap.naming);
    this.#reportCollisions(next, prev);
    this.#catalog = next;
    for (const fn of this.#catalogListeners) {
      try {
        fn(next, prev);
      } catch (err) {
        this.#deps.log.error({ err }, 'catalog listener failed');
      }
    }
  }
}
