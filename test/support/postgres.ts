// A throwaway PostgreSQL cluster for tests, from the Debian package binaries: initdb into a fresh
// temporary folder, one postmaster on 127.0.0.1 and a free port, stopped by its PID, folder removed.
import { execFileSync } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { freePort, launchProcess } from './processes.ts';
import type { LaunchedProcess } from './processes.ts';

const DEBIAN_ROOT = '/usr/lib/postgresql';
const ROLE = 'gatehouse';
const DATABASE = 'gatehouse';
/** initdb and startup on a shared, busy test machine. */
const READY_TIMEOUT_MS = 60_000;

export interface TestPostgres {
  /** `postgres://gatehouse@127.0.0.1:PORT/gatehouse` (trust auth: any password is ignored). */
  url: string;
  port: number;
  /** The postmaster's PID while it runs. */
  pid(): number | undefined;
  /** Stops the server but keeps its data, to test what clients see while it is down. */
  halt(mode?: 'fast' | 'immediate'): Promise<void>;
  /** Starts it again on the same port and data. */
  resume(): Promise<void>;
  /** Stops the server and removes its folder. Idempotent. */
  stop(): Promise<void>;
}

interface Binaries {
  dir: string;
  major: number;
}

function findBinaries(): Binaries | undefined {
  if (!existsSync(DEBIAN_ROOT)) return undefined;
  const versions = readdirSync(DEBIAN_ROOT)
    .filter((v) => /^\d+$/.test(v) && existsSync(join(DEBIAN_ROOT, v, 'bin', 'initdb')) && existsSync(join(DEBIAN_ROOT, v, 'bin', 'postgres')))
    .map(Number)
    .sort((a, b) => b - a);
  const major = versions[0];
  return major === undefined ? undefined : { dir: join(DEBIAN_ROOT, String(major), 'bin'), major };
}

/** The uid and gid of the `postgres` account, which initdb and postgres must run as when we are root. */
function postgresAccount(): { uid: number; gid: number } | undefined {
  try {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
    return Number.isInteger(uid) && Number.isInteger(gid) ? { uid, gid } : undefined;
  } catch {
    return undefined;
  }
}

const isRoot = () => process.getuid?.() === 0;

/** Why no cluster can be started here, or undefined when one can. */
export function postgresAvailable(): string | undefined {
  if (process.platform !== 'linux') return 'the PostgreSQL test cluster needs Linux with the Debian postgresql package';
  if (findBinaries() === undefined) return `PostgreSQL is not installed (no ${DEBIAN_ROOT}/<version>/bin/initdb; apt-get install postgresql)`;
  if (isRoot() && postgresAccount() === undefined) return 'running as root, but there is no postgres account to run the server as';
  return undefined;
}

/**
 * For test files: the reason to skip, or undefined to run. Under CI a missing PostgreSQL is a broken
 * setup, not a reason to skip, so it throws and the file fails loudly.
 */
export function postgresSkipReason(): string | undefined {
  const missing = postgresAvailable();
  if (missing !== undefined && process.env['CI']) throw new Error(`PostgreSQL tests cannot run under CI: ${missing}`);
  return missing;
}

/** Runs a PostgreSQL program as the postgres account when we are root (it refuses to run as root). */
function asServerUser(bin: string, args: string[]): [string, string[]] {
  if (!isRoot()) return [bin, args];
  // setpriv execs in place (no forked parent), so the PID we get is the program's own.
  return ['setpriv', ['--reuid=postgres', '--regid=postgres', '--init-groups', '--', bin, ...args]];
}

