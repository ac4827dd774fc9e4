// The networked Store: PostgreSQL through `pg` (pure JavaScript, pooled), for several gateways that
// share state. Same behaviour as the SQLite store, proven by the same suite.
import pg from 'pg';
import { POSTGRES_SCHEMA_NAME } from '../config/schema/store.ts';
import type { Era } from '../protocol/mcp.ts';
import type { AuditStore } from './audit-store.ts';
import { forwardAudit } from './audit-forward.ts';
import { PostgresAudit } from './postgres-audit.ts';
import type { PgRunner } from './postgres-audit.ts';
import { applyPostgresMigrations } from './postgres-migrate.ts';
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
import type { ApiKeyKind, ApiKeyRecord, EncodedApiKey, SigningKeyRecord, Store, StoredCatalog } from './store.ts';

/** Structurally the `store` config section with `kind: postgres`; absent fields take the config defaults. */
export interface PostgresStoreOptions {
  /** `postgres://user:password@host:port/database`; a secret: never logged, its password never in a message. */
  url: string;
  schema?: string;
  poolSize?: number;
  connectTimeoutMs?: number;
  statementTimeoutMs?: number;
}

const INT8_OID = 20;
/** The longest a ping may take, waiting for a connection included: readiness probes allow about a second. */
const PING_DEADLINE_MS = 1_000;
// BIGINT (chain positions, counts) as a JS number: positions are checked to be safe integers on the
// way in, so they come back exact.
const TYPES = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === INT8_OID && format !== 'binary' ? Number : pg.types.getTypeParser(oid, format as 'text')) as typeof pg.types.getTypeParser,
};

/**
 * Connects, brings the schema up to date (creating the schema when missing) and returns the store.
 * Every failure is a StoreError naming host:port/database, never the password: `open_failed` when
 * the server cannot be reached or refuses us, `migration_failed` when the schema cannot be migrated.
 */
export async function openPostgresStore(opts: PostgresStoreOptions): Promise<PostgresStore> {
  const url = typeof opts.url === 'string' ? opts.url : '';
  let parsed: URL;
  try {
    parsed = new URL(url);
    if (parsed.protocol !== 'postgres:' && parsed.protocol !== 'postgresql:') throw new Error('not postgres');
  } catch {
    // Never quote it: it may hold a password.
    throw new StoreError('open_failed', 'store.url must be a postgres:// or postgresql:// URL');
  }
  const schema = opts.schema ?? 'public';
  if (typeof schema !== 'string' || !POSTGRES_SCHEMA_NAME.test(schema)) {
    throw new StoreError('open_failed', `store.schema must be a lowercase identifier (letters, digits, "_"; at most 63 characters; not starting with a digit or "pg_"), got '${String(schema).slice(0, 70)}'`);
  }
  const poolSize = positiveInt('store.poolSize', opts.poolSize, 10);
  const connectTimeoutMs = positiveInt('store.connectTimeoutMs', opts.connectTimeoutMs, 5_000);
  const statementTimeoutMs = positiveInt('store.statementTimeoutMs', opts.statementTimeoutMs, 10_000);
  const secrets = passwordForms(parsed);
  const target = describePostgresUrl(parsed) + (schema === 'public' ? '' : ` schema ${schema}`);

  // `options` given in the URL (e.g. a provider's endpoint id) are kept; search_path is added to them.
  // The URL's own parameters would override ours, so it is taken out of the URL and merged here.
  const extra = parsed.searchParams.get('options');
  let connectionString = url;
  if (extra !== null) {
    parsed.searchParams.delete('options');
    connectionString = parsed.toString();
  }
  const pool = new pg.Pool({
    connectionString,
    options: [extra, `-c search_path=${schema}`].filter((o) => o !== null && o !== '').join(' '),
    application_name: 'gatehouse',
    max: poolSize,
    connectionTimeoutMillis: connectTimeoutMs,
    statement_timeout: statementTimeoutMs,
    keepAlive: true,
    idleTimeoutMillis: 30_000,
    allowExitOnIdle: true,
    types: TYPES,
  });
  // An idle connection the server drops (restart, failover, idle timeout) is reported here; the pool
  // has already discarded it and the next call opens a fresh one. Without a listener it would crash us.
  pool.on('error', () => undefined);

  let client: pg.PoolClient;
  try {
    client = await pool.connect();
  } catch (cause) {
    await pool.end().catch(() => undefined);
    throw new StoreError('open_failed', `cannot connect to PostgreSQL at ${target}: ${pgReason(cause, secrets)}`, { cause: scrubbed(cause, secrets) });
  }
  const onError = () => undefined;
  client.on('error', onError);
  try {
    await applyPostgresMigrations(client, schema);
  } catch (cause) {
    client.removeListener('error', onError);
    client.release(true);
    await pool.end().catch(() => undefined);
    if (cause instanceof StoreError) throw new StoreError(cause.kind, `store ${target}: ${scrub(cause.message, secrets)}`, { cause });
    throw new StoreError('migration_failed', `cannot migrate store ${target}: ${pgReason(cause, secrets)}`, { cause: scrubbed(cause, secrets) });
  }
  client.removeListener('error', onError);
  client.release();
  // A call that outlives this gets its connection destroyed: the statement timeout ends slow
  // statements on the server, this ends waits on a server that no longer answers at all.
  return new PostgresStore(pool, target, secrets, statementTimeoutMs + connectTimeoutMs);
}

