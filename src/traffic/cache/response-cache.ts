import type { Snapshot } from '../../config/snapshot.ts';
import { gatewayError } from '../../errors/codes.ts';
import type { MethodOutcome } from '../../methods/method.ts';
import { principalKey, requestBase, sharedKey, type KeyParts } from './cache-key.ts';
import { compileUpstreamCache, storeDecision, type CacheRule, type UpstreamCachePolicy } from './cache-policy.ts';
import { EntryStore, entryBytes, type StoreLimits } from './entry-store.ts';
import { UpstreamWatch, type CatalogSource } from './upstream-watch.ts';

/** One cacheable call: what it is, who makes it, and how its result may be kept. */
export interface CacheRequest extends KeyParts, CacheRule {
  readonly principal: string;
}

export interface CacheStats {
  readonly entries: number;
  readonly bytes: number;
  readonly hits: number;
  readonly misses: number;
  /** Callers served by an identical call already in flight (also counted as hits). */
  readonly coalesced: number;
  readonly stores: number;
  readonly evictions: number;
  readonly expirations: number;
  /** Entries dropped because their upstream, its tools or its cache settings changed. */
  readonly invalidations: number;
  /** Cacheable targets called in a way that cannot be cached (a progress token, a task, a write class). */
  readonly bypasses: number;
  /** Results not kept because they exceed the per-entry bound. */
  readonly tooLarge: number;
}

export interface ResponseCacheOptions {
  readonly limits?: Partial<StoreLimits>;
  /** Monotonic milliseconds; tests inject their own. */
  readonly now?: () => number;
  /** Where upstream changes are heard (the registry): entries of a changed upstream or tool are dropped. */
  readonly source?: CatalogSource;
}

export const DEFAULT_LIMITS: StoreLimits = Object.freeze({ maxEntries: 10_000, maxBytes: 64 * 1024 * 1024, maxEntryBytes: 1024 * 1024 });

type Answer = { readonly outcome: MethodOutcome; readonly status: 'hit' | 'miss' };
/** What a call in flight hands the identical calls waiting on it: the result text, when it was kept. */
type Flight = Promise<{ text: string; storedAt: number } | undefined>;

/**
 * Results of safe calls, kept outside the snapshot on the gateway. Keys hash the upstream context, the
 * call and, unless the entry may be shared, the principal; a call in flight is joined only by identical
 * calls of the same principal, so no caller ever waits on, or is served, another authorization context's
 * call. What may be cached is decided in cached-call.ts.
 */
export class ResponseCache {
  readonly #store: EntryStore;
  readonly #now: () => number;
  readonly #flights = new Map<string, Flight>();
  readonly #policies = new WeakMap<Snapshot, Map<string, UpstreamCachePolicy | undefined>>();
  readonly #digests = new Map<string, string>();
  readonly #watch: UpstreamWatch;
  #hits = 0;
  #misses = 0;
  #coalesced = 0;
  #stores = 0;
  #invalidations = 0;
  #bypasses = 0;
  #tooLarge = 0;

  constructor(opts: ResponseCacheOptions = {}) {
    this.#store = new EntryStore({ ...DEFAULT_LIMITS, ...opts.limits });
    this.#now = opts.now ?? (() => performance.now());
    this.#watch = new UpstreamWatch((upstream, method, names) => this.invalidate(upstream, method, names));
    if (opts.source !== undefined) this.#watch.attach(opts.source);
  }

  /** The upstream's compiled cache settings under this snapshot; undefined when nothing of it is cacheable. */
  policyFor(snapshot: Snapshot, upstream: string): UpstreamCachePolicy | undefined {
    let bySnap = this.#policies.get(snapshot);
    if (bySnap === undefined) this.#policies.set(snapshot, (bySnap = new Map()));
    if (bySnap.has(upstream)) return bySnap.get(upstream);
    const u = snapshot.upstreamByName.get(upstream);
    const p = u === undefined ? undefined : compileUpstreamCache(u);
    bySnap.set(upstream, p);
    // Keys carry the digest, so old entries could no longer be reached anyway: free their bytes now.
    const digest = p?.digest ?? '';
    const before = this.#digests.get(upstream);
    if (before !== undefined && before !== digest) this.invalidate(upstream);
    this.#digests.set(upstream, digest);
    return p;
  }

  noteBypass(): void {
    this.#bypasses++;
  }

