import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { makePrincipal } from '../../../src/pipeline/principal.ts';
import type { Principal } from '../../../src/pipeline/principal.ts';
import { PolicyEvalError, celContext, compileCondition } from '../../../src/policy/cel.ts';
import type { CelCondition } from '../../../src/policy/cel.ts';
import type { PolicyInput } from '../../../src/policy/types.ts';

const alice = makePrincipal({
  authMethod: 'jwt',
  authSource: 'corp-sso',
  agent: 'claude-desktop',
  agentName: 'Claude Desktop',
  user: 'alice@example.com',
  tenant: 'acme',
  roles: ['analyst', 'admin'],
  groups: ['finance'],
  scopes: ['mcp:tools'],
  attributes: { department: 'finance', level: 3, tags: ['a', 'b'] },
});
const bot = makePrincipal({ authMethod: 'api_key', authSource: 'keys', agent: 'nightly-bot' });

function input(over: Partial<PolicyInput> = {}): PolicyInput {
  return {
    principal: alice,
    method: 'tools/call',
    target: { kind: 'tool', upstream: 'warehouse', name: 'warehouse_query', upstreamName: 'query', class: 'read_only' },
    args: { table: 'fy2025_sales', limit: 150, filter: { region: 'emea', ids: [1, 2, 3] }, dryRun: false, note: null },
    environment: 'prod',
    clientAddress: '10.1.2.3',
    // Wednesday 2026-01-14 09:30 UTC, 10:30 in Berlin.
    now: Date.parse('2026-01-14T09:30:00Z'),
    ...over,
  };
}

function compile(source: string): CelCondition {
  const c = compileCondition(source);
  if ('error' in c) assert.fail(`unexpected compile error for ${source}: ${c.error}`);
  return c;
}
function run(source: string, over: Partial<PolicyInput> = {}, zone = 'UTC'): boolean {
  return compile(source).test(celContext(input(over), zone));
}
function compileError(source: string): string {
  const c = compileCondition(source);
  assert.ok('error' in c, `expected a compile error for ${source}`);
  return c.error;
}
function evalError(source: string, over: Partial<PolicyInput> = {}): PolicyEvalError {
  const cond = compile(source);
  const ctx = celContext(input(over), 'UTC');
  let thrown: unknown;
  assert.throws(() => cond.test(ctx), (e: unknown) => ((thrown = e), e instanceof PolicyEvalError));
  return thrown as PolicyEvalError;
}

