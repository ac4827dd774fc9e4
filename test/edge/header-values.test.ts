import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeHeaderValue, encodeHeaderValue, isPlainSafe } from '../../src/protocol/header-values.ts';
import { compileParamHeaders, NO_PARAM_HEADERS, type CompiledParamHeaders } from '../../src/protocol/param-headers.ts';

test('encodeHeaderValue follows the spec table', () => {
  assert.equal(encodeHeaderValue('us-west1'), 'us-west1');
  assert.equal(encodeHeaderValue('Hello, 世界'), '=?base64?SGVsbG8sIOS4lueVjA==?=');
  assert.equal(encodeHeaderValue(' padded '), '=?base64?IHBhZGRlZCA=?=');
  assert.equal(encodeHeaderValue('line1\nline2'), '=?base64?bGluZTEKbGluZTI=?=');
  assert.equal(encodeHeaderValue('=?base64?literal?='), '=?base64?PT9iYXNlNjQ/bGl0ZXJhbD89?=');
  assert.equal(encodeHeaderValue('a b\tc'), 'a b\tc', 'inner space and tab are field characters');
  assert.equal(encodeHeaderValue(''), '=?base64??=', 'empty values would be dropped by some intermediaries');
  assert.equal(encodeHeaderValue('\ttab'), '=?base64?CXRhYg==?=');
  assert.equal(encodeHeaderValue('x\x7f'), '=?base64?eH8=?=');
});

test('decodeHeaderValue inverts encodeHeaderValue', () => {
  for (const v of ['us-west1', 'Hello, 世界', ' padded ', 'line1\nline2', '=?base64?literal?=', '', '😀', 'file:///a b/c.json', '\u0000']) {
    assert.equal(decodeHeaderValue(encodeHeaderValue(v)), v, JSON.stringify(v));
  }
});

test('decodeHeaderValue refuses invalid characters and malformed sentinels', () => {
  assert.equal(decodeHeaderValue('caf\u00e9'), undefined, 'obs-text arrives as latin1 from Node');
  assert.equal(decodeHeaderValue('a\u0001b'), undefined);
  assert.equal(decodeHeaderValue('=?base64?not base64?='), undefined);
  assert.equal(decodeHeaderValue('=?base64?SGVsbG8?='), undefined, 'unpadded');
  assert.equal(decodeHeaderValue('=?base64?SGVsbG8-?='), undefined, 'base64url alphabet');
  assert.equal(decodeHeaderValue('=?base64?/w==?='), undefined, '0xFF is not UTF-8');
  assert.equal(decodeHeaderValue('=?BASE64?SGk=?='), '=?BASE64?SGk=?=', 'markers are case-sensitive: this is a plain value');
  assert.equal(decodeHeaderValue('=?base64?SGk='), '=?base64?SGk=', 'no suffix: plain');
});

test('isPlainSafe', () => {
  assert.equal(isPlainSafe('abc'), true);
  assert.equal(isPlainSafe(''), false);
  assert.equal(isPlainSafe(' a'), false);
  assert.equal(isPlainSafe('=?base64?x?='), false);
});

function ok(r: ReturnType<typeof compileParamHeaders>): CompiledParamHeaders {
  if ('invalid' in r) assert.fail(r.invalid);
  return r;
}
function bad(r: ReturnType<typeof compileParamHeaders>): string {
  assert.ok('invalid' in r, 'expected the schema to be refused');
  return r.invalid;
}

test('compileParamHeaders collects annotated property paths', () => {
  const c = ok(compileParamHeaders({
    type: 'object',
    properties: {
      region: { type: 'string', 'x-mcp-header': 'Region' },
      query: { type: 'string' },
      opts: { type: 'object', properties: { shard: { type: 'integer', 'x-mcp-header': 'Shard' }, dry: { type: 'boolean', 'x-mcp-header': 'Dry-Run' } } },
    },
  }));
  assert.deepEqual(c.params.map((p) => [p.name, p.headerName, p.headerKey, p.path.join('.'), p.type]), [
    ['Region', 'Mcp-Param-Region', 'mcp-param-region', 'region', 'string'],
    ['Shard', 'Mcp-Param-Shard', 'mcp-param-shard', 'opts.shard', 'integer'],
    ['Dry-Run', 'Mcp-Param-Dry-Run', 'mcp-param-dry-run', 'opts.dry', 'boolean'],
  ]);
});

