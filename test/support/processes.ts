// Starts real server processes for tests and benchmarks, bound to 127.0.0.1, and stops them by PID.
// Each child gets its own process group so stop() also reaps anything it spawned.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { request } from 'node:http';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';

/** The repository root; children start there unless told otherwise. */
export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const LOOPBACK_PRELOAD = fileURLToPath(new URL('../../scripts/loopback.mjs', import.meta.url));
const SERVER_EVERYTHING = fileURLToPath(new URL('../../node_modules/@modelcontextprotocol/server-everything/dist/index.js', import.meta.url));
const OUTPUT_LIMIT = 64 * 1024;

/** A started child process (in its own process group), not necessarily ready yet. */
export interface LaunchedProcess extends AsyncDisposable {
  pid: number;
  /** Resolves with the exit code (or signal name) once the process has exited. */
  exited: Promise<number | string>;
  /** The last 64 KiB of stdout and stderr, for diagnostics and for checking what a fixture reported. */
  output(): { stdout: string; stderr: string };
  /** Resolves when the output matches `pattern`; rejects after `timeoutMs` or when the process exits. */
  waitForOutput(pattern: RegExp, timeoutMs?: number, stream?: 'stdout' | 'stderr' | 'both'): Promise<RegExpMatchArray>;
  /** SIGTERM to the process group, SIGKILL after a grace period; resolves once the process has exited. */
  stop(): Promise<void>;
}

export interface RunningServer extends LaunchedProcess {
  /** The MCP endpoint (or, for scripts, whatever URL the script announced). */
  url: string;
}

export interface StartOptions {
  /** Added to this process's environment. */
  env?: Record<string, string>;
  cwd?: string;
  /** Longest the process may take to become ready (default 20 s: the test machine is shared). */
  readyTimeoutMs?: number;
  /** A stdout line matching this announces readiness; group 1 is the URL. Default: `listening <url>`. */
  readyPattern?: RegExp;
}

export interface LaunchOptions {
  env?: Record<string, string>;
  cwd?: string;
  /** Preload scripts/loopback.mjs through NODE_OPTIONS (default true). */
  loopback?: boolean;
}

/** A port that was free a moment ago on 127.0.0.1 (for servers that cannot listen on port 0). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/**
 * Runs a Node script (TypeScript is fine) with the Node running this process and the loopback
 * preload, and waits until it prints its URL (`listening http://127.0.0.1:NNNN/mcp` by default).
 */
export async function startNodeScript(file: string, args: string[] = [], env: Record<string, string> = {}, opts: StartOptions = {}): Promise<RunningServer> {
  const pattern = opts.readyPattern ?? /^listening (\S+)/m;
  const proc = launchProcess(process.execPath, [file, ...args], { ...opts, env: { ...env, ...opts.env } });
  try {
    const match = await proc.waitForOutput(pattern, opts.readyTimeoutMs ?? 20_000, 'stdout');
    const url = match[1];
    if (url === undefined) throw new Error(`readyPattern ${pattern} has no capture group for the URL`);
    return { ...proc, url };
  } catch (err) {
    await proc.stop();
    throw err;
  }
}

/** server-everything over HTTP on a free port, forced onto 127.0.0.1; retries once if the port was taken meanwhile. */
export async function startServerEverything(mode: 'streamableHttp' | 'sse', opts: StartOptions = {}): Promise<RunningServer> {
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const proc = launchProcess(process.execPath, [SERVER_EVERYTHING, mode], { ...opts, env: { ...opts.env, PORT: String(port) } });
    const endpoint = mode === 'sse' ? `http://127.0.0.1:${port}/sse` : `http://127.0.0.1:${port}/mcp`;
    try {
      await waitUntil(() => probe(endpoint, mode), proc, opts.readyTimeoutMs ?? 20_000, `server-everything ${mode} on ${endpoint}`);
      return { ...proc, url: endpoint };
    } catch (err) {
      lastError = err;
      await proc.stop();
      if (!/EADDRINUSE|already in use/.test(proc.output().stderr)) throw err;
    }
  }
  throw lastError;
}

/**
 * A response that only the real endpoint gives: the streamable HTTP endpoint answers a GET without
 * session with 400; the SSE endpoint opens an event stream (closed again at once).
 */
