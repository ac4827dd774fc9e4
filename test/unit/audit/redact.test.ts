import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isJsonPathError, locate, parseJsonPath, type JsonPath } from '../../../src/audit/jsonpath.ts';
import { REDACTED, RedactionConfigError, compileRedaction, redactionIssues } from '../../../src/audit/redact.ts';
import { auditSchema } from '../../../src/config/schema/audit.ts';

type Redact = ReturnType<typeof auditSchema.parse>['redact'];
const cfg = (redact: unknown): Redact => auditSchema.parse({ redact }).redact;

function path(text: string): JsonPath {
  const p = parseJsonPath(text);
  if (isJsonPathError(p)) throw new Error(p.error);
  return p;
}

function deepFreeze<T>(v: T): T {
  if (typeof v === 'object' && v !== null) {
    for (const x of Object.values(v)) deepFreeze(x);
    Object.freeze(v);
  }
  return v;
}

/** Applies one path (no keys) and returns [redacted value, paths]. */
function byPath(p: string, value: unknown): [unknown, string[]] {
  const r = compileRedaction(cfg({ keys: [], rules: [{ tools: ['*'], paths: [p] }] })).for('t')!.apply(value);
  return [r.value, r.paths];
}

const doc = deepFreeze({
  user: { name: 'ann', password: 'p1', nested: { Token: 't1', list: [{ API_KEY: 'k1' }, { other: 1 }] } },
  items: [10, 20, 30],
  "it's": { a: 1 },
});

describe('key redaction', () => {
  const r = compileRedaction(cfg({})).for('any_tool')!;

  it('replaces default keys case-insensitively at any depth, paths in document order', () => {
    const out = r.apply(doc);
    assert.deepEqual(out.value, {
      user: { name: 'ann', password: REDACTED, nested: { Token: REDACTED, list: [{ API_KEY: REDACTED }, { other: 1 }] } },
      items: [10, 20, 30],
      "it's": { a: 1 },
    });
    assert.deepEqual(out.paths, ["$['user']['password']", "$['user']['nested']['Token']", "$['user']['nested']['list'][0]['API_KEY']"]);
  });

  it('copies only the containers on the way to a replacement, and never mutates the input', () => {
    const input = deepFreeze({ a: { password: 'x' }, b: { big: [1, 2, 3] } });
    const out = r.apply(input).value as typeof input;
    assert.notEqual(out, input);
    assert.notEqual(out.a, input.a);
    assert.equal(out.b, input.b, 'an untouched branch is shared, not copied');
    assert.equal(input.a.password, 'x');
  });

  it('returns the very same value when nothing matches', () => {
    const clean = deepFreeze({ a: [{ b: 1 }, 'password'], c: { d: null } });
    const out = r.apply(clean);
    assert.equal(out.value, clean);
    assert.deepEqual(out.paths, []);
    assert.equal(r.apply('password').value, 'password', 'a scalar is returned as is');
  });

  it('replaces whole objects and arrays under a matching key', () => {
    const out = r.apply({ secret: { a: [1] }, token: [1, 2] });
    assert.deepEqual(out.value, { secret: REDACTED, token: REDACTED });
  });

  it('keeps a member named "__proto__" a member when copying', () => {
    const input = JSON.parse('{"__proto__":{"password":"x","keep":1}}') as Record<string, unknown>;
    const out = r.apply(input);
    const v = out.value as Record<string, unknown>;
    assert.ok(Object.hasOwn(v, '__proto__'));
    assert.equal(Object.getPrototypeOf(v), Object.prototype);
    assert.deepEqual(JSON.parse(JSON.stringify(v)), JSON.parse('{"__proto__":{"password":"[redacted]","keep":1}}'));
    assert.deepEqual(out.paths, ["$['__proto__']['password']"]);
  });

  it('adds the keys of every rule matching the target, and only those', () => {
    const red = compileRedaction(cfg({ keys: ['password'], rules: [{ tools: ['db_*'], keys: ['SQL'] }, { tools: ['*_query'], keys: ['pin'] }] }));
    const input = { sql: 's', pin: '1', password: 'p', other: 'o' };
    assert.deepEqual(red.for('db_query')!.apply(input).value, { sql: REDACTED, pin: REDACTED, password: REDACTED, other: 'o' });
    assert.deepEqual(red.for('db_write')!.apply(input).value, { sql: REDACTED, pin: '1', password: REDACTED, other: 'o' });
    assert.deepEqual(red.for('fs_read')!.apply(input).value, { sql: 's', pin: '1', password: REDACTED, other: 'o' });
    assert.deepEqual(red.for(undefined)!.apply(input).value, { sql: 's', pin: '1', password: REDACTED, other: 'o' });
    assert.equal(red.for('db_query'), red.for('db_query'), 'memoized');
    assert.equal(red.for('db_a'), red.for('db_b'), 'one redactor per set of matching rules');
  });

  it('has no redactor when nothing could apply', () => {
    const red = compileRedaction(cfg({ keys: [], rules: [{ tools: ['db_*'], keys: ['sql'] }] }));
    assert.equal(red.for('fs_read'), undefined);
    assert.equal(red.for(undefined), undefined);
    assert.notEqual(red.for('db_x'), undefined);
  });

  it('keeps working past the memo bound (names come from agents)', () => {
    const red = compileRedaction(cfg({ keys: [], rules: [{ tools: ['file:///secret/*'], keys: ['x'] }] }));
    for (let i = 0; i < 3000; i++) red.for(`file:///public/${i}`);
    assert.deepEqual(red.for('file:///secret/a')!.apply({ x: 1 }).value, { x: REDACTED });
    assert.equal(red.for('file:///public/1'), undefined);
  });
});

