// Reads a process's CPU time and memory from /proc (Linux), the way PERFORMANCE.md's figures were
// taken, so the gateway is measured from outside without instrumenting it.
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';

let clockTicks: number | undefined;
/** Clock ticks per second of /proc/<pid>/stat times (almost always 100). */
function ticksPerSecond(): number {
  if (clockTicks === undefined) {
    try {
      clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

interface Stat {
  ppid: number;
  /** utime + stime, in clock ticks. */
  cpuTicks: number;
}

function readStat(pid: number): Stat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name (field 2) may contain spaces and parentheses: fields are counted after the last ')'.
  const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
  // rest[0] is field 3 (state): ppid is field 4, utime 14, stime 15.
  return { ppid: Number(rest[1]), cpuTicks: Number(rest[11]) + Number(rest[12]) };
}

function allPids(): number[] {
  return readdirSync('/proc').filter((d) => /^\d+$/.test(d)).map(Number);
}

/** `root` and every process below it. */
export function processTree(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const pid of allPids()) {
    const st = readStat(pid);
    if (st === undefined) continue;
    const list = children.get(st.ppid);
    if (list) list.push(pid);
    else children.set(st.ppid, [pid]);
  }
  const out: number[] = [];
  const queue = [root];
  while (queue.length > 0) {
    const pid = queue.shift()!;
    out.push(pid);
    queue.push(...(children.get(pid) ?? []));
  }
  return out;
}

/** CPU microseconds (user + system) used so far by the given processes together. */
export function cpuMicros(pids: readonly number[]): number {
  let ticks = 0;
  for (const pid of pids) ticks += readStat(pid)?.cpuTicks ?? 0;
  return (ticks * 1_000_000) / ticksPerSecond();
}

/** Resident set size in KiB (VmRSS), summed over the given processes. */
export function rssKiB(pids: readonly number[]): number {
  let kib = 0;
  for (const pid of pids) {
    try {
      const m = readFileSync(`/proc/${pid}/status`, 'utf8').match(/^VmRSS:\s+(\d+)\s+kB/m);
      if (m) kib += Number(m[1]);
    } catch {
      // The process is gone: it holds no memory.
    }
  }
  return kib;
}

/** Sockets in LISTEN state on `port`, from /proc/net/tcp{,6}: local address (hex) and inode. */
export function listeningSockets(port: number): { address: string; inode: string }[] {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  const found: { address: string; inode: string }[] = [];
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text = '';
    try {
      text = readFileSync(table, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      const [address, p] = (cols[1] ?? '').split(':');
      if (p === hexPort && cols[3] === '0A' && address !== undefined && cols[9] !== undefined) found.push({ address, inode: cols[9] });
    }
  }
  return found;
}

/**
 * The process (among `candidates`) that owns the TCP socket listening on 127.0.0.1:`port`. A
 * gateway started through a wrapper (`npx`, a shell) is measured as itself, not as the wrapper.
 */
export function listeningPid(port: number, candidates: readonly number[]): number | undefined {
  const inodes = new Set(listeningSockets(port).map((sock) => sock.inode));
  if (inodes.size === 0) return undefined;
  for (const pid of candidates) {
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        const m = readlinkSync(`/proc/${pid}/fd/${fd}`).match(/^socket:\[(\d+)\]$/);
        if (m && inodes.has(m[1]!)) return pid;
      } catch {
        // fd closed meanwhile
      }
    }
  }
  return undefined;
}
