import { z } from 'zod';

/** Unquoted-identifier shape; `pg_` names are reserved for PostgreSQL's own schemas. */
export const POSTGRES_SCHEMA_NAME = /^(?!pg_)[a-z_][a-z0-9_]{0,62}$/;

function isPostgresUrl(text: string): boolean {
  try {
    const u = new URL(text);
    return u.protocol === 'postgres:' || u.protocol === 'postgresql:';
  } catch {
    return false;
  }
}

export const storeSchema = z
  .discriminatedUnion('kind', [
    z.strictObject({
      kind: z.literal('sqlite'),
      path: z.string().default('./data/gatehouse.db').describe('Database file; relative paths resolve against the config file\'s folder. `:memory:` keeps nothing.'),
    }),
    z.strictObject({
      kind: z.literal('postgres'),
      // The message never quotes the value: the URL may carry a password.
      url: z
        .string()
        .refine(isPostgresUrl, 'must be a postgres:// or postgresql:// URL, like postgres://gatehouse:${PGPASSWORD}@db.example.com:5432/gatehouse')
        .describe('Connection URL, `postgres://user:password@host:5432/database` (query parameters such as `sslmode=verify-full` apply). A secret when it holds a password: take it from the environment with `${VAR}`; it is never logged.'),
      schema: z
        .string()
        .regex(POSTGRES_SCHEMA_NAME, 'must be a lowercase identifier (letters, digits, "_"; at most 63 characters; not starting with a digit or "pg_")')
        .default('public')
        .describe('Schema holding the tables, created when missing and used through `search_path`; lets several gateways share one database.'),
      poolSize: z.number().int().min(1).max(1000).default(10).describe('Most connections the gateway opens to the database.'),
      connectTimeoutMs: z.number().int().positive().default(5_000).describe('Longest wait for a new connection before the call fails.'),
      statementTimeoutMs: z.number().int().positive().default(10_000).describe('Longest a statement may run on the server before it is cancelled (`statement_timeout`).'),
    }),
  ])
  .describe('Where the gateway keeps state (catalog memory, upstream eras, keys, audit trail): an embedded SQLite file, or PostgreSQL for several gateways sharing state.');
