// `npm run bench`: tools/call of an echo tool, directly against the backend and through the
// gateway, in the same run, interleaved, at several client counts. See bench/README.md.
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { ROOT, startNodeScript } from '../test/support/processes.ts';
import type { RunningServer } from '../test/support/processes.ts';
import { benchAudit, benchAuth, benchPolicyRules, benchTracing, onOff, startGateway, type BenchAudit, type BenchAuth } from './gateway.ts';
import type { RunningGateway } from './gateway.ts';
import { checkEcho, openPool, runLoad } from './load.ts';
import { cpuMicros, processTree, rssKiB } from './procfs.ts';
import { formatTable, percentile, summarise } from './report.ts';
import { startOtlpReceiver, type OtlpReceiver } from '../test/observe/tracing/otlp-receiver.ts';
import type { Point, Sample, TargetName } from './report.ts';

interface Settings {
  seconds: number;
  warmupSeconds: number;
  reps: number;
  concurrency: number[];
  targets: TargetName[];
  out: string;
  auth: BenchAuth;
  policyRules: number;
  audit: BenchAudit;
  limits: boolean;
  metrics: boolean;
  /** Sample ratio when tracing is on. */
  tracing: number | undefined;
}

function settings(env: NodeJS.ProcessEnv): Settings {
  const num = (name: string, fallback: number, check: (n: number) => boolean, rule: string): number => {
    const raw = env[name];
    if (raw === undefined || raw === '') return fallback;
    const n = Number(raw);
    if (!check(n)) throw new Error(`${name} must be ${rule}, got '${raw}'`);
    return n;
  };
  const concurrency = (env['BENCH_CONCURRENCY'] ?? '1,8,32').split(',').map((s) => Number(s.trim()));
  if (concurrency.length === 0 || concurrency.some((c) => !Number.isInteger(c) || c < 1 || c > 1024)) {
    throw new Error(`BENCH_CONCURRENCY must be a comma-separated list of integers 1..1024, got '${env['BENCH_CONCURRENCY']}'`);
  }
  const only = env['BENCH_ONLY'];
  if (only !== undefined && only !== '' && only !== 'direct' && only !== 'gateway') throw new Error(`BENCH_ONLY must be 'direct' or 'gateway', got '${only}'`);
  return {
    seconds: num('BENCH_SECONDS', 5, (n) => n > 0 && n <= 600, 'a number of seconds in (0, 600]'),
    warmupSeconds: num('BENCH_WARMUP_SECONDS', 1, (n) => n >= 0 && n <= 60, 'a number of seconds in [0, 60]'),
    reps: num('BENCH_REPS', 3, (n) => Number.isInteger(n) && n >= 1 && n <= 50, 'an integer 1..50'),
    concurrency,
    targets: only === 'direct' || only === 'gateway' ? [only] : ['direct', 'gateway'],
    out: env['BENCH_OUT'] ?? join(ROOT, 'bench/results/latest.json'),
    auth: benchAuth(env['BENCH_AUTH']),
    policyRules: benchPolicyRules(env['BENCH_POLICY']),
    audit: benchAudit(env['BENCH_AUDIT']),
    limits: onOff('BENCH_LIMITS', env['BENCH_LIMITS']),
    metrics: onOff('BENCH_METRICS', env['BENCH_METRICS']),
    tracing: benchTracing(env['BENCH_TRACING']),
  };
}

interface Targets {
  backend: RunningServer;
  gateway?: RunningGateway;
  /** Counts the spans the gateway exports when tracing is on (in this process: its CPU is not the gateway's). */
  receiver?: OtlpReceiver;
}

async function measure(t: Targets, target: TargetName, clients: number, s: Settings): Promise<Sample> {
  const url = target === 'direct' ? t.backend.url : t.gateway!.url;
  const conn = openPool({ url, authorization: target === 'gateway' ? t.gateway!.authorization : undefined }, clients);
  const pool = conn.pool;
  try {
    // Warm-up opens every connection and lets both processes' JITs settle before the window.
    if (s.warmupSeconds > 0) await runLoad(conn, clients, s.warmupSeconds * 1000);
    const gwPids = t.gateway ? processTree(t.gateway.pid) : [];
    const bePids = processTree(t.backend.pid);
    const gw0 = cpuMicros(gwPids);
    const be0 = cpuMicros(bePids);
    const client0 = process.cpuUsage();
    const r = await runLoad(conn, clients, s.seconds * 1000);
    const client = process.cpuUsage(client0);
    const gwCpu = cpuMicros(gwPids) - gw0;
    const beCpu = cpuMicros(bePids) - be0;
    const per = (us: number) => (r.calls > 0 ? us / r.calls : Number.NaN);
    const sample: Sample = {
      reqPerSec: (r.calls * 1000) / r.elapsedMs,
      p50Ms: percentile(r.latencies, 50),
      p99Ms: percentile(r.latencies, 99),
      calls: r.calls,
      errors: r.errors,
      backendCpuUsPerCall: per(beCpu),
      clientCpuUsPerCall: per(client.user + client.system),
    };
    if (r.firstError !== undefined) sample.firstError = r.firstError;
    if (target === 'gateway') {
      sample.gatewayCpuUsPerCall = per(gwCpu);
      sample.gatewayRssMiB = rssKiB(gwPids) / 1024;
    }
    return sample;
  } finally {
    await pool.close();
  }
}