describe('CEL conditions: evaluation', () => {
  it('evaluates the issue example', () => {
    const example = 'args.table.startsWith("fy2025") && now.hour >= 6 && now.hour < 18';
    assert.equal(run(example), true);
    assert.equal(run(example, { args: { table: 'fy2024_sales' } }), false);
    assert.equal(run(example, { now: Date.parse('2026-01-14T18:00:00Z') }), false);
    // 05:30 UTC is 06:30 in Berlin: the policy's zone decides.
    assert.equal(run(example, { now: Date.parse('2026-01-14T05:30:00Z') }, 'UTC'), false);
    assert.equal(run(example, { now: Date.parse('2026-01-14T05:30:00Z') }, 'Europe/Berlin'), true);
  });

  it('tests membership in roles, groups and scopes; lists default to []', () => {
    assert.equal(run('"admin" in principal.roles'), true);
    assert.equal(run('"finance" in principal.groups && "mcp:tools" in principal.scopes'), true);
    assert.equal(run('principal.roles.exists(r, r.startsWith("anal"))'), true);
    assert.equal(run('"admin" in principal.roles', { principal: bot }), false);
    assert.equal(run('size(principal.groups) == 0 && principal.scopes == []', { principal: bot }), true);
  });

  it('leaves absent principal fields out, so has() tells', () => {
    assert.equal(run('has(principal.user)', { principal: bot }), false);
    assert.equal(run('has(principal.user) && principal.user == "alice@example.com"'), true);
    assert.equal(run('!has(principal.tenant) && !has(principal.agentName)', { principal: bot }), true);
    assert.equal(run('principal.agent == "claude-desktop" && principal.agentName == "Claude Desktop"'), true);
    assert.equal(run('principal.tenant == "acme" && principal.authMethod == "jwt"'), true);
    assert.equal(run('principal.id == "keys::nightly-bot:"', { principal: bot }), true);
    assert.equal(run('principal.attributes.department == "finance" && principal.attributes.level >= 3'), true);
    assert.equal(run('"b" in principal.attributes.tags'), true);
    assert.equal(run('principal.attributes == {}', { principal: bot }), true);
  });

  it('exposes the target, method, environment and client', () => {
    assert.equal(run('target.kind == "tool" && target.upstream == "warehouse" && target.name == "warehouse_query"'), true);
    assert.equal(run('target.upstreamName == "query" && target.class == "read_only"'), true);
    assert.equal(run('target.annotations == {}'), true);
    const bare = { kind: 'resource', upstream: undefined, name: 'file:///etc/hosts' } as const;
    assert.equal(run('!has(target.upstream) && !has(target.class) && !has(target.upstreamName)', { target: bare }), true);
    assert.equal(
      run('target.annotations.readOnlyHint == true', {
        target: { kind: 'tool', upstream: 'u', name: 't', annotations: { readOnlyHint: true } },
      }),
      true,
    );
    assert.equal(run('method == "tools/call" && environment == "prod"'), true);
    assert.equal(run('environment == ""', { environment: undefined }), true);
    assert.equal(run('client.address.startsWith("10.")'), true);
    assert.equal(run('has(client.address)', { clientAddress: undefined }), false);
  });

  it('reads JSON arguments: numbers compare with int literals, nested maps and lists work', () => {
    assert.equal(run('args.limit > 100'), true);
    assert.equal(run('args.limit == 150 && args.limit in [150, 300]'), true);
    assert.equal(run('args.limit < 100.5'), false);
    assert.equal(run('args.filter.region == "emea" && 2 in args.filter.ids && size(args.filter.ids) == 3'), true);
    assert.equal(run('args.filter.ids.all(i, i > 0)'), true);
    assert.equal(run('args.dryRun == false && args.note == null'), true);
    assert.equal(run('int(args.limit) + 1 == 151'), true);
    assert.equal(run('args.limit + 1.0 == 151.0'), true);
    // JSON numbers are doubles: arithmetic with an int literal needs int() or a double literal.
    assert.match(evalError('args.limit + 1 == 151').message, /^condition failed: no such overload: dyn<double> \+ int$/);
  });

  it('gives {} as args when the arguments are unknown', () => {
    assert.equal(run('has(args.table)', { args: undefined }), false);
    assert.equal(run('args == {}', { args: undefined }), true);
  });

  it('gives now in the policy zone, as ints, and time as a timestamp', () => {
    const sunday = { now: Date.parse('2026-03-29T01:30:00Z') }; // 03:30 CEST in Berlin
    assert.equal(run('now.year == 2026 && now.month == 3 && now.day == 29 && now.hour == 1 && now.minute == 30', sunday), true);
    assert.equal(run('now.weekday == 0', sunday), true);
    assert.equal(run('now.hour == 3 && now.weekday == 0', sunday, 'Europe/Berlin'), true);
    assert.equal(run('now.hour + 1 == 4', sunday, 'Europe/Berlin'), true);
    assert.equal(run('now.day == 28 && now.hour == 21 && now.weekday == 6', sunday, 'America/New_York'), true);
    assert.equal(run('time.getHours("Europe/Berlin") == 3 && time.getHours() == 1', sunday), true);
    assert.equal(run('time.getDayOfWeek("America/New_York") == 6', sunday), true);
    assert.equal(run('time > timestamp("2026-03-29T01:00:00Z") && time < timestamp("2026-03-29T02:00:00Z")', sunday), true);
  });

  it('builds the variables lazily: a condition on method never reads the principal', () => {
    const trap = {
      ...input(),
      get principal(): Principal {
        throw new Error('principal read');
      },
    };
    assert.equal(compile('method == "tools/call"').test(celContext(trap, 'UTC')), true);
    assert.throws(() => compile('principal.agent == "x"').test(celContext(trap, 'UTC')), PolicyEvalError);
  });

  it('gives the same answers when one context serves several conditions', () => {
    const ctx = celContext(input(), 'Europe/Berlin');
    assert.equal(compile('now.hour == 10').test(ctx), true);
    assert.equal(compile('"admin" in principal.roles').test(ctx), true);
    assert.equal(compile('now.hour == 10 && principal.user == "alice@example.com"').test(ctx), true);
  });
});

