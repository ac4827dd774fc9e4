// `gatehouse policy test` and `gatehouse policy explain`, run as a user runs them: every example's
// test file passes, a failing case exits 1 and is named, a broken file exits 2 at file:line:column,
// and explain prints the decision, the deciding rule, listing and every rule's reasons.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { REPO } from '../harness/gateway.ts';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function gatehouse(...args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['bin/gatehouse.js', ...args], { cwd: REPO }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : -1;
      resolve({ code, stdout, stderr });
    });
  });
}

const EXAMPLES = join(REPO, 'examples');
const testFiles = readdirSync(EXAMPLES)
  .filter((d) => statSync(join(EXAMPLES, d)).isDirectory())
  .flatMap((d) => readdirSync(join(EXAMPLES, d)).filter((f) => f.endsWith('.test.yaml')).map((f) => `examples/${d}/${f}`))
  .sort();

const SEED = 'examples/policy-seed/gatehouse.yaml';
const SEED_ABS = join(REPO, SEED);

describe('gatehouse policy test', () => {
  let tmp: string;
  before(() => {
    tmp = mkdtempSync(join(tmpdir(), 'gatehouse-policy-cli-'));
  });
  after(() => rmSync(tmp, { recursive: true, force: true }));

  it('there are example test files, the seed scenario among them', () => {
    assert.ok(testFiles.includes('examples/policy-seed/policy.test.yaml'), testFiles.join(', '));
    assert.ok(testFiles.length >= 2);
  });

  for (const file of testFiles) {
    it(`${file} passes`, async () => {
      const r = await gatehouse('policy', 'test', file);
      assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
      assert.equal(r.stderr, '');
      assert.match(r.stdout, /CASE\s+EXPECTED\s+GOT\s+RULE\s+RESULT/);
      assert.doesNotMatch(r.stdout, /FAIL/);
      assert.match(r.stdout, /: (\d+) passed, 0 failed\n$/);
    });
  }

  it('runs several files at once; --json reports every case', async () => {
    const r = await gatehouse('policy', 'test', '--json', ...testFiles);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { ok: boolean; passed: number; failed: number; files: { file: string; cases: { name: string; ok: boolean; got: string; rule: string | null }[] }[] };
    assert.equal(out.ok, true);
    assert.equal(out.failed, 0);
    assert.equal(out.files.length, testFiles.length);
    assert.equal(out.passed, out.files.reduce((n, f) => n + f.cases.length, 0));
    const seed = out.files.find((f) => f.file.endsWith('policy-seed/policy.test.yaml'))!;
    const exec = seed.cases.find((c) => c.name === 'kubectl exec in prod is refused with the reason')!;
    assert.deepEqual([exec.got, exec.rule], ['deny', 'no-kubectl-exec-in-prod']);
    assert.ok(seed.cases.some((c) => c.got === 'hidden' && c.rule === null), 'the default decides as null');
  });

  it('a failing case: exit 1, the case named with the reasons of the rules that could have mattered', async () => {
    const file = join(tmp, 'failing.test.yaml');
    writeFileSync(
      file,
      [
        `config: ${SEED_ABS}`,
        "defaults: { time: '2026-06-15T10:00:00Z' }",
        'cases:',
        '  - name: developers read logs',
        '    principal: { agent: dev-assistant, roles: [developer] }',
        '    call: { tool: ops__get_logs }',
        '    expect: allow',
        '  - name: on-call reads logs',
        '    principal: { agent: oncall-bot, roles: [oncall] }',
        '    call: { tool: ops__get_logs }',
        '    expect: allow',
        '  - name: wrong rule named',
        '    principal: { agent: oncall-bot, roles: [oncall] }',
        '    call: { tool: k8s__kubectl_get }',
        '    expect: allow',
        '    rule: default',
        '',
      ].join('\n'),
    );
    const r = await gatehouse('policy', 'test', file);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stdout, /^developers read logs\s+allow\s+hidden\s+\(default\)\s+FAIL$/m);
    assert.match(r.stdout, /^on-call reads logs\s+allow\s+allow\s+oncall-operates-infra\s+ok$/m);
    assert.match(r.stdout, /FAIL "developers read logs" \(.*failing\.test\.yaml:4\): expected allow, got hidden by the default/);
    assert.match(r.stdout, /oncall-operates-infra\s+allow\s+not matched\s+examples\/policy-seed\/policies\/seed\.yaml:\d+\n\s+roles: roles \[developer\] include none of \[oncall\]/);
    assert.match(r.stdout, /FAIL "wrong rule named" .*expected allow by the default, got allow by rule "oncall-operates-infra"/);
    assert.match(r.stdout, /3 cases in 1 file: 1 passed, 2 failed\n$/);

    const j = await gatehouse('policy', 'test', '--json', file);
    assert.equal(j.code, 1);
    const out = JSON.parse(j.stdout) as { ok: boolean; failed: number; files: { cases: { name: string; ok: boolean; rules?: { rule: string; reasons: string[] }[] }[] }[] };
    assert.equal(out.ok, false);
    assert.equal(out.failed, 2);
    const failed = out.files[0]!.cases.find((c) => c.name === 'developers read logs')!;
    assert.ok(failed.rules!.some((x) => x.rule === 'oncall-operates-infra' && x.reasons.some((why) => /oncall/.test(why))));
  });

  it('a broken test file: exit 2, every problem at file:line:column, nothing run', async () => {
    const file = join(tmp, 'broken.test.yaml');
    writeFileSync(
      file,
      [
        `config: ${SEED_ABS}`,
        'cases:',
        '  - name: a',
        '    principal: { agent: x, colour: blue }',
        '    call: { tool: ops__get_logs }',
        '    expect: allowed',
        '',
      ].join('\n'),
    );
    const r = await gatehouse('policy', 'test', file);
    assert.equal(r.code, 2);
    assert.ok(r.stderr.includes(`${file}:4:28: unknown key "colour"`), r.stderr);
    assert.ok(r.stderr.includes(`${file}:6:13: invalid expect "allowed"`), r.stderr);
    assert.doesNotMatch(r.stdout, /CASE/);

    const unplaced = join(tmp, 'unplaced.test.yaml');
    writeFileSync(
      unplaced,
      [
        `config: ${SEED_ABS}`,
        'cases:',
        '  - name: a',
        '    call: { tool: ops__get_logs }',
        '    expect: allow',
        '  - name: b',
        '    principal: { agent: x }',
        '    call: { tool: billing__charge }',
        '    expect: allow',
        '    rule: oncall-operates-infr',
        '',
      ].join('\n'),
    );
    const u = await gatehouse('policy', 'test', unplaced);
    assert.equal(u.code, 2);
    assert.ok(u.stderr.includes(`${unplaced}:3:5: principal.agent is missing`), u.stderr);
    assert.ok(u.stderr.includes(`${unplaced}:8:11: tool "billing__charge" does not start with any upstream's prefix`), u.stderr);
    assert.ok(u.stderr.includes(`${unplaced}:10:11: no rule is named "oncall-operates-infr"`), u.stderr);

    const syntax = join(tmp, 'syntax.test.yaml');
    writeFileSync(syntax, 'config: x.yaml\ncases: [\n');
    const s = await gatehouse('policy', 'test', syntax);
    assert.equal(s.code, 2);
    assert.match(s.stderr, new RegExp(`^${escape(syntax)}:\\d+:\\d+: \\S`, 'm'));

    const noConfig = join(tmp, 'no-config.test.yaml');
    writeFileSync(noConfig, 'config: nothere.yaml\ncases:\n  - { name: a, principal: { agent: z }, call: { tool: ops__x }, expect: allow }\n');
    const n = await gatehouse('policy', 'test', noConfig);
    assert.equal(n.code, 2);
    assert.ok(n.stderr.includes(`${noConfig}:1:9: nothere.yaml: config file not found`), n.stderr);
  });

  it('a broken file among good ones: the good ones still run, exit 2', async () => {
    const file = join(tmp, 'empty.test.yaml');
    writeFileSync(file, '');
    const r = await gatehouse('policy', 'test', file, 'examples/policy-seed/policy.test.yaml');
    assert.equal(r.code, 2);
    assert.match(r.stderr, /empty\.test\.yaml:1:1: policy test file is empty/);
    assert.match(r.stdout, /passed, 0 failed; 1 file could not be run/);
  });
});