async function main(): Promise<void> {
  const s = settings(process.env);
  const points = s.concurrency.length * s.targets.length * s.reps;
  const estimate = Math.ceil((points * (s.seconds + s.warmupSeconds)) / 60);
  log(`bench: ${s.targets.join(' + ')} at ${s.concurrency.join(', ')} clients, ${s.reps} reps × ${s.seconds}s (+${s.warmupSeconds}s warm-up): about ${estimate} min`);

  const t: Targets = { backend: await startNodeScript('test/fixtures/echo-backend.ts', [], { PORT: '0' }) };
  const stopAll = async () => {
    await t.gateway?.stop();
    await t.receiver?.close();
    await t.backend.stop();
  };
  process.once('SIGINT', () => void stopAll().finally(() => process.exit(130)));
  try {
    log(`backend: ${t.backend.url} (pid ${t.backend.pid})`);
    if (s.targets.includes('gateway')) {
      if (s.tracing !== undefined) t.receiver = await startOtlpReceiver({ keep: false });
      const tracing = t.receiver === undefined ? {} : { tracing: { endpoint: t.receiver.url, sampleRatio: s.tracing ?? 1 } };
      t.gateway = await startGateway(t.backend.url, { auth: s.auth, policyRules: s.policyRules, audit: s.audit, limits: s.limits, metrics: s.metrics, ...tracing });
      log(`gateway: ${t.gateway.url} (pid ${t.gateway.pid}, auth ${s.auth}, policy ${s.policyRules === 0 ? 'none' : `${s.policyRules} rules`}, audit ${s.audit}, limits ${s.limits ? 'on' : 'off'}, metrics ${s.metrics ? 'on' : 'off'}, tracing ${s.tracing === undefined ? 'off' : `sampled ${s.tracing}`}): ${t.gateway.command}`);
    }
    for (const target of s.targets) {
      const conn = target === 'direct' ? openPool({ url: t.backend.url }, 1) : openPool({ url: t.gateway!.url, authorization: t.gateway!.authorization }, 1);
      const pool = conn.pool;
      try {
        await checkEcho(conn);
      } catch (err) {
        throw new Error(`${target}: ${(err as Error).message}`);
      } finally {
        await pool.close();
      }
    }

    const samples = new Map<string, Sample[]>();
    for (let rep = 0; rep < s.reps; rep++) {
      for (const clients of s.concurrency) {
        // Alternate which target goes first so slow drift (thermal, neighbours) hits both alike.
        const order = rep % 2 === 0 ? s.targets : [...s.targets].reverse();
        for (const target of order) {
          const sample = await measure(t, target, clients, s);
          const key = `${target}:${clients}`;
          samples.set(key, [...(samples.get(key) ?? []), sample]);
          log(`  rep ${rep + 1}/${s.reps} ${target.padEnd(7)} c=${String(clients).padEnd(3)} ${sample.reqPerSec.toFixed(0).padStart(6)} req/s  p50 ${sample.p50Ms.toFixed(3)} ms  p99 ${sample.p99Ms.toFixed(3)} ms${sample.errors > 0 ? `  ${sample.errors} errors (${sample.firstError})` : ''}`);
        }
      }
    }

    const results: Point[] = [];
    for (const clients of s.concurrency) {
      for (const target of s.targets) results.push(summarise(target, clients, samples.get(`${target}:${clients}`) ?? []));
    }
    process.stdout.write(`\n${formatTable(results)}\n\n`);
    mkdirSync(dirname(s.out), { recursive: true });
    writeFileSync(
      s.out,
      `${JSON.stringify(
        {
          date: new Date().toISOString(),
          node: process.version,
          cpus: { count: availableParallelism(), model: cpus()[0]?.model ?? 'unknown' },
          loadavgAtEnd: loadavg(),
          settings: { seconds: s.seconds, warmupSeconds: s.warmupSeconds, reps: s.reps, concurrency: s.concurrency, targets: s.targets, auth: s.auth, policyRules: s.policyRules, audit: s.audit, limits: s.limits, metrics: s.metrics, tracing: s.tracing ?? 'off', spansExported: t.receiver?.received },
          backend: { url: t.backend.url, fixture: 'test/fixtures/echo-backend.ts' },
          gateway: t.gateway ? { url: t.gateway.url, command: t.gateway.command } : null,
          points: results,
        },
        null,
        2,
      )}\n`,
    );
    if (t.receiver !== undefined) log(`spans exported to the bench's OTLP receiver: ${t.receiver.received}`);
    log(`wrote ${s.out}`);
    if (results.some((p) => p.median.errors > 0)) process.exitCode = 1;
  } finally {
    await stopAll();
  }
}

function log(line: string): void {
  process.stderr.write(`${line}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`bench: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