describe('results override', () => {
  it('takes the matching rules\' results, the one keeping less winning', () => {
    const red = compileRedaction(cfg({ rules: [{ tools: ['a*'], results: 'content' }, { tools: ['ab*'], results: 'summary' }, { tools: ['c'] }] }));
    assert.equal(red.results('a1'), 'content');
    assert.equal(red.results('ab1'), 'summary');
    assert.equal(red.results('c'), undefined);
    assert.equal(red.results(undefined), undefined);
  });
});

describe('JSONPath redaction', () => {
  it('$ replaces everything', () => {
    assert.deepEqual(byPath('$', { a: 1 }), [REDACTED, ['$']]);
  });

  it('.name and [\'name\'] (with escapes) and ["name"]', () => {
    assert.deepEqual(byPath('$.user.name', doc)[1], ["$['user']['name']"]);
    assert.deepEqual(byPath("$['user']['name']", doc)[1], ["$['user']['name']"]);
    assert.deepEqual(byPath('$["user"]["name"]', doc)[1], ["$['user']['name']"]);
    const [v, p] = byPath("$['it\\'s'].a", doc);
    assert.deepEqual(p, ["$['it\\'s']['a']"]);
    assert.deepEqual((v as Record<string, unknown>)["it's"], { a: REDACTED });
    assert.deepEqual(byPath("$['\\u0074ab\\t']", { 'tab\t': 1 })[1], ["$['tab\\t']"]);
  });

  it('[n], negative [n], out of range', () => {
    assert.deepEqual(byPath('$.items[0]', doc), [{ ...doc, items: [REDACTED, 20, 30] }, ["$['items'][0]"]]);
    assert.deepEqual(byPath('$.items[-1]', doc)[1], ["$['items'][2]"]);
    assert.deepEqual(byPath('$.items[3]', doc), [doc, []]);
    assert.deepEqual(byPath('$.items[-4]', doc), [doc, []]);
  });

  it('[*] and .* over arrays and objects', () => {
    assert.deepEqual(byPath('$.items[*]', doc)[0], { ...doc, items: [REDACTED, REDACTED, REDACTED] });
    assert.deepEqual(byPath('$.user.*', { user: { a: 1, b: [2] } })[0], { user: { a: REDACTED, b: REDACTED } });
  });

  it('..name, ..*, ..[n] at any depth', () => {
    assert.deepEqual(byPath('$..other', doc)[1], ["$['user']['nested']['list'][1]['other']"]);
    assert.deepEqual(byPath('$..[0]', { a: [1, [2, 3]], b: { c: ['x'] } })[0], { a: [REDACTED, [REDACTED, 3]], b: { c: [REDACTED] } });
    assert.deepEqual(byPath('$.user..*', { user: { a: { b: 1 }, c: 2 } })[0], { user: { a: REDACTED, c: REDACTED } });
    assert.deepEqual(byPath("$..['a','b']", { a: 1, x: { b: 2, c: 3 } })[0], { a: REDACTED, x: { b: REDACTED, c: 3 } });
  });

  it('combines with keys, in document order, and never mutates', () => {
    const red = compileRedaction(cfg({ rules: [{ tools: ['t'], paths: ['$.items[1]', '$.user.name'] }] }));
    const out = red.for('t')!.apply(doc);
    assert.deepEqual(out.paths, ["$['user']['name']", "$['user']['password']", "$['user']['nested']['Token']", "$['user']['nested']['list'][0]['API_KEY']", "$['items'][1]"]);
    assert.equal(doc.user.name, 'ann');
  });

  it('selects own members only', () => {
    assert.deepEqual(locate(path('$.constructor'), {}), []);
    assert.deepEqual(locate(path('$.__proto__'), {}), []);
    assert.deepEqual(locate(path('$.length'), [1, 2]), []);
    assert.deepEqual(locate(path('$[0]'), { 0: 'x' }), []);
  });
});

