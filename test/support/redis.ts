// A throwaway Redis for tests, from the Debian package binary: one redis-server on 127.0.0.1 and a
// free port, no persistence, a temporary folder, stopped by its PID, folder removed.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, launchProcess, type LaunchedProcess } from './processes.ts';

const BINARY = '/usr/bin/redis-server';
/** Startup on a shared, busy test machine. */
const READY_TIMEOUT_MS = 30_000;

export interface TestRedis {
  /** `redis://127.0.0.1:PORT/0`. */
  readonly url: string;
  readonly port: number;
  /** The server's PID while it runs. */
  pid(): number | undefined;
  /** Kills the server with SIGKILL (a crash: clients see the connection drop). Its data is gone: nothing is persisted. */
  halt(): Promise<void>;
  /** Starts a fresh, empty server on the same port. */
  resume(): Promise<void>;
  /** Stops the server and removes its folder. Idempotent. */
  stop(): Promise<void>;
}

/** Why no server can be started here, or undefined when one can. */
export function redisAvailable(): string | undefined {
  if (process.platform !== 'linux') return 'the Redis test server needs Linux with the Debian redis-server package';
  if (!existsSync(BINARY)) return `Redis is not installed (no ${BINARY}; apt-get install redis-server)`;
  return undefined;
}

/**
 * For test files: the reason to skip, or undefined to run. Under CI a missing Redis is a broken setup,
 * not a reason to skip, so it throws and the file fails loudly.
 */
export function redisSkipReason(): string | undefined {
  const missing = redisAvailable();
  if (missing !== undefined && process.env['CI']) throw new Error(`Redis tests cannot run under CI: ${missing}`);
  return missing;
}

export async function startRedis(): Promise<TestRedis> {
  const missing = redisAvailable();
  if (missing !== undefined) throw new Error(missing);
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-redis-'));
  const port = await freePort();
  let server: LaunchedProcess | undefined;

  const launch = async () => {
    const proc = launchProcess(
      BINARY,
      [
        '--bind', '127.0.0.1',
        '--port', String(port),
        '--dir', dir,
        '--save', '',
        '--appendonly', 'no',
        '--daemonize', 'no',
        '--protected-mode', 'yes',
        '--databases', '4',
        '--loglevel', 'notice',
      ],
      { loopback: false },
    );
    try {
      await proc.waitForOutput(/Ready to accept connections/, READY_TIMEOUT_MS, 'stdout');
    } catch (err) {
      await proc.stop();
      throw err;
    }
    server = proc;
  };

  const halt = async () => {
    const proc = server;
    if (proc === undefined) return;
    server = undefined;
    try {
      process.kill(proc.pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
    await proc.exited;
    await proc.stop();
  };

  try {
    await launch();
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }

  let stopped: Promise<void> | undefined;
  return {
    url: `redis://127.0.0.1:${port}/0`,
    port,
    pid: () => server?.pid,
    halt,
    resume: async () => {
      if (server === undefined) await launch();
    },
    stop: () =>
      (stopped ??= (async () => {
        const proc = server;
        server = undefined;
        await proc?.stop();
        rmSync(dir, { recursive: true, force: true });
      })()),
  };
}
