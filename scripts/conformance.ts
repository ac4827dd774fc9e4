// `npm run conformance`: the official MCP conformance suite's server scenarios, both requirement
// sets, against the gateway fronting the project's conformance fixture (or, with --direct, against
// the fixture itself: the reference point). Exits non-zero on a regression, i.e. a scored scenario
// failing that test/fixtures/conformance/expected-failures.yaml does not list, and on a stale
// baseline entry (listed, but passing), so the baseline stays honest.
//
//   node scripts/conformance.ts [--direct] [--set 2025-11-25|2026-07-28] [--scenario NAME]
//                               [--output DIR] [--verbose]
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { REQUIREMENT_SETS, failing, judge, parseBaseline, readResults, scoredScenarios, tally, type RequirementSet, type Verdict } from './conformance-results.ts';
import { startProc, stopAll, waitForLine, type Proc } from './conformance-procs.ts';

const REPO = fileURLToPath(new URL('..', import.meta.url));
const SUITE = join(REPO, 'node_modules/@modelcontextprotocol/conformance');
const FIXTURE_DIR = join(REPO, 'test/fixtures/conformance');
const BASELINE = join(FIXTURE_DIR, 'expected-failures.yaml');
/** A scenario that hangs is cut off by the suite; a whole set that hangs, by us. */
const SCENARIO_TIMEOUT_MS = 15_000;
const SET_TIMEOUT_MS = 120_000;
const READY_TIMEOUT_MS = 30_000;

interface Options {
  direct: boolean;
  sets: RequirementSet[];
  scenario: string | undefined;
  output: string | undefined;
  verbose: boolean;
}

function options(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      direct: { type: 'boolean', default: false },
      set: { type: 'string' },
      scenario: { type: 'string' },
      output: { type: 'string' },
      verbose: { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (values.set !== undefined && !(REQUIREMENT_SETS as readonly string[]).includes(values.set)) {
    throw new Error(`--set must be one of ${REQUIREMENT_SETS.join(', ')}, got ${JSON.stringify(values.set)}`);
  }
  return {
    direct: values.direct,
    sets: values.set === undefined ? [...REQUIREMENT_SETS] : [values.set as RequirementSet],
    scenario: values.scenario,
    output: values.output === undefined ? undefined : resolve(values.output),
    verbose: values.verbose,
  };
}

/** Starts what the suite will talk to and resolves with its MCP endpoint once it serves the fixture. */
async function startTarget(opts: Options, outDir: string): Promise<{ url: string; proc: Proc }> {
  if (opts.direct) {
    const proc = startProc(process.execPath, [join(FIXTURE_DIR, 'server.ts'), '--http', '0'], { cwd: REPO, log: join(outDir, 'fixture.log') });
    const url = await waitForLine(proc, 'stdout', /^listening (http:\/\/\S+)$/, READY_TIMEOUT_MS, 'the conformance fixture');
    return { url, proc };
  }
  const env = {
    ...process.env,
    GATEHOUSE_CONFORMANCE_NODE: process.execPath,
    GATEHOUSE_CONFORMANCE_PORT: '0',
    GATEHOUSE_CONFORMANCE_LOG: opts.verbose ? 'info' : 'warn',
  };
  const args = [join(REPO, 'bin/gatehouse.js'), 'serve', '--config', join(FIXTURE_DIR, 'gatehouse.yaml')];
  const proc = startProc(process.execPath, args, { cwd: REPO, env, log: join(outDir, 'gateway.log') });
  const url = await waitForLine(proc, 'stderr', /^gatehouse (http:\/\/\S+)$/, READY_TIMEOUT_MS, 'the gateway');
  await untilFixtureListed(url);
  return { url, proc };
}

/** The gateway serves before its upstreams are connected: wait until the fixture's tools show. */
async function untilFixtureListed(url: string): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  const meta = { 'io.modelcontextprotocol/protocolVersion': '2026-07-28', 'io.modelcontextprotocol/clientCapabilities': {} };
  let last = '';
  while (Date.now() < deadline) {
    try {
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-protocol-version': '2026-07-28', 'mcp-method': 'tools/list' },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list', params: { _meta: meta } }),
        signal: AbortSignal.timeout(5_000),
      });
      last = `HTTP ${res.status}: ${(await res.text()).slice(0, 300)}`;
      if (res.ok && last.includes('"test_simple_text"')) return;
    } catch (err) {
      last = (err as Error).message;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`the gateway did not list the fixture's tools within ${READY_TIMEOUT_MS} ms; last answer to tools/list: ${last}`);
}

interface SetOutcome {
  set: RequirementSet;
  verdict: Verdict;
  /** Why the run itself went wrong (timed out, no results), if it did. */
  runError: string | undefined;
}

