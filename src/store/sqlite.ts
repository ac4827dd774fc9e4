// The embedded Store: one SQLite file through node:sqlite (built into Node, no native addon).
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import type { StatementSync } from 'node:sqlite';
import type { Era } from '../protocol/mcp.ts';
import type { AuditStore } from './audit-store.ts';
import { forwardAudit } from './audit-forward.ts';
import { applyMigrations } from './migrations.ts';
import { SqliteAudit } from './sqlite-audit.ts';
import {
  StoreError,
  checkApiKeyFilter,
  checkEra,
  checkKey,
  checkSigningKey,
  checkTimestamp,
  decodeApiKey,
  decodeCatalog,
  encodeApiKey,
  encodeCatalog,
} from './store.ts';
import type { ApiKeyKind, ApiKeyRecord, EncodedApiKey, EncodedCatalog, SigningKeyRecord, Store, StoredCatalog } from './store.ts';

export const MEMORY_PATH = ':memory:';
/** How long a write waits for another process's lock before failing. */
const BUSY_TIMEOUT_MS = 5_000;

interface CatalogRow {
  identity: string;
  fetched_at: string;
  tools: string;
  prompts: string;
  resources: string;
  resource_templates: string;
}

const API_KEY_COLUMNS = `id, hash, kind, name, agent, user, tenant, roles, scopes, created_at AS createdAt, expires_at AS expiresAt,
  revoked_at AS revokedAt, last_used_at AS lastUsedAt, rotated_from AS rotatedFrom`;
// rowid breaks ties between keys created in the same millisecond: the later insert is the newer key.
const LIST_API_KEYS = `SELECT ${API_KEY_COLUMNS} FROM api_key
  WHERE (?1 = 1 OR revoked_at IS NULL) AND (?2 IS NULL OR kind = ?2) ORDER BY created_at DESC, rowid DESC`;

interface SigningKeyRow {
  kid: string;
  alg: SigningKeyRecord['alg'];
  publicJwk: string;
  privateJwk: string;
  createdAt: string;
  retiredAt: string | null;
}

export interface SqliteStoreOptions {
  /**
   * `normal` (default) survives application crashes in WAL mode; only a power loss can drop the last
   * transactions. `full` syncs the WAL on every commit, so an audit entry acknowledged is on disk.
   */
  synchronous?: 'normal' | 'full';
}

/**
 * Opens (creating if needed) the SQLite database at `file`, an absolute path or `:memory:`, and
 * brings its schema up to date. Every failure is a StoreError naming the file and the reason.
 */
export function openSqliteStore(file: string, opts: SqliteStoreOptions = {}): SqliteStore {
  const synchronous = opts?.synchronous ?? 'normal';
  if (synchronous !== 'normal' && synchronous !== 'full') {
    throw new StoreError('invalid_input', `store option synchronous must be 'normal' or 'full', got '${String(synchronous)}'`);
  }
  if (file !== MEMORY_PATH) {
    try {
      mkdirSync(dirname(file), { recursive: true });
    } catch (cause) {
      throw new StoreError('open_failed', `cannot create the folder of store ${file}: ${(cause as Error).message}`, { cause });
    }
  }
  let db: DatabaseSync;
  try {
    db = new DatabaseSync(file, { timeout: BUSY_TIMEOUT_MS, enableForeignKeyConstraints: true });
  } catch (cause) {
    throw new StoreError('open_failed', `cannot open store ${file}: ${sqliteReason(cause)}`, { cause });
  }
  try {
    // The first statements touch the file header, so a file that is not a database fails here.
    db.exec('PRAGMA journal_mode = WAL');
    // NORMAL is durable across application crashes in WAL mode; only a power loss can drop the
    // last transactions, which for cached eras and catalogs costs a re-probe, nothing more. An audit
    // trail that must survive power loss asks for FULL.
    db.exec(`PRAGMA synchronous = ${synchronous === 'full' ? 'FULL' : 'NORMAL'}`);
    db.enableDefensive(true);
  } catch (cause) {
    db.close();
    throw new StoreError('open_failed', `cannot use store ${file}: ${sqliteReason(cause)}`, { cause });
  }
  try {
    applyMigrations(db);
  } catch (cause) {
    db.close();
    if (cause instanceof StoreError) throw new StoreError(cause.kind, `store ${file}: ${cause.message}`, { cause });
    throw new StoreError('migration_failed', `cannot migrate store ${file}: ${sqliteReason(cause)}`, { cause });
  }
  return new SqliteStore(db, file);
}

/** The audit methods come from SqliteAudit (forwardAudit). */
export interface SqliteStore extends AuditStore {}

export class SqliteStore implements Store {
  readonly file: string;
  /** As the connection reports it (PRAGMA synchronous), not as asked. */
  readonly synchronous: 'normal' | 'full' | 'other';
  #db: DatabaseSync;
  #closed = false;
  // Compiled once: per-call work is binding values and stepping.
  #getEra: StatementSync;
  #setEra: StatementSync;
  #getCatalog: StatementSync;
  #putCatalog: StatementSync;
  #putApiKey: StatementSync;
  #getApiKey: StatementSync;
  #listApiKeys: StatementSync;
  #revokeApiKey: StatementSync;
  #expireApiKey: StatementSync;
  #touchApiKey: StatementSync;
  #putSigningKey: StatementSync;
  #listSigningKeys: StatementSync;
  #retireSigningKey: StatementSync;
  #pruneSigningKeys: StatementSync;
  #ping: StatementSync;

