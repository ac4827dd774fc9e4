import { compileConfig } from '../config/compile.ts';
import { ConfigError } from '../config/errors.ts';
import { loadConfig } from '../config/load.ts';
import type { Snapshot } from '../config/snapshot.ts';
import { openStore } from '../store/open.ts';
import { StoreError, type Store } from '../store/store.ts';

/**
 * For commands that work on the gateway's state without serving (`keys`, `token`): the compiled
 * config and the store it names. Works beside a running gateway (SQLite in WAL mode). Config and store
 * problems are printed plainly and end the process with status 1.
 */
export async function withConfigStore<T>(configFile: string, fn: (snap: Snapshot, store: Store) => Promise<T>): Promise<T> {
  let snap: Snapshot;
  let store: Store;
  try {
    snap = compileConfig(await loadConfig(configFile));
    store = await openStore(snap.config.store, snap.dir);
  } catch (err) {
    if (err instanceof ConfigError || err instanceof StoreError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
  try {
    return await fn(snap, store);
  } finally {
    await store.close();
  }
}

/** A usage or input problem of a CLI command: printed without a stack, exit status 2. */
export class CliError extends Error {}

/** Runs a command body, turning CliError into a plain message and exit status 2. */
export async function runCli(fn: () => Promise<void>): Promise<void> {
  try {
    await fn();
  } catch (err) {
    if (err instanceof CliError) {
      process.stderr.write(`gatehouse: ${err.message}\n`);
      process.exitCode = 2;
      return;
    }
    throw err;
  }
}