function positiveInt(what: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) throw new StoreError('open_failed', `${what} must be a positive integer`);
  return value;
}

/** `host:port/database` of a postgres URL, for messages: never the user's password. */
export function describePostgresUrl(url: URL): string {
  const host = url.hostname !== '' ? url.hostname : (url.searchParams.get('host') ?? 'localhost');
  const port = url.port !== '' ? url.port : (url.searchParams.get('port') ?? '5432');
  const database = safeDecode(url.pathname.slice(1)) || safeDecode(url.username) || '(default database)';
  return `${host}:${port}/${database}`;
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** The password as written in the URL and as decoded: either may turn up in a message. */
function passwordForms(url: URL): string[] {
  const raw = url.password;
  if (raw === '') return [];
  return [...new Set([raw, safeDecode(raw)])].filter((p) => p.length > 0).sort((a, b) => b.length - a.length);
}

function scrub(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const s of secrets) out = out.split(s).join('[redacted]');
  return out;
}

/** The cause kept on a StoreError, with the password cut out of its message too. */
function scrubbed(cause: unknown, secrets: readonly string[]): unknown {
  if (secrets.length === 0 || !(cause instanceof Error)) return cause;
  const message = scrub(cause.message, secrets);
  if (message === cause.message) return cause;
  // The SQLSTATE stays: callers tell a unique violation (23505) apart by it.
  const copy = new Error(message) as Error & { code?: unknown };
  copy.name = cause.name;
  copy.code = (cause as { code?: unknown }).code;
  return copy;
}

// Hints for the SQLSTATEs an operator meets when setting the store up or running it.
const HINTS: Record<string, string> = {
  '28P01': 'check the user and password in store.url',
  '28000': 'the server refuses this user from this host (pg_hba.conf)',
  '3D000': 'create the database first, or fix its name in store.url',
  '42501': 'the role lacks a privilege on the schema or its tables',
  '57014': 'the statement ran longer than store.statementTimeoutMs, or was cancelled',
  '53300': 'the server has no free connection slots; lower store.poolSize or raise max_connections',
  '57P01': 'the server is shutting down',
  '57P03': 'the server is starting up or in recovery',
  '25006': 'the server is a read-only standby; point store.url at the primary',
  '53100': 'the database server\'s disk is full',
};

/** The server's or the socket's own words, the SQLSTATE and a hint; the password cut out. */
export function pgReason(err: unknown, secrets: readonly string[] = []): string {
  let text: string;
  if (err instanceof pg.DatabaseError) {
    const hint = err.code === undefined ? undefined : HINTS[err.code];
    text = `${err.message} (SQLSTATE ${err.code ?? 'unknown'}${hint === undefined ? '' : `; ${hint}`})`;
  } else if (err instanceof AggregateError && err.errors.length > 0) {
    // Several addresses for one host name (IPv4 and IPv6): say why each failed.
    text = err.errors.map((e: unknown) => (e instanceof Error ? e.message : String(e))).join('; ');
  } else if (err instanceof Error) {
    const code = (err as NodeJS.ErrnoException).code;
    text = err.message || code || err.name;
    if (code === 'ECONNREFUSED') text += ' (is the server running and listening there?)';
    if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') text += ' (the host name does not resolve)';
  } else {
    text = String(err);
  }
  return scrub(text, secrets);
}

