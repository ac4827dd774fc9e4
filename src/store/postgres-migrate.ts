// Applies the `postgres` side of the one migration list. Same rules and messages as the SQLite runner:
// one transaction, refuse a schema written by a newer Gatehouse or with an edited entry.
import type pg from 'pg';
import { POSTGRES_SCHEMA_NAME } from '../config/schema/store.ts';
import { MIGRATIONS, checkApplied, checkMigrationList } from './migrations.ts';
import type { Migration } from './migrations.ts';
import { StoreError } from './store.ts';

/** A schema name checked against the config's identifier rule, quoted for SQL. */
export function quoteSchema(schema: string): string {
  if (!POSTGRES_SCHEMA_NAME.test(schema)) {
    throw new StoreError('invalid_input', `schema must be a lowercase identifier (letters, digits, "_"; at most 63 characters; not starting with a digit or "pg_"), got '${schema.slice(0, 70)}'`);
  }
  return `"${schema}"`;
}

interface AppliedRow {
  version: number;
  name: string;
}

/**
 * Brings `schema` up to date (creating it when missing) in one transaction on `client`. A
 * transaction-scoped advisory lock keyed by the schema serialises Gatehouse processes that open the
 * same database at once: the second waits, then sees the rows the first recorded and applies nothing.
 * Returns the versions it applied. The client's search_path is left as it was.
 */
export async function applyPostgresMigrations(
  client: pg.ClientBase,
  schema: string,
  migrations: readonly Migration[] = MIGRATIONS,
): Promise<number[]> {
  checkMigrationList(migrations);
  const quoted = quoteSchema(schema);
  const applied: number[] = [];
  await client.query('BEGIN');
  try {
    // A migration may rebuild a large table, and waiting for another process's migration is the
    // point of the lock: neither may be cut short by the runtime statement timeout.
    await client.query('SET LOCAL statement_timeout = 0');
    await client.query('SELECT pg_advisory_xact_lock(hashtext($1), hashtext($2))', ['gatehouse.migrate', schema]);
    // Look before creating: CREATE ... IF NOT EXISTS still needs the CREATE privilege, which a role
    // given an existing schema need not have.
    const present = await client.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [schema]);
    if (present.rowCount === 0) await client.query(`CREATE SCHEMA ${quoted}`);
    await client.query(`SET LOCAL search_path TO ${quoted}`);
    const table = await client.query<{ t: string | null }>('SELECT to_regclass($1)::text AS t', [`${quoted}.schema_migrations`]);
    if (table.rows[0]?.t == null) {
      await client.query(`CREATE TABLE schema_migrations (
        version    INTEGER PRIMARY KEY,
        name       TEXT NOT NULL,
        applied_at TEXT NOT NULL
      )`);
    }
    const rows = (await client.query<AppliedRow>('SELECT version, name FROM schema_migrations ORDER BY version')).rows;
    checkApplied(rows, migrations);
    const done = new Set(rows.map((r) => r.version));
    for (const m of migrations) {
      if (done.has(m.version)) continue;
      try {
        // No parameters: the simple protocol runs the whole multi-statement text.
        await client.query(m.postgres);
      } catch (cause) {
        throw new StoreError('migration_failed', `schema migration ${m.version} ('${m.name}') failed: ${(cause as Error).message}`, { cause });
      }
      await client.query('INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)', [m.version, m.name, new Date().toISOString()]);
      applied.push(m.version);
    }
    await client.query('COMMIT');
  } catch (err) {
    // A broken connection has nothing to roll back; the server already did.
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
  return applied;
}
