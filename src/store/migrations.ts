// Numbered, append-only schema changes, one entry per change with the SQL of each dialect side by
// side, so the SQLite and PostgreSQL stores cannot drift apart. Never edit or reorder a released
// entry: databases in the field have it recorded by version and name; add a new entry instead.
//
// Rules every entry keeps in both dialects: the same tables, columns and names; TEXT for text; times
// are ISO 8601 text in one fixed form, so text order is time order. PostgreSQL differences:
// - `user` is a reserved word there and is quoted ("user"); SQLite accepts the quoted form too.
// - Positions in a chain are BIGINT (INTEGER in SQLite is already 64-bit).
// - No implicit rowid, so tables whose listings break ties by insertion order get an identity column
//   named `rowid`: `ORDER BY created_at, rowid` then reads the same in both dialects.
// - Audit `chain` and `time` are COLLATE "C", so the search order (time, chain, seq) is byte order
//   as in SQLite, whatever the database's default collation.
import type { DatabaseSync } from 'node:sqlite';
import { StoreError } from './store.ts';

export interface Migration {
  readonly version: number;
  readonly name: string;
  /** Statements `applyMigrations` runs in one transaction. */
  readonly sqlite: string;
  /** The same schema for PostgreSQL, for the PostgreSQL store to run in one transaction. */
  readonly postgres: string;
}

// Every searchable column leads an index, followed by the search order (time, chain, seq), so a
// filtered page is one index range already in order and keyset pagination is a seek. Same in both.
// Every index is paid on each call's insert: kept are the ones a "who / what / where" question needs;
// outcome, decision and tenant filters ride the time index (their queries are time-bounded).
const AUDIT_INDEXES = `
      CREATE INDEX audit_entry_time ON audit_entry (time, chain, seq);
      CREATE INDEX audit_entry_agent_time ON audit_entry (agent, time, chain, seq);
      CREATE INDEX audit_entry_upstream_time ON audit_entry (upstream, time, chain, seq);
      CREATE INDEX audit_entry_target_time ON audit_entry (target, time, chain, seq);
      CREATE INDEX audit_entry_user_time ON audit_entry ("user", time, chain, seq);`;

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'upstream_state',
    sqlite: `
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
    postgres: `
      CREATE TABLE upstream_era (
        identity   TEXT PRIMARY KEY,
        era        TEXT NOT NULL CHECK (era IN ('modern', 'legacy')),
        updated_at TEXT NOT NULL
      );
      CREATE TABLE upstream_catalog (
        upstream           TEXT PRIMARY KEY,
        identity           TEXT NOT NULL,
        fetched_at         TEXT NOT NULL,
        tools              TEXT NOT NULL,
        prompts            TEXT NOT NULL,
        resources          TEXT NOT NULL,
        resource_templates TEXT NOT NULL,
        updated_at         TEXT NOT NULL
      );
    `,
  },
  {
    version: 2,
    name: 'identity_keys',
    // Lists are JSON text (kept as text, not jsonb, so what comes back is byte for byte what was put).
    sqlite: `
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
    postgres: `
      CREATE TABLE api_key (
        id           TEXT PRIMARY KEY,
        hash         TEXT NOT NULL,
        kind         TEXT NOT NULL CHECK (kind IN ('agent', 'admin')),
        name         TEXT,
        agent        TEXT NOT NULL,
        "user"       TEXT,
        tenant       TEXT,
        roles        TEXT NOT NULL,
        scopes       TEXT NOT NULL,
        created_at   TEXT NOT NULL,
        expires_at   TEXT,
        revoked_at   TEXT,
        last_used_at TEXT,
        rotated_from TEXT,
        rowid        BIGINT GENERATED ALWAYS AS IDENTITY
      );
      CREATE INDEX api_key_created_at ON api_key (created_at);
      CREATE TABLE signing_key (
        kid         TEXT PRIMARY KEY,
        alg         TEXT NOT NULL CHECK (alg IN ('EdDSA', 'ES256')),
        public_jwk  TEXT NOT NULL,
        private_jwk TEXT NOT NULL,
        created_at  TEXT NOT NULL,
        retired_at  TEXT,
        rowid       BIGINT GENERATED ALWAYS AS IDENTITY
      );
    `,
  },
  {
    version: 3,
    name: 'audit',
    // `text` is the canonical JSON that was hashed: the authoritative content. The other entry
    // columns are derived from it for searching, nullable where the entry may lack them.
    sqlite: `
      CREATE TABLE audit_entry (
        chain       TEXT NOT NULL,
        seq         INTEGER NOT NULL CHECK (seq > 0),
        id          TEXT NOT NULL UNIQUE,
        hash        TEXT NOT NULL,
        text        TEXT NOT NULL,
        type        TEXT NOT NULL,
        time        TEXT NOT NULL,
        agent       TEXT,
        "user"      TEXT,
        tenant      TEXT,
        upstream    TEXT,
        target      TEXT,
        target_kind TEXT,
        tool_class  TEXT,
        method      TEXT,
        decision    TEXT,
        outcome     TEXT,
        session     TEXT,
        PRIMARY KEY (chain, seq)
      ) STRICT;
      ${AUDIT_INDEXES}
      CREATE TABLE audit_checkpoint (
        chain     TEXT NOT NULL,
        seq       INTEGER NOT NULL CHECK (seq > 0),
        hash      TEXT NOT NULL,
        time      TEXT NOT NULL,
        kid       TEXT NOT NULL,
        signature TEXT NOT NULL,
        PRIMARY KEY (chain, seq)
      ) STRICT;
      CREATE TABLE audit_key (
        kid         TEXT PRIMARY KEY,
        public_jwk  TEXT NOT NULL,
        private_jwk TEXT NOT NULL,
        created_at  TEXT NOT NULL
      ) STRICT;
      CREATE TABLE audit_prune (
        chain       TEXT NOT NULL,
        through_seq INTEGER NOT NULL CHECK (through_seq > 0),
        hash        TEXT NOT NULL,
        time        TEXT NOT NULL,
        reason      TEXT NOT NULL,
        PRIMARY KEY (chain, through_seq)
      ) STRICT;
      CREATE TABLE audit_cursor (
        sink       TEXT NOT NULL,
        chain      TEXT NOT NULL,
        seq        INTEGER NOT NULL CHECK (seq >= 0),
        updated_at TEXT NOT NULL,
        PRIMARY KEY (sink, chain)
      ) STRICT;
    `,
    postgres: `
      CREATE TABLE audit_entry (
        chain       TEXT COLLATE "C" NOT NULL,
        seq         BIGINT NOT NULL CHECK (seq > 0),
        id          TEXT NOT NULL UNIQUE,
        hash        TEXT NOT NULL,
        text        TEXT NOT NULL,
        type        TEXT NOT NULL,
        time        TEXT COLLATE "C" NOT NULL,
        agent       TEXT,
        "user"      TEXT,
        tenant      TEXT,
        upstream    TEXT,
        target      TEXT,
        target_kind TEXT,
        tool_class  TEXT,
        method      TEXT,
        decision    TEXT,
        outcome     TEXT,
        session     TEXT,
        PRIMARY KEY (chain, seq)
      );
      ${AUDIT_INDEXES}
      CREATE TABLE audit_checkpoint (
        chain     TEXT NOT NULL,
        seq       BIGINT NOT NULL CHECK (seq > 0),
        hash      TEXT NOT NULL,
        time      TEXT NOT NULL,
        kid       TEXT NOT NULL,
        signature TEXT NOT NULL,
        PRIMARY KEY (chain, seq)
      );
      CREATE TABLE audit_key (
        kid         TEXT PRIMARY KEY,
        public_jwk  TEXT NOT NULL,
        private_jwk TEXT NOT NULL,
        created_at  TEXT NOT NULL,
        rowid       BIGINT GENERATED ALWAYS AS IDENTITY
      );
      CREATE TABLE audit_prune (
        chain       TEXT NOT NULL,
        through_seq BIGINT NOT NULL CHECK (through_seq > 0),
        hash        TEXT NOT NULL,
        time        TEXT NOT NULL,
        reason      TEXT NOT NULL,
        PRIMARY KEY (chain, through_seq)
      );
      CREATE TABLE audit_cursor (
        sink       TEXT NOT NULL,
        chain      TEXT NOT NULL,
        seq        BIGINT NOT NULL CHECK (seq >= 0),
        updated_at TEXT NOT NULL,
        PRIMARY KEY (sink, chain)
      );
    `,
  },
];

