// Starts the gateway under test as a child process in front of the echo backend.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { ROOT, freePort, launchProcess } from '../test/support/processes.ts';
import type { LaunchedProcess } from '../test/support/processes.ts';
import { createKey } from '../src/identity/key-service.ts';
import { openSqliteStore } from '../src/store/sqlite.ts';
import { TestIdp } from '../test/support/idp.ts';
import { listTools, openPool } from './load.ts';
import { benchPolicy } from './policy-rules.ts';
import { listeningPid, processTree } from './procfs.ts';

/** How agents authenticate in the run: none (an anonymous method), a gateway API key, or an IdP's JWT. */
export type BenchAuth = 'none' | 'api_key' | 'jwt';

export function benchAuth(raw: string | undefined): BenchAuth {
  if (raw === undefined || raw === '') return 'none';
  if (raw === 'none' || raw === 'api_key' || raw === 'jwt') return raw;
  throw new Error(`BENCH_AUTH must be none, api_key or jwt, got '${raw}'`);
}

export interface RunningGateway {
  url: string;
  /** What the clients send as `Authorization`, when the run authenticates. */
  authorization: string | undefined;
  /** The process that owns the listening socket (not a wrapper such as npx or sh). */
  pid: number;
  command: string;
  stop(): Promise<void>;
  output(): { stdout: string; stderr: string };
}

/** What the gateway under test runs besides the echo upstream. */
export interface BenchFeatures {
  auth?: BenchAuth;
  policyRules?: number;
  audit?: BenchAudit;
  limits?: boolean;
  /** Prometheus metrics on (an admin listener on a free port, the metrics path public). */
  metrics?: boolean;
  /** Tracing on, exporting to this OTLP/HTTP endpoint at this sample ratio. */
  tracing?: { endpoint: string; sampleRatio: number };
}

export function gatewayConfig(port: number, backendUrl: string, auth: BenchAuth = 'none', opts: BenchFeatures & { storePath?: string; issuer?: string } = {}): Record<string, unknown> {
  const method =
    auth === 'api_key' ? { name: 'bench', type: 'api_key' } : auth === 'jwt' ? { name: 'bench', type: 'jwt', issuer: opts.issuer } : { name: 'bench', type: 'anonymous', agent: 'bench' };
  return {
    version: 1,
    gateway: { listen: { host: '127.0.0.1', port, path: '/mcp', auth: ['bench'] } },
    auth: { methods: opts.metrics ? [method, { name: 'bench-admin', type: 'api_key', kind: 'admin' }] : [method] },
    ...(opts.metrics ? { admin: { listen: { host: '127.0.0.1', port: 0 }, auth: ['bench-admin'] } } : {}),
    telemetry: {
      metrics: { enabled: opts.metrics ?? false, public: true },
      ...(opts.tracing ? { tracing: { enabled: true, endpoint: opts.tracing.endpoint, sampleRatio: opts.tracing.sampleRatio } } : {}),
    },
    store: { kind: 'sqlite', path: opts.storePath ?? ':memory:' },
    log: { level: 'warn' },
    audit: { enabled: (opts.audit ?? 'sqlite') !== 'off' },
    upstreams: [{ name: 'echo', transport: 'streamable-http', url: backendUrl, passthroughNames: true }],
    ...(opts.policyRules ? { policy: benchPolicy(opts.policyRules) } : {}),
    ...(opts.limits ? { traffic: { limits: BENCH_LIMITS } } : {}),
  };
}

/**
 * BENCH_LIMITS=on: what a deployment typically runs (a token bucket and a concurrency limit per agent,
 * a concurrency ceiling per upstream), with figures far above the load so that every call pays for the
 * checks and none is refused.
 */
const BENCH_LIMITS = [
  { name: 'agent-rate', key: ['tenant', 'agent'], rate: { tokens: 1_000_000, per: '1s', burst: 1_000_000 } },
  { name: 'agent-concurrency', key: ['agent'], concurrency: 1024 },
  { name: 'upstream-concurrency', key: ['upstream'], concurrency: 4096 },
];

/** BENCH_LIMITS, BENCH_METRICS: `on` or `off` (default). */
export function onOff(name: string, raw: string | undefined): boolean {
  if (raw === undefined || raw === '' || raw === 'off') return false;
  if (raw === 'on') return true;
  throw new Error(`${name} must be on or off, got '${raw}'`);
}

/** BENCH_TRACING: `off` (default), `on` (every call sampled) or a sample ratio in (0, 1]. */
export function benchTracing(raw: string | undefined): number | undefined {
  if (raw === undefined || raw === '' || raw === 'off') return undefined;
  if (raw === 'on') return 1;
  const n = Number(raw);
  if (!(n > 0 && n <= 1)) throw new Error(`BENCH_TRACING must be on, off or a sample ratio in (0, 1], got '${raw}'`);
  return n;
}