function probe(url: string, mode: 'streamableHttp' | 'sse'): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request(url, { method: 'GET', agent: false, headers: { accept: 'text/event-stream' }, timeout: 2_000 }, (res) => {
      const ok = mode === 'sse' ? res.statusCode === 200 && String(res.headers['content-type']).startsWith('text/event-stream') : res.statusCode === 400;
      res.destroy();
      req.destroy();
      resolve(ok);
    });
    req.once('timeout', () => req.destroy());
    req.once('error', () => resolve(false));
    req.end();
  });
}

async function waitUntil(check: () => Promise<boolean>, proc: LaunchedProcess, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let exited: number | string | undefined;
  void proc.exited.then((code) => (exited = code));
  while (Date.now() < deadline) {
    if (exited !== undefined) throw new Error(`${what} exited (${exited}) before it was ready:\n${proc.output().stderr}`);
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${what} was not ready after ${timeoutMs} ms:\n${proc.output().stderr}`);
}

/**
 * Starts `command` in its own process group with stdout and stderr captured. Node children get the
 * loopback preload unless `loopback: false`.
 */
export function launchProcess(command: string, args: string[], opts: LaunchOptions = {}): LaunchedProcess {
  const argv = [command, ...args];
  const env: NodeJS.ProcessEnv = { ...process.env, ...opts.env };
  if (opts.loopback !== false) env['NODE_OPTIONS'] = [env['NODE_OPTIONS'], `--import ${LOOPBACK_PRELOAD}`].filter(Boolean).join(' ');
  const child: ChildProcess = spawn(command, args, {
    cwd: opts.cwd ?? ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let spawnError: Error | undefined;
  child.once('error', (err) => (spawnError = err));
  if (child.pid === undefined) throw new Error(`could not start ${argv.join(' ')}${spawnError ? `: ${spawnError.message}` : ''}`);
  const pid = child.pid;
  const out = { stdout: '', stderr: '' };
  const listeners = new Set<() => void>();
  const notify = () => {
    for (const l of listeners) l();
  };
  const collect = (key: 'stdout' | 'stderr') => (chunk: Buffer) => {
    out[key] = (out[key] + chunk.toString('utf8')).slice(-OUTPUT_LIMIT);
    notify();
  };
  child.stdout?.on('data', collect('stdout'));
  child.stderr?.on('data', collect('stderr'));
  // 'exit' can come before the last output has been read from the pipes; waiters give up only once
  // the pipes have closed (or shortly after exit, if a grandchild still holds them).
  let drained = false;
  const drain = () => {
    drained = true;
    notify();
  };
  child.once('close', drain);
  const exited = new Promise<number | string>((resolve) => {
    child.once('exit', (code, signal) => {
      setTimeout(drain, 200).unref();
      resolve(code ?? signal ?? 'unknown');
    });
  });
  let exitCode: number | string | undefined;
  void exited.then((c) => (exitCode = c));

  const waitForOutput = (pattern: RegExp, timeoutMs = 20_000, stream: 'stdout' | 'stderr' | 'both' = 'both') =>
    new Promise<RegExpMatchArray>((resolve, reject) => {
      const check = () => {
        const text = stream === 'both' ? `${out.stdout}\n${out.stderr}` : out[stream];
        const m = text.match(pattern);
        if (m) return done(() => resolve(m));
        if (drained) {
          done(() => reject(new Error(`${argv.join(' ')} exited (${child.exitCode ?? child.signalCode}) before printing ${pattern}:\n${out.stderr}`)));
        }
      };
      const timer = setTimeout(() => done(() => reject(new Error(`${argv.join(' ')} did not print ${pattern} within ${timeoutMs} ms:\n${out.stderr}`))), timeoutMs);
      const done = (fn: () => void) => {
        clearTimeout(timer);
        listeners.delete(check);
        fn();
      };
      listeners.add(check);
      check();
    });

  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      if (exitCode !== undefined) {
        signalGroup(pid, 'SIGKILL');
        return;
      }
      signalGroup(pid, 'SIGTERM');
      const killer = setTimeout(() => signalGroup(pid, 'SIGKILL'), 3_000);
      await exited;
      clearTimeout(killer);
      // The leader is gone; make sure nothing it spawned outlives it.
      signalGroup(pid, 'SIGKILL');
    })());

  return { pid, exited, output: () => ({ ...out }), waitForOutput, stop, [Symbol.asyncDispose]: stop };
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // ESRCH: the group is already gone.
  }
}