export async function startPostgres(): Promise<TestPostgres> {
  const missing = postgresAvailable();
  if (missing !== undefined) throw new Error(missing);
  const bins = findBinaries()!;
  const root = mkdtempSync(join(tmpdir(), 'gatehouse-pg-'));
  const data = join(root, 'data');
  const sockets = join(root, 'sock');
  mkdirSync(sockets);
  if (isRoot()) {
    const account = postgresAccount()!;
    chownSync(root, account.uid, account.gid);
    chownSync(sockets, account.uid, account.gid);
  }
  const env = { LC_ALL: 'C.UTF-8', LC_MESSAGES: 'C', PGTZ: 'UTC' };
  try {
    // A linguistic (ICU) default collation, where the server has one, makes a missing COLLATE "C"
    // show up as a wrong order in the tests instead of passing by luck.
    const locale = bins.major >= 15 ? ['--locale-provider=icu', '--icu-locale=en-US', '--locale=C.UTF-8'] : ['--locale=C.UTF-8'];
    const [cmd, args] = asServerUser(join(bins.dir, 'initdb'), ['-D', data, '-U', ROLE, '--auth=trust', '--encoding=UTF8', '--no-sync', ...locale]);
    execFileSync(cmd, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'], timeout: READY_TIMEOUT_MS });
  } catch (err) {
    rmSync(root, { recursive: true, force: true });
    const e = err as { stderr?: Buffer; message: string };
    throw new Error(`initdb failed: ${e.stderr?.toString() || e.message}`);
  }

  const port = await freePort();
  let server: LaunchedProcess | undefined;
  const launch = async () => {
    const [cmd, args] = asServerUser(join(bins.dir, 'postgres'), [
      '-D', data,
      '-p', String(port),
      '-k', sockets,
      '-c', 'listen_addresses=127.0.0.1',
      // fsync off: a process crash (halt('immediate')) keeps what reached the OS, and tests stay fast.
      // Commits stay synchronous: a commit the server acknowledged must survive halt(), as in production.
      '-c', 'fsync=off',
      '-c', 'full_page_writes=off',
      '-c', 'max_connections=200',
      '-c', 'shared_buffers=16MB',
      '-c', 'log_min_messages=warning',
    ]);
    const proc = launchProcess(cmd, args, { env, loopback: false });
    try {
      await proc.waitForOutput(/database system is ready to accept connections/, READY_TIMEOUT_MS, 'stderr');
    } catch (err) {
      await proc.stop();
      throw err;
    }
    server = proc;
  };
  const halt = async (mode: 'fast' | 'immediate' = 'fast') => {
    const proc = server;
    if (proc === undefined) return;
    server = undefined;
    // SIGINT is a fast shutdown (clients are disconnected), SIGQUIT an immediate one (like a crash).
    // SIGTERM would wait for every client to leave on its own.
    try {
      process.kill(proc.pid, mode === 'fast' ? 'SIGINT' : 'SIGQUIT');
    } catch {
      // Already gone.
    }
    const timer = setTimeout(() => void proc.stop(), 10_000);
    await proc.exited;
    clearTimeout(timer);
    // Reaps anything left in its process group.
    await proc.stop();
  };

  try {
    await launch();
    const admin = new pg.Client({ host: '127.0.0.1', port, user: ROLE, database: 'postgres' });
    await admin.connect();
    try {
      await admin.query(`CREATE DATABASE ${DATABASE}`);
    } finally {
      await admin.end();
    }
  } catch (err) {
    await halt('immediate');
    rmSync(root, { recursive: true, force: true });
    throw err;
  }

  let stopped: Promise<void> | undefined;
  return {
    url: `postgres://${ROLE}@127.0.0.1:${port}/${DATABASE}`,
    port,
    pid: () => server?.pid,
    halt,
    resume: async () => {
      if (server === undefined) await launch();
    },
    stop: () =>
      (stopped ??= (async () => {
        await halt('fast');
        rmSync(root, { recursive: true, force: true });
      })()),
  };
}

let databases = 0;

/** Creates an empty database on the cluster of `url` and returns the URL that names it. */
export async function freshDatabase(url: string): Promise<string> {
  const name = `gh_${process.pid}_${++databases}`;
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
}

let schemas = 0;

/** A schema name not used before in this process: each store the suite opens starts empty in its own. */
export function freshSchema(): string {
  return `gh_${process.pid}_${++schemas}`;
}
