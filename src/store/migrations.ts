// Numbered, append-only schema changes for the SQLite store. Never edit or reorder a released entry:
// databases in the field have it recorded by version and name; add a new entry instead.
import type { DatabaseSync } from 'node:sqlite';
import { StoreError } from './store.ts';

export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
}

export const SQLITE_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'upstream_state',
    sql: `
      CREATE TABLE upstream_era (
        identity   TEXT PRIMARY KEY,
        era        TEXT NOT NULL CHECK (era IN ('modern', 'legacy')),
        updated_at TEXT NOT NULL
      ) STRICT;
      CREATE TABLE upstream_catalog (
        upstream           TEXT PRIMARY KEY,
        identity           TEXT NOT NULL,
        fetched_at         TEXT NOT NULL,
        tools              TEXT NOT NULL,
        prompts            TEXT NOT NULL,
        resources          TEXT NOT NULL,
        resource_templates TEXT NOT NULL,
        updated_at         TEXT NOT NULL
      ) STRICT;
    `,
  },
  {
    version: 2,
    name: 'identity_keys',
    // Lists are JSON text; times are ISO 8601 text in one fixed form, so text order is time order.
    sql: `
      CREATE TABLE api_key (
        id           TEXT PRIMARY KEY,
        hash         TEXT NOT NULL,
        kind         TEXT NOT NULL CHECK (kind IN ('agent', 'admin')),
        name         TEXT,
        agent        TEXT NOT NULL,
        user         TEXT,
        tenant       TEXT,
        roles        TEXT NOT NULL,
        scopes       TEXT NOT NULL,
        created_at   TEXT NOT NULL,
        expires_at   TEXT,
        revoked_at   TEXT,
        last_used_at TEXT,
        rotated_from TEXT
      ) STRICT;
      CREATE INDEX api_key_created_at ON api_key (created_at);
      CREATE TABLE signing_key (
        kid         TEXT PRIMARY KEY,
        alg         TEXT NOT NULL CHECK (alg IN ('EdDSA', 'ES256')),
        public_jwk  TEXT NOT NULL,
        private_jwk TEXT NOT NULL,
        created_at  TEXT NOT NULL,
        retired_at  TEXT
      ) STRICT;
    `,
  },
];

interface AppliedRow {
  version: number;
  name: string;
}

/**
 * Brings the schema up to date in one IMMEDIATE transaction, so two processes opening the same file
 * at once cannot both apply a migration: the second waits on the lock (busy timeout), then sees the
 * rows the first recorded and applies nothing. Returns the versions it applied.
 */
export function applyMigrations(db: DatabaseSync, migrations: readonly Migration[] = SQLITE_MIGRATIONS): number[] {
  checkList(migrations);
  const applied: number[] = [];
  db.exec('BEGIN IMMEDIATE');
  try {
    db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version    INTEGER PRIMARY KEY,
      name       TEXT NOT NULL,
      applied_at TEXT NOT NULL
    ) STRICT`);
    const rows = db.prepare('SELECT version, name FROM schema_migrations ORDER BY version').all() as unknown as AppliedRow[];
    const known = new Map(migrations.map((m) => [m.version, m]));
    for (const row of rows) {
      const m = known.get(row.version);
      if (m === undefined) {
        throw new StoreError(
          'migration_failed',
          `the database has schema version ${row.version} ('${row.name}'), which this Gatehouse does not know: it was written by a newer version`,
        );
      }
      if (m.name !== row.name) {
        throw new StoreError('migration_failed', `schema version ${row.version} in the database is '${row.name}', expected '${m.name}'`);
      }
    }
    const done = new Set(rows.map((r) => r.version));
    const record = db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)');
    for (const m of migrations) {
      if (done.has(m.version)) continue;
      try {
        db.exec(m.sql);
      } catch (cause) {
        throw new StoreError('migration_failed', `schema migration ${m.version} ('${m.name}') failed: ${(cause as Error).message}`, { cause });
      }
      record.run(m.version, m.name, new Date().toISOString());
      applied.push(m.version);
    }
    db.exec('COMMIT');
  } catch (err) {
    if (db.isTransaction) db.exec('ROLLBACK');
    throw err;
  }
  return applied;
}

function checkList(migrations: readonly Migration[]): void {
  let previous = 0;
  for (const m of migrations) {
    // A gap or a reorder means an entry was edited or lost; refuse rather than guess.
    if (!Number.isInteger(m.version) || m.version !== previous + 1) {
      throw new StoreError('migration_failed', `migration list is out of order at version ${m.version} (after ${previous})`);
    }
    previous = m.version;
  }
}
