// The gateway's durable state behind one interface. Async although SQLite is synchronous here, so a
// networked backend (PostgreSQL) fits behind the same calls later.
import type { Era } from '../protocol/mcp.ts';
import type { AuditStore } from './audit-store.ts';

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

export interface Store extends AuditStore, AsyncDisposable {
  /** Era last negotiated with an upstream, keyed by the upstream's config identity. */
  getUpstreamEra(identity: string): Promise<Era | undefined>;
  setUpstreamEra(identity: string, era: Era): Promise<void>;
  /** Last known lists of an upstream, keyed by upstream name. */
  getUpstreamCatalog(upstream: string): Promise<StoredCatalog | undefined>;
  putUpstreamCatalog(upstream: string, catalog: StoredCatalog): Promise<void>;
  /** API keys: stored by key id with a hash of the secret, never the secret. `put` refuses an existing id. */
  putApiKey(key: ApiKeyRecord): Promise<void>;
  getApiKey(id: string): Promise<ApiKeyRecord | undefined>;
  /** Newest first. */
  listApiKeys(filter?: { includeRevoked?: boolean; kind?: ApiKeyKind }): Promise<ApiKeyRecord[]>;
  /** Sets revokedAt (ISO 8601) once; false when the id is unknown or already revoked. */
  revokeApiKey(id: string, at: string): Promise<boolean>;
  /** Sets expiresAt (ISO 8601) of a live key (rotation grace); false when unknown or revoked. */
  expireApiKey(id: string, at: string): Promise<boolean>;
  /** Records use; callers throttle it (it is a write). */
  touchApiKey(id: string, at: string): Promise<void>;
  /** The gateway's own token-signing keys. `put` refuses an existing kid. */
  putSigningKey(key: SigningKeyRecord): Promise<void>;
  /** Oldest first. */
  listSigningKeys(): Promise<SigningKeyRecord[]>;
  /** Sets retiredAt of a key; false when unknown or already retired. */
  retireSigningKey(kid: string, at: string): Promise<boolean>;
  /** Removes keys retired before `before` (ISO 8601); returns how many. */
  pruneSigningKeys(before: string): Promise<number>;
  /**
   * The cheapest round trip that proves the store answers (readiness probes): resolves, or rejects with
   * a StoreError (`closed`, or `io` naming why). Bounded in time by the implementation; callers cache
   * the answer rather than pinging per request.
   */
  ping(): Promise<void>;
  /** Idempotent. Every call after it rejects with a StoreError of kind `closed`. */
  close(): Promise<void>;
}

export type ApiKeyKind = 'agent' | 'admin';

/** One API key as stored. All times ISO 8601 (UTC). */
export interface ApiKeyRecord {
  /** Public key id, the part of the key text before the secret; the lookup key. */
  id: string;
  /** Hex SHA-256 of the secret part. */
  hash: string;
  kind: ApiKeyKind;
  /** What a person calls it ("ci-bot prod"). */
  name: string | undefined;
  agent: string;
  user: string | undefined;
  tenant: string | undefined;
  roles: string[];
  scopes: string[];
  createdAt: string;
  expiresAt: string | undefined;
  revokedAt: string | undefined;
  lastUsedAt: string | undefined;
  /** The key this one replaced (rotation). */
  rotatedFrom: string | undefined;
}

