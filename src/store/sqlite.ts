// The embedded Store: one SQLite file through node:sqlite (built into Node, no native addon).
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import type { StatementSync } from 'node:sqlite';
import type { Era } from '../protocol/mcp.ts';
import { applyMigrations } from './migrations.ts';
import { StoreError, checkEra, checkKey, decodeCatalog, encodeCatalog } from './store.ts';
import type { EncodedCatalog, Store, StoredCatalog } from './store.ts';

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

/**
 * Opens (creating if needed) the SQLite database at `file`, an absolute path or `:memory:`, and
 * brings its schema up to date. Every failure is a StoreError naming the file and the reason.
 */
export function openSqliteStore(file: string): SqliteStore {
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
    // last transactions, which for cached eras and catalogs costs a re-probe, nothing more.
    db.exec('PRAGMA synchronous = NORMAL');
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

export class SqliteStore implements Store {
  readonly file: string;
  #db: DatabaseSync;
  #closed = false;
  // Compiled once: per-call work is binding values and stepping.
  #getEra: StatementSync;
  #setEra: StatementSync;
  #getCatalog: StatementSync;
  #putCatalog: StatementSync;

  constructor(db: DatabaseSync, file: string) {
    this.#db = db;
    this.file = file;
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