interface AppliedRow {
  version: number;
  name: string;
}

/**
 * Brings a SQLite schema up to date in one IMMEDIATE transaction, so two processes opening the same
 * file at once cannot both apply a migration: the second waits on the lock (busy timeout), then sees
 * the rows the first recorded and applies nothing. Returns the versions it applied.
 */
export function applyMigrations(db: DatabaseSync, migrations: readonly Migration[] = MIGRATIONS): number[] {
  checkMigrationList(migrations);
  const applied: number[] = [];
  db.exec('BEGIN IMMEDIATE');
  try {
    db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version    INTEGER PRIMARY KEY,
      name       TEXT NOT NULL,
      applied_at TEXT NOT NULL
    ) STRICT`);
    const rows = db.prepare('SELECT version, name FROM schema_migrations ORDER BY version').all() as unknown as AppliedRow[];
    checkApplied(rows, migrations);
    const done = new Set(rows.map((r) => r.version));
    const record = db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)');
    for (const m of migrations) {
      if (done.has(m.version)) continue;
      try {
        db.exec(m.sqlite);
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

/**
 * Refuses a database whose recorded migrations this list does not know (written by a newer
 * Gatehouse) or names differently (an edited entry). For every dialect's migration runner.
 */
export function checkApplied(rows: readonly { version: number; name: string }[], migrations: readonly Migration[] = MIGRATIONS): void {
  const known = new Map(migrations.map((m) => [m.version, m]));
  for (const row of rows) {
    const m = known.get(Number(row.version));
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
}

/** A gap or a reorder means an entry was edited or lost; refuse rather than guess. */
export function checkMigrationList(migrations: readonly Migration[]): void {
  let previous = 0;
  for (const m of migrations) {
    if (!Number.isInteger(m.version) || m.version !== previous + 1) {
      throw new StoreError('migration_failed', `migration list is out of order at version ${m.version} (after ${previous})`);
    }
    previous = m.version;
  }
}