  constructor(db: DatabaseSync, file: string) {
    this.#db = db;
    this.file = file;
    const level = (db.prepare('PRAGMA synchronous').get() as { synchronous: number }).synchronous;
    this.synchronous = level === 1 ? 'normal' : level === 2 ? 'full' : 'other';
    forwardAudit(this, new SqliteAudit(db, { open: () => this.#open(), run: (what, fn) => this.#run(what, fn) }));
    this.#getEra = db.prepare('SELECT era FROM upstream_era WHERE identity = ?');
    this.#setEra = db.prepare(
      `INSERT INTO upstream_era (identity, era, updated_at) VALUES (?, ?, ?)
       ON CONFLICT (identity) DO UPDATE SET era = excluded.era, updated_at = excluded.updated_at`,
    );
    this.#getCatalog = db.prepare(
      'SELECT identity, fetched_at, tools, prompts, resources, resource_templates FROM upstream_catalog WHERE upstream = ?',
    );
    this.#putCatalog = db.prepare(
      `INSERT INTO upstream_catalog (upstream, identity, fetched_at, tools, prompts, resources, resource_templates, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (upstream) DO UPDATE SET identity = excluded.identity, fetched_at = excluded.fetched_at,
         tools = excluded.tools, prompts = excluded.prompts, resources = excluded.resources,
         resource_templates = excluded.resource_templates, updated_at = excluded.updated_at`,
    );
    // DO NOTHING, then `changes`, tells a taken id apart without parsing constraint messages.
    this.#putApiKey = db.prepare(
      `INSERT INTO api_key (id, hash, kind, name, agent, user, tenant, roles, scopes, created_at, expires_at, revoked_at, last_used_at, rotated_from)
       VALUES (:id, :hash, :kind, :name, :agent, :user, :tenant, :roles, :scopes, :createdAt, :expiresAt, :revokedAt, :lastUsedAt, :rotatedFrom)
       ON CONFLICT (id) DO NOTHING`,
    );
    this.#getApiKey = db.prepare(`SELECT ${API_KEY_COLUMNS} FROM api_key WHERE id = ?`);
    this.#listApiKeys = db.prepare(LIST_API_KEYS);
    this.#revokeApiKey = db.prepare('UPDATE api_key SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL');
    this.#expireApiKey = db.prepare('UPDATE api_key SET expires_at = ? WHERE id = ? AND revoked_at IS NULL');
    // Only forward: two processes touching the same key cannot move its last use back in time.
    this.#touchApiKey = db.prepare('UPDATE api_key SET last_used_at = ?1 WHERE id = ?2 AND (last_used_at IS NULL OR last_used_at < ?1)');
    this.#putSigningKey = db.prepare(
      `INSERT INTO signing_key (kid, alg, public_jwk, private_jwk, created_at, retired_at) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (kid) DO NOTHING`,
    );
    this.#listSigningKeys = db.prepare(
      `SELECT kid, alg, public_jwk AS publicJwk, private_jwk AS privateJwk, created_at AS createdAt, retired_at AS retiredAt
       FROM signing_key ORDER BY created_at, rowid`,
    );
    this.#retireSigningKey = db.prepare('UPDATE signing_key SET retired_at = ? WHERE kid = ? AND retired_at IS NULL');
    this.#pruneSigningKeys = db.prepare('DELETE FROM signing_key WHERE retired_at IS NOT NULL AND retired_at < ?');
    this.#ping = db.prepare('SELECT 1');
  }

  async getUpstreamEra(identity: string): Promise<Era | undefined> {
    this.#open();
    checkKey('identity', identity);
    const row = this.#run('read the era of an upstream', () => this.#getEra.get(identity)) as { era: Era } | undefined;
    return row?.era;
  }

  async setUpstreamEra(identity: string, era: Era): Promise<void> {
    this.#open();
    checkKey('identity', identity);
    checkEra(era);
    this.#run('record the era of an upstream', () => this.#setEra.run(identity, era, new Date().toISOString()));
  }

  async getUpstreamCatalog(upstream: string): Promise<StoredCatalog | undefined> {
    this.#open();
    checkKey('upstream', upstream);
    const row = this.#run(`read the catalog of upstream '${upstream}'`, () => this.#getCatalog.get(upstream)) as CatalogRow | undefined;
    if (row === undefined) return undefined;
    const e: EncodedCatalog = {
      identity: row.identity,
      fetchedAt: row.fetched_at,
      tools: row.tools,
      prompts: row.prompts,
      resources: row.resources,
      resourceTemplates: row.resource_templates,
    };
    return decodeCatalog(upstream, e);
  }

  async putUpstreamCatalog(upstream: string, catalog: StoredCatalog): Promise<void> {
    this.#open();
    const e = encodeCatalog(upstream, catalog);
    this.#run(`record the catalog of upstream '${upstream}'`, () =>
      this.#putCatalog.run(upstream, e.identity, e.fetchedAt, e.tools, e.prompts, e.resources, e.resourceTemplates, new Date().toISOString()),
    );
  }

  async putApiKey(key: ApiKeyRecord): Promise<void> {
    this.#open();
    const e = encodeApiKey(key);
    const r = this.#run(`record API key '${e.id}'`, () => this.#putApiKey.run({ ...e }));
    if (r.changes === 0) throw new StoreError('invalid_input', `API key id '${e.id}' already exists`);
  }

  async getApiKey(id: string): Promise<ApiKeyRecord | undefined> {
    this.#open();
    checkKey('API key id', id);
    const row = this.#run(`read API key '${id}'`, () => this.#getApiKey.get(id)) as EncodedApiKey | undefined;
    return row === undefined ? undefined : decodeApiKey(row);
  }

  async listApiKeys(filter?: { includeRevoked?: boolean; kind?: ApiKeyKind }): Promise<ApiKeyRecord[]> {
    this.#open();
    const f = checkApiKeyFilter(filter);
    const rows = this.#run('list API keys', () => this.#listApiKeys.all(f.includeRevoked ? 1 : 0, f.kind ?? null)) as unknown as EncodedApiKey[];
    return rows.map(decodeApiKey);
  }

  async revokeApiKey(id: string, at: string): Promise<boolean> {
    this.#open();
    checkKey('API key id', id);
    checkTimestamp('revocation time', at);
    return this.#run(`revoke API key '${id}'`, () => this.#revokeApiKey.run(at, id)).changes > 0;
  }

  async expireApiKey(id: string, at: string): Promise<boolean> {
    this.#open();
    checkKey('API key id', id);
    checkTimestamp('expiry time', at);
    return this.#run(`set the expiry of API key '${id}'`, () => this.#expireApiKey.run(at, id)).changes > 0;
  }

  async touchApiKey(id: string, at: string): Promise<void> {
    this.#open();
    checkKey('API key id', id);
    checkTimestamp('last use time', at);
    this.#run(`record the use of API key '${id}'`, () => this.#touchApiKey.run(at, id));
  }

  async putSigningKey(key: SigningKeyRecord): Promise<void> {
    this.#open();
    checkSigningKey(key);
    const r = this.#run(`record signing key '${key.kid}'`, () =>
      this.#putSigningKey.run(key.kid, key.alg, key.publicJwk, key.privateJwk, key.createdAt, key.retiredAt ?? null),
    );
    if (r.changes === 0) throw new StoreError('invalid_input', `signing key kid '${key.kid}' already exists`);
  }

  async listSigningKeys(): Promise<SigningKeyRecord[]> {
    this.#open();
    const rows = this.#run('list signing keys', () => this.#listSigningKeys.all()) as unknown as SigningKeyRow[];
    return rows.map((r) => ({ kid: r.kid, alg: r.alg, publicJwk: r.publicJwk, privateJwk: r.privateJwk, createdAt: r.createdAt, retiredAt: r.retiredAt ?? undefined }));
  }

  async retireSigningKey(kid: string, at: string): Promise<boolean> {
    this.#open();
    checkKey('signing key kid', kid);
    checkTimestamp('retirement time', at);
    return this.#run(`retire signing key '${kid}'`, () => this.#retireSigningKey.run(at, kid)).changes > 0;
  }

  async pruneSigningKeys(before: string): Promise<number> {
    this.#open();
    checkTimestamp('prune time', before);
    return Number(this.#run('prune signing keys', () => this.#pruneSigningKeys.run(before)).changes);
  }

  async ping(): Promise<void> {
    this.#open();
    this.#run('answer a ping', () => this.#ping.get());
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#db.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  #open(): void {
    if (this.#closed) throw new StoreError('closed', `store ${this.file} is closed`);
  }

  #run<T>(what: string, fn: () => T): T {
    try {
      return fn();
    } catch (cause) {
      throw new StoreError('io', `cannot ${what} in store ${this.file}: ${sqliteReason(cause)}`, { cause });
    }
  }
}

/** SQLite's own words plus its result code, which is what an operator searches for. */
function sqliteReason(err: unknown): string {
  if (err !== null && typeof err === 'object' && 'errcode' in err && 'errstr' in err) {
    const e = err as { message: string; errcode: number; errstr: string };
    const hint = HINTS[e.errcode & 0xff];
    return `${e.message} (SQLite code ${e.errcode}${hint === undefined ? '' : `; ${hint}`})`;
  }
  return err instanceof Error ? err.message : String(err);
}

const HINTS: Record<number, string> = {
  5: 'another process holds a lock for longer than the busy timeout',
  8: 'the file or its folder is read-only for this user',
  10: 'disk I/O error',
  11: 'the file is corrupt; restore it from a backup or move it away to start empty',
  13: 'the disk is full',
  14: 'check that the folder exists and is writable',
  26: 'the file is not a SQLite database; point store.path at another file or move it away',
};
