// The processes `npm run conformance` starts: each is tracked until it has exited, stopped by its
// PID (TERM, then KILL after a grace period), and its output goes to a log file, never to our stdout.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';

const STOP_GRACE_MS = 10_000;

export interface Proc {
  readonly child: ChildProcess;
  readonly exited: Promise<number | null>;
  /** The last lines it wrote, for error messages. */
  tail(): string;
  /** Calls `listener` with every complete line written to `stream` from now on; returns an unsubscribe. */
  onLine(stream: 'stdout' | 'stderr', listener: (line: string) => void): () => void;
  stop(): Promise<void>;
}

const running = new Set<Proc>();

export function startProc(command: string, args: readonly string[], opts: { env?: NodeJS.ProcessEnv; cwd: string; log: string }): Proc {
  const log: WriteStream = createWriteStream(opts.log, { flags: 'a' });
  const child = spawn(command, args, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  const listeners = { stdout: new Set<(line: string) => void>(), stderr: new Set<(line: string) => void>() };
  for (const name of ['stdout', 'stderr'] as const) {
    let partial = '';
    child[name].on('data', (chunk: Buffer) => {
      log.write(chunk);
      const parts = (partial + chunk.toString('utf8')).split('\n');
      partial = parts.pop() ?? '';
      for (const line of parts) {
        if (line.trim() === '') continue;
        lines.push(line);
        for (const l of listeners[name]) l(line);
      }
      if (lines.length > 20) lines.splice(0, lines.length - 20);
    });
  }
  const exited = new Promise<number | null>((resolve) => {
    child.once('error', (err) => {
      lines.push(`could not start ${command}: ${err.message}`);
      resolve(null);
    });
    child.once('close', (code) => resolve(code));
  }).finally(() => {
    running.delete(proc);
    log.end();
  });
  const proc: Proc = {
    child,
    exited,
    tail: () => lines.join('\n'),
    onLine(stream, listener) {
      listeners[stream].add(listener);
      return () => listeners[stream].delete(listener);
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) {
        await exited;
        return;
      }
      process.kill(child.pid, 'SIGTERM');
      const timer = setTimeout(() => {
        if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) process.kill(child.pid, 'SIGKILL');
      }, STOP_GRACE_MS);
      await exited;
      clearTimeout(timer);
    },
  };
  running.add(proc);
  return proc;
}

/** Resolves with the first capture group of the first line of `stream` that matches `pattern`. */
export function waitForLine(proc: Proc, stream: 'stdout' | 'stderr', pattern: RegExp, timeoutMs: number, what: string): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    let settled = false;
    const done = (err: Error | undefined, value?: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      unsubscribe();
      if (err === undefined) resolve(value!);
      else reject(err);
    };
    const timer = setTimeout(() => done(new Error(`${what} was not ready within ${timeoutMs} ms; its last output:\n${proc.tail()}`)), timeoutMs);
    const unsubscribe = proc.onLine(stream, (line) => {
      const m = pattern.exec(line);
      if (m !== null) done(undefined, m[1] ?? line);
    });
    void proc.exited.then((code) => done(new Error(`${what} exited (code ${code}) before it was ready; its last output:\n${proc.tail()}`)));
  });
}

/** Stops everything still running (normal end, failure, or a signal). */
export async function stopAll(): Promise<void> {
  await Promise.allSettled([...running].map((p) => p.stop()));
}