async function runSet(set: RequirementSet, url: string, opts: Options, outDir: string, baseline: ReturnType<typeof parseBaseline>): Promise<SetOutcome> {
  const dir = join(outDir, set);
  mkdirSync(dir, { recursive: true });
  const args = [join(SUITE, 'dist/index.js'), 'server', '--url', url, '-o', dir, '--timeout', String(SCENARIO_TIMEOUT_MS)];
  // --requirements fixes the scenario list itself; one scenario is picked at the set's wire version.
  args.push(...(opts.scenario === undefined ? ['--requirements', set] : ['--spec-version', set, '--scenario', opts.scenario]));
  const started = Date.now();
  const suite = startProc(process.execPath, args, { cwd: REPO, log: join(outDir, `suite-${set}.log`) });
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    void suite.stop();
  }, SET_TIMEOUT_MS);
  const code = await suite.exited;
  clearTimeout(timer);
  if (stopping) throw new Error('interrupted');
  const seconds = ((Date.now() - started) / 1000).toFixed(1);

  const results = readResults(dir);
  const scored = scoredScenarios(join(SUITE, 'requirements'), set);
  const asked = new Set(opts.scenario === undefined ? [...scored] : [opts.scenario]);
  const verdict = judge(results, scored, asked, opts.direct ? [] : baseline[set]);
  // A one-scenario run vouches only for that scenario's entries.
  const only = opts.scenario;
  if (only !== undefined) verdict.stale = verdict.stale.filter((s) => s === only || s.startsWith(`${only}:`) || s.startsWith(`${only} `));
  const runError = timedOut
    ? `the suite did not finish within ${SET_TIMEOUT_MS / 1000} s and was stopped`
    : results.length === 0
      ? `the suite produced no results (exit code ${code}); its last output:\n${suite.tail()}`
      : undefined;

  // --- report ---
  const scoredResults = results.filter((r) => scored.has(r.scenario));
  const unscored = results.filter((r) => !scored.has(r.scenario));
  const checks = tally(scoredResults.flatMap((r) => r.checks));
  const failed = [...asked].filter((s) => scored.has(s) && !scoredResults.some((r) => r.scenario === s && failing(r).length === 0));
  const askedScored = [...asked].filter((s) => scored.has(s)).length;
  console.log(`\n== ${set} ${opts.direct ? 'direct (fixture)' : 'through the gateway'}: ${url} (${seconds} s) ==`);
  console.log(`scored scenarios: ${askedScored - failed.length} passed, ${failed.length} failed of ${askedScored}; checks: ${checks.passed} passed, ${checks.failed} failed, ${checks.warnings} warnings`);
  for (const scenario of failed) {
    const expected = verdict.expected.some((e) => e === scenario || e.startsWith(`${scenario}:`));
    const unexpected = verdict.unexpected.some((e) => e === scenario || e.startsWith(`${scenario}:`));
    console.log(`  ✗ ${scenario}${unexpected ? '  [REGRESSION: not in the baseline]' : expected ? '  [expected]' : ''}`);
    const result = results.find((r) => r.scenario === scenario);
    const bad = result === undefined ? [] : failing(result);
    if (result === undefined) console.log('      no result: the scenario did not run to the end');
    for (const c of opts.verbose ? bad : bad.slice(0, 3)) console.log(`      ${c.id}: ${oneLine(c.errorMessage ?? c.description ?? '')}`);
    if (!opts.verbose && bad.length > 3) console.log(`      … ${bad.length - 3} more failing checks (--verbose shows all)`);
  }
  for (const r of scoredResults) {
    for (const c of r.checks.filter((c) => c.status === 'WARNING')) console.log(`  ! ${r.scenario} warning ${c.id}: ${oneLine(c.errorMessage ?? '')}`);
  }
  if (unscored.length > 0) {
    const bad = unscored.filter((r) => failing(r).length > 0).map((r) => r.scenario);
    console.log(`not scored (run, reported, never counted): ${unscored.length} run, ${bad.length} failing${bad.length > 0 ? `: ${bad.join(', ')}` : ''}`);
  }
  if (!opts.direct) console.log(`baseline: ${verdict.expected.length} expected failures, ${verdict.unexpected.length} regressions, ${verdict.stale.length} stale entries`);
  for (const s of verdict.stale) console.log(`  stale baseline entry (passes now: remove it): ${s}`);
  if (runError !== undefined) console.log(`  run error: ${runError}`);
  return { set, verdict, runError };
}

function oneLine(s: string): string {
  const flat = s.replace(/\s+/g, ' ').trim();
  return flat.length > 240 ? `${flat.slice(0, 237)}...` : flat;
}

async function main(): Promise<number> {
  const opts = options(process.argv.slice(2));
  const baseline = parseBaseline(readFileSync(BASELINE, 'utf8'), BASELINE);
  const outDir = opts.output ?? mkdtempSync(join(tmpdir(), 'gatehouse-conformance-'));
  if (opts.output === undefined) scratchDir = outDir;
  mkdirSync(outDir, { recursive: true });
  let ok = false;
  try {
    const target = await startTarget(opts, outDir);
    const outcomes: SetOutcome[] = [];
    for (const set of opts.sets) outcomes.push(await runSet(set, target.url, opts, outDir, baseline));
    await target.proc.stop();
    ok = outcomes.every((o) => o.runError === undefined && o.verdict.unexpected.length === 0 && o.verdict.stale.length === 0);
    console.log(`\nconformance ${ok ? 'OK' : 'FAILED'}: ${outcomes.map((o) => `${o.set} ${o.runError !== undefined ? 'run error' : `${o.verdict.unexpected.length} regressions, ${o.verdict.stale.length} stale`}`).join('; ')}`);
    return ok ? 0 : 1;
  } finally {
    await stopAll();
    if (opts.output === undefined && ok) rmSync(outDir, { recursive: true, force: true });
    else if (!stopping) console.log(`results and logs: ${outDir}`);
  }
}

let stopping = false;
/** Our own temporary results folder: an interrupted run leaves nothing behind. */
let scratchDir: string | undefined;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    console.error(`\n${signal}: stopping what was started`);
    void stopAll().finally(() => {
      if (scratchDir !== undefined) rmSync(scratchDir, { recursive: true, force: true });
      process.exit(130);
    });
  });
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    if (stopping) return; // the signal handler is already stopping everything and will exit
    console.error(`conformance: ${(err as Error).message}`);
    void stopAll().finally(() => process.exit(2));
  },
);