interface SigningKeyRow {
  kid: string;
  alg: SigningKeyRecord['alg'];
  publicJwk: string;
  privateJwk: string;
  createdAt: string;
  retiredAt: string | null;
}

const API_KEY_COLUMNS = `id, hash, kind, name, agent, "user", tenant, roles, scopes, created_at AS "createdAt", expires_at AS "expiresAt",
  revoked_at AS "revokedAt", last_used_at AS "lastUsedAt", rotated_from AS "rotatedFrom"`;
// Times are compared and ordered as bytes (COLLATE "C"), as SQLite does; rowid (an identity column)
// breaks ties by insertion order as SQLite's rowid does.
const LIST_API_KEYS = `SELECT ${API_KEY_COLUMNS} FROM api_key
  WHERE ($1::boolean OR revoked_at IS NULL) AND ($2::text IS NULL OR kind = $2) ORDER BY created_at COLLATE "C" DESC, rowid DESC`;
const PUT_API_KEY = `INSERT INTO api_key (id, hash, kind, name, agent, "user", tenant, roles, scopes, created_at, expires_at, revoked_at, last_used_at, rotated_from)
  VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) ON CONFLICT (id) DO NOTHING`;

/** The audit methods come from PostgresAudit (forwardAudit). */
export interface PostgresStore extends AuditStore {}

export class PostgresStore implements Store {
  /** `host:port/database` (and schema): what messages name. */
  readonly target: string;
  #pool: pg.Pool;
  #secrets: readonly string[];
  #deadlineMs: number;
  #closed = false;
  #closing: Promise<void> | undefined;

  constructor(pool: pg.Pool, target: string, secrets: readonly string[], deadlineMs: number) {
    this.#pool = pool;
    this.target = target;
    this.#secrets = secrets;
    this.#deadlineMs = deadlineMs;
    const runner: PgRunner = {
      open: () => this.#open(),
      run: (what, fn) => this.#withClient(what, fn),
      transaction: (what, fn) => this.#transaction(what, fn),
    };
    forwardAudit(this, new PostgresAudit(runner));
  }

  async getUpstreamEra(identity: string): Promise<Era | undefined> {
    this.#open();
    checkKey('identity', identity);
    const r = await this.#query<{ era: Era }>('read the era of an upstream', 'SELECT era FROM upstream_era WHERE identity = $1', [identity]);
    return r.rows[0]?.era;
  }

