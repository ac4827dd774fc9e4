import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { stringify } from 'yaml';
import { startGatehouse, type Running } from '../../src/main.ts';
import { createKey } from '../../src/identity/key-service.ts';

export const REPO = new URL('../..', import.meta.url).pathname;
export const EVERYTHING = join(REPO, 'node_modules/@modelcontextprotocol/server-everything/dist/index.js');
export const MEMORY = join(REPO, 'node_modules/@modelcontextprotocol/server-memory/dist/index.js');
export const FILESYSTEM = join(REPO, 'node_modules/@modelcontextprotocol/server-filesystem/dist/index.js');
export const MODERN_FIXTURE = join(REPO, 'test/fixtures/modern-server.ts');

export interface TestGateway extends AsyncDisposable {
  readonly url: string;
  readonly running: Running;
  readonly configFile: string;
  readonly dir: string;
  /** Rewrites the config file (the watcher or an explicit reload picks it up). */
  rewrite(config: Record<string, unknown> | string): void;
  stop(): Promise<void>;
}

/**
 * An in-process gateway on a free loopback port with real upstreams behind it:
 * `await using gw = await startGateway({ upstreams: [...] })`.
 */
export async function startGateway(config: Record<string, unknown>, opts: { watch?: boolean; settleMs?: number } = {}): Promise<TestGateway> {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-test-'));
  const configFile = join(dir, 'gatehouse.yaml');
  // Tests that are not about authentication get an explicit anonymous method, as a config must say.
  const full = (c: Record<string, unknown>) => {
    const gateway = (c.gateway ?? {}) as { listen?: Record<string, unknown>; stdio?: Record<string, unknown> };
    const explicit = c.auth !== undefined;
    return {
      version: 1,
      store: { kind: 'sqlite', path: join(dir, 'state.db') },
      log: { level: process.env.GATEHOUSE_TEST_LOG ?? 'silent' },
      ...(explicit ? {} : { auth: { methods: [{ name: 'test-anonymous', type: 'anonymous', agent: 'test-agent' }] } }),
      ...c,
      gateway: {
        ...gateway,
        ...(explicit ? {} : { stdio: { auth: ['test-anonymous'], ...gateway.stdio } }),
        listen: { host: '127.0.0.1', port: 0, path: '/mcp', ...(explicit ? {} : { auth: ['test-anonymous'] }), ...gateway.listen },
      },
    };
  };
  writeFileSync(configFile, stringify(full(config)));
  const log = pino({ level: process.env.GATEHOUSE_TEST_LOG ?? 'silent' });
  const running = await startGatehouse({ configFile, watch: opts.watch ?? false, log, settleMs: opts.settleMs ?? 20_000 });
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await running.stop();
    rmSync(dir, { recursive: true, force: true });
  };
  return {
    url: running.dataPlane.url,
    running,
    configFile,
    dir,
    rewrite(c) {
      writeFileSync(configFile, typeof c === 'string' ? c : stringify(full(c)));
    },
    stop,
    [Symbol.asyncDispose]: stop,
  };
}

export function stdioEverything(name = 'everything', extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { name, transport: 'stdio', command: process.execPath, args: [EVERYTHING, 'stdio'], ...extra };
}

/**
 * `config` with an admin listener on a free loopback port (admin API keys) and an anonymous data plane
 * (agent `test-agent`): for tests about what the admin plane shows of agents' calls.
 */
export function withAdminPlane(config: Record<string, unknown>): Record<string, unknown> {
  return {
    auth: {
      methods: [
        { name: 'anon', type: 'anonymous', agent: 'test-agent' },
        { name: 'admin-keys', type: 'api_key', kind: 'admin' },
      ],
    },
    gateway: { listen: { auth: ['anon'] } },
    admin: { listen: { host: '127.0.0.1', port: 0 }, auth: ['admin-keys'] },
    ...config,
  };
}

/** A new admin API key in the running gateway's store. */
export async function newAdminKey(gw: TestGateway): Promise<string> {
  return (await createKey(gw.running.gateway.store, { agent: 'ops', kind: 'admin' }, Date.now())).key;
}
