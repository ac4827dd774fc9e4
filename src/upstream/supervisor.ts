// Starting and reaping upstream processes. Each runs in its own process group (spawned detached, so it
// is a group leader) and is stopped by signalling the whole group: servers started through npx, uvx or
// a shell leave no orphans. Restarting is the registry's job; this module reports deaths precisely.
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import type { Logger } from 'pino';
import { GatewayFault, gatewayError } from '../errors/codes.ts';
import type { LaunchConfig } from '../config/schema/upstream.ts';
import { LineSplitter } from './transports/line-splitter.ts';

/** Inherited from the gateway's environment; everything else comes from the upstream's `env`. */
const INHERITED_ENV = [
  'PATH', 'HOME', 'USER', 'LOGNAME', 'SHELL', 'LANG', 'LANGUAGE', 'LC_ALL', 'LC_CTYPE', 'TZ', 'TMPDIR', 'TEMP', 'TMP',
  // Windows needs these for almost any process to start.
  'SYSTEMROOT', 'SystemRoot', 'SYSTEMDRIVE', 'COMSPEC', 'PATHEXT', 'WINDIR', 'APPDATA', 'LOCALAPPDATA', 'USERPROFILE',
  'PROGRAMDATA', 'PROGRAMFILES', 'ProgramFiles', 'HOMEDRIVE', 'HOMEPATH',
];
const STDERR_LINE_MAX = 8 * 1024;
const STDERR_KEEP = 20;
const LOG_LINES_PER_SECOND = 50;
/** After the leader exits on its own, the rest of its group gets this long to follow before SIGKILL. */
const ORPHAN_GRACE_MS = 2_000;
/** How long an exit waits for the rest of stderr (a grandchild may hold the pipe open for good). */
const STDERR_FLUSH_MS = 200;

export interface ProcessExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Set when the process could not be started at all. */
  error?: Error;
}

export interface SupervisedProcess {
  /** Undefined when the spawn failed (then `ready` rejects and `exited` resolves with the error). */
  readonly pid: number | undefined;
  readonly stdin: Writable;
  readonly stdout: Readable;
  /** Resolves once the process runs; rejects with GatewayFault `upstream_unavailable` when it cannot start. */
  readonly ready: Promise<void>;
  readonly exited: Promise<ProcessExit>;
  readonly hasExited: boolean;
  /** The last lines the process wrote to stderr, for error messages. */
  recentStderr(): string[];
  /** "exited with code 1; stderr: ..." */
  describeExit(exit: ProcessExit): string;
  /** Closes stdin, SIGTERMs the group, SIGKILLs it after `graceMs`. Idempotent. */
  stop(graceMs?: number): Promise<void>;
}

export interface SupervisorDeps {
  logger: Logger;
  configDir: string;
}

const live = new Set<number>();
let exitHookInstalled = false;

/** If the gateway exits without stopping its upstreams, they go with it (SIGKILL is all `exit` allows). */
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const pgid of live) signalGroup(pgid, 'SIGKILL');
  });
}

function signalGroup(pgid: number, sig: NodeJS.Signals | 0): boolean {
  try {
    process.kill(-pgid, sig);
    return true;
  } catch {
    return false; // ESRCH: nobody left in the group
  }
}

/**
 * Whether any process of the group still runs. kill(-pgid, 0) also counts zombies, and orphaned
 * grandchildren stay zombies until init reaps them (slowly, or never when the gateway is PID 1 in a
 * container without an init), so on Linux the group's members are looked up in /proc.
 */
function groupAlive(pgid: number): boolean {
  if (!signalGroup(pgid, 0)) return false;
  if (process.platform !== 'linux') return true;
  try {
    for (const entry of readdirSync('/proc')) {
      const c = entry.charCodeAt(0);
      if (c < 48 || c > 57) continue;
      let stat: string;
      try {
        stat = readFileSync(`/proc/${entry}/stat`, 'latin1');
      } catch {
        continue; // exited meanwhile
      }
      // "pid (comm) state ppid pgrp ...": comm may contain spaces and parentheses.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[2]) === pgid && fields[0] !== 'Z' && fields[0] !== 'X') return true;
    }
    return false;
  } catch {
    return true;
  }
}

async function waitGroupGone(pgid: number, ms: number): Promise<boolean> {
  const until = Date.now() + ms;
  while (groupAlive(pgid)) {
    if (Date.now() >= until) return false;
    await new Promise((r) => setTimeout(r, 50));
  }
  return true;
}

export function childEnv(env: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const key of INHERITED_ENV) {
    const v = process.env[key];
    if (v !== undefined) out[key] = v;
  }
  return Object.assign(out, env);
}

