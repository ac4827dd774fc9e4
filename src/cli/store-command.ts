import type { Command } from 'commander';
import type { Snapshot } from '../config/snapshot.ts';
import { StoreError, type Store } from '../store/store.ts';

// Shared by the commands that work on the gateway's state without serving (`keys`, `token`). The
// config machinery is imported on use, so registering these commands keeps `gatehouse --help` fast.

/** A usage or input problem of a CLI command: printed without a stack, exit status 2. */
export class CliError extends Error {}

/** Commander collector for repeatable options (`--role a --role b`). */
export const collect = (value: string, previous: string[]): string[] => [...previous, value];

export function out(text: string): void {
  process.stdout.write(text);
}

export function info(line: string): void {
  process.stderr.write(`${line}\n`);
}

const UNITS: Record<string, number> = { s: 1, m: 60, h: 3_600, d: 86_400, w: 604_800, y: 31_536_000 };

/**
 * Seconds from `90s`, `15m`, `12h`, `7d`, `2w` (and `1y` with `years`, a bare `900` with `bare`);
 * undefined when the text is not a positive duration of that shape.
 */
export function parseDuration(text: string, opts: { bare?: boolean; years?: boolean } = {}): number | undefined {
  const m = /^(\d{1,9})([smhdwy]?)$/.exec(text);
  if (m === null) return undefined;
  const unit = m[2]!;
  if ((unit === '' && opts.bare !== true) || (unit === 'y' && opts.years !== true)) return undefined;
  const seconds = Number(m[1]) * (unit === '' ? 1 : UNITS[unit]!);
  return seconds > 0 ? seconds : undefined;
}

/**
 * Runs a command body against the store the config names (beside a running gateway: SQLite in WAL
 * mode). Input errors of the given kinds and CliError exit 2 with the message; config and store
 * problems exit 1 with theirs.
 */
export async function runStoreCommand(
  configFile: string,
  inputErrors: readonly (abstract new (...args: never[]) => Error)[],
  fn: (snap: Snapshot, store: Store) => Promise<void>,
): Promise<void> {
  const [{ compileConfig }, { ConfigError, loadConfig }, { openStore }] = await Promise.all([
    import('../config/compile.ts'),
    import('../config/load.ts'),
    import('../store/open.ts'),
  ]);
  let snap: Snapshot;
  let store: Store;
  try {
    snap = compileConfig(await loadConfig(configFile));
    store = await openStore(snap.config.store, snap.dir);
  } catch (err) {
    if (err instanceof ConfigError || err instanceof StoreError) return fail(1, err.message);
    throw err;
  }
  try {
    await fn(snap, store);
  } catch (err) {
    if (err instanceof CliError || inputErrors.some((k) => err instanceof k)) return fail(2, `gatehouse: ${(err as Error).message}`);
    if (err instanceof StoreError) return fail(1, `gatehouse: ${err.message}`);
    throw err;
  } finally {
    await store.close();
  }
}

function fail(code: number, message: string): void {
  process.stderr.write(`${message}\n`);
  process.exitCode = code;
}

/** The options naming who a credential identifies, common to `keys create` and `token mint`. */
export interface IdentityOptions {
  agent: string;
  name?: string;
  user?: string;
  tenant?: string;
  role: string[];
  scope: string[];
}

/** Adds --agent, --name, --user, --tenant, --role and --scope to a command issuing a `noun` (key, token). */
export function identityOptions(cmd: Command, noun: string, agentHelp: string, nameHelp: string): Command {
  return cmd
    .requiredOption('--agent <agent>', agentHelp)
    .option('--name <name>', nameHelp)
    .option('--user <user>', 'the person or workflow the agent acts for')
    .option('--tenant <tenant>', `tenant of the ${noun}`)
    .option('--role <role>', `a role of the ${noun} (repeat for more)`, collect, [])
    .option('--scope <scope>', `a scope of the ${noun} (repeat for more)`, collect, []);
}

/** The identity part of a key or mint request, with absent options left out. */
export function identityInput(o: IdentityOptions): { agent: string; roles: string[]; scopes: string[]; name?: string; user?: string; tenant?: string } {
  return {
    agent: o.agent,
    roles: o.role,
    scopes: o.scope,
    ...(o.name === undefined ? {} : { name: o.name }),
    ...(o.user === undefined ? {} : { user: o.user }),
    ...(o.tenant === undefined ? {} : { tenant: o.tenant }),
  };
}