test('compileParamHeaders: schemas without annotations share one empty result', () => {
  assert.equal(compileParamHeaders({ type: 'object' }), NO_PARAM_HEADERS);
  assert.equal(compileParamHeaders({ type: 'object', properties: { 'x-mcp-header': { type: 'string' } } }), NO_PARAM_HEADERS, 'a property named x-mcp-header is not an annotation');
  assert.equal(compileParamHeaders({ type: 'object', properties: { a: { type: 'object', default: { 'x-mcp-header': 'X' } } } }), NO_PARAM_HEADERS, 'data under default is not a schema');
});

test('compileParamHeaders refuses names that are not RFC 9110 tokens', () => {
  for (const name of ['', 'Has Space', 'a:b', 'crlf\r\nInjected: 1', 'tab\t', 'é', 'a(b)', 'a/b', 42]) {
    const reason = bad(compileParamHeaders({ type: 'object', properties: { p: { type: 'string', 'x-mcp-header': name } } }));
    assert.match(reason, /x-mcp-header/, JSON.stringify(name));
  }
});

test('compileParamHeaders refuses case-insensitive duplicates', () => {
  const reason = bad(compileParamHeaders({ type: 'object', properties: { a: { type: 'string', 'x-mcp-header': 'Tenant' }, b: { type: 'object', properties: { c: { type: 'string', 'x-mcp-header': 'TENANT' } } } } }));
  assert.match(reason, /case-insensitive/);
});

test('compileParamHeaders refuses non-primitive or untyped properties', () => {
  for (const type of ['number', 'object', 'array', 'null', undefined, ['string', 'null']]) {
    const prop: Record<string, unknown> = { 'x-mcp-header': 'P' };
    if (type !== undefined) prop.type = type;
    bad(compileParamHeaders({ type: 'object', properties: { p: prop } }));
  }
});

test('compileParamHeaders refuses annotations off the static properties chain', () => {
  const h = { type: 'string', 'x-mcp-header': 'H' };
  const cases: Record<string, unknown>[] = [
    { type: 'string', 'x-mcp-header': 'Root' },
    { type: 'object', properties: { list: { type: 'array', items: h } } },
    { type: 'object', properties: { list: { type: 'array', prefixItems: [h] } } },
    { type: 'object', additionalProperties: h },
    { type: 'object', patternProperties: { '^x': h } },
    { type: 'object', oneOf: [{ properties: { a: h } }] },
    { type: 'object', anyOf: [{ properties: { a: h } }] },
    { type: 'object', allOf: [{ properties: { a: h } }] },
    { type: 'object', not: { properties: { a: h } } },
    { type: 'object', if: { properties: { a: h } }, then: {} },
    { type: 'object', then: { properties: { a: h } } },
    { type: 'object', $defs: { d: h }, properties: { a: { $ref: '#/$defs/d' } } },
    { type: 'object', definitions: { d: h } },
    { type: 'object', dependentSchemas: { a: { properties: { b: h } } } },
  ];
  for (const schema of cases) assert.match(bad(compileParamHeaders(schema)), /x-mcp-header/, JSON.stringify(schema));
});

test('compileParamHeaders refuses absurdly deep schemas instead of recursing without bound', () => {
  let schema: Record<string, unknown> = { type: 'string' };
  for (let i = 0; i < 10_000; i++) schema = { type: 'object', properties: { n: schema } };
  assert.match(bad(compileParamHeaders(schema)), /deeper/);
});