describe('CEL conditions: evaluation errors are PolicyEvalError', () => {
  it('reports a missing key', () => {
    const e = evalError('args.table.startsWith("fy2025")', { args: {} });
    assert.equal(e.message, 'condition failed: No such key: table');
    assert.equal(e.code, 'no_such_key');
    assert.equal(e.name, 'PolicyEvalError');
    assert.ok(e.cause instanceof Error);
    assert.equal(evalError('principal.user == "x"', { principal: bot }).message, 'condition failed: No such key: user');
  });

  it('reports a result that is not a bool', () => {
    const e = evalError('principal.agent');
    assert.equal(e.message, 'condition returned string, not a bool');
    assert.equal(e.code, 'not_bool');
    assert.equal(evalError('args.limit').message, 'condition returned double, not a bool');
    assert.equal(evalError('args.filter').message, 'condition returned map, not a bool');
    assert.equal(evalError('args.note').message, 'condition returned null, not a bool');
  });

  it('reports type mismatches at run time and a non-string where a string method is called', () => {
    assert.match(evalError('args.limit.startsWith("1")').message, /^condition failed: /);
    assert.match(evalError('args.table > 3').message, /^condition failed: no such overload/);
  });

  it('reports a regular expression built at run time that does not compile', () => {
    assert.equal(evalError('args.table.matches(args.pattern)', { args: { table: 'x', pattern: '(' } }).message, 'condition failed: Invalid regular expression: (');
  });
});

describe('CEL conditions: compile errors', () => {
  it('rejects type errors the checker finds', () => {
    assert.equal(compileError('1 + "a"'), 'no such overload: int + string at column 1: 1 + "a"');
    assert.equal(compileError('args.x + 1 == "a"'), 'no such overload: int == string at column 1: args.x + 1 == "a"');
    assert.equal(compileError('now.hour == "9"'), 'no such overload: int == string at column 1: now.hour == "9"');
    assert.match(compileError('method > 3'), /^no such overload: string > int at column 1/);
  });

  it('rejects unknown variables, with their position', () => {
    assert.equal(compileError('foo == 1'), 'Unknown variable: foo at column 1: foo');
    assert.equal(compileError('principal.agent == user'), 'Unknown variable: user at column 20: user');
    assert.equal(compileError('principal.roles.exists(r,\n  r == role)'), 'Unknown variable: role at line 2, column 8: role');
  });

  it('rejects syntax errors, on one line', () => {
    assert.equal(compileError('args.x =='), 'Unexpected token: EOF at column 10');
    assert.match(compileError('args.x = 1'), /^Unexpected character: = at column 8/);
    for (const source of ['args.x ==', '(', 'a b']) assert.doesNotMatch(compileError(source), /\n/);
  });

  it('rejects results that are known not to be bool', () => {
    assert.equal(compileError('1 + 2'), 'condition must be a bool, but it is int');
    assert.equal(compileError('now.hour'), 'condition must be a bool, but it is int');
    assert.equal(compileError('method'), 'condition must be a bool, but it is string');
    assert.equal(compileError('principal.roles.map(r, r)'), 'condition must be a bool, but it is list');
  });

  it('rejects bad literal time zones and regular expressions', () => {
    assert.equal(compileError('time.getHours("Europe/Berln") < 9'), 'unknown time zone "Europe/Berln" in getHours()');
    assert.match(compileError('args.table.matches("(")'), /^invalid regular expression "\(" in matches\(\): /);
  });

  it('rejects empty and oversized conditions', () => {
    assert.equal(compileError(''), 'condition is empty');
    assert.equal(compileError('  \n '), 'condition is empty');
    assert.match(compileError(`${'('.repeat(40)}true${')'.repeat(40)}`), /^Exceeded maxDepth/);
    assert.match(compileError(`[${Array.from({ length: 600 }, (_, i) => i).join(',')}].size() > 0`), /^Exceeded maxListElements/);
  });

  it('accepts mixed literal lists and maps', () => {
    assert.equal(run('args.limit in [150, 2.5, "x"]'), true);
    assert.equal(run('{"a": 1, "b": "two"}.b == "two"'), true);
  });
});

describe('CEL conditions: usesArgs', () => {
  it('is true when args occurs anywhere', () => {
    for (const source of [
      'args.x == 1',
      'has(args.x)',
      'args == {}',
      'args["x"] == 1',
      '!(principal.agent == "x") || args.y > 2',
      'principal.roles.exists(r, r == args.role)',
      'cel.bind(a, args.x, a == 1)',
      '{"k": args.v}.k == 1',
      '[args.v][0] == 1',
      'method == "x" ? args.a == 1 : false',
    ]) {
      assert.equal(compile(source).usesArgs, true, source);
    }
  });

  it('is false when it does not, even for a field or string named args', () => {
    for (const source of ['principal.agent == "x"', 'principal.attributes.args == 1', 'method == "args"', 'true']) {
      assert.equal(compile(source).usesArgs, false, source);
    }
  });

  it('keeps the source', () => {
    assert.equal(compile('args.x == 1').source, 'args.x == 1');
  });
});