/** One token-signing key of the gateway. The private JWK is key material: never logged or served. */
export interface SigningKeyRecord {
  kid: string;
  alg: 'EdDSA' | 'ES256';
  /** Public JWK as JSON text (what the JWKS publishes). */
  publicJwk: string;
  /** Private JWK as JSON text. */
  privateJwk: string;
  createdAt: string;
  /** Unset while the key is the one that signs; retired keys still verify until pruned. */
  retiredAt: string | undefined;
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
  /** A write collided with what is there (an audit entry's chain position or id is taken). */
  | 'conflict'
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

// ---- API keys and signing keys: validation and the column encoding both stores share ----

/** Longest text the store keeps in one name-like field; callers apply their own, tighter limits. */
const MAX_FIELD = 1024;
/** Most entries in roles or scopes of one key. */
const MAX_LIST = 256;
/**
 * Times are kept in the one form `Date#toISOString` gives, so that comparing and ordering the text
 * (SQL `ORDER BY`, `<`) is comparing the instants.
 */
const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const SHA256_HEX = /^[0-9a-f]{64}$/;
// Control characters have no place in names that end up in logs, tables and audit records.
const CONTROL = /[\p{Cc}]/u;

export function checkTimestamp(what: string, value: unknown): asserts value is string {
  if (typeof value !== 'string' || !ISO_UTC.test(value) || Number.isNaN(Date.parse(value)) || new Date(value).toISOString() !== value) {
    throw new StoreError('invalid_input', `${what} must be an ISO 8601 UTC time like 2026-01-31T12:00:00.000Z, got ${describe(value)}`);
  }
}

function checkText(what: string, value: unknown): asserts value is string {
  checkKey(what, value);
  if (value.length > MAX_FIELD) throw new StoreError('invalid_input', `${what} is longer than ${MAX_FIELD} characters`);
  if (CONTROL.test(value)) throw new StoreError('invalid_input', `${what} contains a control character`);
}

function checkOptional(what: string, value: unknown, check: (what: string, value: unknown) => void): void {
  if (value !== undefined) check(what, value);
}

function checkList(what: string, value: unknown): asserts value is string[] {
  if (!Array.isArray(value)) throw new StoreError('invalid_input', `${what} must be an array of strings, got ${describe(value)}`);
  if (value.length > MAX_LIST) throw new StoreError('invalid_input', `${what} has more than ${MAX_LIST} entries`);
  value.forEach((v, i) => checkText(`${what}[${i}]`, v));
}

export function checkApiKeyKind(value: unknown): asserts value is ApiKeyKind {
  if (value !== 'agent' && value !== 'admin') {
    throw new StoreError('invalid_input', `API key kind must be 'agent' or 'admin', got ${describe(value)}`);
  }
}

/** Checks a key listing filter; absent fields mean "no filter". */
export function checkApiKeyFilter(filter: unknown): { includeRevoked: boolean; kind: ApiKeyKind | undefined } {
  if (filter === undefined) return { includeRevoked: false, kind: undefined };
  if (filter === null || typeof filter !== 'object') throw new StoreError('invalid_input', `API key filter must be an object, got ${describe(filter)}`);
  const f = filter as { includeRevoked?: unknown; kind?: unknown };
  if (f.includeRevoked !== undefined && typeof f.includeRevoked !== 'boolean') {
    throw new StoreError('invalid_input', `API key filter includeRevoked must be a boolean, got ${describe(f.includeRevoked)}`);
  }
  if (f.kind !== undefined) checkApiKeyKind(f.kind);
  return { includeRevoked: f.includeRevoked === true, kind: f.kind as ApiKeyKind | undefined };
}

/** An API key as both stores keep it: one value per column, lists as JSON text, absent as null. */
export interface EncodedApiKey {
  id: string;
  hash: string;
  kind: ApiKeyKind;
  name: string | null;
  agent: string;
  user: string | null;
  tenant: string | null;
  roles: string;
  scopes: string;
  createdAt: string;
  expiresAt: string | null;
  revokedAt: string | null;
  lastUsedAt: string | null;
  rotatedFrom: string | null;
}

/** Validates a whole record; the message names the field and the key. */
export function encodeApiKey(key: ApiKeyRecord): EncodedApiKey {
  if (key === null || typeof key !== 'object') throw new StoreError('invalid_input', `API key must be an object, got ${describe(key)}`);
  checkText('API key id', key.id);
  const at = `of API key '${key.id}'`;
  if (typeof key.hash !== 'string' || !SHA256_HEX.test(key.hash)) {
    // Never echo the value: a caller that passed the secret by mistake must not see it logged.
    throw new StoreError('invalid_input', `hash ${at} must be 64 lowercase hex digits (a SHA-256)`);
  }
  checkApiKeyKind(key.kind);
  checkOptional(`name ${at}`, key.name, checkText);
  checkText(`agent ${at}`, key.agent);
  checkOptional(`user ${at}`, key.user, checkText);
  checkOptional(`tenant ${at}`, key.tenant, checkText);
  checkList(`roles ${at}`, key.roles);
  checkList(`scopes ${at}`, key.scopes);
  checkTimestamp(`createdAt ${at}`, key.createdAt);
  checkOptional(`expiresAt ${at}`, key.expiresAt, checkTimestamp);
  checkOptional(`revokedAt ${at}`, key.revokedAt, checkTimestamp);
  checkOptional(`lastUsedAt ${at}`, key.lastUsedAt, checkTimestamp);
  checkOptional(`rotatedFrom ${at}`, key.rotatedFrom, checkText);
  return {
    id: key.id,
    hash: key.hash,
    kind: key.kind,
    name: key.name ?? null,
    agent: key.agent,
    user: key.user ?? null,
    tenant: key.tenant ?? null,
    roles: JSON.stringify(key.roles),
    scopes: JSON.stringify(key.scopes),
    createdAt: key.createdAt,
    expiresAt: key.expiresAt ?? null,
    revokedAt: key.revokedAt ?? null,
    lastUsedAt: key.lastUsedAt ?? null,
    rotatedFrom: key.rotatedFrom ?? null,
  };
}

export function decodeApiKey(e: EncodedApiKey): ApiKeyRecord {
  let roles: string[];
  let scopes: string[];
  try {
    roles = JSON.parse(e.roles) as string[];
    scopes = JSON.parse(e.scopes) as string[];
  } catch (cause) {
    throw new StoreError('io', `stored API key '${e.id}' is unreadable: ${(cause as Error).message}`, { cause });
  }
  return {
    id: e.id,
    hash: e.hash,
    kind: e.kind,
    name: e.name ?? undefined,
    agent: e.agent,
    user: e.user ?? undefined,
    tenant: e.tenant ?? undefined,
    roles,
    scopes,
    createdAt: e.createdAt,
    expiresAt: e.expiresAt ?? undefined,
    revokedAt: e.revokedAt ?? undefined,
    lastUsedAt: e.lastUsedAt ?? undefined,
    rotatedFrom: e.rotatedFrom ?? undefined,
  };
}

/** Validates a signing key; the JWKs must be JSON objects (the error never quotes the private one). */
export function checkSigningKey(key: SigningKeyRecord): void {
  if (key === null || typeof key !== 'object') throw new StoreError('invalid_input', `signing key must be an object, got ${describe(key)}`);
  checkText('signing key kid', key.kid);
  const at = `of signing key '${key.kid}'`;
  if (key.alg !== 'EdDSA' && key.alg !== 'ES256') throw new StoreError('invalid_input', `alg ${at} must be 'EdDSA' or 'ES256', got ${describe(key.alg)}`);
  checkJwk(`publicJwk ${at}`, key.publicJwk);
  checkJwk(`privateJwk ${at}`, key.privateJwk);
  checkTimestamp(`createdAt ${at}`, key.createdAt);
  checkOptional(`retiredAt ${at}`, key.retiredAt, checkTimestamp);
}

/** `value` is the JSON text of a JWK object (signing keys, audit checkpoint keys). */
export function checkJwk(what: string, value: unknown): void {
  let parsed: unknown;
  try {
    parsed = typeof value === 'string' ? JSON.parse(value) : undefined;
  } catch {
    parsed = undefined;
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new StoreError('invalid_input', `${what} must be the JSON text of a JWK object`);
  }
}
