// The gateway's durable state behind one interface. Async although SQLite is synchronous here, so a
// networked backend (PostgreSQL) fits behind the same calls later.
import type { Era } from '../protocol/mcp.ts';

/** Last known lists of one upstream, kept so public names stay stable while it is down and across restarts. */
export interface StoredCatalog {
  /** Config identity of the upstream when the lists were fetched (a hash the caller computes). */
  identity: string;
  /** When the lists were fetched (ISO 8601). */
  fetchedAt: string;
  tools: unknown[];
  prompts: unknown[];
  resources: unknown[];
  resourceTemplates: unknown[];
}

export interface Store extends AsyncDisposable {
  /** Era last negotiated with an upstream, keyed by the upstream's config identity. */
  getUpstreamEra(identity: string): Promise<Era | undefined>;
  setUpstreamEra(identity: string, era: Era): Promise<void>;
  /** Last known lists of an upstream, keyed by upstream name. */
  getUpstreamCatalog(upstream: string): Promise<StoredCatalog | undefined>;
  putUpstreamCatalog(upstream: string, catalog: StoredCatalog): Promise<void>;
  /** Idempotent. Every call after it rejects with a StoreError of kind `closed`. */
  close(): Promise<void>;
}

export type StoreErrorKind =
  /** The database could not be created or opened (folder, permissions, not a database). */
  | 'open_failed'
  /** The schema could not be brought up to date, or was written by a newer Gatehouse. */
  | 'migration_failed'
  /** A caller passed a value the store refuses to keep. */
  | 'invalid_input'
  /** The store was closed. */
  | 'closed'
  /** A read or write failed at runtime (disk full, I/O error, lock timeout). */
  | 'io';

/** Startup and state errors; never sent to agents as-is (the caller maps them). */
export class StoreError extends Error {
  readonly kind: StoreErrorKind;
  constructor(kind: StoreErrorKind, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StoreError';
    this.kind = kind;
  }
}

const CATALOG_LISTS = ['tools', 'prompts', 'resources', 'resourceTemplates'] as const;

export function checkKey(what: string, value: unknown): asserts value is string {
  if (typeof value !== 'string' || value.length === 0) {
    throw new StoreError('invalid_input', `${what} must be a non-empty string, got ${describe(value)}`);
  }
}

export function checkEra(value: unknown): asserts value is Era {
  if (value !== 'modern' && value !== 'legacy') {
    throw new StoreError('invalid_input', `era must be 'modern' or 'legacy', got ${describe(value)}`);
  }
}

/** The serialised lists of a catalog, one JSON text per list, in CATALOG_LISTS order. */
export interface EncodedCatalog {
  identity: string;
  fetchedAt: string;
  tools: string;
  prompts: string;
  resources: string;
  resourceTemplates: string;
}

/**
 * Validates and serialises a catalog. Both implementations store JSON text so that what comes back
 * is exactly what a JSON round trip gives, whichever store is in use.
 */
export function encodeCatalog(upstream: string, c: StoredCatalog): EncodedCatalog {
  checkKey('upstream', upstream);
  if (c === null || typeof c !== 'object') {
    throw new StoreError('invalid_input', `catalog of upstream '${upstream}' must be an object, got ${describe(c)}`);
  }
  checkKey(`catalog.identity of upstream '${upstream}'`, c.identity);
  checkKey(`catalog.fetchedAt of upstream '${upstream}'`, c.fetchedAt);
  const out: Record<string, string> = { identity: c.identity, fetchedAt: c.fetchedAt };
  for (const list of CATALOG_LISTS) {
    const value: unknown = c[list];
    if (!Array.isArray(value)) {
      throw new StoreError('invalid_input', `catalog.${list} of upstream '${upstream}' must be an array, got ${describe(value)}`);
    }
    try {
      out[list] = JSON.stringify(value);
    } catch (cause) {
      throw new StoreError('invalid_input', `catalog.${list} of upstream '${upstream}' is not JSON-serialisable: ${(cause as Error).message}`, { cause });
    }
  }
  return out as unknown as EncodedCatalog;
}

export function decodeCatalog(upstream: string, e: EncodedCatalog): StoredCatalog {
  try {
    return {
      identity: e.identity,
      fetchedAt: e.fetchedAt,
      tools: JSON.parse(e.tools) as unknown[],
      prompts: JSON.parse(e.prompts) as unknown[],
      resources: JSON.parse(e.resources) as unknown[],
      resourceTemplates: JSON.parse(e.resourceTemplates) as unknown[],
    };
  } catch (cause) {
    throw new StoreError('io', `stored catalog of upstream '${upstream}' is unreadable: ${(cause as Error).message}`, { cause });
  }
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return value.length === 0 ? 'an empty string' : `'${value.slice(0, 40)}'`;
  return typeof value;
}
