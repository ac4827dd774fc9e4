// Starts the gateway under test as a child process in front of the echo backend.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { ROOT, freePort, launchProcess } from '../test/support/processes.ts';
import type { LaunchedProcess } from '../test/support/processes.ts';
import { listTools, openPool } from './load.ts';
import { listeningPid, processTree } from './procfs.ts';

export interface RunningGateway {
  url: string;
  /** The process that owns the listening socket (not a wrapper such as npx or sh). */
  pid: number;
  command: string;
  stop(): Promise<void>;
  output(): { stdout: string; stderr: string };
}

export function gatewayConfig(port: number, backendUrl: string): Record<string, unknown> {
  return {
    version: 1,
    gateway: { listen: { host: '127.0.0.1', port, path: '/mcp' } },
    store: { kind: 'sqlite', path: ':memory:' },
    log: { level: 'warn' },
    upstreams: [{ name: 'echo', transport: 'streamable-http', url: backendUrl, passthroughNames: true }],
  };
}

/**
 * The command line. By default the gateway runs on the Node running the benchmark (what `npx node`
 * resolves to) so no npm wrapper process sits in between. GATEHOUSE_CMD replaces
 * `node bin/gatehouse.js serve`; `{config}` in it is replaced by the config path, otherwise
 * `--config <path>` is appended. It runs through /bin/sh.
 */
function commandLine(configPath: string): { command: string; args: string[]; display: string } {
  const custom = process.env['GATEHOUSE_CMD'];
  if (custom === undefined || custom.trim() === '') {
    const args = [join(ROOT, 'bin/gatehouse.js'), 'serve', '--config', configPath];
    return { command: process.execPath, args, display: `node ${args.join(' ')}` };
  }
  const quoted = `'${configPath.replaceAll("'", "'\\''")}'`;
  const line = custom.includes('{config}') ? custom.replaceAll('{config}', quoted) : `${custom} --config ${quoted}`;
  return { command: '/bin/sh', args: ['-c', `exec ${line}`], display: line };
}

export async function startGateway(backendUrl: string, readyTimeoutMs = 30_000): Promise<RunningGateway> {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-bench-'));
  const configPath = join(dir, 'gatehouse.yaml');
  const port = await freePort();
  writeFileSync(configPath, stringify(gatewayConfig(port, backendUrl)));
  const { command, args, display } = commandLine(configPath);
  // No loopback preload: the config already binds 127.0.0.1, and the gateway runs as it would in production.
  const proc: LaunchedProcess = launchProcess(command, args, { cwd: ROOT, loopback: false });
  const url = `http://127.0.0.1:${port}/mcp`;
  const cleanup = async () => {
    await proc.stop();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitForEcho(url, proc, readyTimeoutMs, display);
    const pid = listeningPid(port, processTree(proc.pid)) ?? proc.pid;
    return { url, pid, command: display, stop: cleanup, output: proc.output };
  } catch (err) {
    await cleanup();
    throw err;
  }
}

/** Ready means the aggregated tools/list already shows the backend's echo tool. */
async function waitForEcho(url: string, proc: LaunchedProcess, timeoutMs: number, display: string): Promise<void> {
  const { pool, path } = openPool({ url }, 1);
  let exited: number | string | undefined;
  void proc.exited.then((c) => (exited = c));
  let last = 'no answer yet';
  const deadline = Date.now() + timeoutMs;
  try {
    while (Date.now() < deadline) {
      if (exited !== undefined) throw new Error(`gateway (${display}) exited with ${exited} before it was ready:\n${proc.output().stderr || proc.output().stdout}`);
      try {
        const names = await listTools(pool, path);
        if (names.includes('echo')) return;
        last = `tools/list returned [${names.join(', ')}]`;
      } catch (err) {
        last = (err as Error).message;
      }
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error(`gateway (${display}) did not list the echo tool within ${timeoutMs} ms; last: ${last}\n${proc.output().stderr}`);
  } finally {
    await pool.destroy();
  }
}