  async setUpstreamEra(identity: string, era: Era): Promise<void> {
    this.#open();
    checkKey('identity', identity);
    checkEra(era);
    await this.#query(
      'record the era of an upstream',
      `INSERT INTO upstream_era (identity, era, updated_at) VALUES ($1, $2, $3)
       ON CONFLICT (identity) DO UPDATE SET era = excluded.era, updated_at = excluded.updated_at`,
      [identity, era, new Date().toISOString()],
    );
  }

  async getUpstreamCatalog(upstream: string): Promise<StoredCatalog | undefined> {
    this.#open();
    checkKey('upstream', upstream);
    const r = await this.#query<{ identity: string; fetchedAt: string; tools: string; prompts: string; resources: string; resourceTemplates: string }>(
      `read the catalog of upstream '${upstream}'`,
      `SELECT identity, fetched_at AS "fetchedAt", tools, prompts, resources, resource_templates AS "resourceTemplates"
       FROM upstream_catalog WHERE upstream = $1`,
      [upstream],
    );
    const row = r.rows[0];
    return row === undefined ? undefined : decodeCatalog(upstream, row);
  }

  async putUpstreamCatalog(upstream: string, catalog: StoredCatalog): Promise<void> {
    this.#open();
    const e = encodeCatalog(upstream, catalog);
    await this.#query(
      `record the catalog of upstream '${upstream}'`,
      `INSERT INTO upstream_catalog (upstream, identity, fetched_at, tools, prompts, resources, resource_templates, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
       ON CONFLICT (upstream) DO UPDATE SET identity = excluded.identity, fetched_at = excluded.fetched_at,
         tools = excluded.tools, prompts = excluded.prompts, resources = excluded.resources,
         resource_templates = excluded.resource_templates, updated_at = excluded.updated_at`,
      [upstream, e.identity, e.fetchedAt, e.tools, e.prompts, e.resources, e.resourceTemplates, new Date().toISOString()],
    );
  }

  async putApiKey(key: ApiKeyRecord): Promise<void> {
    this.#open();
    const e = encodeApiKey(key);
    const r = await this.#query(`record API key '${e.id}'`, PUT_API_KEY, [
      e.id, e.hash, e.kind, e.name, e.agent, e.user, e.tenant, e.roles, e.scopes, e.createdAt, e.expiresAt, e.revokedAt, e.lastUsedAt, e.rotatedFrom,
    ]);
    // DO NOTHING, then the row count, tells a taken id apart without parsing constraint messages.
    if (r.rowCount === 0) throw new StoreError('invalid_input', `API key id '${e.id}' already exists`);
  }

  async getApiKey(id: string): Promise<ApiKeyRecord | undefined> {
    this.#open();
    checkKey('API key id', id);
    const r = await this.#query<EncodedApiKey>(`read API key '${id}'`, `SELECT ${API_KEY_COLUMNS} FROM api_key WHERE id = $1`, [id]);
    const row = r.rows[0];
    return row === undefined ? undefined : decodeApiKey(row);
  }

  async listApiKeys(filter?: { includeRevoked?: boolean; kind?: ApiKeyKind }): Promise<ApiKeyRecord[]> {
    this.#open();
    const f = checkApiKeyFilter(filter);
    const r = await this.#query<EncodedApiKey>('list API keys', LIST_API_KEYS, [f.includeRevoked, f.kind ?? null]);
    return r.rows.map(decodeApiKey);
  }

  async revokeApiKey(id: string, at: string): Promise<boolean> {
    this.#open();
    checkKey('API key id', id);
    checkTimestamp('revocation time', at);
    const r = await this.#query(`revoke API key '${id}'`, 'UPDATE api_key SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL', [at, id]);
    return (r.rowCount ?? 0) > 0;
  }

  async expireApiKey(id: string, at: string): Promise<boolean> {
    this.#open();
    checkKey('API key id', id);
    checkTimestamp('expiry time', at);
    const r = await this.#query(`set the expiry of API key '${id}'`, 'UPDATE api_key SET expires_at = $1 WHERE id = $2 AND revoked_at IS NULL', [at, id]);
    return (r.rowCount ?? 0) > 0;
  }

  async touchApiKey(id: string, at: string): Promise<void> {
    this.#open();
    checkKey('API key id', id);
    checkTimestamp('last use time', at);
    // Only forward: two gateways touching the same key cannot move its last use back in time.
    await this.#query(
      `record the use of API key '${id}'`,
      'UPDATE api_key SET last_used_at = $1 WHERE id = $2 AND (last_used_at IS NULL OR last_used_at COLLATE "C" < $1)',
      [at, id],
    );
  }

  async putSigningKey(key: SigningKeyRecord): Promise<void> {
    this.#open();
    checkSigningKey(key);
    const r = await this.#query(
      `record signing key '${key.kid}'`,
      `INSERT INTO signing_key (kid, alg, public_jwk, private_jwk, created_at, retired_at) VALUES ($1, $2, $3, $4, $5, $6)
       ON CONFLICT (kid) DO NOTHING`,
      [key.kid, key.alg, key.publicJwk, key.privateJwk, key.createdAt, key.retiredAt ?? null],
    );
    if (r.rowCount === 0) throw new StoreError('invalid_input', `signing key kid '${key.kid}' already exists`);
  }

  async listSigningKeys(): Promise<SigningKeyRecord[]> {
    this.#open();
    const r = await this.#query<SigningKeyRow>(
      'list signing keys',
      `SELECT kid, alg, public_jwk AS "publicJwk", private_jwk AS "privateJwk", created_at AS "createdAt", retired_at AS "retiredAt"
       FROM signing_key ORDER BY created_at COLLATE "C", rowid`,
    );
    return r.rows.map((k) => ({ kid: k.kid, alg: k.alg, publicJwk: k.publicJwk, privateJwk: k.privateJwk, createdAt: k.createdAt, retiredAt: k.retiredAt ?? undefined }));
  }

  async retireSigningKey(kid: string, at: string): Promise<boolean> {
    this.#open();
    checkKey('signing key kid', kid);
    checkTimestamp('retirement time', at);
    const r = await this.#query(`retire signing key '${kid}'`, 'UPDATE signing_key SET retired_at = $1 WHERE kid = $2 AND retired_at IS NULL', [at, kid]);
    return (r.rowCount ?? 0) > 0;
  }

  async pruneSigningKeys(before: string): Promise<number> {
    this.#open();
    checkTimestamp('prune time', before);
    const r = await this.#query('prune signing keys', 'DELETE FROM signing_key WHERE retired_at IS NOT NULL AND retired_at COLLATE "C" < $1', [before]);
    return r.rowCount ?? 0;
  }

  /**
   * `SELECT 1` on a pooled connection, within PING_DEADLINE_MS (or the store's own deadline when shorter)
   * from the first moment: a server that is down or frozen, or a pool with no connection to spare,
   * makes it fail fast rather than after the connect timeout.
   */
  async ping(): Promise<void> {
    this.#open();
    const ms = Math.min(PING_DEADLINE_MS, this.#deadlineMs);
    const what = 'answer a ping';
    const work = this.#withClient(what, (c) => c.query('SELECT 1'), ms);
    // When the deadline wins, the abandoned ping ends on its own (connect timeout, or its query deadline).
    work.catch(() => undefined);
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`the server did not answer within ${ms} ms`)), ms);
    });
    try {
      await Promise.race([work, deadline]);
    } catch (cause) {
      throw this.#failure(what, cause);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Idempotent; waits for calls in flight to give their connections back, then closes the pool. */
  close(): Promise<void> {
    this.#closed = true;
    return (this.#closing ??= this.#pool.end().catch(() => undefined));
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  #open(): void {
    if (this.#closed) throw new StoreError('closed', `store ${this.target} is closed`);
  }

  #failure(what: string, cause: unknown): StoreError {
    if (cause instanceof StoreError) return cause;
    if (this.#closed) return new StoreError('closed', `store ${this.target} is closed`, { cause });
    return new StoreError('io', `cannot ${what} in store ${this.target}: ${pgReason(cause, this.#secrets)}`, { cause: scrubbed(cause, this.#secrets) });
  }

  #query<R extends pg.QueryResultRow = pg.QueryResultRow>(what: string, text: string, values?: unknown[]): Promise<pg.QueryResult<R>> {
    return this.#withClient(what, (c) => c.query<R>(text, values));
  }

  /**
   * Runs `fn` on one pooled connection. Failures become StoreError `io` naming what failed; a
   * connection that broke, or did not answer within the deadline, is destroyed rather than reused.
   */
  async #withClient<T>(what: string, fn: (client: pg.PoolClient) => Promise<T>, deadlineMs = this.#deadlineMs): Promise<T> {
    this.#open();
    let client: pg.PoolClient;
    try {
      client = await this.#pool.connect();
    } catch (cause) {
      throw this.#failure(what, cause);
    }
    let broken: Error | undefined;
    // While checked out the pool does not listen; an error between statements would otherwise crash us.
    const onError = (err: Error) => (broken ??= err);
    client.on('error', onError);
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        broken ??= new Error(`the server did not answer within ${deadlineMs} ms`);
        reject(broken);
      }, deadlineMs);
    });
    const work = fn(client);
    // When the deadline wins, the abandoned call fails later as its connection is destroyed.
    work.catch(() => undefined);
    try {
      return await Promise.race([work, deadline]);
    } catch (cause) {
      throw this.#failure(what, cause);
    } finally {
      clearTimeout(timer);
      client.removeListener('error', onError);
      client.release(broken);
    }
  }

  /** `fn` inside BEGIN ... COMMIT on one connection; any throw rolls the whole of it back. */
  #transaction<T>(what: string, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    return this.#withClient(what, async (client) => {
      await client.query('BEGIN');
      try {
        const out = await fn(client);
        await client.query('COMMIT');
        return out;
      } catch (err) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw err;
      }
    });
  }
}