export function startProcess(launch: LaunchConfig & { name: string }, deps: SupervisorDeps): SupervisedProcess {
  installExitHook();
  const log = deps.logger;
  const cwd = resolve(deps.configDir, launch.cwd ?? '.');
  const child = spawn(launch.command, launch.args, { cwd, env: childEnv(launch.env), stdio: ['pipe', 'pipe', 'pipe'], detached: true, windowsHide: true });
  const pid = child.pid;
  const stderrTail: string[] = [];
  let exitedFlag = false;
  let stopping: Promise<void> | undefined;

  const ready = new Promise<void>((ok, fail) => {
    child.once('spawn', () => ok());
    child.once('error', (err) => {
      if (pid !== undefined) {
        log.warn({ err }, 'upstream process error');
        return;
      }
      const message = `upstream "${launch.name}": could not start ${JSON.stringify(launch.command)} in ${cwd}: ${err.message}`;
      fail(new GatewayFault(gatewayError('upstream_unavailable', message, { upstream: launch.name }), { cause: err }));
    });
  });
  ready.catch(() => undefined); // observed through connect; never an unhandled rejection

  const stderrClosed = new Promise<void>((r) => child.stderr.once('close', () => r()));
  const exited = new Promise<ProcessExit>((done) => {
    if (pid === undefined) {
      child.once('error', (error) => {
        exitedFlag = true;
        done({ code: null, signal: null, error });
      });
      return;
    }
    live.add(pid);
    child.once('exit', (code, signal) => {
      exitedFlag = true;
      if (stopping === undefined && signalGroup(pid, 'SIGTERM')) {
        // The leader died on its own: do not leave its children running.
        setTimeout(() => {
          signalGroup(pid, 'SIGKILL');
          live.delete(pid);
        }, ORPHAN_GRACE_MS).unref();
      } else if (stopping === undefined) live.delete(pid);
      // 'exit' can overtake the last stderr lines (a crash's stack trace); they belong in the report.
      void Promise.race([stderrClosed, delay(STDERR_FLUSH_MS)]).then(() => done({ code, signal }));
    });
  });

  // Pipes are always drained so a chatty process never blocks on a full pipe.
  const limiter = rateLimiter(LOG_LINES_PER_SECOND);
  const stderr = new LineSplitter(STDERR_LINE_MAX, {
    line(bytes) {
      const text = bytes.toString('utf8').trimEnd();
      stderrTail.push(text);
      if (stderrTail.length > STDERR_KEEP) stderrTail.shift();
      const suppressed = limiter();
      if (suppressed >= 0) log.info({ pid, stream: 'stderr', ...(suppressed > 0 ? { suppressed } : {}) }, text);
    },
    overflow(head, _tail, size) {
      const text = `${head.toString('utf8')}… [${size} bytes, truncated]`;
      stderrTail.push(text);
      if (stderrTail.length > STDERR_KEEP) stderrTail.shift();
      if (limiter() >= 0) log.info({ pid, stream: 'stderr' }, text);
    },
  });
  child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
  child.stderr.on('end', () => stderr.end());
  child.stderr.on('error', () => undefined);
  child.stdin.on('error', () => undefined); // EPIPE surfaces through the exit instead
  child.stdout.on('error', () => undefined);

  const proc: SupervisedProcess = {
    pid,
    stdin: child.stdin,
    stdout: child.stdout,
    ready,
    exited,
    get hasExited() {
      return exitedFlag;
    },
    recentStderr: () => [...stderrTail],
    describeExit(exit) {
      if (exit.error !== undefined) return `could not be started: ${exit.error.message}`;
      const how = exit.signal !== null ? `was killed by ${exit.signal}` : `exited with code ${exit.code}`;
      return stderrTail.length === 0 ? how : `${how}; last stderr: ${stderrTail.slice(-5).join(' | ')}`;
    },
    stop(graceMs = 5_000) {
      stopping ??= stopGroup(child.stdin, pid, exited, () => exitedFlag, graceMs);
      return stopping;
    },
  };
  return proc;
}

async function stopGroup(stdin: Writable, pid: number | undefined, exited: Promise<ProcessExit>, hasExited: () => boolean, graceMs: number): Promise<void> {
  stdin.end();
  if (pid === undefined) return;
  // Closing stdin is the polite request (stdio servers exit on EOF); signals follow shortly.
  if (!hasExited()) await Promise.race([exited, delay(Math.min(500, graceMs / 4))]);
  if (signalGroup(pid, 'SIGTERM')) {
    if (!hasExited()) await Promise.race([exited, delay(graceMs)]);
    if (!(await waitGroupGone(pid, hasExited() ? Math.min(graceMs, 1_000) : 0))) signalGroup(pid, 'SIGKILL');
  }
  await exited;
  await waitGroupGone(pid, 1_000);
  live.delete(pid);
}

function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms).unref());
}

/** Returns -1 to drop a line, else the number of lines dropped since the last one logged. */
function rateLimiter(perSecond: number): () => number {
  let windowStart = 0;
  let count = 0;
  let dropped = 0;
  return () => {
    const now = Date.now();
    if (now - windowStart >= 1_000) {
      windowStart = now;
      count = 0;
    }
    if (++count > perSecond) {
      dropped++;
      return -1;
    }
    const d = dropped;
    dropped = 0;
    return d;
  };
}

/** Logs each line of a stream (a launched HTTP server's stdout), bounded and rate-limited. */
export function logLines(stream: Readable, logger: Logger, fields: Record<string, unknown>): void {
  const limiter = rateLimiter(LOG_LINES_PER_SECOND);
  const lines = new LineSplitter(STDERR_LINE_MAX, {
    line(bytes) {
      if (limiter() >= 0) logger.debug(fields, bytes.toString('utf8').trimEnd());
    },
    overflow(head, _tail, size) {
      if (limiter() >= 0) logger.debug(fields, `${head.toString('utf8')}… [${size} bytes, truncated]`);
    },
  });
  stream.on('data', (chunk: Buffer) => lines.push(chunk));
  stream.on('end', () => lines.end());
  stream.on('error', () => undefined);
}
