// `npm run bench:traffic`: a looping agent bursts against a slow backend, with and without limits.
// Prints what the backend saw and what two well-behaved agents' latency did, beside the same agents
// talking to the backend directly and through the gateway with nobody looping. See bench/README.md.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Pool } from 'undici';
import { createKey } from '../src/identity/key-service.ts';
import { openSqliteStore } from '../src/store/sqlite.ts';
import { freePort, startNodeScript } from '../test/support/processes.ts';
import type { RunningServer } from '../test/support/processes.ts';
import { launchGateway, type RunningGateway } from './gateway.ts';
import { headers, openPool, parseResponseBody, template, type Conn } from './load.ts';
import { cpuMicros, processTree, rssKiB } from './procfs.ts';
import { percentile } from './report.ts';

const env = (name: string, fallback: number): number => {
  const raw = process.env[name];
  const n = raw === undefined || raw === '' ? fallback : Number(raw);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${name} must be a positive number, got '${raw}'`);
  return n;
};
const SECONDS = env('BENCH_SECONDS', 8);
const LOOPERS = env('BENCH_LOOPERS', 32);
const PACE_MS = env('BENCH_PACE_MS', 100);
const WORK_MS = env('BENCH_WORK_MS', 20);
const CAPACITY = env('BENCH_CAPACITY', 4);
const AGENTS = ['agent-a', 'agent-b'] as const;

/** The limits under test: per agent a token bucket and two calls at a time, and the backend's own capacity as a ceiling. */
export const BENCH_LIMITS = [
  { name: 'agent-rate', key: ['agent'], rate: { tokens: 20, per: '1s', burst: 10 } },
  { name: 'agent-concurrency', key: ['agent'], concurrency: 2, queue: { size: 2, maxWaitMs: 250 } },
  { name: 'backend-concurrency', key: ['upstream'], concurrency: CAPACITY * 2, queue: { size: 16, maxWaitMs: 1000 } },
];

interface Caller {
  conn: Conn;
  headers: Record<string, string>;
}

function caller(url: string, authorization: string | undefined, connections: number): Caller {
  const conn = openPool({ url, authorization }, connections);
  return { conn, headers: { ...headers('tools/call', 'work'), ...(authorization === undefined ? {} : { authorization }) } };
}

const [WORK_HEAD, WORK_TAIL] = template('tools/call', { name: 'work', arguments: {} });
let nextId = 1;

/** One call: 'ok', or the refusal's gatehouse error name / HTTP status. */
async function call(c: Caller): Promise<string> {
  const res = await c.conn.pool.request({ path: c.conn.path, method: 'POST', headers: c.headers, body: `${WORK_HEAD}${nextId++}${WORK_TAIL}` });
  const text = await res.body.text();
  if (res.statusCode === 200 && text.includes('"result"') && !text.includes('"isError":true')) return 'ok';
  const name = /"error":"([a-z_]+)"/.exec(text)?.[1];
  return name ?? `http_${res.statusCode}`;
}

async function backendTool(pool: Pool, path: string, name: string): Promise<Record<string, unknown>> {
  const [head, tail] = template('tools/call', { name, arguments: {} });
  const res = await pool.request({ path, method: 'POST', headers: headers('tools/call', name), body: `${head}${nextId++}${tail}` });
  const msg = parseResponseBody(String(res.headers['content-type'] ?? ''), await res.body.text());
  const text = (msg.result?.['content'] as { text: string }[] | undefined)?.[0]?.text ?? '{}';
  return text.startsWith('{') ? (JSON.parse(text) as Record<string, unknown>) : {};
}

interface PhaseResult {
  phase: string;
  backend: Record<string, unknown>;
  looper: Map<string, number>;
  others: { calls: number; errors: number; p50: number; p99: number; max: number };
  gatewayCpuMs?: number;
  gatewayRssMiB?: number;
}

async function runPhase(phase: string, backend: RunningServer, others: Caller[], looper: Caller | undefined, gateway: RunningGateway | undefined): Promise<PhaseResult> {
  const be = openPool({ url: backend.url }, 1);
  await backendTool(be.pool, be.path, 'reset_stats');
  const pids = gateway === undefined ? [] : processTree(gateway.pid);
  const cpu0 = cpuMicros(pids);
  const deadline = performance.now() + SECONDS * 1000;
  const outcomes = new Map<string, number>();
  const latencies: number[] = [];
  let errors = 0;
  const loop = async () => {
    while (performance.now() < deadline) {
      const o = await call(looper!).catch((e: Error) => `failed: ${e.message}`);
      outcomes.set(o, (outcomes.get(o) ?? 0) + 1);
    }
  };
  const paced = async (c: Caller) => {
    while (performance.now() < deadline) {
      const t0 = performance.now();
      const o = await call(c).catch(() => 'failed');
      if (o === 'ok') latencies.push(performance.now() - t0);
      else errors++;
      const rest = PACE_MS - (performance.now() - t0);
      if (rest > 0) await new Promise((r) => setTimeout(r, rest));
    }
  };
  await Promise.all([...(looper === undefined ? [] : Array.from({ length: LOOPERS }, loop)), ...others.map(paced)]);
  const stats = await backendTool(be.pool, be.path, 'stats');
  await be.pool.close();
  const v = Float64Array.from(latencies);
  const result: PhaseResult = {
    phase,
    backend: stats,
    looper: outcomes,
    others: { calls: latencies.length, errors, p50: percentile(v, 50), p99: percentile(v, 99), max: percentile(v, 100) },
  };
  if (gateway !== undefined) {
    result.gatewayCpuMs = (cpuMicros(pids) - cpu0) / 1000;
    result.gatewayRssMiB = rssKiB(pids) / 1024;
  }
  return result;
}

/** A gateway in front of the backend with one API key per agent (made in its store before it starts). */
async function gatewayFor(backendUrl: string, limits: boolean): Promise<{ gw: RunningGateway; keys: Map<string, string> }> {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-bench-traffic-'));
  const port = await freePort();
  const storePath = join(dir, 'state.db');
  const store = openSqliteStore(storePath);
  const keys = new Map<string, string>();
  for (const agent of ['looper', ...AGENTS]) keys.set(agent, `Bearer ${(await createKey(store, { agent }, Date.now())).key}`);
  await store.close();
  const config = {
    version: 1,
    gateway: { listen: { host: '127.0.0.1', port, path: '/mcp', auth: ['keys'] } },
    auth: { methods: [{ name: 'keys', type: 'api_key' }] },
    store: { kind: 'sqlite', path: storePath },
    log: { level: 'warn' },
    audit: { enabled: true },
    ...(limits ? { traffic: { limits: BENCH_LIMITS } } : {}),
    upstreams: [{ name: 'slow', transport: 'streamable-http', url: backendUrl, passthroughNames: true, timeoutMs: 30_000 }],
  };
  const gw = await launchGateway({ dir, port, config, authorization: keys.get('agent-a'), readyTool: 'work', readyTimeoutMs: 30_000 });
  return { gw, keys };
}

function report(rows: PhaseResult[]): string {
  const head = ['phase', 'backend calls/s', 'peak at backend', 'backend queue max ms', 'looper ok', 'looper refused', 'others p50 ms', 'others p99 ms', 'others max ms', 'others errors', 'gw CPU ms', 'gw RSS MiB'];
  const lines = rows.map((r) => {
    const ok = r.looper.get('ok') ?? 0;
    const refused = [...r.looper].filter(([k]) => k !== 'ok').map(([k, n]) => `${n} ${k}`).join(', ') || '0';
    const seconds = Number(r.backend['seconds'] ?? SECONDS);
    return [
      r.phase,
      (Number(r.backend['calls'] ?? 0) / seconds).toFixed(0),
      String(r.backend['peakOutstanding'] ?? '?'),
      Number(r.backend['maxQueueWaitMs'] ?? 0).toFixed(0),
      String(ok),
      refused,
      r.others.p50.toFixed(1),
      r.others.p99.toFixed(1),
      r.others.max.toFixed(1),
      String(r.others.errors),
      r.gatewayCpuMs === undefined ? '—' : r.gatewayCpuMs.toFixed(0),
      r.gatewayRssMiB === undefined ? '—' : r.gatewayRssMiB.toFixed(0),
    ];
  });
  const widths = head.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  return [head, ...lines].map((l) => l.map((c, i) => c.padEnd(widths[i]!)).join('  ')).join('\n');
}

async function main(): Promise<void> {
  const log = (s: string) => process.stderr.write(`${s}\n`);
  log(`bench:traffic: backend ${WORK_MS} ms per call on ${CAPACITY} workers; ${AGENTS.length} agents every ${PACE_MS} ms; looper ${LOOPERS} loops; ${SECONDS} s per phase`);
  const backend = await startNodeScript('test/fixtures/slow-backend.ts', [], { PORT: '0', WORK_MS: String(WORK_MS), CAPACITY: String(CAPACITY) });
  const open: { stop(): Promise<void> }[] = [backend];
  try {
    const plain = await gatewayFor(backend.url, false);
    open.push(plain.gw);
    const limited = await gatewayFor(backend.url, true);
    open.push(limited.gw);
    const othersOf = (url: string, keys: Map<string, string> | undefined) => AGENTS.map((a) => caller(url, keys?.get(a), 1));
    const rows: PhaseResult[] = [];
    const phases: [string, RunningGateway | undefined, Map<string, string> | undefined, boolean][] = [
      ['direct, no looper', undefined, undefined, false],
      ['gateway, no looper', plain.gw, plain.keys, false],
      ['gateway, looper, no limits', plain.gw, plain.keys, true],
      ['gateway, looper, limits', limited.gw, limited.keys, true],
    ];
    for (const [name, gw, keys, loops] of phases) {
      const url = gw?.url ?? backend.url;
      const others = othersOf(url, keys);
      const looper = loops ? caller(url, keys?.get('looper'), LOOPERS) : undefined;
      log(`  ${name}…`);
      rows.push(await runPhase(name, backend, others, looper, gw));
      await Promise.all([...others, ...(looper ? [looper] : [])].map((c) => c.conn.pool.close()));
      // Let the backend drain what a phase left queued before the next one is measured.
      await new Promise((r) => setTimeout(r, 1000));
    }
    process.stdout.write(`${report(rows)}\n`);
    process.stdout.write(`limits: ${JSON.stringify(BENCH_LIMITS)}\n`);
  } finally {
    for (const s of open.reverse()) await s.stop().catch(() => undefined);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((err: unknown) => {
    process.stderr.write(`bench:traffic failed: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  });
}