/** BENCH_AUDIT: `sqlite` (default: the trail in the gateway's SQLite file, as deployed) or `off`. */
export type BenchAudit = 'sqlite' | 'off';

export function benchAudit(raw: string | undefined): BenchAudit {
  if (raw === undefined || raw === '' || raw === 'sqlite') return 'sqlite';
  if (raw === 'off') return 'off';
  throw new Error(`BENCH_AUDIT must be sqlite or off, got '${raw}'`);
}

export function benchPolicyRules(raw: string | undefined): number {
  if (raw === undefined || raw === '' || raw === '0') return 0;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > 10_000) throw new Error(`BENCH_POLICY must be a rule count 1..10000, got '${raw}'`);
  return n;
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

export async function startGateway(backendUrl: string, features: BenchFeatures = {}, readyTimeoutMs = 30_000): Promise<RunningGateway> {
  const auth = features.auth ?? 'none';
  const audit = features.audit ?? 'sqlite';
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-bench-'));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}/mcp`;
  // The credential is made before the gateway starts: a key in the store it will open, or a token
  // from an identity provider on loopback (its JWKS is fetched once, then cached by the gateway).
  let authorization: string | undefined;
  let idp: TestIdp | undefined;
  // A file store whenever something lives in it (keys, the audit trail): :memory: would flatter the figures.
  const storePath = auth === 'api_key' || audit === 'sqlite' ? join(dir, 'state.db') : undefined;
  if (auth === 'api_key' && storePath !== undefined) {
    const store = openSqliteStore(storePath);
    authorization = `Bearer ${(await createKey(store, { agent: 'bench' }, Date.now())).key}`;
    await store.close();
  } else if (auth === 'jwt') {
    idp = await TestIdp.start();
    authorization = `Bearer ${await idp.sign({ sub: 'bench', client_id: 'bench', aud: url, scope: 'mcp', exp: Math.floor(Date.now() / 1000) + 3600 })}`;
  }
  const config = gatewayConfig(port, backendUrl, auth, { ...features, ...(storePath === undefined ? {} : { storePath }), ...(idp === undefined ? {} : { issuer: idp.origin }) });
  return launchGateway({ dir, port, config, authorization, readyTool: 'echo', readyTimeoutMs, onStop: async () => idp?.stop() });
}

export interface LaunchSpec {
  /** A temp folder the gateway owns: the config is written there, and it is removed on stop. */
  dir: string;
  port: number;
  config: Record<string, unknown>;
  authorization: string | undefined;
  /** Ready once the aggregated tools/list shows this tool. */
  readyTool: string;
  readyTimeoutMs: number;
  onStop?: () => Promise<void>;
}

/** Writes the config, starts the gateway process and waits until it lists `readyTool`. */
export async function launchGateway(spec: LaunchSpec): Promise<RunningGateway> {
  const configPath = join(spec.dir, 'gatehouse.yaml');
  writeFileSync(configPath, stringify(spec.config));
  const url = `http://127.0.0.1:${spec.port}/mcp`;
  const { command, args, display } = commandLine(configPath);
  // No loopback preload: the config already binds 127.0.0.1, and the gateway runs as it would in production.
  const proc: LaunchedProcess = launchProcess(command, args, { cwd: ROOT, loopback: false });
  const cleanup = async () => {
    await proc.stop();
    await spec.onStop?.();
    rmSync(spec.dir, { recursive: true, force: true });
  };
  try {
    await waitForTool(url, spec.authorization, spec.readyTool, proc, spec.readyTimeoutMs, display);
    const pid = listeningPid(spec.port, processTree(proc.pid)) ?? proc.pid;
    return { url, authorization: spec.authorization, pid, command: display, stop: cleanup, output: proc.output };
  } catch (err) {
    await cleanup();
    throw err;
  }
}

/** Ready means the aggregated tools/list already shows the backend's tool. */
async function waitForTool(url: string, authorization: string | undefined, tool: string, proc: LaunchedProcess, timeoutMs: number, display: string): Promise<void> {
  const conn = openPool({ url, authorization }, 1);
  const pool = conn.pool;
  let exited: number | string | undefined;
  void proc.exited.then((c) => (exited = c));
  let last = 'no answer yet';
  const deadline = Date.now() + timeoutMs;
  try {
    while (Date.now() < deadline) {
      if (exited !== undefined) throw new Error(`gateway (${display}) exited with ${exited} before it was ready:\n${proc.output().stderr || proc.output().stdout}`);
      try {
        const names = await listTools(conn);
        if (names.includes(tool)) return;
        last = `tools/list returned [${names.join(', ')}]`;
      } catch (err) {
        last = (err as Error).message;
      }
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error(`gateway (${display}) did not list the ${tool} tool within ${timeoutMs} ms; last: ${last}\n${proc.output().stderr}`);
  } finally {
    await pool.destroy();
  }
}
