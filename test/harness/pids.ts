// Process bookkeeping for end-to-end tests: which processes a gateway started, and whether they are gone.
// Linux /proc is the source of truth (the test machines run Linux); a zombie counts as gone.
import { readdirSync, readFileSync } from 'node:fs';
import type { TestGateway } from './gateway.ts';

/** Whether `pid` is a running process (not a zombie, not reaped). */
export function pidAlive(pid: number): boolean {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
  } catch {
    return false;
  }
  // "pid (comm) state ...": comm may hold spaces and parentheses.
  const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  return state !== 'Z' && state !== 'X';
}

/** Direct children of `pid`, across all of its threads (Node spawns from worker threads too). */
export function childPids(pid: number): number[] {
  const out = new Set<number>();
  let tasks: string[];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return [];
  }
  for (const t of tasks) {
    try {
      for (const c of readFileSync(`/proc/${pid}/task/${t}/children`, 'latin1').trim().split(/\s+/)) if (c !== '') out.add(Number(c));
    } catch {
      // thread exited meanwhile
    }
  }
  return [...out];
}

/** Every process below `pid` (children, grandchildren, ...). */
export function descendantPids(pid: number): number[] {
  const out: number[] = [];
  const queue = childPids(pid);
  while (queue.length > 0) {
    const p = queue.shift()!;
    out.push(p);
    queue.push(...childPids(p));
  }
  return out;
}

/** The command line of a process, for assertion messages and for picking children by what they run. */
export function commandLine(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
  } catch {
    return '';
  }
}

/** Last-resort cleanup: SIGKILL whatever of `pids` is still alive, so a failing test leaves nothing behind. */
export function killLeftovers(pids: Iterable<number>): number[] {
  const left: number[] = [];
  for (const pid of pids) {
    if (!pidAlive(pid)) continue;
    left.push(pid);
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone meanwhile
    }
  }
  return left;
}

/**
 * Polls `check` until it returns a value other than undefined/false. The deadline only turns a hang
 * into a readable failure; it is never a performance threshold.
 */
export async function waitFor<T>(check: () => T | undefined | false | Promise<T | undefined | false>, what: string, deadlineMs = 30_000): Promise<T> {
  const until = Date.now() + deadlineMs;
  for (;;) {
    const v = await check();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > until) throw new Error(`gave up waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The pid of a stdio upstream's process (or a launched HTTP server's), from its live session. */
export function upstreamPid(gw: TestGateway, name: string): number | undefined {
  const session = gw.running.gateway.registry.get(name)?.session as { pid?: unknown } | undefined;
  return typeof session?.pid === 'number' ? session.pid : undefined;
}

/**
 * Processes whose environment holds `KEY=value` (readable for our own processes). Tag the upstreams a
 * child gateway starts with a unique env value, and this finds them even after the gateway is gone.
 */
export function pidsWithEnv(key: string, value: string): number[] {
  const needle = `${key}=${value}`;
  const out: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/environ`, 'utf8').split('\0').includes(needle) && pidAlive(Number(entry))) out.push(Number(entry));
    } catch {
      // not ours, or gone
    }
  }
  return out;
}
