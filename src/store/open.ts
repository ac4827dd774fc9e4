// Builds the Store the config asks for.
import { isAbsolute, resolve } from 'node:path';
import { openPostgresStore } from './postgres.ts';
import type { PostgresStoreOptions } from './postgres.ts';
import { MEMORY_PATH, openSqliteStore } from './sqlite.ts';
import { StoreError } from './store.ts';
import type { Store } from './store.ts';

/** Structurally the parsed `store` config section (the postgres fields absent take the config defaults). */
export type StoreConfig = { kind: 'sqlite'; path: string } | ({ kind: 'postgres' } & PostgresStoreOptions);

/**
 * Opens the configured store. A relative sqlite path resolves against `configDir` (the config file's
 * folder), so the database does not move when the gateway is started from another directory.
 * PostgreSQL is connected to and migrated before this resolves.
 */
export async function openStore(cfg: StoreConfig, configDir: string): Promise<Store> {
  switch (cfg.kind) {
    case 'sqlite':
      if (typeof cfg.path !== 'string' || cfg.path === '') throw new StoreError('open_failed', 'store.path must be a non-empty path or :memory:');
      return openSqliteStore(resolveStorePath(cfg.path, configDir));
    case 'postgres':
      return openPostgresStore(cfg);
    default:
      throw new StoreError('open_failed', `unknown store kind '${(cfg as { kind: unknown }).kind}'`);
  }
}

export function resolveStorePath(path: string, configDir: string): string {
  if (path === MEMORY_PATH) return path;
  return isAbsolute(path) ? path : resolve(configDir, path);
}