  /**
   * Serves `req` from the cache, from an identical call of the same principal in flight, or by `call`,
   * whose result is kept when it may be. `signal` ends a wait on another call (the caller went away).
   */
  async run(req: CacheRequest, call: () => Promise<MethodOutcome>, signal?: AbortSignal): Promise<Answer> {
    let base: string;
    try {
      base = requestBase(req);
    } catch {
      this.#bypasses++;
      return { outcome: await call(), status: 'miss' };
    }
    const mine = principalKey(base, req.principal);
    const shared = req.scope === 'shared' || (req.ttlMs === 0 && req.honorResult) ? sharedKey(base) : undefined;
    const now = this.#now();
    const e = this.#store.get(mine, now) ?? (shared === undefined ? undefined : this.#store.get(shared, now));
    if (e !== undefined) {
      this.#hits++;
      return { outcome: { result: served(e.text, e.storedAt, now) }, status: 'hit' };
    }
    const pending = this.#flights.get(mine);
    if (pending !== undefined) {
      const done = await untilAborted(pending, signal);
      if (done !== undefined) {
        this.#hits++;
        this.#coalesced++;
        return { outcome: { result: served(done.text, done.storedAt, this.#now()) }, status: 'hit' };
      }
      this.#misses++;
      if (signal?.aborted === true) return { outcome: { error: gatewayError('upstream_failed', 'the call was cancelled', { upstream: req.upstream }) }, status: 'miss' };
      // The call we waited on gave nothing to share (an error, a result not to keep): make our own,
      // without leading a flight of our own.
      const epoch = this.#watch.epoch(req.upstream);
      const outcome = await call();
      this.#keep(req, outcome, mine, shared, epoch);
      return { outcome, status: 'miss' };
    }
    this.#misses++;
    const epoch = this.#watch.epoch(req.upstream);
    let settle!: (v: Awaited<Flight>) => void;
    this.#flights.set(mine, new Promise((resolve) => (settle = resolve)));
    let kept: Awaited<Flight> = undefined;
    try {
      const outcome = await call();
      kept = this.#keep(req, outcome, mine, shared, epoch);
      return { outcome, status: 'miss' };
    } finally {
      this.#flights.delete(mine);
      settle(kept);
    }
  }

  /** Drops entries of an upstream: all, or of one method, or of some names of it. */
  invalidate(upstream: string, method?: string, names?: ReadonlySet<string>): void {
    this.#watch.bump(upstream);
    this.#invalidations += this.#store.deleteWhere(
      (e) => e.upstream === upstream && (method === undefined || e.method === method) && (names === undefined || names.has(e.name)),
    );
  }

  clear(): void {
    this.#invalidations += this.#store.size;
    this.#store.clear();
  }

  stats(): CacheStats {
    return {
      entries: this.#store.size,
      bytes: this.#store.bytes,
      hits: this.#hits,
      misses: this.#misses,
      coalesced: this.#coalesced,
      stores: this.#stores,
      evictions: this.#store.evictions,
      expirations: this.#store.expirations,
      invalidations: this.#invalidations,
      bypasses: this.#bypasses,
      tooLarge: this.#tooLarge,
    };
  }

  /** Keeps a result that may be kept (and was not made stale meanwhile); returns what waiting callers get. */
  #keep(req: CacheRequest, outcome: MethodOutcome, mine: string, shared: string | undefined, epoch: number): Awaited<Flight> {
    if (!('result' in outcome)) return undefined;
    const d = storeDecision(req, outcome.result);
    if (d === undefined) return undefined;
    // The tool or upstream changed while the call ran: its answer may be of the old definition.
    if (this.#watch.epoch(req.upstream) !== epoch) return undefined;
    let text: string;
    try {
      text = JSON.stringify(outcome.result);
    } catch {
      // Results arrive as parsed JSON, so this cannot fail; if it ever does, the answer still goes out uncached.
      return undefined;
    }
    const key = d.shared && shared !== undefined ? shared : mine;
    const now = this.#now();
    const bytes = entryBytes(key, text);
    const ok = this.#store.set(key, { text, bytes, storedAt: now, expiresAt: now + d.ttlMs, upstream: req.upstream, method: req.method, name: req.name }, now);
    if (!ok) {
      this.#tooLarge++;
      // Not kept, but the waiting callers of the same principal may still share it.
      return { text, storedAt: now };
    }
    this.#stores++;
    return { text, storedAt: now };
  }
}

/**
 * A fresh copy for one caller. A result that states its own `ttlMs` is told how much of it is left,
 * as an HTTP cache's `Age` would: the agent must not keep it longer than the upstream allowed.
 */
function served(text: string, storedAt: number, now: number): Record<string, unknown> {
  const r = JSON.parse(text) as Record<string, unknown>;
  if (typeof r.ttlMs === 'number') r.ttlMs = Math.max(0, Math.floor(r.ttlMs - (now - storedAt)));
  return r;
}

function untilAborted<T>(p: Promise<T>, signal: AbortSignal | undefined): Promise<T | undefined> {
  if (signal === undefined) return p;
  if (signal.aborted) return Promise.resolve(undefined);
  return new Promise((resolve) => {
    const stop = (): void => resolve(undefined);
    signal.addEventListener('abort', stop, { once: true });
    p.then((v) => {
      signal.removeEventListener('abort', stop);
      resolve(v);
    });
  });
}