describe('parseJsonPath', () => {
  const bad: [string, RegExp, number][] = [
    ['', /expected "\$" \(the root\)/, 1],
    ['a.b', /expected "\$" \(the root\) to start the path, found "a"/, 1],
    ['$.a[', /expected a quoted name, an index or "\*", found the end of the expression at column 5/, 5],
    ['$.', /expected a member name or "\*" after "\."/, 3],
    ['$.1a', /expected a member name or "\*" after "\.", found "1"/, 3],
    ['$..', /expected a member name, "\*" or "\[" after "\.\."/, 4],
    ['$a', /expected "\.", "\.\." or "\["/, 2],
    ["$['a'", /expected "," or "\]", found the end/, 6],
    ["$['a", /unterminated string \(opened with '\)/, 3],
    ["$['\\x']", /invalid escape "\\\\x"/, 4],
    ["$['\\ud800']", /high surrogate escape must be followed by a low one/, 10],
    ["$['\\udc00']", /low surrogate escape must follow a high one/, 4],
    ["$['\\u12']", /four hex digits/, 4],
    ["$['a\u0001']", /control character must be escaped/, 5],
    ['$[01]', /no leading zeros/, 3],
    ['$[-0]', /"-0" is not an index/, 3],
    ['$[-]', /expected a digit/, 4],
    ['$[1:2]', /slices are not supported/, 4],
    ['$[?@.a]', /filters are not supported/, 3],
    ['$[9007199254740992]', /at most 9007199254740991/, 3],
    ['$.a ', /blank space must be followed by a segment/, 4],
  ];
  for (const [text, re, column] of bad) {
    it(`refuses ${JSON.stringify(text)} at column ${column}`, () => {
      const p = parseJsonPath(text);
      assert.ok(isJsonPathError(p), 'should not parse');
      assert.match(p.error, re);
      assert.equal(p.column, column);
      assert.ok(p.error.endsWith(`at column ${column}`));
    });
  }

  it('accepts the RFC forms, blank space inside brackets and between segments, and unicode names', () => {
    for (const ok of ['$', '$.a', '$.a.b_c', '$._x', '$.é😀', "$['a b']", '$["a\\"b"]', '$[0]', '$[-1]', '$[*]', '$.*', '$..a', '$..*', '$..[0]', "$[ 'a' , 0 , * ]", '$.a [0]', "$['\\/\\b\\f\\n\\r\\t\\\\']"]) {
      assert.ok(!isJsonPathError(parseJsonPath(ok)), ok);
    }
    assert.deepEqual(path("$['\\ud83d\\ude00']").segments, [{ descendant: false, selectors: [{ kind: 'name', name: '😀' }] }]);
  });
});

describe('compileRedaction errors', () => {
  it('reports every unparsable path with its place in audit.redact', () => {
    const c = cfg({ rules: [{ tools: ['a'], paths: ['$.ok'] }, { tools: ['b'], paths: ['$.fine', '$.x', '$.a['] }, { tools: ['c'], paths: ['x'] }] });
    const issues = redactionIssues(c);
    assert.deepEqual(issues.map((i) => i.path), [['rules', 1, 'paths', 2], ['rules', 2, 'paths', 0]]);
    assert.equal(issues[0]!.message, 'paths[2] "$.a[": expected a quoted name, an index or "*", found the end of the expression at column 5');
    assert.throws(() => compileRedaction(c), (e: unknown) => e instanceof RedactionConfigError && e.issues.length === 2);
  });
});