describe('gatehouse policy explain', () => {
  const explain = (...args: string[]) => gatehouse('policy', 'explain', '--config', SEED, ...args);

  it('a revealed denial: decision, deciding rule with file:line, listed, enforced, every rule', async () => {
    const r = await explain('--agent', 'oncall-bot', '--roles', 'oncall', '--tool', 'k8s__kubectl_exec', '--args', '{"pod":"p","command":["sh"]}', '--time', '2026-06-15T10:00:00Z');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^tools\/call tool k8s__kubectl_exec \(upstream k8s, its name kubectl_exec, class high_risk_write\); agent oncall-bot, roles \[oncall\]; environment prod; 2026-06-15T10:00:00.000Z$/m);
    assert.match(r.stdout, /^Decision: +deny, by rule "no-kubectl-exec-in-prod" \(examples\/policy-seed\/policies\/seed\.yaml:\d+\)$/m);
    assert.match(r.stdout, /^Message: +kubectl exec is disabled in prod/m);
    assert.match(r.stdout, /^Listed: +yes$/m);
    assert.match(r.stdout, /^Enforced: +yes$/m);
    assert.match(r.stdout, /^Rules \(4; default deny\):$/m);
    assert.match(r.stdout, /^ +prod-infra-writes-need-approval +require_approval +matched +examples\/policy-seed\/policies\/seed\.yaml:\d+$/m);
    assert.match(r.stdout, /^ +finance-fiscal-queries +allow +not matched .*\n +tools: tool "k8s__kubectl_exec" is not one of \[erp__query\]$/m);
  });

  it('a hidden target and a constraint denial, in text', async () => {
    const hidden = await explain('--agent', 'finance-reporting', '--tool', 'erp__query', '--args', '{"table":"fy2026_ledger"}', '--time', '2026-06-15T05:59:00Z');
    assert.equal(hidden.code, 0, hidden.stderr);
    assert.match(hidden.stdout, /^Decision: +deny, by the default$/m);
    assert.match(hidden.stdout, /^Outcome: +hidden: not listed/m);
    assert.match(hidden.stdout, /^Listed: +no$/m);
    assert.match(hidden.stdout, /time: 2026-06-15 05:59 mon UTC is outside every day 06:00-18:00 UTC/);

    const constraint = await explain('--agent', 'finance-reporting', '--tool', 'erp__query', '--args', '{"table":"hr_salaries"}', '--time', '2026-06-15T12:00:00+02:00');
    assert.equal(constraint.code, 0, constraint.stderr);
    assert.match(constraint.stdout, /^Message: +Finance agents may query fiscal-year tables .*must match pattern/m);
    assert.match(constraint.stdout, /^Listed: +yes$/m);
  });

  it('--json: the judgement with every field present', async () => {
    const r = await explain('--agent', 'oncall-bot', '--roles', 'oncall', '--tool', 'ops__restart_service', '--args', '{"service":"checkout"}', '--json');
    assert.equal(r.code, 0, r.stderr);
    const e = JSON.parse(r.stdout) as Record<string, any>;
    assert.equal(e.outcome, 'require_approval');
    assert.equal(e.decision.rule, 'prod-infra-writes-need-approval');
    assert.match(e.decision.message, /approval from the on-call lead/);
    assert.equal(e.decision.shadow, null);
    assert.equal(e.listed, true);
    assert.equal(e.input.target.class, 'high_risk_write');
    assert.equal(e.input.principal.tenant, null);
    assert.equal(e.rules.length, 4);

    const staging = JSON.parse((await explain('--agent', 'oncall-bot', '--roles', 'oncall', '--tool', 'k8s__kubectl_exec', '--env', 'staging', '--json')).stdout) as Record<string, any>;
    assert.equal(staging.outcome, 'allow');
    assert.equal(staging.input.environment, 'staging');
  });

  it('bad flags: a precise message naming the flag, exit 2', async () => {
    const cases: [string[], RegExp][] = [
      [['--agent', 'a'], /--tool\/--prompt\/--resource: give one of tool, prompt or resource/],
      [['--agent', 'a', '--tool', 'ops__x', '--prompt', 'p'], /give only one of tool, prompt or resource/],
      [['--agent', 'a', '--tool', 'ops__x', '--args', '[1]'], /--args: must be a JSON object/],
      [['--agent', 'a', '--tool', 'ops__x', '--args', '{'], /--args: not JSON/],
      [['--agent', 'a', '--tool', 'ops__x', '--time', '2026-06-15'], /--time: "2026-06-15" is not an ISO-8601 date and time with an offset/],
      [['--agent', 'a', '--tool', 'ops__x', '--time', '2026-02-30T10:00:00Z'], /--time: /],
      [['--agent', 'a', '--tool', 'ops__x', '--client', '1.2.3'], /--client: must be an IPv4 or IPv6 address/],
      [['--agent', 'a', '--tool', 'ops__x', '--roles', 'a,,b'], /--roles: "a,,b" has an empty item/],
      [['--agent', 'a', '--tool', 'ops__x', '--auth-method', 'magic'], /--auth-method: /],
      [['--agent', 'a', '--tool', 'ops__x', '--upstream', 'nope'], /--upstream: no upstream is named "nope"/],
      [['--agent', 'a', '--tool', 'billing__x'], /tool "billing__x" does not start with any upstream's prefix/],
      [['--agent', 'a', '--resource', 'file:///x'], /resource "file:\/\/\/x" does not say which upstream serves it: give --upstream \(one of ops, k8s, erp\)/],
      [['--agent', 'a', '--tool', 'ops__x', '--colour', 'blue'], /unknown option '--colour'/],
      [['--tool', 'ops__x'], /required option '--agent <id>' not specified/],
    ];
    for (const [args, re] of cases) {
      const r = await explain(...args);
      assert.equal(r.code, 2, `${args.join(' ')}: exit 2\n${r.stdout}${r.stderr}`);
      assert.match(r.stderr, re, args.join(' '));
      assert.equal(r.stdout, '');
    }
  });

  it('a config with problems: file:line:column, exit 2', async () => {
    const r = await gatehouse('policy', 'explain', '--config', 'examples/nowhere/gatehouse.yaml', '--agent', 'a', '--tool', 'x__y');
    assert.equal(r.code, 2);
    assert.match(r.stderr, /nowhere\/gatehouse\.yaml: config file not found/);
  });
});

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
